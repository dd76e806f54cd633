"""Fuzz target ``http_upload``: uploads to the HTTP API, decoded in-process.

Two modes (byte 0):

* **decode** (even): :func:`voiceguard.service.http_api.decode_upload` on the body with a
  media type and a file name drawn from the input: every sound-file format, headerless
  G.711 (mu-law/A-law, with ``rate=`` parameters), unknown types. The result must be
  finite float64 mono audio at a positive rate; G.711 decodes to [-1, 1].
* **app** (odd): ``POST /v1/score`` through the real FastAPI application (ASGI, in
  process, no socket) with the body raw or as ``multipart/form-data``, the media type and
  headers drawn from the input, and a stand-in detector (uploads are under test, not the
  model). The answer must be 200 or one of the documented errors (400, 408, 413, 415,
  422) as JSON ``{"error", "status"}``; an unexpected exception is a finding.

Input after byte 0: a media type (an index into a list, or text), an optional file name,
then the body.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import soundfile  # noqa: F401 - imported lazily by voiceguard; here so that run.py instruments them
import starlette.formparsers  # noqa: F401
from _harness import Reader, check_audio, expected_errors

import voiceguard.audio
import voiceguard.data.channel  # noqa: F401
from voiceguard.service import http_api, uploads
from voiceguard.service.config import ServiceConfig
from voiceguard.service.core import Service

MEDIA_TYPES = (
    "audio/wav", "audio/flac", "audio/ogg", "audio/mpeg", "application/octet-stream", "audio/basic",
    "audio/PCMU", "audio/PCMA;rate=8000", "audio/PCMU; rate=16000", "audio/basic;rate=abc", "audio/pcma;rate=1",
    "multipart/form-data; boundary=vgboundary", "multipart/form-data; boundary=\"vg b\"", "text/plain", "",
    "audio/x-alaw-basic; rate=192001", "AUDIO/WAV; charset=x", "multipart/form-data",
)
FILENAMES = ("clip.wav", "call.ul", "call.al", "x.ulaw", "noext", "", "a.b.alaw", ".ul")
DOCUMENTED = {200, 400, 408, 413, 415, 422}


class _Result:
    def __init__(self, n, sr):
        self.n, self.sr = n, sr

    def to_dict(self):
        return {"duration_s": self.n / self.sr, "sample_rate": self.sr}


class StubDetector:
    name = "stub"
    threshold = 0.5

    def score_mono(self, y, sr, *, name=None, channels=1):
        check_audio(np.asarray(y))
        assert isinstance(sr, int) and sr > 0 and channels >= 1
        return _Result(len(y), sr)


_APP = None


def _app():
    global _APP
    if _APP is None:
        cfg = ServiceConfig(http=("127.0.0.1", 0), workers=1, max_upload_bytes=1 << 20, max_upload_duration_s=600.0,
                            body_timeout_s=5.0)
        _APP = http_api.create_app(Service(cfg, detector=StubDetector()))
    return _APP


def _header_text(r: Reader, max_len: int = 80) -> str:
    if r.bool():
        return r.pick(MEDIA_TYPES)
    raw = r.bytes(r.int(0, max_len))
    return "".join(chr(b) for b in raw if 0x20 <= b < 0x7F)


async def _post(headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": "/v1/score", "raw_path": b"/v1/score", "query_string": b"",
             "root_path": "", "headers": headers, "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 80)}
    sent = {"body": False}
    out: list[dict] = []

    async def receive():
        if not sent["body"]:
            sent["body"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)  # the client waits for the answer

    async def send(msg):
        out.append(msg)

    await asyncio.wait_for(_app()(scope, receive, send), 30)
    start = next(m for m in out if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in out if m["type"] == "http.response.body")


def one_input(data: bytes) -> None:
    r = Reader(data)
    mode = r.int(0, 255)
    ctype = _header_text(r)
    filename = r.pick(FILENAMES) if r.bool() else r.text(20)
    body = r.rest()
    if mode % 2 == 0:
        with expected_errors():
            y, sr, channels = http_api.decode_upload(body, ctype or None, filename or None)
            check_audio(y)
            assert isinstance(sr, int) and sr > 0 and channels >= 1
            mtype = ctype.split(";")[0].strip().lower()
            if mtype in uploads._MULAW_TYPES | uploads._ALAW_TYPES:
                assert np.abs(y).max() <= 1.0, "G.711 decoded outside [-1, 1]"
        return
    headers = [(b"host", b"test")]
    if ctype:
        headers.append((b"content-type", ctype.encode("latin-1")))
    if mode & 2:
        headers.append((b"content-length", str(len(body)).encode()))
    status, payload = asyncio.run(_post(headers, body))
    assert status in DOCUMENTED, (status, payload[:300])
    doc = json.loads(payload)
    if status != 200:
        assert doc["status"] == status and isinstance(doc["error"], str) and doc["error"], doc
