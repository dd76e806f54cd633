"""Batch rows a fraud engineer missed (issue 23): ``warnings`` (item 9) and ``content`` (item 2)
in the rows and the exit code, and Ray's own log lines kept off ``--no-progress`` (item 15)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard import exit_codes
from voiceguard.batch import output
from voiceguard.batch.pipeline import BatchSummary
from voiceguard.cli import main
from voiceguard.detect.result import output_schema

pytest.importorskip("ray")

SPEECH = Path(__file__).resolve().parents[1] / "assets" / "librispeech_118-121721-0000_3s.flac"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _truncated(path: Path) -> Path:
    y, sr = sf.read(SPEECH)
    sf.write(path, y, sr, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header still announces all of it
    return path


def test_rows_carry_warnings_and_content(tmp_path: Path) -> None:
    import jsonschema

    from voiceguard.batch.worker import Scorer

    cut = _truncated(tmp_path / "cut.wav")
    tone = tmp_path / "tone.wav"
    sf.write(tone, 0.3 * np.sin(np.arange(3 * 16000) * 0.2), 16000, subtype="PCM_16")
    scorer = Scorer(out=str(tmp_path / "out"), fmt="jsonl", detector={"model": "fast", "threads": 1})
    row, sha = scorer.score_file(str(cut))
    assert row is not None and sha == row["sha256"]
    assert len(row["warnings"]) == 1 and "truncated file" in row["warnings"][0] and str(cut) in row["warnings"][0]
    jsonschema.validate(row, output_schema())
    row, _ = scorer.score_file(str(tone))
    assert row["verdict"] == "no_speech" and row["content"] == "non_speech" and "warnings" not in row
    assert output.outcome(row) == output.UNSCREENED
    # Parquet parts hold both columns
    import pyarrow.parquet as pq

    part = output.encode_part([row, scorer.score_file(str(cut))[0]], "parquet")
    table = pq.read_table(__import__("io").BytesIO(part))
    assert table.column("content").to_pylist() == ["non_speech", "speech"]
    assert table.column("warnings").to_pylist()[0] is None and len(table.column("warnings").to_pylist()[1]) == 1


def test_unscreened_rows_set_the_exit_code() -> None:
    s = BatchSummary(total=2)
    s.outcomes.update({"bonafide": 1, output.UNSCREENED: 1})
    assert s.exit_code == exit_codes.UNSCREENED and "1 not screened" in s.describe()
    s.outcomes.update({"spoof": 1})
    assert s.exit_code == exit_codes.FOUND
    # rows committed by an older voiceguard (no content column) still resume
    assert output.outcome({"file": "a", "verdict": "no_speech"}) == "no_speech"


def test_no_progress_keeps_rays_chatter_off(tmp_path: Path, monkeypatch) -> None:
    from voiceguard.batch import cluster

    line = (b"[2026-12-06 16:02:02,448 E 12173 12173] core_worker.cc:2465: Actor with class name: "
            b"'MapWorker(MapBatches(Scorer))' and ID: 'f0c2' has constructor arguments in the object store and "
            b"max_restarts > 0. If the arguments in the object store go out of scope...\n")
    assert cluster.RAY_NOISE.match(line) and not cluster.RAY_NOISE.match(b"[x E 1 1] core_worker.cc:1: real error\n")
    seen = {}

    class Stop(Exception):
        pass

    def fake_session(**kwargs):
        seen.update(kwargs)
        raise Stop

    monkeypatch.setattr(cluster, "ray_session", fake_session)
    (tmp_path / "a.wav").write_bytes(b"x")
    with pytest.raises(Stop):
        main(["batch", str(tmp_path / "a.wav"), "--out", str(tmp_path / "out"), "--no-progress"])
    assert seen["quiet"] is True
    before = logging.getLogger("ray").level
    try:
        cluster._quiet_ray()
        assert logging.getLogger("ray").level == logging.getLogger("ray.data").level == logging.ERROR
    finally:
        logging.getLogger("ray").setLevel(before)
        logging.getLogger("ray.data").setLevel(logging.NOTSET)


def test_jsonl_part_rows_validate(tmp_path: Path) -> None:
    import jsonschema

    rows = [{"file": "x.wav", "error": "x.wav: cannot decode audio (...)", "sha256": "0" * 64}]
    for line in output.encode_part(rows, "jsonl").decode().splitlines():
        jsonschema.validate(json.loads(line), output_schema())
