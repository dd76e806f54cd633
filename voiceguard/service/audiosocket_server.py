"""The AudioSocket listener: one connection is one call, scored while it lasts.

Per call: the UUID frame first (within ``handshake_timeout_s``), then audio frames feed a
:class:`voiceguard.detect.stream.StreamScorer` created at the rate of the first audio frame;
DTMF frames are counted and otherwise ignored (digits are never stored: they may be PINs);
silence is the scorer's business (speech activity detection). Running verdicts are
reported (event log, webhook) when the verdict first leaves ``pending``, whenever it
changes, and at least every ``running_report_s`` of audio; the latest state is always
readable at ``GET /v1/calls/{uuid}``. At hangup (``0x00`` frame or a clean socket close,
both legal ends of a call) the call's final verdict is computed: for Whisper models by the encoder scheduler
(:mod:`voiceguard.service.scheduler`: blocks of all calls batched through one encoder pass,
finals first; block models reuse the windows scored live), otherwise by scoring the whole
call once more.

Faults end only the call they affect, with an ``error`` event: a protocol violation
(malformed, oversized, unknown or misplaced frame, a rate change mid-call), a timeout
(no UUID, no frame for ``idle_timeout_s``, a frame left unfinished for
``read_timeout_s``: slow-loris), a reset connection, an Asterisk error frame, or a
scoring failure. When audio had arrived, a final verdict over it is still computed and
reported, marked with the error. Calls beyond ``max_concurrent_calls`` get a hangup frame
and are closed at once (``refused`` event).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from voiceguard.detect.result import NO_SPEECH
from voiceguard.errors import VoiceguardError
from voiceguard.service.audiosocket import (
    AUDIO_RATES,
    KIND_DTMF,
    KIND_ERROR,
    KIND_HANGUP,
    KIND_UUID,
    IdleTimeoutError,
    ProtocolError,
    ReadTimeoutError,
    encode_frame,
    read_frame,
)
from voiceguard.service.core import Call, Service

__all__ = ["handle_connection", "start_audiosocket"]

log = logging.getLogger("voiceguard.service")

_ASTERISK_ERRORS = {0x01: "hangup of the calling party", 0x02: "frame forwarding error", 0x04: "memory error"}


class CallError(Exception):
    """Ends a call with an error message (internal)."""


async def start_audiosocket(service: Service, host: str | None = None, port: int | None = None, *,
                            sock: Any = None) -> asyncio.base_events.Server:
    """Listen for AudioSocket connections on ``host:port``, or on an already bound ``sock``."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # a connection handler always runs in a task
        service.handlers.add(task)
        try:
            await handle_connection(service, reader, writer)
        finally:
            service.handlers.discard(task)

    if sock is not None:
        return await asyncio.start_server(on_connect, sock=sock, limit=2 ** 16)
    return await asyncio.start_server(on_connect, host, port, limit=2 ** 16)


