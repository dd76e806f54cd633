"""voiceguard.batch without Ray: listing inputs, parts and resume keys, settings, the CLI's errors."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from voiceguard.audio.files import expand_inputs
from voiceguard.batch import list_recordings, output
from voiceguard.batch.inputs import filesystem
from voiceguard.cli import main
from voiceguard.errors import InvalidParameterError


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    (tmp_path / "calls" / "b").mkdir(parents=True)
    (tmp_path / "calls" / "a").mkdir()
    for rel in ("calls/b/2.wav", "calls/a/1.flac", "calls/a/3.MP3", "calls/top.ogg"):
        (tmp_path / rel).write_bytes(b"x")
    (tmp_path / "calls" / "a" / "notes.txt").write_text("not audio")
    return tmp_path


def test_folder_lists_like_score(tree: Path) -> None:
    folder = str(tree / "calls")
    got = list_recordings([folder])
    assert got == expand_inputs([folder])  # the same names `voiceguard score FOLDER` prints
    assert [os.path.relpath(p, folder) for p in got] == ["top.ogg", "a/1.flac", "a/3.MP3", "b/2.wav"]


def test_glob_url_and_duplicates(tree: Path) -> None:
    pattern = str(tree / "calls" / "**" / "*.wav")
    assert list_recordings([pattern, pattern]) == [str(tree / "calls" / "b" / "2.wav")]
    url = f"file://{tree}/calls/a"
    assert list_recordings([url]) == [f"file://{tree}/calls/a/1.flac", f"file://{tree}/calls/a/3.MP3"]
    assert list_recordings([f"file://{tree}/calls/*.ogg"]) == [f"file://{tree}/calls/top.ogg"]


@pytest.mark.parametrize("kind", ["csv", "tsv", "parquet"])
def test_manifest_paths_are_relative_to_it(tree: Path, kind: str) -> None:
    paths = ["calls/a/1.flac", str(tree / "calls" / "b" / "2.wav"), "s3://bucket/x.wav"]
    table = pa.table({"label": ["bonafide"] * 3, "audio": paths})
    m = tree / f"list.{kind}"
    if kind == "parquet":
        pq.write_table(table, m)
    else:
        sep = "\t" if kind == "tsv" else ","
        m.write_text("label" + sep + "audio\n" + "".join(f"bonafide{sep}{p}\n" for p in paths))
    assert list_recordings([str(m)]) == [str(tree / "calls" / "a" / "1.flac"), paths[1], paths[2]]


def test_manifest_and_input_errors(tree: Path) -> None:
    m = tree / "list.csv"
    m.write_text("label,speaker\nbonafide,x\n")
    with pytest.raises(InvalidParameterError, match="no 'path'.*columns: label, speaker.*--path-column"):
        list_recordings([str(m)])
    assert list_recordings([str(m)], path_column="speaker") == [str(tree / "x")]
    with pytest.raises(InvalidParameterError, match="no such file, folder or manifest"):
        list_recordings([str(tree / "missing")])
    with pytest.raises(InvalidParameterError, match="cannot open nosuch:// storage"):
        filesystem("nosuch://bucket/x")


def _row(file: str, sha: str | None, **kw) -> dict:
    return {"file": file, "sha256": sha, **kw}


@pytest.mark.parametrize("fmt", output.FORMATS)
def test_parts_roundtrip_and_resume_keys(tmp_path: Path, fmt: str) -> None:
    fs, folder = filesystem(str(tmp_path))
    seg = {"start_s": 0.0, "end_s": 3.0, "spoof_probability": 0.25, "llr": 1.0986, "speech_fraction": 0.9,
           "used": True}
    good = {"file": "a.wav", "verdict": "spoof", "spoof_probability": 0.75, "llr": -1.0986, "duration_s": 3.0,
            "speech_s": 2.5, "sample_rate": 8000, "channels": 2, "threshold": 0.5, "prior": 0.5,
            "model": "m", "model_version": "m@0123456789ab", "segments": [seg], "sha256": "aa"}
    silent = {**good, "file": "s.wav", "verdict": "no_speech", "spoof_probability": None, "llr": None,
              "segments": [], "sha256": "bb"}
    rows = [good, silent, _row("bad.wav", "cc", error="bad.wav: cannot decode"),
            _row("gone.wav", None, error="gone.wav: no such file")]
    name = output.part_name(rows, fmt)
    assert name == output.part_name(rows[::-1], fmt) and name.startswith("part-") and name.endswith(fmt)
    output.commit_part(fs, folder, name, output.encode_part(rows, fmt))
    assert os.listdir(tmp_path) == [name]  # no temp file left behind
    back = list(output.read_rows(fs, folder))
    assert {k: back[0][k] for k in good} == good
    assert back[1]["segments"] == [] and back[1]["llr"] is None
    # read errors have no hash: not committed, so the next run tries them again
    assert output.committed(fs, folder) == ({("a.wav", "aa"): "spoof", ("s.wav", "bb"): "no_speech",
                                             ("bad.wav", "cc"): "error"}, {"m@0123456789ab"})


def test_parquet_keeps_fields_a_newer_result_adds(tmp_path: Path) -> None:
    rows = [{"file": "a.wav", "verdict": "bonafide", "version": {"weights": "abc"}, "sha256": "aa"}]
    data = output.encode_part(rows, "parquet")
    table = pq.read_table(pa.BufferReader(data))
    assert table.schema.names[: len(output.schema().names)] == output.schema().names
    assert json.loads(table.column("version")[0].as_py()) == {"weights": "abc"}


def test_settings_guard_and_temp_files(tmp_path: Path) -> None:
    fs, folder = filesystem(str(tmp_path / "out"))
    settings = {"format": "parquet", "model": None, "prior": None, "threshold": None, "threads": 1}
    output.check_settings(fs, folder, settings)
    output.check_settings(fs, folder, settings)  # same settings: resume
    with pytest.raises(InvalidParameterError, match=r"threshold None -> 0\.8.*new --out"):
        output.check_settings(fs, folder, {**settings, "threshold": 0.8})
    (tmp_path / "out" / ".tmp-1234-part-x.parquet").write_bytes(b"half a part")
    assert output.remove_temp_files(fs, folder) == 1
    assert output.part_files(fs, folder) == []


def test_cli_without_ray_says_what_to_install(tree: Path, monkeypatch, capsys) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    rc = main(["batch", str(tree / "calls"), "--out", str(tree / "out"), "--local", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and err.strip().count("\n") == 0 and "-e '" in err and "[batch]'" in err
    assert "'voiceguard[batch]'" not in err  # the unrelated 'voiceguard' on PyPI (issue 23)


def test_cli_usage_errors(tree: Path, capsys) -> None:
    assert main(["batch", str(tree), "--out", "o", "--local", "2", "--address", "auto"]) == 2
    assert main(["batch", str(tree), "--out", "o", "--storage-option", "novalue"]) == 2
    assert main(["batch", str(tree)]) == 2  # --out is required
    capsys.readouterr()


def test_cli_usage_errors_come_before_ray_starts(tree: Path, capsys) -> None:
    import ray

    empty = tree / "empty"
    empty.mkdir()
    assert main(["batch", str(empty), "--out", str(tree / "out")]) == 2
    assert "no audio files found" in capsys.readouterr().err
    assert main(["batch", str(tree / "calls"), "--out", str(tree / "out"), "--threads", "0"]) == 2
    assert "positive integer" in capsys.readouterr().err
    assert main(["batch", str(tree / "nowhere.csv"), "--out", str(tree / "out2")]) == 2
    assert "cannot read the manifest" in capsys.readouterr().err
    assert not ray.is_initialized()
