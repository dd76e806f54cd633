"""Settings of ``voiceguard serve``: defaults, a TOML config file, the environment, flags.

Precedence: command-line flags > environment (``VOICEGUARD_TOKEN``) > config file >
defaults. The config file is TOML with the field names of :class:`ServiceConfig` as
top-level keys, plus an optional ``[call_speakers]`` table mapping call UUIDs to enrolled
speaker names::

    token = "long-random-secret"          # or set VOICEGUARD_TOKEN
    http = "0.0.0.0:8080"
    audiosocket = "0.0.0.0:9092"
    webhook_url = "https://fraud.example/voiceguard"
    log_path = "/var/log/voiceguard/calls.jsonl"
    max_concurrent_calls = 200

    [call_speakers]
    "4f1c2c5e-3a51-4d55-9f3b-2c7b9c1d7e10" = "alice"
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from voiceguard.errors import InvalidParameterError
from voiceguard.threads import available_cpus

__all__ = ["ServiceConfig", "parse_address", "is_loopback", "load_config"]

TOKEN_ENV = "VOICEGUARD_TOKEN"


def parse_address(text: str, what: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) to ``(host, port)``.

    Raises
    ------
    InvalidParameterError
    """
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise InvalidParameterError(f"{what} must be HOST:PORT (e.g. 127.0.0.1:9092), got {text!r}")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` resolves to is a loopback address."""
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


@dataclass
class ServiceConfig:
    """Everything ``voiceguard serve`` can be told.

    Attributes
    ----------
    http, audiosocket : (host, port) or None
        Listeners; at least one is needed.
    token : str or None
        Bearer token required on every HTTP endpoint except ``/healthz``. Without one the
        service only listens on loopback addresses.
    model : str or None
        Detector config (default: the shipped model).
    db : str or None
        Voiceprint database (default: the default store) for ``/v1/verify``, enrollment and
        speakers attached to calls.
    threads : int
        torch threads per scoring worker (1: workers run in parallel instead).
    workers : int
        Scoring worker threads (default: the CPUs this process may use, affinity and cgroup
        quota: :func:`voiceguard.threads.available_cpus`). Live calls of Whisper models are
        encoded by as many scheduler threads (:mod:`voiceguard.service.scheduler`).
    encoder_batch_s : float
        Most audio (of any calls, seconds) per encoder pass of the live-call scheduler.
    webhook_url : str or None
        Call events are POSTed here as JSON.
    webhook_timeout_s, webhook_retries, webhook_backoff_s
        Per-attempt timeout, retries after the first attempt, first back-off (doubling).
    webhook_token : str or None
        Sent as ``Authorization: Bearer`` to the webhook.
    webhook_queue : int
        Undelivered events kept; beyond it the oldest running events are dropped (logged).
    log_path : str or None
        JSON Lines event log (one object per line).
    running_report_s : float
        Running verdicts go to the webhook/log when the verdict changes and at least every
        this many seconds of call audio.
    update_s, running_min_speech_s, max_call_duration_s
        :class:`voiceguard.detect.stream.StreamScorer` settings.
    max_concurrent_calls : int
        Calls beyond it are refused (hangup frame, logged).
    max_frame_bytes : int
        Largest AudioSocket payload accepted.
    handshake_timeout_s, idle_timeout_s, read_timeout_s : float
        Time for the UUID frame after connecting; longest silence between frames; time to
        complete a started frame.
    max_upload_bytes : int
        HTTP uploads above it get 413.
    max_upload_duration_s : float
        Uploaded recordings longer than this get 413.
    body_timeout_s : float
        Time allowed to receive an upload (408 after it).
    call_retention : int
        Ended calls kept queryable over HTTP.
    speaker_ttl_s : float
        How long a speaker attached to a not-yet-started call waits for it.
    call_speakers : dict
        Static call UUID -> speaker name mapping.
    """

    http: tuple[str, int] | None = None
    audiosocket: tuple[str, int] | None = None
    token: str | None = None
    model: str | None = None
    db: str | None = None
    threads: int = 1
    workers: int = field(default_factory=available_cpus)
    encoder_batch_s: float = 16.0
    webhook_url: str | None = None
    webhook_timeout_s: float = 5.0
    webhook_retries: int = 3
    webhook_backoff_s: float = 0.5
    webhook_token: str | None = None
    webhook_queue: int = 10000
    log_path: str | None = None
    running_report_s: float = 5.0
    update_s: float = 1.0
    running_min_speech_s: float = 3.0
    max_call_duration_s: float = 3600.0
    max_concurrent_calls: int = 100
    max_frame_bytes: int = 8192
    handshake_timeout_s: float = 5.0
    idle_timeout_s: float = 10.0
    read_timeout_s: float = 5.0
    max_upload_bytes: int = 50 * 1024 * 1024
    max_upload_duration_s: float = 3600.0
    body_timeout_s: float = 60.0
    call_retention: int = 1000
    speaker_ttl_s: float = 600.0
    call_speakers: dict[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """Check the settings; refuse an exposed listener without a token.

        Raises
        ------
        InvalidParameterError
        """
        if self.http is None and self.audiosocket is None:
            raise InvalidParameterError("nothing to serve: give --http HOST:PORT and/or --audiosocket HOST:PORT")
        if self.token is not None and len(self.token) < 16:
            raise InvalidParameterError("the bearer token must be at least 16 characters; generate one with "
                                        "python -c 'import secrets; print(secrets.token_urlsafe(32))'")
        if not self.token:
            exposed = [f"{a[0]}:{a[1]}" for a in (self.http, self.audiosocket)
                       if a is not None and not is_loopback(a[0])]
            if exposed:
                raise InvalidParameterError(
                    f"refusing to listen on non-loopback address {', '.join(exposed)} without a token: set "
                    f"{TOKEN_ENV} (or token in the config file), or listen on 127.0.0.1")
        for name in ("webhook_timeout_s", "running_report_s", "encoder_batch_s", "update_s", "max_call_duration_s",
                     "handshake_timeout_s", "idle_timeout_s", "read_timeout_s", "max_upload_duration_s",
                     "body_timeout_s", "speaker_ttl_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not v > 0:
                raise InvalidParameterError(f"{name} must be a positive number, got {v!r}")
        for name in ("threads", "workers", "max_concurrent_calls", "max_frame_bytes",
                     "max_upload_bytes", "webhook_queue", "call_retention"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise InvalidParameterError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(self.webhook_retries, int) or self.webhook_retries < 0:
            raise InvalidParameterError(f"webhook_retries must be >= 0, got {self.webhook_retries!r}")
        if self.webhook_url is not None and not str(self.webhook_url).startswith(("http://", "https://")):
            raise InvalidParameterError(f"webhook_url must be an http(s) URL, got {self.webhook_url!r}")


def _coerce(name: str, value: Any) -> Any:
    if name in ("http", "audiosocket") and value is not None and not isinstance(value, tuple):
        return parse_address(value, name)
    return value


def load_config(path: str | os.PathLike | None = None, **overrides: Any) -> ServiceConfig:
    """Build a :class:`ServiceConfig` from a TOML file, the environment and overrides.

    Parameters
    ----------
    path : path, optional
        TOML config file.
    **overrides
        Field values (``None`` means "not given").

    Returns
    -------
    ServiceConfig
        Validated.
    """
    import tomllib

    known = {f.name for f in fields(ServiceConfig)}
    values: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise InvalidParameterError(f"cannot read the config file {p} ({exc.strerror})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise InvalidParameterError(f"{p} is not valid TOML ({exc})") from exc
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidParameterError(f"{p}: unknown setting(s) {', '.join(unknown)}; known: "
                                        f"{', '.join(sorted(known))}")
        values.update(data)
    env_token = os.environ.get(TOKEN_ENV)
    if env_token:
        values["token"] = env_token
    values.update({k: v for k, v in overrides.items() if v is not None})
    cfg = ServiceConfig(**{k: _coerce(k, v) for k, v in values.items()})
    cfg.call_speakers = {str(k).lower(): str(v) for k, v in cfg.call_speakers.items()}
    cfg.validate()
    return cfg
