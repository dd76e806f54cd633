"""Neural vocoders: shapes, discriminators, losses, training/resuming and copy-synthesis.

Everything runs on tiny models and 3-5 steps: these tests check the code paths and the
contracts, not the quality of a trained vocoder.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from voiceguard.data import neural_vocoders as nv
from voiceguard.errors import InputTooShortError, InvalidParameterError
from voiceguard.nets import count_parameters

SR = 16000

#: Tiny generator settings per family (a few thousand parameters: a training step is ms).
TINY = {
    "melgan": dict(channels=16),
    "hifigan": dict(upsample_initial_channel=16, resblock_kernel_sizes=(3,), resblock_dilations=((1,),)),
    "istft": dict(dim=16, intermediate_dim=32, n_layers=1),
    "nsf": dict(cond_channels=8, channels=8, n_blocks=1, n_layers=2, noise_channels=4, noise_layers=1, n_harmonics=2),
}
TINY_MPD = dict(periods=(2, 3), channels=(4, 8))
TINY_MSD = dict(n_scales=2, channels=(4, 8, 8))


@pytest.fixture(autouse=True)
def _one_thread():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


def _have_pyworld() -> bool:
    from voiceguard.data.vocoders import VocoderUnavailableError, _import_pyworld

    try:
        _import_pyworld()
    except VocoderUnavailableError:
        return False
    return True


def _needs(family: str) -> None:
    if family == "nsf" and not _have_pyworld():
        pytest.skip("the NSF family needs pyworld for f0 (scripts/install-data-deps.sh)")


def _tone(rng: np.random.Generator, seconds: float = 1.0, sr: int = SR) -> np.ndarray:
    """A 150 Hz harmonic tone with a little noise: voiced enough for an f0 tracker."""
    t = np.arange(int(seconds * sr)) / sr
    y = sum(0.3 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 6))
    return (y + 0.01 * rng.standard_normal(t.size)).astype(np.float64)


@pytest.fixture
def wavs(tmp_path, rng) -> list[str]:
    import soundfile as sf

    paths = []
    for i in range(2):
        p = tmp_path / "corpus" / f"clip{i}.wav"
        p.parent.mkdir(exist_ok=True)
        sf.write(str(p), _tone(rng) * (0.5 + 0.3 * i), SR)
        paths.append(str(p))
    return paths


def _config(family: str, **kw) -> nv.VocoderTrainConfig:
    base = dict(
        family=family, batch_size=2, segment_s=0.2, steps=3, adversarial_start_step=1, log_every=1,
        checkpoint_every=100, threads=1, generator_kwargs=TINY[family], mpd_kwargs=TINY_MPD, msd_kwargs=TINY_MSD,
    )
    base.update(kw)
    return nv.VocoderTrainConfig(**base)


def _log(out) -> list[dict]:
    with open(out / nv.LOG_NAME) as f:
        return [json.loads(line) for line in f]


# -- mel analysis ------------------------------------------------------------------------


def test_log_mel_shape_and_floor():
    y = torch.zeros(3, 10 * 256 + 100)
    m = nv.log_mel(y)
    assert m.shape == (3, 80, 10)
    assert torch.allclose(m, torch.full_like(m, float(np.log(1e-5))))  # silence sits at the clamp
    assert nv.log_mel(torch.randn(2, 1, 2048)).shape == (2, 80, 8)
    assert nv.log_mel(torch.randn(2048)).shape == (1, 80, 8)
    with pytest.raises(InputTooShortError):
        nv.log_mel(torch.randn(1, 300))


def test_mel_filterbank_matches_librosa():
    librosa = pytest.importorskip("librosa")
    ours = nv.mel_filterbank(SR, 1024, 80, 0.0, 8000.0)
    ref = librosa.filters.mel(sr=SR, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0)
    np.testing.assert_allclose(ours, ref, atol=1e-7)
    with pytest.raises(InvalidParameterError):
        nv.mel_filterbank(SR, 1024, 80, 0.0, 9000.0)


# -- generators --------------------------------------------------------------------------


@pytest.mark.parametrize("family", sorted(nv.FAMILIES))
@pytest.mark.parametrize("n_frames", [4, 7, 12])
def test_generator_output_shapes(family, n_frames):
    torch.manual_seed(0)
    g = nv.build_generator(family, **TINY[family])
    mel = torch.randn(2, 80, n_frames)
    with torch.no_grad():
        out = g(mel, torch.full((2, n_frames), 120.0)) if g.needs_f0 else g(mel)
    assert out.shape == (2, 1, n_frames * 256)
    assert torch.all(torch.isfinite(out))


@pytest.mark.parametrize("family", sorted(nv.FAMILIES))
def test_default_generators_are_small_and_run(family):
    torch.manual_seed(0)
    g = nv.build_generator(family)
    assert 100_000 < count_parameters(g) < 1_500_000
    assert json.loads(json.dumps(g.config))  # the config round-trips through vocoder.json
    mel = torch.randn(1, 80, 5)
    with torch.no_grad():
        out = g(mel, torch.tensor([[0.0, 110.0, 120.0, 0.0, 200.0]])) if g.needs_f0 else g(mel)
    assert out.shape == (1, 1, 5 * 256)


def test_istft_atan2_phase_head():
    g = nv.ISTFTGenerator(dim=16, intermediate_dim=32, n_layers=1, phase="atan2")
    assert g(torch.randn(1, 80, 6)).shape == (1, 1, 6 * 256)
    with pytest.raises(InvalidParameterError):
        nv.ISTFTGenerator(phase="polar")


def test_istft_inverts_an_analysed_spectrum():
    """The iSTFT helper is the exact inverse of a Hann STFT framed like the mel frames."""
    x = torch.randn(2, 20 * 256)
    pad = (1024 - 256) // 2
    xp = torch.nn.functional.pad(x[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(xp, 1024, 256, 1024, torch.hann_window(1024), center=False, return_complex=True)
    assert spec.shape[-1] == 20
    y = nv._istft_same(spec, 1024, 256)
    assert y.shape == x.shape
    torch.testing.assert_close(y, x, atol=1e-4, rtol=0)


def test_nsf_source_voicing_and_rejects_bad_f0():
    g = nv.NSFGenerator(**TINY["nsf"])
    f0 = torch.tensor([[0.0, 0.0, 200.0, 200.0]])
    exc, voiced = g.source(f0, torch.Generator().manual_seed(0))
    assert exc.shape == (1, 2, 4 * 256) and voiced.shape == (1, 1, 4 * 256)
    assert voiced[0, 0, :512].sum() == 0 and voiced[0, 0, 512:].min() == 1
    with pytest.raises(InvalidParameterError):
        g(torch.randn(1, 80, 4), torch.zeros(1, 5))


def test_build_generator_checks_hop():
    with pytest.raises(InvalidParameterError):
        nv.build_generator("melgan", upsample_rates=(8, 8, 2))  # 128 != 256
    with pytest.raises(InvalidParameterError):
        nv.build_generator("wavenet")


# -- discriminators ----------------------------------------------------------------------


def test_discriminator_outputs():
    y = torch.randn(2, 1, 4000)
    mpd = nv.MultiPeriodDiscriminator()
    logits, fmaps = mpd(y)
    assert len(logits) == len(fmaps) == 5
    for s, f in zip(logits, fmaps):
        assert s.dim() == 2 and s.shape[0] == 2
        assert len(f) == 6 and all(m.shape[0] == 2 for m in f)
    # the period-p branch sees a [B, C, N/p, p] grid
    assert [f[0].shape[-1] for f in fmaps] == [2, 3, 5, 7, 11]
    msd = nv.MultiScaleDiscriminator()
    logits, fmaps = msd(y)
    assert len(logits) == len(fmaps) == 3
    assert logits[0].shape[1] > logits[1].shape[1] > logits[2].shape[1]  # pooled scales are shorter
    assert all(len(f) == 7 for f in fmaps)


# -- losses ------------------------------------------------------------------------------


def test_stft_loss_zero_for_identical_and_positive_otherwise():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 4096)
    sc, mag = nv.multi_resolution_stft_loss(x, x)
    assert float(sc) == 0.0 and float(mag) == 0.0
    y = x + 0.3 * torch.randn_like(x)
    y.requires_grad_(True)
    sc, mag = nv.multi_resolution_stft_loss(y, x)
    assert sc.item() > 0.05 and mag.item() > 0.05
    (sc + mag).backward()
    assert torch.all(torch.isfinite(y.grad))


def test_mel_loss_zero_for_identical():
    x = torch.randn(2, 1, 2048)
    assert float(nv.mel_loss(x, x)) == 0.0
    assert float(nv.mel_loss(x, 0.5 * x)) == pytest.approx(np.log(2.0), rel=0.05)


def test_gan_and_feature_matching_losses():
    ones, zeros = [torch.ones(2, 5), torch.ones(2, 3)], [torch.zeros(2, 5), torch.zeros(2, 3)]
    assert float(nv.discriminator_loss(ones, zeros)) == 0.0  # the ideal discriminator
    assert float(nv.discriminator_loss(zeros, ones)) == 4.0  # 2 sub-discriminators x (1 + 1)
    assert float(nv.generator_adversarial_loss(ones)) == 0.0
    assert float(nv.generator_adversarial_loss(zeros)) == 2.0
    maps = [[torch.randn(2, 4, 10), torch.randn(2, 1, 5)], [torch.randn(2, 3, 7)]]
    assert float(nv.feature_matching_loss(maps, maps)) == 0.0
    other = [[m + 1.0 for m in ms] for ms in maps]
    assert float(nv.feature_matching_loss(maps, other)) == pytest.approx(3.0)


# -- config ------------------------------------------------------------------------------


def test_config_validation_and_round_trip():
    c = _config("hifigan")
    assert nv.VocoderTrainConfig.from_dict(c.to_dict()) == c
    assert c.segment_samples == 3072
    with pytest.raises(InvalidParameterError):
        nv.VocoderTrainConfig(family="wavenet")
    with pytest.raises(InvalidParameterError):
        nv.VocoderTrainConfig(segment_s=0.05)  # shorter than half the 2048-point STFT
    with pytest.raises(InvalidParameterError):
        nv.VocoderTrainConfig.from_dict({"family": "hifigan", "learning_rate": 1.0})


# -- training, resuming, copy-synthesis ---------------------------------------------------


@pytest.mark.parametrize("family", sorted(nv.FAMILIES))
def test_train_resume_and_copy_synthesis(family, wavs, tmp_path, rng):
    _needs(family)
    out = tmp_path / "voc"
    assert nv.train_vocoder(_config(family, steps=3), wavs, out) == out
    assert (out / nv.WEIGHTS_NAME).is_file() and (out / nv.STATE_NAME).is_file()
    info = json.loads((out / nv.CONFIG_NAME).read_text())
    assert info["family"] == family and info["step"] == 3 and info["sr"] == SR
    log = _log(out)
    assert [r["step"] for r in log] == [1, 2, 3]
    # warm-up (step 1) without discriminators, then adversarial training
    assert [r["adversarial"] for r in log] == [False, True, True]
    assert "loss_d" not in log[0] and all("loss_d" in r and "fm" in r for r in log[1:])
    assert all(np.isfinite(v) for r in log for v in r.values() if isinstance(v, float))

    nv.train_vocoder(_config(family, steps=5), wavs, out)  # resumes at step 3
    assert [r["step"] for r in _log(out)] == [1, 2, 3, 4, 5]
    assert json.loads((out / nv.CONFIG_NAME).read_text())["step"] == 5
    nv.train_vocoder(_config(family, steps=5), wavs, out)  # already done: nothing appended
    assert len(_log(out)) == 5

    voc = nv.load_vocoder(out)
    assert voc.vocoder_info["family"] == family and not voc.training
    y = _tone(rng, 0.55)
    z, settings = nv.neural_copy_synthesis(y, SR, np.random.default_rng(1), vocoder=voc, return_settings=True)
    assert settings["family"] == family and settings["step"] == 5
    assert z.dtype == np.float32 and z.shape == y.shape and np.all(np.isfinite(z))
    assert np.sqrt(np.mean(z.astype(float) ** 2)) == pytest.approx(np.sqrt(np.mean(y**2)), rel=0.05)
    # deterministic for a seed; through a resampler at another input rate; from a folder path
    np.testing.assert_array_equal(z, nv.neural_copy_synthesis(y, SR, np.random.default_rng(1), vocoder=voc))
    y8 = _tone(rng, 0.3, sr=8000)
    z8 = nv.neural_copy_synthesis(y8, 8000, np.random.default_rng(2), vocoder=str(out))
    assert z8.dtype == np.float32 and z8.shape == y8.shape and np.all(np.isfinite(z8))


def test_resume_refuses_other_model_settings(wavs, tmp_path):
    out = tmp_path / "voc"
    nv.train_vocoder(_config("istft", steps=1), wavs, out)
    other = _config("istft", steps=2, generator_kwargs=dict(TINY["istft"], dim=8))
    with pytest.raises(InvalidParameterError, match="generator_kwargs"):
        nv.train_vocoder(other, wavs, out)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_cuda_request_without_cuda_is_an_error(wavs, tmp_path):
    with pytest.raises(InvalidParameterError, match="CUDA"):
        nv.train_vocoder(_config("istft", device="cuda"), wavs, tmp_path / "voc")


def test_cli_train_and_copy(tmp_path, rng):
    import soundfile as sf

    corpus = tmp_path / "corpus" / "spk"
    corpus.mkdir(parents=True)
    for i in range(2):
        sf.write(str(corpus / f"c{i}.flac"), _tone(rng), SR)
    out = tmp_path / "voc"
    rc = nv.main(["train", "--family", "istft", "--out", str(out), "--steps", "1", "--corpus",
                  str(tmp_path / "corpus"), "--batch-size", "1", "--segment-s", "0.2"])
    assert rc == 0 and json.loads((out / nv.CONFIG_NAME).read_text())["step"] == 1
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(str(src), _tone(rng, 0.4), SR)
    assert nv.main(["copy", "--vocoder", str(out), str(src), str(dst)]) == 0
    z, sr = sf.read(str(dst))
    assert sr == SR and len(z) == int(0.4 * SR)