async def handle_connection(service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one AudioSocket connection until hangup, close or error."""
    cfg = service.config
    peer = _peer(writer)
    if service.active >= cfg.max_concurrent_calls:
        service.refused += 1
        service.events.emit("refused", None, peer=peer,
                            reason=f"{service.active} calls in progress (max_concurrent_calls "
                                   f"{cfg.max_concurrent_calls})")
        await _close(writer, hangup=True)
        return
    service.active += 1
    try:
        await _serve(service, reader, writer, peer)
    finally:
        service.active -= 1
        await _close(writer)


async def _serve(service: Service, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str) -> None:
    cfg = service.config
    limits: dict[str, Any] = dict(max_payload=cfg.max_frame_bytes, read_timeout=cfg.read_timeout_s)
    try:
        first = await read_frame(reader, idle_timeout=cfg.handshake_timeout_s, **limits)
        if first is None:
            raise CallError("connection closed before the UUID frame")
        if first.kind != KIND_UUID:
            raise CallError(f"the first frame must be the call UUID (kind 0x01), got kind 0x{first.kind:02x}")
        key = str(first.uuid())
    except (ProtocolError, IdleTimeoutError, ReadTimeoutError, CallError, ConnectionError) as exc:
        service.events.emit("error", None, peer=peer, error=_describe(exc), stage="handshake")
        return
    if key in service.calls:
        service.events.emit("error", key, peer=peer, error="a call with this UUID is already in progress",
                            stage="handshake")
        return
    call = Call(uuid=key, peer=peer)
    service.calls[key] = call
    speaker = service.speaker_for(key)
    service.events.emit("call_start", key, peer=peer, speaker=speaker)
    try:
        if speaker is not None:
            try:
                await service.run_store(service.verifier_for, speaker)
                call.speaker = speaker
            except VoiceguardError as exc:
                service.events.emit("error", key, error=f"speaker {speaker!r} not attached: {exc}", fatal=False)
        await _stream(service, call, reader, **limits)
    except asyncio.CancelledError:
        call.error, call.ended_by = "the service shut down during the call", "shutdown"
        raise
    except (ProtocolError, IdleTimeoutError, ReadTimeoutError, CallError, ConnectionError, VoiceguardError) as exc:
        call.error = _describe(exc)
        call.ended_by = "error"
    except Exception as exc:  # a bug must end this call only, loudly
        log.exception("call %s failed", key)
        call.error = f"internal error: {type(exc).__name__}: {exc}"
        call.ended_by = "error"
    finally:
        if call.error is not None:
            service.events.emit("error", key, error=call.error)
        await _finish(service, call)


async def _stream(service: Service, call: Call, reader: asyncio.StreamReader, **limits: Any) -> None:
    cfg = service.config
    while True:
        frame = await read_frame(reader, idle_timeout=cfg.idle_timeout_s, **limits)
        if frame is None:
            call.ended_by = "socket_closed"
            return
        call.frames += 1
        kind = frame.kind
        if kind == KIND_HANGUP:
            call.ended_by = "hangup"
            return
        rate = AUDIO_RATES.get(kind)
        if rate is not None:
            if len(frame.payload) % 2:
                raise ProtocolError(f"audio frame of {len(frame.payload)} bytes: 16-bit PCM needs an even count")
            if call.scorer is None:
                await _open_scorer(service, call, rate)
            elif rate != call.sample_rate:
                raise ProtocolError(f"audio rate changed mid-call from {call.sample_rate} to {rate} Hz")
            if call.sched is not None:  # Whisper models: the encoder scheduler, never awaited
                service.scheduler.push(call.sched, frame.payload)
                if call.sched.final is not None and call.sched.final.done():  # scoring failed
                    raise CallError(f"scoring failed: {call.sched.final.exception()}")
            elif call.scorer.push(frame.payload):
                try:
                    states = await service.run_scoring(call.scorer.step)
                except VoiceguardError as exc:
                    raise CallError(f"scoring failed: {exc}") from exc
                except Exception as exc:
                    log.exception("scoring failed in call %s", call.uuid)
                    raise CallError(f"scoring failed: {type(exc).__name__}: {exc}") from exc
                for st in states:
                    _report_running(service, call, st)
        elif kind == KIND_DTMF:
            call.dtmf_digits += 1  # counted, never stored
        elif kind == KIND_ERROR:
            code = frame.payload[0] if frame.payload else None
            what = _ASTERISK_ERRORS.get(code, "unknown error") if code is not None else "no code"
            raise CallError(f"Asterisk reported an error (code {code}: {what})")
        elif kind == KIND_UUID:
            raise ProtocolError("a second UUID frame in the same call")
        else:
            raise ProtocolError(f"unknown frame kind 0x{kind:02x} ({len(frame.payload)} bytes)")


async def _open_scorer(service: Service, call: Call, rate: int) -> None:
    from voiceguard.detect.stream import StreamScorer

    cfg = service.config
    ver = None
    if call.speaker is not None:
        ver = await service.run_store(service.verifier)
    call.sample_rate = rate
    call.scorer = StreamScorer(service.detector, sr=rate, update_s=cfg.update_s,
                               running_min_speech_s=cfg.running_min_speech_s,
                               max_duration_s=cfg.max_call_duration_s, speaker=call.speaker, verifier=ver)
    if service.scheduler is not None and call.scorer.live is not None:
        loop = asyncio.get_running_loop()

        def on_running(state: Any) -> None:  # a scheduler thread
            loop.call_soon_threadsafe(_report_running, service, call, state)

        call.sched = service.scheduler.add(call.scorer, call.uuid, on_running)


def _report_running(service: Service, call: Call, state: Any) -> None:
    d = state.to_dict()
    d.pop("segments", None)  # the call's segments go with the final event only
    call.state = d
    if d["verdict"] == "pending":
        return
    key = (d["verdict"], d.get("decision"))
    due = state.duration_s - call.last_report_s >= service.config.running_report_s
    if key != call.last_reported or due:
        call.last_reported = key
        call.last_report_s = state.duration_s
        service.events.emit("running", call.uuid, **_public(call))


def _public(call: Call) -> dict[str, Any]:
    d = call.to_dict()
    d.pop("call", None)
    return d


async def _finish(service: Service, call: Call) -> None:
    """Final verdict over whatever audio arrived, reported once; then the call is ended."""
    try:
        if call.sched is not None:
            try:
                st = await asyncio.wrap_future(service.scheduler.finish(call.sched))
            except Exception as exc:  # the scheduler failed this call: score what arrived once more
                log.exception("scheduled scoring failed in call %s", call.uuid)
                if call.error is None:
                    call.error, call.ended_by = f"scoring failed: {exc}", "error"
                    service.events.emit("error", call.uuid, error=call.error)
                st = await service.run_final(call.scorer.finish)
            call.state = st.to_dict()
        elif call.scorer is not None:
            st = await service.run_final(call.scorer.finish)
            call.state = st.to_dict()
        else:
            call.state = {**(call.state or {}), "verdict": NO_SPEECH}
    except Exception as exc:  # the final scoring failed; report, do not crash
        log.exception("final scoring failed in call %s", call.uuid)
        msg = f"final scoring failed: {type(exc).__name__}: {exc}"
        call.error = f"{call.error}; {msg}" if call.error else msg
        service.events.emit("error", call.uuid, error=msg)
    call.final = True
    if call.ended_by is None:
        call.ended_by = "error" if call.error else "hangup"
    service.events.emit("final", call.uuid, dtmf_digits=call.dtmf_digits, **_public(call))
    service.end_call(call)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionError):
        return f"connection lost ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def _peer(writer: asyncio.StreamWriter) -> str:
    p = writer.get_extra_info("peername")
    return f"{p[0]}:{p[1]}" if isinstance(p, tuple) and len(p) >= 2 else str(p)


async def _close(writer: asyncio.StreamWriter, hangup: bool = False) -> None:
    try:
        if hangup and not writer.is_closing():
            writer.write(encode_frame(KIND_HANGUP))
            await asyncio.wait_for(writer.drain(), 1.0)
    except (ConnectionError, OSError, asyncio.TimeoutError):
        pass
    if not writer.is_closing():
        writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 1.0)
    except (ConnectionError, OSError, asyncio.TimeoutError):
        pass

