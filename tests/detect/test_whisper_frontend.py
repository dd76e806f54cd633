"""The Whisper front end: weight reading, log-mel input, encoder, pooling, scoring backend."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from voiceguard.detect.frontends import whisper
from voiceguard.errors import InvalidAudioError, InvalidParameterError, ModelError


def _reference_log_mel(y: np.ndarray) -> np.ndarray:
    """Whisper's input computed independently: numpy framing + FFT, librosa's mel filters."""
    import librosa

    pad = np.pad(y.astype(np.float64), 200, mode="reflect")
    n_frames = 1 + (len(pad) - 400) // 160
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)  # periodic Hann
    frames = np.stack([pad[i * 160: i * 160 + 400] * win for i in range(n_frames)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2  # [T, 201]
    mel = librosa.filters.mel(sr=16000, n_fft=400, n_mels=80) @ power[:-1].T
    logm = np.log10(np.maximum(mel, 1e-10))
    logm = np.maximum(logm, logm.max() - 8.0)
    return (logm + 4.0) / 4.0


def test_log_mel_matches_an_independent_reference(speech) -> None:
    y = np.asarray(speech)
    got = whisper.log_mel(y).numpy()
    ref = _reference_log_mel(y)
    assert got.shape == ref.shape == (80, len(y) // 160)
    np.testing.assert_allclose(got, ref, atol=2e-4)


def test_log_mel_rejects_bad_input() -> None:
    with pytest.raises(InvalidParameterError, match="16 kHz"):
        whisper.log_mel(np.zeros(8000), sr=8000)
    with pytest.raises(InvalidAudioError, match="at least 400"):
        whisper.log_mel(np.zeros(100))
    with pytest.raises(InvalidAudioError, match="mono"):
        whisper.log_mel(np.zeros((2, 1000)))


@pytest.mark.skipif(importlib.util.find_spec("ctranslate2") is None, reason="ctranslate2 not installed")
def test_torch_encoder_matches_ctranslate2(speech) -> None:
    """Our encoder, read from the same model.bin, gives CTranslate2's encoder output."""
    import ctranslate2

    enc = whisper.load_encoder("tiny.en")
    mel = whisper.log_mel(np.asarray(speech))
    ours = enc.final(mel).numpy()[0]
    folder = whisper._weight_files(whisper.WHISPER_MODELS["tiny.en"])[0].parent
    model = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32")
    ref = np.array(model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel.numpy()[None]))))[0]
    assert ours.shape == ref.shape == (mel.shape[1] // 2, 384)
    np.testing.assert_allclose(ours, ref, atol=2e-3, rtol=0)


def test_encoder_layers_are_prefixes_of_the_full_model(speech) -> None:
    mel = whisper.log_mel(np.asarray(speech[:16000]))
    full = whisper.load_encoder("base")
    part = whisper.load_encoder("base", n_layers=2)
    assert (full.n_layers, part.n_layers, full.d_model, full.heads) == (6, 2, 512, 8)
    a = full.forward(mel, [0, 2])
    b = part.forward(mel, [0, 2])
    for x, z in zip(a, b):
        assert x.shape == (1, 50, 512)
        np.testing.assert_array_equal(x.numpy(), z.numpy())
    with pytest.raises(InvalidParameterError, match="0..2"):
        part.forward(mel, [3])
    with pytest.raises(InvalidParameterError, match="at most 30 s"):
        part.forward(whisper.log_mel(np.full(16000 * 31, 1e-3)), [1])
    assert full.flops_per_second(3) < full.flops_per_second(6)


def test_ct2_reader_reports_truncated_and_missing_files(tmp_path) -> None:
    from voiceguard.detect.frontends.ct2 import read_variables

    src = whisper._weight_files(whisper.WHISPER_MODELS["tiny.en"])[0]
    cut = tmp_path / "model.bin"
    cut.write_bytes(src.read_bytes()[: 2_000_000])
    with pytest.raises(ModelError, match="ends early"):
        read_variables(cut, lambda name: True)
    with pytest.raises(ModelError, match="missing"):
        read_variables(tmp_path / "absent.bin", lambda name: True)
    cut.write_bytes(b"\x63\x00\x00\x00" + b"\x00" * 16)
    with pytest.raises(ModelError, match="version 99"):
        read_variables(cut, lambda name: True)


def test_pooling_takes_the_frames_of_each_window(speech) -> None:
    import torch

    from voiceguard.detect.backends.whisper import pool_windows

    states = [torch.arange(200 * 3, dtype=torch.float32).reshape(200, 3)]
    out = pool_windows(states, [(0, 64000), (32000, 64000)])  # 4 s at 20 ms = 200 frames
    np.testing.assert_allclose(out[0, :3], states[0].mean(0).numpy())
    np.testing.assert_allclose(out[1, :3], states[0][100:].mean(0).numpy())
    np.testing.assert_allclose(out[1, 3:], states[0][100:].std(0, unbiased=False).numpy())
