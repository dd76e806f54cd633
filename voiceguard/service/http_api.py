"""The HTTP API (FastAPI): score, verify, enroll, register and check provenance, query calls.

Every endpoint except ``GET /healthz`` requires ``Authorization: Bearer <token>`` when
the service has a token (``VOICEGUARD_TOKEN``); the OpenAPI description is at
``/openapi.json`` and the interactive docs at ``/docs``, behind the same token.

Uploads are either the raw audio as the request body with its media type, or
``multipart/form-data`` with the audio in a ``file`` field (``curl -F file=@clip.wav``).
Accepted: WAV (PCM, float, G.711 mu-law/A-law), FLAC, OGG/Vorbis/Opus, MP3, AIFF (any
rate and channel count), and headerless G.711: ``audio/basic`` or ``audio/PCMU``
(mu-law), ``audio/PCMA`` or ``audio/x-alaw-basic`` (A-law), 8 kHz unless a ``rate=``
parameter says otherwise, also recognised by the ``.ul``/``.ulaw``/``.al``/``.alaw``
file extensions. Errors are JSON ``{"error": message, "status": code}``: 400 (a
multipart body that does not parse), 401 (token),
404 (unknown speaker or call), 408 (upload too slow), 409 (speaker exists), 413 (upload
too large or too long), 415 (unsupported media type), 422 (audio that cannot be decoded
or scored, a failed enrollment, a missing or malformed parameter). Error messages never
reveal the server's files or other enrolled speakers.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import io
import uuid as _uuid
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from voiceguard.errors import AudioReadError, InvalidAudioError, InvalidParameterError, VoiceguardError
from voiceguard.service.core import Service

__all__ = ["create_app", "decode_upload", "UploadError"]

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
                  max_duration_s: float | None = None) -> tuple[np.ndarray, int, int]:
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
    from voiceguard.audio import to_mono_array

    mtype, params = _media(content_type)
    ext = "." + filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
    law = "mu" if mtype in _MULAW_TYPES else "a" if mtype in _ALAW_TYPES else None
    if law is None and mtype in ("", "application/octet-stream"):
        law = _EXT_LAW.get(ext)
    if not data:
        raise UploadError(422, "the upload is empty: send the audio as the request body or as a 'file' form field")
    if law is not None:
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
    if mtype and mtype not in _SNDFILE_TYPES:
        raise UploadError(415, f"unsupported media type {mtype!r}: send WAV, FLAC, OGG, MP3 or AIFF (audio/wav, "
                               "audio/flac, ...), G.711 (audio/basic, audio/PCMU, audio/PCMA), or multipart/form-data "
                               "with a 'file' field")
    import soundfile as sf

    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
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
    except InvalidAudioError as exc:
        raise UploadError(422, f"the upload is not usable audio ({exc})") from exc
    return y, sr, channels


def _check_length(frames: int, sr: int, max_duration_s: float | None) -> None:
    if max_duration_s is not None and sr > 0 and frames > max_duration_s * sr:
        raise UploadError(413, f"the upload holds {frames / sr:.0f} s of audio, above the {max_duration_s:g} s limit "
                               "(max_upload_duration_s); split it or raise the limit")


def _describe_validation(exc: Any) -> str:
    """One sentence for FastAPI's request-validation errors (missing or malformed parameters)."""
    where = {"query": "query parameter", "path": "path parameter", "body": "request body field",
             "header": "header", "cookie": "cookie"}
    parts = []
    for err in exc.errors():
        loc = [str(x) for x in err.get("loc", ())]
        kind = where.get(loc[0], loc[0]) if loc else "request"
        name = ".".join(loc[1:])
        what = f"{kind} '{name}'" if name else kind
        if err.get("type") == "missing":
            parts.append(f"missing {what}")
        else:
            parts.append(f"{what}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts) if parts else "invalid request"


class AttachSpeaker(BaseModel):
    """Body of ``PUT /v1/calls/{uuid}/speaker``."""

    speaker: str


def create_app(service: Service) -> Any:
    """The FastAPI application of a :class:`Service`."""
    from voiceguard._version import __version__

    cfg = service.config
    app = FastAPI(title="voiceguard", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  description="Detection of cloned and synthetic speech, and spoof-aware speaker verification. "
                              "Send `Authorization: Bearer <token>` on every endpoint except /healthz.")

    def fail(status: int, message: str) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)

    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError) -> JSONResponse:
        return fail(exc.status, str(exc))

    # what the framework refuses itself (an unknown path, a wrong method) answers in the
    # same JSON shape (invalid parameters: _invalid_request below)
    from starlette.exceptions import HTTPException

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return fail(exc.status_code, str(exc.detail))

    @app.exception_handler(VoiceguardError)
    async def _vg_error(request: Request, exc: VoiceguardError) -> JSONResponse:
        from voiceguard.store import SpeakerExistsError, UnknownSpeakerError
        from voiceguard.voiceprint import EnrollmentError

        if isinstance(exc, UnknownSpeakerError):  # the CLI's message names the database and who is enrolled
            who = f" named {exc.name!r}" if exc.name is not None else ""
            return fail(404, f"no speaker{who} is enrolled; enroll one with POST /v1/speakers/{{name}}")
        if isinstance(exc, SpeakerExistsError):
            if exc.reason == "encoder":
                how = "re-enroll it with replace=true"
            else:
                how = "send replace=true to re-enroll it from these clips, or add=true to add them to it"
            return fail(409, f"{str(exc).rsplit(': ', 1)[0]}; {how}")
        if isinstance(exc, (InvalidAudioError, AudioReadError, EnrollmentError)):
            return fail(422, str(exc))
        if isinstance(exc, InvalidParameterError):
            return fail(400, str(exc))
        return fail(500, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return fail(422, _describe_validation(exc))

    class Unauthorized(Exception):
        pass

    @app.exception_handler(Unauthorized)
    async def _unauthorized(request: Request, exc: Unauthorized) -> JSONResponse:
        return fail(401, str(exc))

    def require_token(request: Request) -> None:
        if not cfg.token:
            return
        auth = request.headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(given.strip().encode(), cfg.token.encode()):
            raise Unauthorized("invalid bearer token")

    auth = [Depends(require_token)]

    async def read_body(request: Request) -> bytes:
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

    async def read_audio(request: Request, many: bool = False) -> list[tuple[np.ndarray, int, int, str | None]]:
        body = await read_body(request)
        mtype, _ = _media(request.headers.get("content-type"))
        if mtype == "multipart/form-data":
            request._body = body  # starlette parses the form from the cached body
            from starlette.exceptions import HTTPException

            try:
                form = await request.form()
            except HTTPException as exc:  # starlette's answer to a body that does not parse
                raise UploadError(400, f"malformed multipart/form-data body ({exc.detail}); send the audio in a "
                                       "'file' field, e.g. curl -F file=@clip.wav") from exc
            try:
                files = [f for k, f in form.multi_items() if k == "file" and hasattr(f, "read")]
                if not files:
                    raise UploadError(422, "multipart upload without a 'file' field holding the audio")
                if len(files) > 1 and not many:
                    raise UploadError(422, "send one 'file' per request")
                out = []
                for f in files:
                    out.append((*decode_upload(await f.read(), f.content_type, f.filename,
                                               max_duration_s=cfg.max_upload_duration_s), f.filename))
                return out
            finally:
                await form.close()
        return [(*decode_upload(body, request.headers.get("content-type"), max_duration_s=cfg.max_upload_duration_s),
                 None)]

    def check_duration(y: np.ndarray, sr: int) -> None:
        if len(y) / sr > cfg.max_upload_duration_s:
            raise UploadError(413, f"recording of {len(y) / sr:.0f} s exceeds the {cfg.max_upload_duration_s:g} s "
                                   "limit (max_upload_duration_s); split it or raise the limit")

    # -- health and docs ------------------------------------------------------------------

    @app.get("/healthz", tags=["service"], summary="Liveness (no token needed)")
    async def healthz() -> dict[str, Any]:
        return service.health()

    @app.get("/openapi.json", include_in_schema=False, dependencies=auth)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=auth)
    async def docs() -> Any:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="voiceguard API")

    # -- scoring --------------------------------------------------------------------------

    @app.post("/v1/score", tags=["scoring"], dependencies=auth,
              summary="Score a recording for synthetic or cloned speech",
              description="Body: the audio (raw with its media type, or multipart 'file'). Returns the JSON "
                          "object `voiceguard score --format jsonl` prints for a file.")
    async def score(request: Request) -> dict[str, Any]:
        [(y, sr, channels, name)] = await read_audio(request)
        check_duration(y, sr)
        res = await service.run_scoring(functools.partial(service.detector.score_mono, y, sr, name=name,
                                                          channels=channels))
        return res.to_dict()

    @app.post("/v1/verify", tags=["voiceprints"], dependencies=auth,
              summary="Verify a recording against an enrolled speaker (spoof-aware)",
              description="Query `speaker=NAME`; body as for /v1/score. Returns the JSON of `voiceguard verify`.")
    async def verify(request: Request, speaker: str) -> dict[str, Any]:
        [(y, sr, channels, name)] = await read_audio(request)
        check_duration(y, sr)
        ver = await service.run_store(service.verifier_for, speaker)
        res = await service.run_scoring(functools.partial(ver.verify_mono, speaker, y, sr, file=name,
                                                          channels=channels))
        return res.to_dict()

    # -- enrollment -----------------------------------------------------------------------

    @app.get("/v1/speakers", tags=["voiceprints"], dependencies=auth, summary="List enrolled speakers")
    async def speakers() -> list[dict[str, Any]]:
        return await service.run_store(lambda: service.verifier().store.list())

    @app.get("/v1/speakers/{name}", tags=["voiceprints"], dependencies=auth, summary="One enrolled speaker")
    async def speaker_info(name: str) -> dict[str, Any]:
        return await service.run_store(lambda: service.verifier().store.get(name).info())

    @app.post("/v1/speakers/{name}", tags=["voiceprints"], dependencies=auth, summary="Enroll a speaker",
              description="One clip as the body, or several as multipart 'file' fields (each with >= 3 s of "
                          "speech). Query flags `replace`, `add`, `force`, `allow_spoof` as for `voiceguard "
                          "enroll`; a clip the detector calls spoof is refused (422) unless `allow_spoof`.")
    async def enroll(request: Request, name: str, replace: bool = False, add: bool = False,
                     force: bool = False, allow_spoof: bool = False) -> dict[str, Any]:
        clips = await read_audio(request, many=True)
        for y, sr, _, _ in clips:
            check_duration(y, sr)

        def run() -> dict[str, Any]:
            from voiceguard.voiceprint import enroll as _enroll

            ver = service.verifier()
            named = [(y, sr, fname or f"upload{i + 1}") for i, (y, sr, _, fname) in enumerate(clips)]
            rep = _enroll(name, named, store=ver.store, encoder=ver.encoder,
                          calibration=ver.calibration, detector=ver.detector, replace=replace, add=add,
                          force=force, allow_spoof=allow_spoof)
            service.forget_voiceprint(name)
            return rep.to_dict()

        return await service.run_store(run)

    @app.delete("/v1/speakers/{name}", tags=["voiceprints"], dependencies=auth, summary="Delete a voiceprint")
    async def delete_speaker(name: str) -> dict[str, Any]:
        def run() -> dict[str, Any]:
            service.verifier().store.delete(name)
            service.forget_voiceprint(name)
            return {"deleted": name}

        return await service.run_store(run)

    # -- provenance (voiceguard.provenance) -------------------------------------------------

    async def read_one_upload(request: Request) -> tuple[bytes, np.ndarray, int, int, str | None]:
        """One recording with its bytes as sent (their SHA-256 is the exact hash)."""
        body = await read_body(request)
        mtype, _ = _media(request.headers.get("content-type"))
        data, ctype, fname = body, request.headers.get("content-type"), None
        if mtype == "multipart/form-data":
            request._body = body  # starlette parses the form from the cached body
            form = await request.form()
            try:
                files = [f for k, f in form.multi_items() if k == "file" and hasattr(f, "read")]
                if len(files) != 1:
                    raise UploadError(422, "send one 'file' per request" if files else
                                      "multipart upload without a 'file' field holding the audio")
                data, ctype, fname = await files[0].read(), files[0].content_type, files[0].filename
            finally:
                await form.close()
        y, sr, channels = decode_upload(data, ctype, fname)
        check_duration(y, sr)
        return data, y, sr, channels, fname

    @app.post("/v1/register", tags=["provenance"], dependencies=auth,
              summary="Register an original recording (fingerprint + exact hash, signed)",
              description="Body as for /v1/score; query `note=TEXT`, `name=LABEL` (default: the multipart file "
                          "name). Returns the JSON line of `voiceguard register --format jsonl`.")
    async def register_original(request: Request, note: str = "", name: str | None = None) -> dict[str, Any]:
        from voiceguard.provenance.check import register

        data, y, sr, _, fname = await read_one_upload(request)
        res = await service.run_store(lambda: register(y, service.registry(), sr=sr, data=data, note=note,
                                                       name=name or fname))
        return res.to_dict()

    @app.post("/v1/provenance", tags=["provenance"], dependencies=auth,
              summary="Find the registered original of a recording and what was changed",
              description="Body as for /v1/score; query `score=false` skips the detector on the non-matching "
                          "segments. Returns the JSON line of `voiceguard provenance --format jsonl`.")
    async def provenance(request: Request, score: bool = True) -> dict[str, Any]:
        from voiceguard.provenance.check import check, score_segments

        data, y, sr, _, fname = await read_one_upload(request)
        res = await service.run_store(lambda: check(y, service.registry(), sr=sr, data=data, name=fname))
        if score and res.segments:
            await service.run_scoring(score_segments, res, service.detector)
        return res.to_dict()

    # -- calls ----------------------------------------------------------------------------

    @app.get("/v1/calls", tags=["calls"], dependencies=auth, summary="Calls in progress")
    async def calls() -> dict[str, Any]:
        return {"active": [c.to_dict() for c in list(service.calls.values())],
                "recently_ended": len(service.ended)}

    def call_key(call_uuid: str) -> str:
        try:
            return str(_uuid.UUID(call_uuid))
        except ValueError as exc:
            raise UploadError(422, f"{call_uuid!r} is not a UUID") from exc

    @app.get("/v1/calls/{call_uuid}", tags=["calls"], dependencies=auth,
             summary="Latest state of an AudioSocket call",
             description="`verdict` (pending, bonafide, spoof, no_speech), `spoof_probability`, `speech_s`, "
                         "`final`, and the speaker fields when one is attached.")
    async def call_state(call_uuid: str) -> dict[str, Any]:
        call = service.lookup_call(call_key(call_uuid))
        if call is None:
            return fail(404, f"no call {call_uuid} in progress or recently ended")
        return call.to_dict()

    @app.put("/v1/calls/{call_uuid}/speaker", tags=["calls"], dependencies=auth,
             summary="Attach an enrolled speaker to a call",
             description="Before the call starts (kept for speaker_ttl_s) or while it runs: the call's running "
                         "and final results then carry the voiceprint match and the fused decision.")
    async def attach(call_uuid: str, body: AttachSpeaker) -> dict[str, Any]:
        key = call_key(call_uuid)
        call = await service.attach_speaker(key, body.speaker)
        return {"call": key, "speaker": body.speaker, "attached": "live" if call is not None else "pending"}

    return app
