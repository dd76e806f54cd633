"""One encoder queue for all live calls: blocks of many calls batched through one pass.

Each call is a :class:`voiceguard.detect.stream.StreamScorer` of a Whisper model (its
``live`` stream, :class:`voiceguard.detect.live.LiveStream`). The event loop only keeps a call's
audio (:meth:`Scheduler.push` never waits for scoring: the call is never blocked) and
tells the scheduler when a unit of work may be complete. ``workers`` threads (one per
available CPU, each running torch with one intra-op thread: see
:mod:`voiceguard.threads`) take the waiting calls, resample and cut their new audio,
encode the complete units of several calls, up to ``max_batch_s`` seconds of audio (16 s:
8 blocks of 2 s, or 4 windows of 4 s for the chunk model), in one encoder pass, then
score each call's ready windows and hand its running state to ``on_running`` (called in
the worker thread).

**Order and overload.** Work is taken in this order:

1. **finals**: a call that hung up is finished first, so final verdicts are never lost
   nor delayed behind live updates (for block models a final costs only the last,
   partial block; chunk models score the whole call);
2. **first running verdicts**: a call that has none yet (the verdict that can still stop
   a transfer early);
3. **running updates, oldest call first**: the calls admitted earliest are served first.
   When more calls run than the CPUs can follow, the most recently admitted calls get their
   running verdicts later and less often (the *thinned* ones): their audio waits in their
   own buffers (bounded by ``max_call_duration_s``) and is caught up, in larger and so
   cheaper batches, whenever a worker has nothing older to do; at hangup it is all
   encoded, so their final verdicts are complete.

The queue holds at most one entry per call (so it is bounded by ``max_concurrent_calls``);
a call is worked on by one worker at a time, so its blocks stay in order.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Scheduler", "ScheduledCall"]

log = logging.getLogger("voiceguard.service")


@dataclass(eq=False)
class ScheduledCall:
    """A call known to the scheduler."""

    stream: Any
    seq: int
    key: str
    on_running: Callable[[Any], None] | None = None
    final: Future | None = None
    queued: bool = False
    busy: bool = False
    closing: bool = False
    updates: int = 0
    encode_s: float = 0.0
    extra: dict = field(default_factory=dict)


class Scheduler:
    """Batched live scoring of many calls (see the module docstring).

    Parameters
    ----------
    workers : int
        Encoding threads.
    max_batch_s : float
        Most audio per encoder pass, in seconds (units of the model: 2 s blocks, or 4 s
        windows for the chunk model; measured: 4 windows per pass kept the chunk model's
        first running verdicts under 1 s at 30 calls where 8 took 1.0 s at p95).
    on_running : callable, optional
        ``on_running(call, state)`` for every running state (worker thread).
    warmup : callable, optional
        Run once in each worker before it takes work (the first encoder pass of a thread
        is several times slower than the next ones: kernels are chosen and prepared).
    """

    def __init__(self, workers: int, *, max_batch_s: float = 16.0,
                 on_running: Callable[[ScheduledCall, Any], None] | None = None,
                 warmup: Callable[[], None] | None = None) -> None:
        self.max_batch_s = float(max_batch_s)
        self.on_running = on_running
        self._warmup = warmup
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._waiting: set[ScheduledCall] = set()
        self._stop = False
        self.stats = {"batches": 0, "blocks": 0, "encode_s": 0.0, "finals": 0}
        self._threads = [threading.Thread(target=self._run, name=f"vg-encode-{i}", daemon=True)
                         for i in range(max(1, int(workers)))]
        for t in self._threads:
            t.start()

    # -- the event loop's side ------------------------------------------------------------

    def add(self, stream: Any, key: str = "", on_running: Callable[[Any], None] | None = None) -> ScheduledCall:
        """Register a call's StreamScorer (``on_running(state)`` gets its running states,
        in a worker thread)."""
        if stream.live is None:
            from voiceguard.errors import InvalidParameterError

            raise InvalidParameterError("the scheduler serves Whisper models (streams with a live encoder)")
        return ScheduledCall(stream, next(self._seq), key, on_running)

    def push(self, call: ScheduledCall, chunk: Any) -> None:
        """Keep a chunk of the call's audio; never waits for scoring."""
        if call.stream.push(chunk):
            self._wake(call)

    def finish(self, call: ScheduledCall) -> Future:
        """The call ended: a future of its final StreamState (finals go first)."""
        with self._cond:
            if call.final is None:
                call.final = Future()
                call.closing = True
                self._enqueue(call)
            return call.final

    def _wake(self, call: ScheduledCall) -> None:
        with self._cond:
            self._enqueue(call)

    def _enqueue(self, call: ScheduledCall) -> None:
        if not call.queued and not call.busy:
            call.queued = True
            self._waiting.add(call)
            self._cond.notify()

    def close(self) -> None:
        """Stop the workers (pending finals are failed)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout=30)
        for c in list(self._waiting):
            if c.final is not None and not c.final.done():
                c.final.set_exception(RuntimeError("the service shut down"))

    def units_per_pass(self, model: Any) -> int:
        """Units of ``model`` per encoder pass (``max_batch_s`` of audio)."""
        return max(1, int(self.max_batch_s // (model.geometry.block / 16000)))

    @property
    def backlog(self) -> int:
        """Calls waiting for a worker."""
        return len(self._waiting)

    # -- workers --------------------------------------------------------------------------

    def _take(self) -> list[ScheduledCall] | None:
        """The calls of the next batch (finals first, then oldest calls first)."""
        with self._cond:
            while not self._waiting and not self._stop:
                self._cond.wait()
            if self._stop:
                return None
            order = sorted(self._waiting, key=lambda c: (not c.closing, c.updates > 0, c.seq))
            picked: list[ScheduledCall] = []
            seconds = 0.0
            for c in order:
                if picked and seconds >= self.max_batch_s:
                    break
                picked.append(c)
                live = c.stream.live
                unit_s = live.model.geometry.block / 16000
                seconds += max(unit_s, live.backlog_s // unit_s * unit_s)
            for c in picked:
                self._waiting.discard(c)
                c.queued = False
                c.busy = True
            return picked

    def _run(self) -> None:
        from voiceguard.threads import single_thread_torch

        single_thread_torch()
        if self._warmup is not None:
            try:
                self._warmup()
            except Exception:
                log.exception("encoder warm-up failed")
        while True:
            picked = self._take()
            if picked is None:
                return
            try:
                self._work(picked)
            except Exception:
                log.exception("encoder batch failed")
                for c in picked:
                    if c.final is not None and not c.final.done():
                        c.final.set_exception(RuntimeError("scoring failed"))
            finally:
                with self._cond:
                    for c in picked:
                        c.busy = False
                        if (c.closing and c.final is not None and not c.final.done()) or c.stream.update_due:
                            self._enqueue(c)

    def _work(self, picked: list[ScheduledCall]) -> None:
        items: list[tuple[ScheduledCall, list]] = []
        for c in picked:
            live = c.stream.live
            try:
                blocks = live.close_input() if c.closing and not live.closed else live.ingest()
            except Exception as exc:  # noqa: BLE001 - ends this call only
                self._fail(c, exc)
                continue
            items.append((c, blocks))
        t = time.perf_counter()
        by_model: dict[int, tuple[Any, list]] = {}
        for c, blocks in items:
            by_model.setdefault(id(c.stream.live.model), (c.stream.live.model, []))[1].extend(blocks)
        for model, blocks in by_model.values():
            per = self.units_per_pass(model)
            for i in range(0, len(blocks), per):
                model.encode(blocks[i: i + per], batch=per)
                self.stats["batches"] += 1
            self.stats["blocks"] += len(blocks)
        self.stats["encode_s"] += time.perf_counter() - t
        for c, _ in items:
            try:
                st = c.stream.live_update()  # a call that hung up with a backlog reports it once
                if st is not None:
                    c.updates += 1
                    if c.on_running is not None:
                        c.on_running(st)
                if c.closing and c.stream.live.complete and c.final is not None:
                    c.final.set_result(c.stream.live_final())
                    self.stats["finals"] += 1
            except Exception as exc:  # noqa: BLE001 - ends this call only
                self._fail(c, exc)

    @staticmethod
    def _fail(c: ScheduledCall, exc: BaseException) -> None:
        log.warning("call %s: scoring failed: %s", c.key, exc)
        if c.final is None:
            c.final = Future()
            c.closing = True
        if not c.final.done():
            c.final.set_exception(exc)
