"""Uploads of the HTTP API: reading a request body within the limits, decoding it as audio.

Raw audio as the body with its media type, or ``multipart/form-data`` with the audio in a
``file`` field; headerless G.711 by media type or file extension (see
:mod:`voiceguard.service.http_api`).
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import numpy as np

from voiceguard.errors import InvalidAudioError, VoiceguardError

__all__ = ["UploadError", "UploadReader", "decode_upload"]

_SNDFILE_TYPES = {
    "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave", "audio/flac", "audio/x-flac", "audio/ogg",
    "audio/opus", "audio/vorbis", "audio/mpeg", "audio/mp3", "audio/aiff", "audio/x-aiff", "audio/x-flac+ogg",
    "application/ogg", "application/octet-stream",
}
_MULAW_TYPES = {"audio/basic", "audio/pcmu", "audio/x-mulaw", "audio/mulaw", "audio/x-ulaw"}
_ALAW_TYPES = {"audio/pcma", "audio/x-alaw-basic", "audio/alaw", "audio/x-alaw"}
_EXT_LAW = {".ul": "mu", ".ulaw": "mu", ".mulaw": "mu", ".al": "a", ".alaw": "a"}


class UploadError(VoiceguardError):
    """An upload the API refuses; carries the HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _media(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    main, *params = [p.strip() for p in content_type.split(";")]
    out = {}
    for p in params:
        k, _, v = p.partition("=")
        out[k.strip().lower()] = v.strip().strip('"')
    return main.lower(), out


def decode_upload(data: bytes, content_type: str | None, filename: str | None = None, *,
                  max_duration_s: float | None = None, notes: list[str] | None = None) -> tuple[np.ndarray, int, int]:
    """Decode an uploaded recording.

    Parameters
    ----------
    data : bytes
    content_type : str or None
        The media type as sent (parameters such as ``rate=8000`` honoured for G.711).
    filename : str, optional
        Used to recognise headerless G.711 (``.ul``, ``.al``) sent as octet-stream.
    max_duration_s : float, optional
        Refuse (413) a recording longer than this **before** decoding it: compressed audio
        can expand a thousandfold (2 hours of silence are 180 KB of FLAC), so the upload's
        byte limit alone does not bound the memory the decoded samples need. The samples
        are decoded in blocks and mixed down as they come, so memory is that of the mono
        result.
    notes : list of str, optional
        Receives what ``voiceguard score`` warns about a file (a WAV upload holding less
        audio than its header announces), as the response's ``warnings``.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64 mono
    sr : int
    channels : int

    Raises
    ------
    UploadError
        413 for a recording above ``max_duration_s``, 415 for a media type that is not
        audio voiceguard reads, 422 for bytes that do not decode or hold no samples.
    """
    mtype, params = _media(content_type)
    ext = "." + filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    law = "mu" if mtype in _MULAW_TYPES else "a" if mtype in _ALAW_TYPES else None
    if law is None and mtype in ("", "application/octet-stream"):
        law = _EXT_LAW.get(ext)
    if not data:
        raise UploadError(422, "the upload is empty: send the audio as the request body or as a 'file' form field")
    if law is not None:
        return _decode_g711(data, law, params, max_duration_s)
    if mtype and mtype not in _SNDFILE_TYPES:
        raise UploadError(415, f"unsupported media type {mtype!r}: send WAV, FLAC, OGG, MP3 or AIFF (audio/wav, "
                               "audio/flac, ...), G.711 (audio/basic, audio/PCMU, audio/PCMA), or multipart/form-data "
                               "with a 'file' field")
    if notes is not None:
        from voiceguard.audio.decode import wav_problems

        notes += wav_problems(io.BytesIO(data), len(data), "the upload")
    return _decode_sndfile(data, max_duration_s)


def _decode_g711(data: bytes, law: str, params: dict[str, str],
                 max_duration_s: float | None) -> tuple[np.ndarray, int, int]:
    """Headerless G.711 (``law`` 'mu' or 'a'), 8 kHz unless ``rate=`` says otherwise."""
    from voiceguard.audio.g711 import alaw_decode, mulaw_decode

    try:
        sr = int(params.get("rate", 8000))
    except ValueError as exc:
        raise UploadError(422, f"rate parameter {params['rate']!r} is not an integer") from exc
    if not 4000 <= sr <= 192000:
        raise UploadError(422, f"rate parameter {sr} is out of range (4000-192000 Hz)")
    _check_length(len(data), sr, max_duration_s)
    codes = np.frombuffer(data, dtype=np.uint8)
    # 16-bit PCM values, scaled to [-1, 1] as every other decoded upload is
    y = (mulaw_decode if law == "mu" else alaw_decode)(codes).astype(np.float64) / 32768.0
    return y, sr, 1


def _decode_sndfile(data: bytes, max_duration_s: float | None) -> tuple[np.ndarray, int, int]:
    """A file libsndfile reads (WAV, FLAC, OGG, MP3, AIFF), mixed down block by block."""
    import soundfile as sf

    from voiceguard.audio import to_mono_array
    from voiceguard.audio.decode import check_range
    from voiceguard.audio.quiet import c_stderr_filtered, looks_like_mpeg

    try:
        with c_stderr_filtered(looks_like_mpeg(data[:4])), sf.SoundFile(io.BytesIO(data)) as f:
            sr, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
            _check_length(frames, sr, max_duration_s)
            y = np.empty(frames, np.float64)
            n = 0
            for block in f.blocks(blocksize=1 << 16, dtype="float64", always_2d=True):
                # mix-down per block: the same values as mixing the whole decoded array
                y[n:n + len(block)] = block[:, 0] if channels == 1 else block.mean(axis=1)
                n += len(block)
    except UploadError:
        raise
    except Exception as exc:  # libsndfile raises several types for undecodable input
        why = str(exc).rsplit(": ", 1)[-1].strip() or type(exc).__name__  # drop libsndfile's "Error opening <obj>"
        raise UploadError(422, f"cannot decode the upload as audio ({why}); check the file and its media "
                               "type") from exc
    if n == 0:
        raise UploadError(422, "the upload decodes to no audio samples")
    try:
        y, _ = to_mono_array(y[:n], frames_first=True)
        check_range(y, "the upload")
    except InvalidAudioError as exc:
        raise UploadError(422, f"the upload is not usable audio ({exc})") from exc
    return y, sr, channels


def _check_length(frames: int, sr: int, max_duration_s: float | None) -> None:
    if max_duration_s is not None and sr > 0 and frames > max_duration_s * sr:
        raise UploadError(413, f"the upload holds {frames / sr:.0f} s of audio, above the {max_duration_s:g} s limit "
                               "(max_upload_duration_s); split it or raise the limit")


class UploadReader:
    """Reads request bodies within a service's limits (size, time, duration)."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg

    async def body(self, request: Any) -> bytes:
        """The whole body: 413 past ``max_upload_bytes``, 408 past ``body_timeout_s``."""
        cfg = self.cfg
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > cfg.max_upload_bytes:
            raise UploadError(413, f"upload of {int(length)} bytes exceeds the {cfg.max_upload_bytes}-byte limit")
        chunks, size = [], 0

        async def collect() -> None:
            nonlocal size
            async for chunk in request.stream():
                size += len(chunk)
                if size > cfg.max_upload_bytes:
                    raise UploadError(413, f"upload exceeds the {cfg.max_upload_bytes}-byte limit")
                chunks.append(chunk)

        try:
            await asyncio.wait_for(collect(), cfg.body_timeout_s)
        except asyncio.TimeoutError as exc:
            raise UploadError(408, f"the upload did not complete within {cfg.body_timeout_s:g} s") from exc
        return b"".join(chunks)

    async def _form_files(self, request: Any, body: bytes) -> tuple[Any, list[Any]]:
        from starlette.exceptions import HTTPException

        request._body = body  # starlette parses the form from the cached body
        try:
            form = await request.form()
        except HTTPException as exc:  # starlette's answer to a body that does not parse
            raise UploadError(400, f"malformed multipart/form-data body ({exc.detail}); send the audio in a "
                                   "'file' field, e.g. curl -F file=@clip.wav") from exc
        return form, [f for k, f in form.multi_items() if k == "file" and hasattr(f, "read")]

    async def audio(self, request: Any, many: bool = False,
                    notes: list[str] | None = None) -> list[tuple[np.ndarray, int, int, str | None]]:
        """The recording(s) of a request: ``[(y, sr, channels, file name)]``; ``notes``
        receives their warnings (:func:`decode_upload`)."""
        body = await self.body(request)
        ctype = request.headers.get("content-type")
        limit = self.cfg.max_upload_duration_s
        if _media(ctype)[0] != "multipart/form-data":
            return [(*decode_upload(body, ctype, max_duration_s=limit, notes=notes), None)]
        form, files = await self._form_files(request, body)
        try:
            if not files:
                raise UploadError(422, "multipart upload without a 'file' field holding the audio")
            if len(files) > 1 and not many:
                raise UploadError(422, "send one 'file' per request")
            return [(*decode_upload(await f.read(), f.content_type, f.filename, max_duration_s=limit, notes=notes),
                     f.filename) for f in files]
        finally:
            await form.close()

    async def one_with_bytes(self, request: Any) -> tuple[bytes, np.ndarray, int, int, str | None]:
        """One recording with its bytes as sent (their SHA-256 is the exact hash)."""
        body = await self.body(request)
        data, ctype, fname = body, request.headers.get("content-type"), None
        if _media(ctype)[0] == "multipart/form-data":
            form, files = await self._form_files(request, body)
            try:
                if len(files) != 1:
                    raise UploadError(422, "send one 'file' per request" if files else
                                      "multipart upload without a 'file' field holding the audio")
                data, ctype, fname = await files[0].read(), files[0].content_type, files[0].filename
            finally:
                await form.close()
        y, sr, channels = decode_upload(data, ctype, fname)
        self.check_duration(y, sr)
        return data, y, sr, channels, fname

    def check_duration(self, y: np.ndarray, sr: int) -> None:
        """413 for a decoded recording longer than ``max_upload_duration_s``."""
        limit = self.cfg.max_upload_duration_s
        if len(y) / sr > limit:
            raise UploadError(413, f"recording of {len(y) / sr:.0f} s exceeds the {limit:g} s "
                                   "limit (max_upload_duration_s); split it or raise the limit")
