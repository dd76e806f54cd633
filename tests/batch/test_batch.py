"""``voiceguard batch`` on a local 2-CPU Ray cluster (one cluster for the whole module).

The first run (the CLI) uses both CPUs as 2 workers; the later runs use one worker each,
which is all their few recordings need and keeps the module's actor start-ups (a Python
process, torch and a model each) few on a 2-core machine.

Shown here: rows equal ``voiceguard score --format jsonl`` bit for bit (same thread count),
a rerun skips what is committed (key: path + content hash), a broken or empty file becomes
an error row and the run goes on, an S3 source and destination work against moto's S3
server on loopback (started and stopped here), and a worker killed mid-run loses nothing
committed (Ray restarts it; the retried batch rewrites the same part name).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import socket
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import soundfile as sf

from voiceguard import audio
from voiceguard.batch import list_recordings, output, read_results, run
from voiceguard.batch.inputs import filesystem
from voiceguard.cli import main

DATA = Path(__file__).resolve().parents[1] / "assets"
SPEECH_A = DATA / "librispeech_118-121721-0000_3s.flac"
SPEECH_B = DATA / "librispeech_1034-121119-0000_2.5s.flac"
MODEL = "fast"  # the shipped LFCC-ResNet: quick to load and run, whatever the default model is

# Ray 2.60's own DataContext() assigns the fields it deprecates, warning from ray.data.context
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")


@pytest.fixture(scope="module")
def ray_cluster():
    from voiceguard.batch import ray_session

    with ray_session(local=2) as ray:
        yield ray


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Recordings of several kinds, plus a broken and an empty file and a non-audio file."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "sub").mkdir()
    y, sr = audio.load_mono(SPEECH_A)
    shutil.copy(SPEECH_A, root / "a.flac")
    shutil.copy(SPEECH_B, root / "sub" / "b.flac")
    y44 = audio.resample(y, sr, 44100)
    sf.write(root / "stereo44k.wav", np.stack([y44, 0.3 * y44[::-1]], axis=1), 44100, subtype="PCM_24")
    sf.write(root / "sub" / "tel8k.wav", audio.resample(y, sr, 8000), 8000, subtype="PCM_16")
    sf.write(root / "silence.flac", np.zeros(2 * sr), sr)
    sf.write(root / "changing.wav", y[: 2 * sr], sr)
    (root / "broken.wav").write_bytes(b"RIFF\x00\x00garbage" * 30)
    (root / "empty.mp3").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    return root


@pytest.fixture(scope="module")
def reference(corpus: Path) -> dict[str, str]:
    """``voiceguard score --format jsonl --threads 1 CORPUS``: {file: line}."""
    import torch

    threads = torch.get_num_threads()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        main(["score", "--format", "jsonl", "--threads", "1", "--model", MODEL, "--no-progress",
              str(corpus)])
    torch.set_num_threads(threads)
    return {json.loads(line)["file"]: line for line in buf.getvalue().splitlines()}


@pytest.fixture(scope="module")
def first_run(ray_cluster, corpus: Path, reference, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("out") / "run1"
    buf_out, buf_err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(buf_out), contextlib.redirect_stderr(buf_err):
        rc = main(["batch", str(corpus), "--out", str(out), "--threads", "1", "--part-size", "2",
                   "--model", MODEL, "--no-progress"])
    return {"out": out, "rc": rc, "stdout": buf_out.getvalue(), "stderr": buf_err.getvalue()}


def test_rows_equal_voiceguard_score(first_run, reference) -> None:
    rows = {r["file"]: r for r in read_results(str(first_run["out"]))}
    assert sorted(rows) == sorted(reference) and len(rows) == 8
    n_ok = 0
    for file, line in reference.items():
        ref = json.loads(line)
        if "error" in ref:
            continue
        # the row's score fields, in order, print exactly as `score` printed them
        assert json.dumps({k: rows[file][k] for k in ref}) == line
        assert rows[file]["error"] is None and len(rows[file]["sha256"]) == 64
        n_ok += 1
    assert n_ok == 6
    verdicts = [json.loads(v).get("verdict") for v in reference.values()]
    assert "no_speech" in verdicts
    assert first_run["rc"] == (1 if "spoof" in verdicts else 2)  # spoof wins over errors
    assert first_run["stdout"].startswith("8 recordings: 8 scored now, 0 already done")
    parts = output.part_files(*filesystem(str(first_run["out"])))
    sizes = [pq.read_table(p).num_rows for p in parts]  # written in parts of at most 2 recordings
    assert sum(sizes) == 8 and max(sizes) <= 2


def test_broken_file_becomes_error_row(first_run, corpus: Path, reference) -> None:
    rows = {r["file"]: r for r in read_results(str(first_run["out"]))}
    broken, empty = rows[str(corpus / "broken.wav")], rows[str(corpus / "empty.mp3")]
    assert "cannot decode audio" in broken["error"] and broken["verdict"] is None
    for row in (broken, empty):  # the message `voiceguard score` gives for the same file
        assert row["error"] == json.loads(reference[row["file"]])["error"]
    assert broken["sha256"] and empty["sha256"]  # decode errors are keyed: the same bytes fail again
    assert "broken.wav: cannot decode audio" in first_run["stderr"]


def test_rerun_skips_committed_work(first_run, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(first_run["out"], out)
    before = {p: Path(p).read_bytes() for p in output.part_files(*filesystem(str(out)))}
    y, sr = sf.read(corpus / "changing.wav")
    sf.write(corpus / "changing.wav", 0.5 * y, sr)  # same path, new content: a new key
    new = tmp_path / "new.flac"
    shutil.copy(SPEECH_B, new)
    statuses: list[dict] = []
    summary = run([str(corpus), str(new)], str(out), model=MODEL, threads=1, workers=1, part_size=2,
                  progress=False, on_status=statuses.append)
    assert summary.total == 9 and summary.skipped == 7 and summary.scored == 2
    assert sorted(s["file"] for s in statuses if s["status"] != "skipped") == \
        sorted([str(corpus / "changing.wav"), str(new)])
    assert summary.outcomes["error"] == 2 and sum(summary.outcomes.values()) == 9
    after = output.part_files(*filesystem(str(out)))
    assert all(Path(p).read_bytes() == data for p, data in before.items())  # committed parts untouched
    assert len(after) == len(before) + summary.parts
    rows = read_results(str(out))
    assert [r["file"] for r in rows].count(str(corpus / "changing.wav")) == 2  # one row per content
    assert summary.exit_code == first_run["rc"]  # skipped recordings count with their committed verdict


@pytest.fixture()
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield {"endpoint_url": f"http://{host}:{port}", "key": "testing", "secret": "testing"}
    finally:
        server.stop()


def test_s3_listing_manifest_and_parts_without_ray(s3_server) -> None:
    fs, _ = filesystem("s3://vg-list", s3_server)
    fs.mkdir("vg-list")
    for key in ("in/a.flac", "in/sub/b.wav", "in/notes.txt", "other/c.flac"):
        fs.pipe_file(f"vg-list/{key}", b"x")
    fs.pipe_file("vg-list/in/list.tsv", b"path\tlabel\nsub/b.wav\tspoof\ns3://vg-list/other/c.flac\tbonafide\n")
    assert list_recordings(["s3://vg-list/in/"], storage_options=s3_server) == \
        ["s3://vg-list/in/a.flac", "s3://vg-list/in/sub/b.wav"]
    assert list_recordings(["s3://vg-list/**/*.flac"], storage_options=s3_server) == \
        ["s3://vg-list/in/a.flac", "s3://vg-list/other/c.flac"]
    assert list_recordings(["s3://vg-list/in/list.tsv"], storage_options=s3_server) == \
        ["s3://vg-list/in/sub/b.wav", "s3://vg-list/other/c.flac"]
    # parts on object storage: one PUT each, listed again after a write (no stale cache)
    ofs, folder = filesystem("s3://vg-list/out", s3_server)
    assert output.part_files(ofs, folder) == []
    rows = [{"file": "s3://vg-list/in/a.flac", "verdict": "bonafide", "sha256": "aa"}]
    output.commit_part(ofs, folder, output.part_name(rows, "parquet"), output.encode_part(rows, "parquet"))
    assert output.committed(ofs, folder)[0] == {("s3://vg-list/in/a.flac", "aa"): "bonafide"}


def test_s3_source_and_output(ray_cluster, s3_server, corpus: Path, reference) -> None:
    fs, _ = filesystem("s3://vg-batch", s3_server)
    fs.mkdir("vg-batch")
    uploads = {"in/a.flac": "a.flac", "in/sub/b.flac": "sub/b.flac", "in/stereo44k.wav": "stereo44k.wav",
               "in/broken.wav": "broken.wav"}
    for key, rel in uploads.items():
        fs.pipe_file(f"vg-batch/{key}", (corpus / rel).read_bytes())
    # a manifest in the bucket, paths relative to it
    fs.pipe_file("vg-batch/list.csv", ("path,label\n" + "".join(f"{k},?\n" for k in uploads)).encode())
    summary = run(["s3://vg-batch/list.csv"], "s3://vg-batch/out", fmt="jsonl", model=MODEL, threads=1,
                  workers=1, part_size=3, storage_options=s3_server, progress=False)
    assert (summary.total, summary.scored, summary.outcomes["error"]) == (4, 4, 1)
    rows = {r["file"]: r for r in read_results("s3://vg-batch/out", storage_options=s3_server)}
    assert sorted(rows) == sorted(f"s3://vg-batch/{k}" for k in uploads)
    for key, rel in uploads.items():
        ref = json.loads(reference[str(corpus / rel)])
        row = rows[f"s3://vg-batch/{key}"]
        if "error" in ref:
            assert "cannot decode audio" in row["error"]
        else:
            assert {k: row[k] for k in ref} == {**ref, "file": f"s3://vg-batch/{key}"}
    # resume keys read back from the bucket
    done, versions = output.committed(*filesystem("s3://vg-batch/out", s3_server))
    assert len(done) == 4 and len(versions) == 1


def test_killed_worker_loses_nothing_committed(ray_cluster, tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(8):
        shutil.copy(SPEECH_B, src / f"k{i}.flac")
    out = tmp_path / "out"
    seen: dict = {}

    def kill_first_worker(st: dict) -> None:
        if "killed" in seen:
            return
        host, pid = st["worker"].rsplit(":", 1)
        assert host == socket.gethostname()
        seen["parts"] = {p: Path(p).read_bytes() for p in output.part_files(*filesystem(str(out)))}
        os.kill(int(pid), signal.SIGKILL)  # a whole actor process, mid-run
        seen["killed"] = st["worker"]

    summary = run([str(src)], str(out), model=MODEL, threads=1, workers=1, part_size=1, progress=False,
                  on_status=kill_first_worker)
    assert seen["parts"] and "killed" in seen
    assert all(Path(p).read_bytes() == data for p, data in seen["parts"].items())
    files = [r["file"] for r in read_results(str(out))]
    assert sorted(files) == sorted(str(p) for p in src.iterdir())  # each recording exactly once
    assert summary.scored == 8 and summary.outcomes["error"] == 0
    assert not [n for n in os.listdir(out) if n.startswith(".tmp-")]


def test_model_that_does_not_load_is_one_line(ray_cluster, corpus: Path, tmp_path: Path, capsys) -> None:
    rc = main(["batch", str(corpus / "a.flac"), "--out", str(tmp_path / "out"), "--model",
               str(tmp_path / "none.json"), "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2  # the Detector's own message, one line, no traceback
    assert err[-1].startswith("voiceguard: error: model config ") and "does not exist" in err[-1]
    assert not any("Traceback" in line for line in err)
    assert not output.part_files(*filesystem(str(tmp_path / "out")))
