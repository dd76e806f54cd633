"""Training on a tiny generated corpus runs end to end (features, LFCC-ResNet, evaluate)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard.data.manifest import ClipRow, Manifest, read_manifest, write_manifest


def _speechlike(rng: np.random.Generator, sr: int, dur: float, f0: float) -> np.ndarray:
    """A speech-like utterance: voiced syllables with pauses (synthetic.py when present)."""
    try:
        from voiceguard.data.synthetic import synth_utterance

        return np.asarray(synth_utterance(sr, rng, f0_mean=f0, duration_s=dur), np.float64)
    except ImportError:  # pragma: no cover - the data package is part of the tree
        t = np.arange(int(dur * sr)) / sr
        env = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 2
        y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20))
        return 0.3 * env * y / np.abs(y).max()


def _random_phase(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crude 'vocoder': keep the STFT magnitude, draw a random phase, overlap-add."""
    from scipy.signal import istft, stft

    _, _, z = stft(y, nperseg=512, noverlap=384)
    z = np.abs(z) * np.exp(2j * np.pi * rng.random(z.shape))
    _, out = istft(z, nperseg=512, noverlap=384)
    out = out[: len(y)]
    return np.pad(out, (0, len(y) - len(out)))


def _telephone(y: np.ndarray, sr: int) -> np.ndarray:
    from scipy.signal import butter, resample_poly, sosfilt

    z = sosfilt(butter(4, [300, 3400], "bandpass", fs=sr, output="sos"), y)
    return resample_poly(resample_poly(z, 1, 2), 2, 1)[: len(y)]


def make_toy_corpus(
    out: Path, *, n_speakers: int = 8, utts: int = 4, seed: int = 0, dur: tuple[float, float] = (2.0, 4.5)
) -> Path:
    """Write FLAC files and a manifest.tsv: bona fide speech-like clips and two spoof systems.

    Both classes get the same channel (noise floor, random level, half of them telephone
    band), speakers are split train/val/test (speaker-disjoint). Returns the manifest path.
    """
    sr = 16000
    rng = np.random.default_rng(seed)
    rows = []
    splits = ["train"] * (n_speakers - 4) + ["val", "val", "test", "test"]
    for s in range(n_speakers):
        spk = f"spk{s:02d}"
        f0 = rng.uniform(90, 220)
        for u in range(utts):
            y = _speechlike(rng, sr, rng.uniform(*dur), f0)
            variants = [("bonafide", "-", "bonafide", y), ("spoof", "rand-phase", "dsp-vocoder", _random_phase(y, rng))]
            # a second "system" so per-system tables have more than one row
            smooth = np.convolve(_random_phase(y, rng), np.ones(3) / 3, mode="same")
            variants.append(("spoof", "rand-phase-lp", "dsp-vocoder", smooth))
            for label, system, family, x in variants:
                tel = rng.random() < 0.5
                x = _telephone(x, sr) if tel else x
                x = x + 10 ** (-60 / 20) * rng.standard_normal(len(x))
                x = x / (np.abs(x).max() + 1e-9) * 10 ** (rng.uniform(-12, -3) / 20)
                rel = f"{label}/{spk}_{u}_{system}.flac"
                (out / label).mkdir(parents=True, exist_ok=True)
                sf.write(out / rel, x.astype(np.float32), sr, subtype="PCM_16")
                rows.append(ClipRow(path=str(out / rel), label=label, speaker=spk, source="toy",
                                    system=system, family=family,
                                    condition="tel-8k-pcm" if tel else "wideband",
                                    split=splits[s], duration_s=len(x) / sr))
    path = out / "manifest.tsv"
    write_manifest(Manifest(rows, out), path)
    return path


@pytest.fixture(scope="module")
def toy_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_toy_corpus(tmp_path_factory.mktemp("toy"), n_speakers=8, utts=3)


def test_toy_manifest_reads(toy_manifest: Path) -> None:
    m = read_manifest(toy_manifest)
    assert set(m.values("split")) == {"train", "val", "test"}
    assert set(m.values("label")) == {"bonafide", "spoof"}


def test_resnet_trains_end_to_end(toy_manifest: Path, tmp_path: Path) -> None:
    from voiceguard.detect.detector import Detector
    from voiceguard.training.resnet import train

    res = train(toy_manifest, tmp_path / "resnet", epochs=4,
                batch_size=16, channels=(16, 32), strides=(1, 2), embedding_dim=16, seed=0,
                threads=1, log=lambda m: None)
    cfg = json.loads(res.config_path.read_text())
    assert cfg["format"] == "voiceguard-detector" and cfg["kind"] == "resnet"
    assert 0 < res.n_parameters <= 1_000_000 and cfg["n_parameters"] == res.n_parameters
    assert (tmp_path / "resnet" / "model.pt").is_file()
    assert cfg["calibration"]["scale"] > 0
    assert 1 <= cfg["training"]["epochs_run"] <= 4
    assert len(list((tmp_path / "resnet" / "cache").rglob("*.npz"))) > 0
    # the trained model scores a file through the public pipeline
    det = Detector(res.config_path)
    row = read_manifest(toy_manifest).filter(split="test")[0]
    r = det.score(read_manifest(toy_manifest).resolve(row))
    assert r.verdict in ("bonafide", "spoof", "no_speech")


