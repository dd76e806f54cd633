"""The Asterisk AudioSocket protocol: frames, a limit-enforcing reader, and a client.

AudioSocket (Asterisk's ``AudioSocket()`` dialplan application and ``chan_audiosocket``
channel driver) streams a call's audio over one TCP connection. Every message is a
3-byte header, **kind** (1 byte) and **payload length** (2 bytes, big-endian), then the
payload:

=========  =================================================================
kind       payload
=========  =================================================================
``0x00``   hangup (no payload); closing the socket also ends the call
``0x01``   the call's UUID, 16 bytes (binary form); the first message
``0x03``   one DTMF digit, 1 ASCII byte
``0x10``   signed-linear 16-bit little-endian mono PCM at 8 kHz
``0x11``   ... at 12 kHz; ``0x12`` 16 kHz; ``0x13`` 24 kHz; ``0x14`` 32 kHz;
           ``0x15`` 44.1 kHz; ``0x16`` 48 kHz (``chan_audiosocket`` with a
           negotiated ``slinNN`` format; the dialplan application sends 8 kHz)
``0xff``   error; optional 1-byte code (``0x01`` hangup, ``0x02`` frame
           forwarding, ``0x04`` memory)
=========  =================================================================

Asterisk sends 20 ms frames (320 bytes at 8 kHz). :func:`read_frame` enforces what a
server must not leave open: a maximum payload (larger frames are refused before their
payload is read), an idle timeout (no new frame) and a read timeout (a frame started but
not finished: a slow-loris peer).

:class:`AudioSocketClient` speaks the protocol byte for byte as Asterisk does: UUID
first, then 20 ms audio frames paced in real time (or faster), optional DTMF, and a
hangup. The test-suite and ``benchmarks/load_service.py`` use it; it is also a way to
exercise a deployment without a PBX (``python -m voiceguard.service.audiosocket HOST:PORT
clip.wav``).
"""

from __future__ import annotations

import asyncio
import struct
import time
import uuid as _uuid
from dataclasses import dataclass

import numpy as np

from voiceguard.errors import VoiceguardError

__all__ = [
    "KIND_HANGUP",
    "KIND_UUID",
    "KIND_DTMF",
    "KIND_AUDIO",
    "KIND_ERROR",
    "AUDIO_RATES",
    "Frame",
    "ProtocolError",
    "FrameTooLargeError",
    "IdleTimeoutError",
    "ReadTimeoutError",
    "encode_frame",
    "read_frame",
    "kind_for_rate",
    "AudioSocketClient",
]

KIND_HANGUP = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10
KIND_ERROR = 0xFF

#: Audio frame kinds and their sample rates.
AUDIO_RATES = {0x10: 8000, 0x11: 12000, 0x12: 16000, 0x13: 24000, 0x14: 32000, 0x15: 44100, 0x16: 48000}

_HEADER = struct.Struct("!BH")

#: Largest payload the 2-byte length field can announce.
MAX_PAYLOAD = 0xFFFF


class ProtocolError(VoiceguardError, ValueError):
    """The peer broke the AudioSocket protocol (malformed, unknown or misplaced frame)."""


class FrameTooLargeError(ProtocolError):
    """A frame announced a payload above the configured maximum."""


class IdleTimeoutError(VoiceguardError, TimeoutError):
    """No frame arrived within the idle timeout."""


class ReadTimeoutError(VoiceguardError, TimeoutError):
    """A frame was started but not completed within the read timeout (slow sender)."""


@dataclass(frozen=True)
class Frame:
    """One AudioSocket message.

    Attributes
    ----------
    kind : int
    payload : bytes
    """

    kind: int
    payload: bytes = b""

    @property
    def sample_rate(self) -> int | None:
        """int or None : the rate of an audio frame, ``None`` for other kinds."""
        return AUDIO_RATES.get(self.kind)

    def uuid(self) -> _uuid.UUID:
        """The call UUID of a ``0x01`` frame.

        Raises
        ------
        ProtocolError
            Not a UUID frame, or its payload is not 16 bytes.
        """
        if self.kind != KIND_UUID or len(self.payload) != 16:
            raise ProtocolError(f"a UUID frame carries 16 bytes, got kind 0x{self.kind:02x} with "
                                f"{len(self.payload)} bytes")
        return _uuid.UUID(bytes=self.payload)


def encode_frame(kind: int, payload: bytes = b"") -> bytes:
    """Header plus payload of one message.

    Raises
    ------
    ProtocolError
        ``kind`` is not a byte or the payload exceeds 65535 bytes.
    """
    if not 0 <= kind <= 0xFF:
        raise ProtocolError(f"frame kind must be one byte, got {kind}")
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds the 65535-byte limit of the length field")
    return _HEADER.pack(kind, len(payload)) + bytes(payload)


def kind_for_rate(sr: int) -> int:
    """The audio frame kind for a sample rate (8000 -> 0x10, 16000 -> 0x12...)."""
    for k, r in AUDIO_RATES.items():
        if r == sr:
            return k
    raise ProtocolError(f"AudioSocket carries no {sr} Hz audio; rates: {sorted(AUDIO_RATES.values())}")


