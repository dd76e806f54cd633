"""`voiceguard score / train / evaluate` command line: formats, exit codes, error rows."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard import audio
from voiceguard.cli import main

DATA = Path(__file__).resolve().parents[1] / "assets"
SPEECH = DATA / "librispeech_118-121721-0000_3s.flac"


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    y, sr = audio.load_mono(SPEECH)
    out = {"good": tmp_path / "good.wav", "corrupt": tmp_path / "corrupt.mp3", "empty": tmp_path / "empty.wav"}
    sf.write(out["good"], y, sr)
    out["corrupt"].write_bytes(b"\xff\xfb\x90garbage" * 50)
    out["empty"].write_bytes(b"")
    return out


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def _verdict_rc(verdicts: list[str]) -> int:
    return 1 if "spoof" in verdicts else 0


def test_score_table(files, capsys) -> None:
    rc, out, err = _run(["score", str(files["good"])], capsys)
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["FILE", "VERDICT", "P(SPOOF)"]
    verdict = lines[1].split()[1]
    assert verdict in ("bonafide", "spoof") and rc == _verdict_rc([verdict])
    assert err == ""  # no progress bar when stderr is not a terminal


def test_score_jsonl_with_errors_goes_on(files, capsys) -> None:
    argv = ["score", "--format", "jsonl", str(files["corrupt"]), str(files["good"]), str(files["empty"]),
            "missing.flac"]
    rc, out, _ = _run(argv, capsys)
    objs = [json.loads(line) for line in out.strip().splitlines()]
    assert [o["file"] for o in objs] == argv[3:]  # files as given, in order
    assert rc == (1 if objs[1]["verdict"] == "spoof" else 2)  # a spoof found wins over errors
    assert "error" in objs[0] and "error" in objs[2] and "error" in objs[3]
    good = objs[1]
    for key in ("file", "spoof_probability", "llr", "verdict", "duration_s", "segments"):
        assert key in good
    assert set(good["segments"][0]) >= {"start_s", "end_s", "spoof_probability"}


def test_score_csv(files, capsys) -> None:
    rc, out, _ = _run(["score", "--format", "csv", str(files["good"]), str(files["empty"])], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["file"] == str(files["good"]) and float(rows[0]["spoof_probability"]) >= 0
    assert rows[1]["verdict"] == "error" and rows[1]["error"]
    assert rc == (1 if rows[0]["verdict"] == "spoof" else 2)


def test_score_threshold_sets_exit_code(files, capsys) -> None:
    rc, out, _ = _run(["score", "--threshold", "0", "--format", "jsonl", str(files["good"])], capsys)
    assert rc == 1 and json.loads(out)["verdict"] == "spoof"
    rc, out, _ = _run(["score", "--threshold", "1", "--format", "jsonl", str(files["good"])], capsys)
    assert rc == 0 and json.loads(out)["verdict"] == "bonafide"


def test_score_folder_and_no_speech(tmp_path: Path, capsys) -> None:
    sf.write(tmp_path / "silence.flac", np.zeros(32000, np.float32), 16000)
    (tmp_path / "notes.txt").write_text("not audio")
    rc, out, _ = _run(["score", "--format", "jsonl", str(tmp_path)], capsys)
    objs = [json.loads(line) for line in out.strip().splitlines()]
    assert len(objs) == 1 and objs[0]["verdict"] == "no_speech" and objs[0]["spoof_probability"] is None
    assert rc == 0


def test_score_empty_folder_is_an_error(tmp_path: Path, capsys) -> None:
    rc, _, err = _run(["score", str(tmp_path)], capsys)
    assert rc == 2 and "no audio files" in err


def test_usage_errors(capsys) -> None:
    assert main(["score"]) == 2
    assert main(["score", "x.wav", "--format", "xml"]) == 2
    assert main([]) == 2
    capsys.readouterr()


def test_bad_model_is_reported(files, tmp_path: Path, capsys) -> None:
    rc, _, err = _run(["score", "--model", str(tmp_path / "none.json"), str(files["good"])], capsys)
    assert rc == 2 and "does not exist" in err


def test_python_dash_m(files) -> None:
    p = subprocess.run([sys.executable, "-m", "voiceguard", "score", "--format", "jsonl",
                        str(files["good"]), str(files["empty"])], capture_output=True, text=True, timeout=120)
    objs = [json.loads(line) for line in p.stdout.strip().splitlines()]
    assert p.returncode == (1 if objs[0]["verdict"] == "spoof" else 2), p.stderr
    assert objs[0]["file"] == str(files["good"]) and objs[1]["file"] == str(files["empty"])
    assert "error" in objs[1]


def test_train_and_evaluate_commands(tmp_path: Path, capsys, make_toy_corpus) -> None:
    manifest = make_toy_corpus(tmp_path / "toy", n_speakers=6, utts=2, seed=5)
    rc, out, _ = _run(["train", str(manifest), "--out", str(tmp_path / "m"), "--epochs", "1", "--channels", "8",
                       "--strides", "1", "--embedding-dim", "8", "--threads", "1"], capsys)
    assert rc == 0 and "validation EER" in out
    import hashlib

    training = json.loads((tmp_path / "m" / "model.json").read_text())["training"]
    # a config ships: it names its manifest without a path of this machine, and pins its content
    assert training["manifest"] == Path(manifest).name
    assert training["manifest_sha256"] == hashlib.sha256(Path(manifest).read_bytes()).hexdigest()
    assert str(tmp_path) not in (tmp_path / "m" / "model.json").read_text()
    rc, out, _ = _run(["evaluate", str(manifest), "--model", str(tmp_path / "m"), "--out",
                       str(tmp_path / "ev"), "--split", "test", "--no-progress"], capsys)
    assert rc == 0 and "EER (%) by synthesizer" in out
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert "lfcc-resnet" in report["models"]
