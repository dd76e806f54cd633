"""The HTTP API as a fraud engineer met it (issue 23): ``warnings`` in ``POST /v1/score`` as in
the CLI's JSONL (item 9), the API page usable with a token (item 14), answers that validate
against the published JSON Schema, and float uploads out of range refused (item 4)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
jsonschema = pytest.importorskip("jsonschema")

from voiceguard.detect.detector import Detector  # noqa: E402
from voiceguard.detect.result import output_schema  # noqa: E402
from voiceguard.service import RunningService, ServiceConfig  # noqa: E402

SPEECH = Path(__file__).resolve().parents[1] / "assets" / "librispeech_118-121721-0000_3s.flac"
TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_TOKEN", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


def _wav(y: np.ndarray, sr: int, subtype: str = "PCM_16") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def test_score_answers_with_warnings_docs_page_and_schema() -> None:
    y, sr = sf.read(SPEECH)
    whole = _wav(y, sr)
    cut = whole[: len(whole) // 2]  # the header still announces all of it
    ints_as_float = _wav(y * 32768, sr, "FLOAT")
    cfg = ServiceConfig(http=("127.0.0.1", 0), token=TOKEN, workers=1)
    cfg.validate()

    async def main() -> dict:
        async with RunningService(cfg, detector=Detector("fast")) as rs:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rs.http_port}", timeout=120) as h:
                wav = {**AUTH, "Content-Type": "audio/wav"}
                return {
                    "whole": await h.post("/v1/score", content=whole, headers=wav),
                    "cut": await h.post("/v1/score", content=cut, headers=wav),
                    "cut_form": await h.post("/v1/score", headers=AUTH, files={"file": ("cut.wav", cut, "audio/wav")}),
                    "float": await h.post("/v1/score", content=ints_as_float, headers=wav),
                    "docs": await h.get("/docs"),
                    "spec_no_token": await h.get("/openapi.json"),
                    "spec": await h.get("/openapi.json", headers=AUTH),
                }

    r = asyncio.run(asyncio.wait_for(main(), 240))
    assert r["whole"].status_code == 200 and "warnings" not in r["whole"].json()
    for key in ("cut", "cut_form"):
        body = r[key].json()
        assert r[key].status_code == 200 and len(body["warnings"]) == 1, body
        assert "truncated file" in body["warnings"][0] and body["warnings"][0].startswith("the upload")
    schema = output_schema()
    for key in ("whole", "cut", "cut_form"):
        jsonschema.validate(r[key].json(), schema)
    assert r["float"].status_code == 422 and "far outside [-1, 1]" in r["float"].json()["error"]
    # the page opens without the token and sends it with every request it makes
    assert r["docs"].status_code == 200 and "text/html" in r["docs"].headers["content-type"]
    page = r["docs"].text
    assert '"/openapi.json"' in page and "requestInterceptor" in page and "Bearer" in page
    assert "const needToken = true" in page and TOKEN not in page
    assert r["spec_no_token"].status_code == 401 and r["spec"].status_code == 200
    assert "/v1/score" in r["spec"].json()["paths"]


def test_docs_page_without_a_token_asks_nothing() -> None:
    from voiceguard.service.docs_page import docs_html

    page = docs_html("/openapi.json", needs_token=False)
    assert "const needToken = false" in page
