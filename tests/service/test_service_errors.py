"""HTTP API error answers a client sees (issue 13): one documented shape, nothing leaked.

* a missing or malformed parameter is ``{"error", "status"}`` like every other error, not
  FastAPI's ``{"detail": ...}``;
* the 404 for an unknown speaker names neither the database file nor who is enrolled;
* enrollment uploads are recorded under their file names, not ``array0``;
* the 409 for an existing speaker speaks HTTP (``replace=true``), not CLI flags.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

from voiceguard.detect.detector import Detector  # noqa: E402
from voiceguard.service import RunningService, ServiceConfig  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BONAFIDE = EXAMPLES / "bonafide_librispeech_1898.flac"
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_TOKEN", raising=False)
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


def test_error_answers_have_one_shape_and_leak_nothing(tmp_path: Path) -> None:
    db = tmp_path / "secret-folder" / "voiceprints.db"
    db.parent.mkdir()
    clip = BONAFIDE.read_bytes()
    cfg = ServiceConfig(http=("127.0.0.1", 0), token=TOKEN, workers=1, db=str(db))
    cfg.validate()

    async def main() -> dict:
        async with RunningService(cfg, detector=Detector()) as rs:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rs.http_port}", timeout=60) as h:
                flac = {**AUTH, "Content-Type": "audio/flac"}
                r = {"enroll": await h.post("/v1/speakers/reader", headers=AUTH,
                                            files={"file": ("reader_monday.flac", clip, "audio/flac")})}
                r["info"] = await h.get("/v1/speakers/reader", headers=AUTH)
                r["raw"] = await h.post("/v1/speakers/raw", content=clip, headers=flac)
                r["raw_info"] = await h.get("/v1/speakers/raw", headers=AUTH)
                r["exists"] = await h.post("/v1/speakers/reader", content=clip, headers=flac)
                r["no_speaker"] = await h.post("/v1/verify", content=clip, headers=flac)
                r["unknown"] = await h.post("/v1/verify?speaker=nobody", content=clip, headers=flac)
                r["unknown_info"] = await h.get("/v1/speakers/nobody", headers=AUTH)
                r["attach_bad"] = await h.put(f"/v1/calls/{uuid.uuid4()}/speaker", json={"name": "x"}, headers=AUTH)
                r["attach_unknown"] = await h.put(f"/v1/calls/{uuid.uuid4()}/speaker", json={"speaker": "nobody"},
                                                  headers=AUTH)
                r["bad_flag"] = await h.post("/v1/speakers/x?replace=maybe", content=clip, headers=flac)
                return r

    r = asyncio.run(asyncio.wait_for(main(), 180))
    status = {k: v.status_code for k, v in r.items()}
    assert status == {"enroll": 200, "info": 200, "raw": 200, "raw_info": 200, "exists": 409, "no_speaker": 422,
                      "unknown": 404, "unknown_info": 404, "attach_bad": 422, "attach_unknown": 404, "bad_flag": 422}
    # uploads are recorded by their file name (raw bodies have none)
    assert [c["source"] for c in r["info"].json()["clips"]] == ["reader_monday.flac"]
    assert [c["source"] for c in r["enroll"].json()["clips"]] == ["reader_monday.flac"]
    assert [c["source"] for c in r["raw_info"].json()["clips"]] == ["upload1"]
    errors = {k: v.json() for k, v in r.items() if v.status_code >= 400}
    for k, body in errors.items():
        assert set(body) == {"error", "status"} and body["status"] == status[k], (k, body)
        assert str(tmp_path) not in body["error"] and "secret-folder" not in body["error"], (k, body)
    assert "missing query parameter 'speaker'" in errors["no_speaker"]["error"]
    assert "missing request body field 'speaker'" in errors["attach_bad"]["error"]
    assert "query parameter 'replace'" in errors["bad_flag"]["error"]
    for k in ("unknown", "unknown_info", "attach_unknown"):
        msg = errors[k]["error"]
        assert "'nobody'" in msg and "reader" not in msg and "raw" not in msg and "voiceprints.db" not in msg
    assert "--" not in errors["exists"]["error"] and "replace=true" in errors["exists"]["error"]
