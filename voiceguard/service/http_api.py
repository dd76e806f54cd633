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

import functools
import hmac
import uuid as _uuid
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from voiceguard.errors import AudioReadError, InvalidAudioError, InvalidParameterError, VoiceguardError
from voiceguard.service.core import Service
from voiceguard.service.docs_page import docs_html
from voiceguard.service.uploads import UploadError, UploadReader, decode_upload

__all__ = ["create_app", "decode_upload", "UploadError"]


def fail(status: int, message: str) -> JSONResponse:
    """The API's one error shape: ``{"error": message, "status": code}``."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": message, "status": status}, status_code=status, headers=headers)


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


class _Unauthorized(Exception):
    pass


def _error_status(exc: VoiceguardError) -> JSONResponse:
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


def _install_error_handlers(app: Any) -> None:
    """Every refusal in one JSON shape: uploads, the framework's own, voiceguard's, validation, auth."""
    from starlette.exceptions import HTTPException

    @app.exception_handler(UploadError)
    async def _upload_error(request: Request, exc: UploadError) -> JSONResponse:
        return fail(exc.status, str(exc))

    # what the framework refuses itself (an unknown path, a wrong method) answers in the
    # same JSON shape (invalid parameters: _invalid_request below)
    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return fail(exc.status_code, str(exc.detail))

    @app.exception_handler(VoiceguardError)
    async def _vg_error(request: Request, exc: VoiceguardError) -> JSONResponse:
        return _error_status(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return fail(422, _describe_validation(exc))

    @app.exception_handler(_Unauthorized)
    async def _unauthorized(request: Request, exc: _Unauthorized) -> JSONResponse:
        return fail(401, str(exc))


def _token_check(token: str | None) -> Any:
    def require_token(request: Request) -> None:
        if not token:
            return
        auth = request.headers.get("authorization", "")
        scheme, _, given = auth.partition(" ")
        if scheme.lower() != "bearer" or not given:
            raise _Unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            raise _Unauthorized("invalid bearer token")

    return require_token


def create_app(service: Service) -> Any:
    """The FastAPI application of a :class:`Service`."""
    from voiceguard._version import __version__

    app = FastAPI(title="voiceguard", version=__version__, docs_url=None, redoc_url=None, openapi_url=None,
                  description="Detection of cloned and synthetic speech, and spoof-aware speaker verification. "
                              "Send `Authorization: Bearer <token>` on every endpoint except /healthz.")
    _install_error_handlers(app)
    auth = [Depends(_token_check(service.config.token))]
    uploads = UploadReader(service.config)
    _health_routes(app, service, auth)
    _scoring_routes(app, service, auth, uploads)
    _speaker_routes(app, service, auth, uploads)
    _provenance_routes(app, service, auth, uploads)
    _call_routes(app, service, auth)
    return app


def _health_routes(app: Any, service: Service, auth: list[Any]) -> None:
    @app.get("/healthz", tags=["service"], summary="Liveness (no token needed)")
    async def healthz() -> dict[str, Any]:
        return service.health()

    @app.get("/openapi.json", include_in_schema=False, dependencies=auth)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Any:  # no token: the page asks for it and sends it (docs_page)
        return HTMLResponse(docs_html("/openapi.json", needs_token=bool(service.config.token)))


def _scoring_routes(app: Any, service: Service, auth: list[Any], uploads: UploadReader) -> None:
    @app.post("/v1/score", tags=["scoring"], dependencies=auth,
              summary="Score a recording for synthetic or cloned speech",
              description="Body: the audio (raw with its media type, or multipart 'file'). Returns the JSON "
                          "object `voiceguard score --format jsonl` prints for a file.")
    async def score(request: Request) -> dict[str, Any]:
        notes: list[str] = []
        [(y, sr, channels, name)] = await uploads.audio(request, notes=notes)
        uploads.check_duration(y, sr)
        res = await service.run_scoring(functools.partial(service.detector.score_mono, y, sr, name=name,
                                                          channels=channels))
        # as `voiceguard score --format jsonl`: "warnings" only when there are any
        return {**res.to_dict(), **({"warnings": notes} if notes else {})}

    @app.post("/v1/verify", tags=["voiceprints"], dependencies=auth,
              summary="Verify a recording against an enrolled speaker (spoof-aware)",
              description="Query `speaker=NAME`; body as for /v1/score. Returns the JSON of `voiceguard verify`.")
    async def verify(request: Request, speaker: str) -> dict[str, Any]:
        [(y, sr, channels, name)] = await uploads.audio(request)
        uploads.check_duration(y, sr)
        ver = await service.run_store(service.verifier_for, speaker)
        res = await service.run_scoring(functools.partial(ver.verify_mono, speaker, y, sr, file=name,
                                                          channels=channels))
        return res.to_dict()


def _speaker_routes(app: Any, service: Service, auth: list[Any], uploads: UploadReader) -> None:
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
        clips = await uploads.audio(request, many=True)
        for y, sr, _, _ in clips:
            uploads.check_duration(y, sr)

        def run() -> dict[str, Any]:
            from voiceguard.voiceprint import enroll as _enroll

            ver = service.verifier()
            named: list[Any] = [(y, sr, fname or f"upload{i + 1}") for i, (y, sr, _, fname) in enumerate(clips)]
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


def _provenance_routes(app: Any, service: Service, auth: list[Any], uploads: UploadReader) -> None:
    @app.post("/v1/register", tags=["provenance"], dependencies=auth,
              summary="Register an original recording (fingerprint + exact hash, signed)",
              description="Body as for /v1/score; query `note=TEXT`, `name=LABEL` (default: the multipart file "
                          "name). Returns the JSON line of `voiceguard register --format jsonl`.")
    async def register_original(request: Request, note: str = "", name: str | None = None) -> dict[str, Any]:
        from voiceguard.provenance.check import register

        data, y, sr, _, fname = await uploads.one_with_bytes(request)
        res = await service.run_store(lambda: register(y, service.registry(), sr=sr, data=data, note=note,
                                                       name=name or fname))
        return res.to_dict()

    @app.post("/v1/provenance", tags=["provenance"], dependencies=auth,
              summary="Find the registered original of a recording and what was changed",
              description="Body as for /v1/score; query `score=false` skips the detector on the non-matching "
                          "segments. Returns the JSON line of `voiceguard provenance --format jsonl`.")
    async def provenance(request: Request, score: bool = True) -> dict[str, Any]:
        from voiceguard.provenance.check import check, score_segments

        data, y, sr, _, fname = await uploads.one_with_bytes(request)
        res = await service.run_store(lambda: check(y, service.registry(), sr=sr, data=data, name=fname))
        if score and res.segments:
            await service.run_scoring(score_segments, res, service.detector)
        return res.to_dict()


def _call_key(call_uuid: str) -> str:
    try:
        return str(_uuid.UUID(call_uuid))
    except ValueError as exc:
        raise UploadError(422, f"{call_uuid!r} is not a UUID") from exc


def _call_routes(app: Any, service: Service, auth: list[Any]) -> None:
    @app.get("/v1/calls", tags=["calls"], dependencies=auth, summary="Calls in progress")
    async def calls() -> dict[str, Any]:
        return {"active": [c.to_dict() for c in list(service.calls.values())],
                "recently_ended": len(service.ended)}

    @app.get("/v1/calls/{call_uuid}", tags=["calls"], dependencies=auth,
             summary="Latest state of an AudioSocket call",
             description="`verdict` (pending, bonafide, spoof, no_speech), `spoof_probability`, `speech_s`, "
                         "`final`, and the speaker fields when one is attached.")
    async def call_state(call_uuid: str) -> dict[str, Any]:
        call = service.lookup_call(_call_key(call_uuid))
        if call is None:
            return fail(404, f"no call {call_uuid} in progress or recently ended")  # type: ignore[return-value]
        return call.to_dict()

    @app.put("/v1/calls/{call_uuid}/speaker", tags=["calls"], dependencies=auth,
             summary="Attach an enrolled speaker to a call",
             description="Before the call starts (kept for speaker_ttl_s) or while it runs: the call's running "
                         "and final results then carry the voiceprint match and the fused decision.")
    async def attach(call_uuid: str, body: AttachSpeaker) -> dict[str, Any]:
        key = _call_key(call_uuid)
        call = await service.attach_speaker(key, body.speaker)
        return {"call": key, "speaker": body.speaker, "attached": "live" if call is not None else "pending"}