async def read_frame(reader: asyncio.StreamReader, *, max_payload: int = 8192, idle_timeout: float | None = None,
                     read_timeout: float | None = None) -> Frame | None:
    """Read one message.

    Parameters
    ----------
    reader : asyncio.StreamReader
    max_payload : int
        Larger announced payloads raise :class:`FrameTooLargeError` before the payload
        is read (so a hostile length cannot make the server buffer 64 KB per frame).
    idle_timeout : float, optional
        Seconds to wait for the first header byte.
    read_timeout : float, optional
        Seconds allowed for the rest of the frame once its first byte arrived.

    Returns
    -------
    Frame or None
        ``None`` when the peer closed the connection cleanly between frames.

    Raises
    ------
    ProtocolError, FrameTooLargeError, IdleTimeoutError, ReadTimeoutError
        ``asyncio.IncompleteReadError`` (a frame cut short) surfaces as ProtocolError.
    """
    try:
        first = await asyncio.wait_for(reader.read(1), idle_timeout)
    except asyncio.TimeoutError as exc:
        raise IdleTimeoutError(f"no frame for {idle_timeout:g} s") from exc
    if not first:
        return None
    deadline = None if read_timeout is None else time.monotonic() + read_timeout

    async def exactly(n: int) -> bytes:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            return await asyncio.wait_for(reader.readexactly(n), left)
        except asyncio.TimeoutError as exc:
            raise ReadTimeoutError(f"frame not completed within {read_timeout:g} s") from exc
        except asyncio.IncompleteReadError as exc:
            raise ProtocolError(f"connection closed in the middle of a frame ({len(exc.partial)} of {n} "
                                f"bytes)") from exc

    kind = first[0]
    (length,) = struct.unpack("!H", await exactly(2))
    if length > max_payload:
        raise FrameTooLargeError(f"frame of kind 0x{kind:02x} announces {length} bytes, above the "
                                 f"{max_payload}-byte limit")
    payload = await exactly(length) if length else b""
    return Frame(kind, payload)


class AudioSocketClient:
    """An AudioSocket peer that behaves like Asterisk: for tests, load tests and demos.

    Parameters
    ----------
    host, port : str, int
        The voiceguard AudioSocket listener.
    call_uuid : uuid.UUID or str, optional
        Default: a random UUID.

    Examples
    --------
    >>> async def call():  # doctest: +SKIP
    ...     async with AudioSocketClient("127.0.0.1", 9092) as c:
    ...         await c.stream(pcm, 8000, realtime=True)
    ...         await c.hangup()
    """

    def __init__(self, host: str, port: int, call_uuid: _uuid.UUID | str | None = None) -> None:
        self.host, self.port = host, int(port)
        self.uuid = _uuid.UUID(str(call_uuid)) if call_uuid is not None else _uuid.uuid4()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.sent_samples = 0

    async def connect(self, *, send_uuid: bool = True) -> None:
        """Open the connection and (like Asterisk) send the UUID frame."""
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        if send_uuid:
            await self.send(KIND_UUID, self.uuid.bytes)

    async def send(self, kind: int, payload: bytes = b"") -> None:
        """Send one frame."""
        assert self.writer is not None, "connect() first"
        self.writer.write(encode_frame(kind, payload))
        await self.writer.drain()

    async def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (for malformed-input tests)."""
        assert self.writer is not None, "connect() first"
        self.writer.write(data)
        await self.writer.drain()

    async def stream(self, pcm: np.ndarray, sr: int = 8000, *, realtime: bool = True, speed: float = 1.0,
                     frame_ms: int = 20, on_frame=None) -> None:
        """Send int16 samples as 20 ms audio frames.

        Parameters
        ----------
        pcm : np.ndarray [shape=(n,)], int16
        sr : int
            Their rate (selects the frame kind).
        realtime : bool
            Pace frames on a wall clock (``speed`` times real time); otherwise as fast as
            the socket takes them.
        on_frame : callable, optional
            ``on_frame(samples_sent)`` after each frame (for latency measurements).
        """
        kind = kind_for_rate(sr)
        pcm = np.asarray(pcm)
        if pcm.dtype != np.int16:
            raise TypeError(f"stream() sends int16 PCM, got {pcm.dtype}")
        step = sr * frame_ms // 1000
        t0 = time.monotonic()
        for i in range(0, len(pcm), step):
            chunk = pcm[i:i + step]
            await self.send(kind, chunk.astype("<i2").tobytes())
            self.sent_samples += len(chunk)
            if on_frame is not None:
                on_frame(self.sent_samples)
            if realtime:
                due = t0 + (i + len(chunk)) / sr / speed
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)

    async def dtmf(self, digit: str) -> None:
        """Send one DTMF digit."""
        await self.send(KIND_DTMF, digit.encode("ascii"))

    async def hangup(self) -> None:
        """Send the hangup frame and wait for the server to close."""
        await self.send(KIND_HANGUP)
        await self.close()

    async def close(self) -> None:
        """Close the connection (without a hangup frame if none was sent)."""
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass
            self.writer = None

    async def __aenter__(self) -> AudioSocketClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def _main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(prog="python -m voiceguard.service.audiosocket",
                                description="Stream an audio file to an AudioSocket server as Asterisk would.")
    p.add_argument("address", help="HOST:PORT of the AudioSocket listener")
    p.add_argument("file", help="audio file (resampled to --rate)")
    p.add_argument("--rate", type=int, default=8000, help="rate to send (default 8000: the dialplan app's)")
    p.add_argument("--uuid", default=None, help="call UUID (default random)")
    p.add_argument("--fast", action="store_true", help="send as fast as possible instead of in real time")
    args = p.parse_args(argv)
    from voiceguard.audio import load_mono

    host, _, port = args.address.rpartition(":")
    y, _ = load_mono(args.file, args.rate)
    pcm = (np.clip(y, -1, 1) * 32767).astype(np.int16)

    async def run() -> None:
        async with AudioSocketClient(host or "127.0.0.1", int(port), args.uuid) as c:
            print(f"call {c.uuid}: streaming {len(pcm) / args.rate:.1f} s")
            await c.stream(pcm, args.rate, realtime=not args.fast)
            await c.hangup()

    asyncio.run(run())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(_main())
