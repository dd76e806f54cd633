"""Fuzz target ``audiosocket``: a peer's byte stream through the AudioSocket frame parser and
the listener's per-call logic.

Two checks on the same bytes:

1. :func:`voiceguard.service.audiosocket.read_frame` in a loop over a stream that holds the bytes
   and then ends: every frame it returns re-encodes (:func:`encode_frame`) to exactly the
   bytes it consumed, it never returns a payload above ``max_payload``, and it stops with
   ``None`` (clean end between frames) or a :class:`ProtocolError` (anything else).
2. The listener's connection handler (``voiceguard.service.audiosocket_server``) on the
   same stream, with a stand-in scorer (the parser and the call state machine are under
   test, not the detector): a call must end with ``ended_by`` in {hangup, socket_closed,
   error}, a final event, and never an "internal error" (an unexpected exception).

Input: byte 0 picks ``max_payload``, the rest is what the peer sends.
"""

from __future__ import annotations

import asyncio

from _harness import expected_errors

import voiceguard.detect.stream as stream_mod
from voiceguard.service import audiosocket as asock
from voiceguard.service import audiosocket_server as server
from voiceguard.service.config import ServiceConfig
from voiceguard.service.core import Service

MAX_PAYLOADS = (8192, 320, 16, 1, 65535, 0)


class _State:
    final, verdict, duration_s, segments = True, "no_speech", 0.0, []

    def to_dict(self):
        return {"final": True, "verdict": self.verdict, "duration_s": self.duration_s, "speech_s": 0.0,
                "truncated": False, "window": None}


class StubScorer:
    """Stands in for StreamScorer: counts samples, asks for an update every 0.5 s."""

    def __init__(self, detector=None, *, sr, **kwargs):
        self.sr, self.n, self.next_update = sr, 0, sr // 2

    def push(self, payload: bytes) -> bool:
        self.n += len(payload) // 2
        return self.n >= self.next_update

    def step(self):
        self.next_update = self.n + self.sr // 2
        return []

    def finish(self):
        st = _State()
        st.duration_s = self.n / self.sr
        return st


class _Writer:
    def __init__(self):
        self.closed = False
        self.data = bytearray()

    def get_extra_info(self, name):
        return ("198.51.100.7", 4242) if name == "peername" else None

    def write(self, b):
        self.data += b

    async def drain(self):
        pass

    def is_closing(self):
        return self.closed

    def close(self):
        self.closed = True

    async def wait_closed(self):
        pass


_SERVICE = None


def _service() -> Service:
    global _SERVICE
    if _SERVICE is None:
        cfg = ServiceConfig(audiosocket=("127.0.0.1", 0), workers=1, handshake_timeout_s=1.0, idle_timeout_s=1.0,
                            read_timeout_s=1.0)
        _SERVICE = Service(cfg, detector=object())
    return _SERVICE


def _reader(data: bytes) -> asyncio.StreamReader:
    r = asyncio.StreamReader(limit=2 ** 16)
    r.feed_data(data)
    r.feed_eof()
    return r


async def _parse(data: bytes, max_payload: int) -> None:
    reader = _reader(data)
    consumed = 0
    with expected_errors():
        while True:
            frame = await asock.read_frame(reader, max_payload=max_payload, idle_timeout=1.0, read_timeout=1.0)
            if frame is None:
                assert consumed == len(data), (consumed, len(data))
                return
            assert len(frame.payload) <= max_payload
            enc = asock.encode_frame(frame.kind, frame.payload)
            assert data[consumed:consumed + len(enc)] == enc, "frame does not re-encode to its bytes"
            consumed += len(enc)
            if frame.kind == asock.KIND_UUID and len(frame.payload) == 16:
                assert frame.uuid().bytes == frame.payload


async def _serve(data: bytes, max_payload: int) -> None:
    svc = _service()
    svc.config.max_frame_bytes = max(1, max_payload)
    events = []
    emit = svc.events.emit
    svc.events.emit = lambda event, call=None, **f: events.append((event, call, f)) or {}
    try:
        await server.handle_connection(svc, _reader(data), _Writer())
    finally:
        svc.events.emit = emit
    for event, _call, fields in events:
        for v in fields.values():
            assert "internal error" not in str(v), (event, fields)
    finals = [f for e, _, f in events if e == "final"]
    started = [c for e, c, _ in events if e == "call_start"]
    assert len(finals) == len(started) <= 1, events
    for f in finals:
        assert f["ended_by"] in ("hangup", "socket_closed", "error"), f
    assert not svc.calls, "a call was left open"


def one_input(data: bytes) -> None:
    if not data:
        return
    max_payload = MAX_PAYLOADS[data[0] % len(MAX_PAYLOADS)]
    real = stream_mod.StreamScorer
    stream_mod.StreamScorer = StubScorer  # the listener imports it from there per call
    try:
        asyncio.run(_main(data[1:], max_payload))
    finally:
        stream_mod.StreamScorer = real


async def _main(body: bytes, max_payload: int) -> None:
    await _parse(body, max_payload)
    await _serve(body, max_payload)