def test_training_is_seeded(toy_manifest: Path, tmp_path: Path) -> None:
    from voiceguard.training.resnet import train

    kw = dict(epochs=1, batch_size=16, channels=(16,), strides=(1,),
              embedding_dim=8, seed=3, threads=1, log=lambda m: None, cache_dir=tmp_path / "cache")
    a = train(toy_manifest, tmp_path / "a", **kw)
    b = train(toy_manifest, tmp_path / "b", **kw)
    ca, cb = (json.loads(r.config_path.read_text()) for r in (a, b))
    assert ca["calibration"] == cb["calibration"]
    assert ca["training"]["history"][0]["train_loss"] == cb["training"]["history"][0]["train_loss"]


def test_evaluate_a_trained_model(toy_manifest: Path, tmp_path: Path) -> None:
    from voiceguard.evaluation.run import evaluate
    from voiceguard.training.resnet import train

    res = train(toy_manifest, tmp_path / "m", epochs=1, batch_size=16, channels=(8,), strides=(1,), embedding_dim=8, threads=1, seed=0, log=lambda m: None)
    report = evaluate([res.config_path], toy_manifest, tmp_path / "eval", split="test", audit=True,
                      progress=None)
    m = report["models"]["lfcc-resnet"]
    assert set(m["variants"]) == {"kept", "trimmed", "loudness-normalised"}
    kept = m["variants"]["kept"]
    assert 0.0 <= kept["pooled"]["eer"] <= 1.0
    assert set(kept["by_system"]) == {"rand-phase", "rand-phase-lp"}
    assert set(kept["by_band"]) == {"wideband", "telephony"}
    assert (tmp_path / "eval" / "report.json").is_file()
    png = (tmp_path / "eval" / "det.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "eval" / "scores.tsv").read_text().count("\n") > 10


def test_train_rejects_bad_manifest(tmp_path: Path) -> None:
    from voiceguard.errors import InvalidParameterError
    from voiceguard.training.resnet import train

    sf.write(tmp_path / "a.wav", np.zeros(16000, np.float32), 16000)
    path = tmp_path / "m.tsv"
    write_manifest(Manifest([ClipRow(path=str(tmp_path / "a.wav"), label="bonafide", split="train")],
                            tmp_path), path)
    with pytest.raises(InvalidParameterError, match="both classes"):
        train(path, tmp_path / "out", log=lambda m: None)


def test_hold_out_family_leaves_it_out_of_training(toy_manifest: Path, tmp_path: Path) -> None:
    import json

    from voiceguard.data.manifest import read_manifest
    from voiceguard.errors import InvalidParameterError
    from voiceguard.training.resnet import train

    m = read_manifest(toy_manifest)
    for r in m:
        if r.system == "rand-phase-lp":
            r.family = "smoothed"
    path = tmp_path / "two-families.tsv"
    write_manifest(m, path)
    lines = []
    res = train(path, tmp_path / "lofo", epochs=1, batch_size=16, channels=(8,), strides=(1,), embedding_dim=8, threads=1, seed=0,
                hold_out_families=["smoothed"], log=lines.append)
    cfg = json.loads(Path(res.config_path).read_text())
    assert cfg["training"]["settings"]["hold_out_families"] == ["smoothed"]
    n_train_all = sum(1 for r in m if r.split == "train")
    n_smoothed = sum(1 for r in m if r.split == "train" and r.family == "smoothed")
    assert cfg["training"]["n_train"] == n_train_all - n_smoothed
    # nor does validation (epoch selection, calibration) see the held-out family
    n_val_all = sum(1 for r in m if r.split == "val")
    n_val_smoothed = sum(1 for r in m if r.split == "val" and r.family == "smoothed")
    assert n_val_smoothed > 0
    assert cfg["training"]["n_val"] == n_val_all - n_val_smoothed
    assert any("holding out family ['smoothed']" in line for line in lines)
    res = train(path, tmp_path / "loso", epochs=1, batch_size=16, channels=(8,), strides=(1,), embedding_dim=8, threads=1, seed=0,
                hold_out_systems=["rand-phase"], log=lambda _: None)
    cfg = json.loads(Path(res.config_path).read_text())
    assert cfg["training"]["settings"]["hold_out_systems"] == ["rand-phase"]
    n_rand = sum(1 for r in m if r.split == "train" and r.system == "rand-phase")
    assert cfg["training"]["n_train"] == n_train_all - n_rand
    with pytest.raises(InvalidParameterError, match="not in the training split"):
        train(path, tmp_path / "bad", hold_out_families=["no-such-family"],
              log=lambda _: None)
    with pytest.raises(InvalidParameterError, match="both classes"):
        train(path, tmp_path / "bad2", hold_out_families=["smoothed", "dsp-vocoder"],
              log=lambda _: None)

