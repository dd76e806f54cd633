"""The JSON Schema of the output (issue 23) ships with the package and holds for real output:
``score --format jsonl`` rows of every kind and ``verify --format jsonl`` rows. (The HTTP
answer is checked in tests/service/test_service_issue23.py, batch rows in
tests/batch/test_batch_issue23.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard.cli import main
from voiceguard.detect.result import output_schema

jsonschema = pytest.importorskip("jsonschema")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


def _rows(argv: list[str], capsys) -> list[dict]:
    main(argv)
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_the_schema_is_package_data_and_a_valid_schema() -> None:
    from importlib import resources

    assert (resources.files("voiceguard.detect") / "schema" / "output.schema.json").is_file()
    for kind in ("score", "verify"):
        jsonschema.Draft202012Validator.check_schema(output_schema(kind))
    with pytest.raises(ValueError):
        output_schema("nope")


def test_score_rows_validate(tmp_path: Path, capsys) -> None:
    sf.write(tmp_path / "silence.wav", np.zeros(16000), 16000)
    sf.write(tmp_path / "tone.wav", 0.3 * np.sin(np.arange(48000) * 0.2), 16000)
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00garbage" * 20)
    y, sr = sf.read(EXAMPLES / "bonafide_librispeech_1898.flac")
    sf.write(tmp_path / "cut.wav", y, sr, subtype="PCM_16")
    data = (tmp_path / "cut.wav").read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    rows = _rows(["score", "--model", "fast", "--format", "jsonl", "--report", str(tmp_path / "rep"),
                  str(EXAMPLES), str(tmp_path)], capsys)
    kinds = {("error" if "error" in r else r["verdict"], r.get("content")) for r in rows}
    assert kinds >= {("bonafide", "speech"), ("spoof", "speech"), ("no_speech", "silence"),
                     ("no_speech", "non_speech"), ("error", None)}
    assert any("warnings" in r for r in rows) and any("report" in r for r in rows)
    schema = output_schema()
    for r in rows:
        jsonschema.validate(r, schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema is strict: a drifted row fails it
        jsonschema.validate({**rows[0], "verdict": "maybe"}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**rows[0], "unknown_field": 1}, schema)


def test_verify_rows_validate(tmp_path: Path, capsys) -> None:
    bona = EXAMPLES / "bonafide_librispeech_1898.flac"
    db = str(tmp_path / "vp.db")
    assert main(["enroll", "reader", str(bona), "--db", db, "--model", "fast", "--threshold", "1.0",
                 "--no-clone-check", "--min-speech", "2"]) == 0
    capsys.readouterr()
    (tmp_path / "broken.wav").write_bytes(b"RIFF\x00\x00garbage" * 20)
    rows = _rows(["verify", "reader", str(bona), str(EXAMPLES / "spoof_espeak.flac"), str(tmp_path / "broken.wav"),
                  "--db", db, "--model", "fast", "--format", "jsonl"], capsys)
    assert len(rows) == 3 and "error" in rows[2]
    schema = output_schema("verify")
    for r in rows:
        jsonschema.validate(r, schema)
