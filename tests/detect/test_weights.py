"""Weights are verified at load (issue 23, item 3): a model config pins the SHA-256 of its
own weights (``weights_sha256``) and of the encoder it reads (``encoder_sha256``: the
assembled Whisper ``model.bin``); a file that differs is refused with an error naming it
and saying what to do. The Whisper encoder is also checked against its pinned release."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from voiceguard.detect.frontends import whisper
from voiceguard.detect.model import DIGEST_FIELDS, file_sha256, load_model, shipped_config
from voiceguard.errors import ModelError

MODELS = Path(__file__).resolve().parents[2] / "models"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _copy(tmp_path: Path, config: str) -> tuple[Path, dict]:
    cfg = json.loads((MODELS / config).read_text(encoding="utf-8"))
    shutil.copy(MODELS / cfg["weights"], tmp_path / cfg["weights"])
    return tmp_path / config, cfg


def _write(path: Path, cfg: dict) -> Path:
    path.write_text(json.dumps(cfg), encoding="utf-8")
    return path


def test_shipped_configs_pin_their_files() -> None:
    for name in ("default", "fast"):
        cfg = shipped_config(name)
        assert cfg["weights_sha256"] == {cfg["weights"]: file_sha256(MODELS / cfg["weights"])}, name
    default = shipped_config("default")
    assert default["encoder_sha256"] == {"whisper-base": whisper.WHISPER_MODELS["base"].sha256}
    assert whisper.weights_sha256("base") == whisper.WHISPER_MODELS["base"].sha256  # the installed packages


def test_changed_weights_are_refused(tmp_path: Path) -> None:
    config, cfg = _copy(tmp_path, "fast.json")
    _write(config, cfg)
    good = load_model(str(config))
    w = tmp_path / cfg["weights"]
    data = bytearray(w.read_bytes())
    data[-100] ^= 1  # one bit of one weight
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError) as err:
        load_model(str(config))
    msg = str(err.value)
    assert str(w) in msg and "does not match the SHA-256" in msg and "Reinstall" in msg
    assert good.version == load_model("fast").version  # the pins are not part of the version


def test_a_config_must_pin_its_own_weights_file(tmp_path: Path) -> None:
    config, cfg = _copy(tmp_path, "fast.json")
    cfg["weights_sha256"] = {"other.pt": "0" * 64}
    with pytest.raises(ModelError, match="but not the weights file fast.pt"):
        load_model(str(_write(config, cfg)))
    cfg["weights_sha256"] = {"fast.pt": "not hex"}
    with pytest.raises(ModelError, match="64 hex digits"):
        load_model(str(_write(config, cfg)))
    for field in DIGEST_FIELDS:  # a config without pins (a training folder's) still loads
        cfg.pop(field, None)
    assert load_model(str(_write(config, cfg))).version == load_model("fast").version


def test_encoder_pinned_by_the_config_is_checked(tmp_path: Path) -> None:
    config, cfg = _copy(tmp_path, "fast.json")
    cfg["encoder_sha256"] = {"whisper-base": "1" * 64}
    with pytest.raises(ModelError) as err:
        load_model(str(_write(config, cfg)))
    msg = str(err.value)
    assert "model.bin.part1" in msg and "model.bin.part2" in msg and str(config) in msg
    assert "requirements/weights.txt" in msg and "--require-hashes" in msg
    cfg["encoder_sha256"] = {"wav2vec": "1" * 64}
    with pytest.raises(ModelError, match="unknown encoder 'wav2vec'"):
        load_model(str(_write(config, cfg)))


def test_tampered_encoder_files_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = whisper._weight_files(whisper.WHISPER_MODELS["base"])
    fake = []
    for i, f in enumerate(real):
        dst = tmp_path / f.name
        shutil.copy(f, dst)
        if i == 1:
            with open(dst, "r+b") as fh:
                fh.seek(1000)
                b = fh.read(1)
                fh.seek(1000)
                fh.write(bytes([b[0] ^ 0x40]))
        fake.append(dst)
    monkeypatch.setattr(whisper, "_weight_files", lambda spec: fake)
    monkeypatch.setattr(whisper, "_encoders", {})
    with pytest.raises(ModelError, match="do not match the SHA-256 voiceguard pins"):
        whisper.load_encoder("base", n_layers=1)
