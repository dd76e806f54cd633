"""The service's shared state: one detector, worker threads, the calls, the event sink.

Threads: the asyncio event loop only moves bytes. Scoring (features, the network,
speaker embeddings) runs on ``workers`` threads (the C core and torch release the GIL),
so one busy call never delays another call's frames. Everything that touches the
voiceprint database runs on one dedicated thread, because an SQLite connection belongs
to the thread that opened it.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import uuid as _uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from voiceguard.service.config import ServiceConfig
from voiceguard.service.events import EventSink

__all__ = ["Service", "Call"]

log = logging.getLogger("voiceguard.service")

T = TypeVar("T")


@dataclass
class Call:
    """One AudioSocket call, live or ended."""

    uuid: str
    peer: str
    started: float = field(default_factory=time.time)
    scorer: Any = None
    sample_rate: int | None = None
    speaker: str | None = None
    state: dict[str, Any] | None = None
    final: bool = False
    error: str | None = None
    ended_by: str | None = None
    dtmf_digits: int = 0
    frames: int = 0
    last_report_s: float = -1e9
    last_reported: tuple | None = None  # (verdict, decision) last reported
    sched: Any = None  # its ScheduledCall (Whisper models: voiceguard.service.scheduler)

    def to_dict(self) -> dict[str, Any]:
        """What ``GET /v1/calls/{uuid}`` returns."""
        st = self.state or {}
        d: dict[str, Any] = {
            "call": self.uuid,
            "final": self.final,
            "verdict": st.get("verdict", "pending"),
            "spoof_probability": st.get("spoof_probability"),
            "llr": st.get("llr"),
            "speech_s": st.get("speech_s", 0.0),
            "duration_s": st.get("duration_s", 0.0),
            "sample_rate": self.sample_rate,
            "truncated": st.get("truncated", False),
            "window": st.get("window"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "ended_by": self.ended_by,
            "error": self.error,
        }
        if self.speaker is not None:
            d.update(speaker=self.speaker, speaker_llr=st.get("speaker_llr"),
                     speaker_similarity=st.get("speaker_similarity"), decision=st.get("decision", "pending"))
        if self.final and "result" in st:
            d["result"] = st["result"]
        return d


class Service:
    """Shared resources of ``voiceguard serve``.

    Parameters
    ----------
    config : ServiceConfig
    detector : Detector, optional
        Already loaded (tests share one); default: load ``config.model``.
    """

    def __init__(self, config: ServiceConfig, *, detector: Any = None) -> None:
        from voiceguard.detect.detector import Detector

        self.config = config
        self.detector = detector if detector is not None else Detector(config.model, threads=config.threads)
        self.pool = ThreadPoolExecutor(max_workers=config.workers, thread_name_prefix="vg-score")
        # whole-call re-scores at hangup get their own threads, so a burst of hangups does not
        # queue in front of the live calls' updates (measured: 0.9 s of extra lag otherwise)
        self.final_pool = ThreadPoolExecutor(max_workers=max(1, config.workers // 2), thread_name_prefix="vg-final")
        self.store_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vg-store")
        # live calls of Whisper models: one encoder queue, blocks of all calls batched
        self.scheduler: Any = None
        if hasattr(getattr(self.detector, "backend", None), "encoder"):
            from voiceguard.detect.live import live_model
            from voiceguard.service.scheduler import Scheduler

            det = self.detector
            self.scheduler = Scheduler(config.workers, max_batch_s=config.encoder_batch_s,
                                       warmup=lambda: live_model(det)[0].warmup())
        self.events = EventSink(config.log_path, config.webhook_url, timeout_s=config.webhook_timeout_s,
                                retries=config.webhook_retries, backoff_s=config.webhook_backoff_s,
                                token=config.webhook_token, queue_size=config.webhook_queue)
        self.calls: dict[str, Call] = {}
        self.ended: collections.OrderedDict[str, Call] = collections.OrderedDict()
        self.pending_speakers: dict[str, tuple[str, float]] = {}
        self.active = 0  # connections holding a call slot
        self.handlers: set[asyncio.Task] = set()  # connection handler tasks, for shutdown
        self.refused = 0
        self._verifier: Any = None
        self._registry: Any = None  # provenance registry, opened on first use (store thread)
        self.started = time.time()

    # -- threads --------------------------------------------------------------------------

    async def run_scoring(self, fn: Callable[..., T], *args: Any) -> T:
        """Run CPU work on a scoring worker."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def run_final(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a call's final (whole-call) scoring."""
        return await asyncio.get_running_loop().run_in_executor(self.final_pool, fn, *args)

    async def run_store(self, fn: Callable[..., T], *args: Any) -> T:
        """Run voiceprint-database work on the store thread."""
        return await asyncio.get_running_loop().run_in_executor(self.store_pool, fn, *args)

    def verifier(self) -> Any:
        """The shared :class:`~voiceguard.verify.Verifier` (store thread only; built on first use)."""
        if self._verifier is None:
            from voiceguard.voiceprint import Verifier

            self._verifier = Verifier(self.config.db, detector=self.detector, threads=self.config.threads)
        return self._verifier

    def registry(self) -> Any:
        """The provenance :class:`~voiceguard.provenance.registry.Registry` in the same
        database (store thread only; opened on first use)."""
        if self._registry is None:
            from voiceguard.provenance.registry import Registry

            self._registry = Registry(self.config.db)
        return self._registry

    def forget_voiceprint(self, name: str) -> None:
        """Drop a cached voiceprint after (re-)enrollment or deletion (store thread)."""
        if self._verifier is not None:
            self._verifier.forget(name)

    # -- calls ----------------------------------------------------------------------------

    def lookup_call(self, call_uuid: str) -> Call | None:
        """A live or recently ended call."""
        key = str(call_uuid).lower()
        return self.calls.get(key) or self.ended.get(key)

    def speaker_for(self, call_uuid: str) -> str | None:
        """Speaker attached to a call before it started (HTTP or config mapping)."""
        key = str(call_uuid).lower()
        now = time.time()
        for k, (_, t) in list(self.pending_speakers.items()):
            if now - t > self.config.speaker_ttl_s:
                del self.pending_speakers[k]
        if key in self.pending_speakers:
            return self.pending_speakers.pop(key)[0]
        return self.config.call_speakers.get(key)

    async def attach_speaker(self, call_uuid: str, speaker: str) -> Call | None:
        """Attach an enrolled speaker to a live call, or remember it for a call to come.

        Returns
        -------
        Call or None
            The live call, or ``None`` when the attachment waits for the call to start.

        Raises
        ------
        UnknownSpeakerError, VoiceprintStoreError
        """
        key = str(_uuid.UUID(str(call_uuid)))
        ver = await self.run_store(self.verifier_for, speaker)
        call = self.calls.get(key)
        if call is None:
            self.pending_speakers[key] = (speaker, time.time())
            return None
        call.speaker = speaker
        if call.scorer is not None:
            await self.run_scoring(call.scorer.attach_speaker, speaker, ver)
        return call

    def verifier_for(self, speaker: str) -> Any:
        """The shared verifier, with ``speaker``'s voiceprint loaded (store thread only).

        Raises
        ------
        UnknownSpeakerError
        """
        ver = self.verifier()
        ver.voiceprint(speaker)  # raises for an unknown name; caches it for the scoring threads
        return ver

    def end_call(self, call: Call) -> None:
        """Move a call to the ended calls (bounded)."""
        self.calls.pop(call.uuid, None)
        self.ended[call.uuid] = call
        call.scorer = call.sched = None  # its audio buffer goes with it
        while len(self.ended) > self.config.call_retention:
            self.ended.popitem(last=False)

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start background tasks (webhook workers)."""
        await self.events.start()

    async def close(self) -> None:
        """Flush events and stop the worker threads."""
        await self.events.close()
        if self.scheduler is not None:
            self.scheduler.close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.final_pool.shutdown(wait=True, cancel_futures=True)
        if self._verifier is not None:
            v, self._verifier = self._verifier, None
            self.store_pool.submit(v.close).result()
        if self._registry is not None:
            r, self._registry = self._registry, None
            self.store_pool.submit(r.close).result()
        self.store_pool.shutdown(wait=True)

    def health(self) -> dict[str, Any]:
        """Liveness and load, for ``/healthz``."""
        return {"status": "ok", "model": self.detector.name, "model_version": self.detector.version,
                "active_calls": len(self.calls),
                "max_concurrent_calls": self.config.max_concurrent_calls, "refused_calls": self.refused,
                "uptime_s": round(time.time() - self.started, 1)}
