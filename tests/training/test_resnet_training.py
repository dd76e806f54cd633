"""Training on a tiny generated corpus runs end to end (features, LFCC-ResNet, evaluate)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard.data.manifest import ClipRow, Manifest, read_manifest, write_manifest


@pytest.fixture(scope="module")
def toy_manifest(tmp_path_factory: pytest.TempPathFactory, make_toy_corpus) -> Path:
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

