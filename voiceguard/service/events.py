"""Where call events go: a JSON Lines log and a webhook, neither able to stall a call.

Every event is one JSON object: ``event`` (``call_start``, ``running``, ``final``,
``error``, ``refused``, ``webhook_failed``, ``webhook_dropped``), ``time`` (UTC, ISO
8601), ``call`` (the UUID) and the event's fields. The log line is written at once; the
webhook delivery is queued and sent by background workers, each POST with a timeout and
retried with doubling back-off, so a slow or dead endpoint delays nothing but its own
deliveries. Failed deliveries are logged (``webhook_failed``); when the queue is full the
oldest *running* event is dropped first (``webhook_dropped``), final and error events are
kept.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import threading
from datetime import datetime, timezone
from typing import Any

__all__ = ["EventSink"]

log = logging.getLogger("voiceguard.service")

_KEEP = ("final", "error", "refused")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class EventSink:
    """JSON Lines log plus webhook delivery.

    Parameters
    ----------
    log_path : str, optional
        Appended to (created with mode 0600).
    webhook_url : str, optional
    timeout_s, retries, backoff_s : float, int, float
        Per-attempt timeout, retries after the first attempt, first back-off.
    token : str, optional
        Bearer token sent to the webhook.
    queue_size : int
        Undelivered events kept.
    workers : int
        Concurrent deliveries.
    """

    def __init__(self, log_path: str | None = None, webhook_url: str | None = None, *, timeout_s: float = 5.0,
                 retries: int = 3, backoff_s: float = 0.5, token: str | None = None, queue_size: int = 10000,
                 workers: int = 4) -> None:
        self.webhook_url = webhook_url
        self.timeout_s, self.retries, self.backoff_s = timeout_s, retries, backoff_s
        self.token = token
        self.queue_size = queue_size
        self._queue: collections.deque[dict[str, Any]] = collections.deque()
        self._wake = asyncio.Event()
        self._workers: list[asyncio.Task] = []
        self._n_workers = workers
        self._client: Any = None
        self._lock = threading.Lock()
        self._log = None
        self.delivered = self.failed = self.dropped = 0
        self._inflight = 0
        if log_path:
            fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._log = os.fdopen(fd, "a", encoding="utf-8", buffering=1)

    async def start(self) -> None:
        """Start the delivery workers (inside the running event loop)."""
        if self.webhook_url and not self._workers:
            import httpx

            self._client = httpx.AsyncClient(timeout=self.timeout_s)
            self._workers = [asyncio.create_task(self._worker(), name=f"webhook-{i}")
                             for i in range(self._n_workers)]

    def emit(self, event: str, call: str | None = None, **fields: Any) -> dict[str, Any]:
        """Record an event: log line now, webhook delivery queued. Returns the event."""
        ev = {"event": event, "time": _now(), "call": call, **fields}
        self._write(ev)
        if self.webhook_url and event not in ("webhook_failed", "webhook_dropped"):
            self._enqueue(ev)
        return ev

    def _write(self, ev: dict[str, Any]) -> None:
        if self._log is not None:
            line = json.dumps(ev, separators=(",", ":"), default=str) + "\n"
            with self._lock:
                self._log.write(line)

    def _enqueue(self, ev: dict[str, Any]) -> None:
        q = self._queue
        if len(q) >= self.queue_size:
            victim = next((e for e in q if e["event"] not in _KEEP), None)
            if victim is None and ev["event"] not in _KEEP:
                victim = ev
            if victim is not None:
                if victim is not ev:
                    q.remove(victim)
                self.dropped += 1
                self._write({"event": "webhook_dropped", "time": _now(), "call": victim.get("call"),
                             "dropped_event": victim["event"], "reason": "webhook queue full"})
                if victim is ev:
                    return
        q.append(ev)
        self._wake.set()

    async def _worker(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            ev = self._queue.popleft()
            self._inflight += 1
            try:
                await self._deliver(ev)
            finally:
                self._inflight -= 1

    async def _deliver(self, ev: dict[str, Any]) -> None:
        headers = {"Content-Type": "application/json", "User-Agent": "voiceguard"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = json.dumps(ev, default=str).encode()
        delay, error = self.backoff_s, ""
        for attempt in range(self.retries + 1):
            try:
                r = await self._client.post(self.webhook_url, content=body, headers=headers)
                if 200 <= r.status_code < 300:
                    self.delivered += 1
                    return
                error = f"HTTP {r.status_code}"
                if 400 <= r.status_code < 500 and r.status_code not in (408, 429):
                    break  # the endpoint rejects this request: retrying will not help
            except Exception as exc:  # noqa: BLE001 - any transport failure is retried
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < self.retries:
                await asyncio.sleep(delay)
                delay *= 2
        self.failed += 1
        log.warning("webhook delivery of %s for call %s failed: %s", ev["event"], ev.get("call"), error)
        self._write({"event": "webhook_failed", "time": _now(), "call": ev.get("call"), "failed_event": ev["event"],
                     "attempts": attempt + 1, "error": error})

    async def drain(self, timeout: float) -> None:
        """Wait until queued events are delivered (or ``timeout`` passes)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while (self._queue or self._inflight) and loop.time() < end:
            await asyncio.sleep(0.02)

    async def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (up to ``timeout``), stop the workers, close the log."""
        if self._workers:
            await self.drain(timeout)
            for w in self._workers:
                w.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._workers = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._log is not None:
            with self._lock:
                self._log.close()
            self._log = None
