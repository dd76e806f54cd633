"""Threads and CPUs: how many voiceguard may use, how it spreads work over them, and
torch thread settings that do not leak.

The cores a process may use are fewer than ``os.cpu_count()`` says whenever it runs
pinned (``taskset``, ``docker --cpuset-cpus``: the scheduler *affinity*) or inside a
container with a CPU *quota* (``docker --cpus 1.5``, Kubernetes ``limits.cpu``: cgroup v2
``cpu.max``, v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``). :func:`available_cpus` is
the smaller of the two (a quota of 1.5 CPUs allows 1 busy thread without throttling,
so it counts as 1).

How the work is spread (measured on a 2-core VM, see ``benchmarks/bench_threads.py``):
torch's intra-op threads (OpenMP) split *one* matrix product over the cores and wait for
each other at its end, spinning while they wait. On a host whose other processes keep the
cores busy, one of them is always waiting for a descheduled sibling: scoring a 10-minute
file took 3-4x longer with torch's default 2 threads than with 1. Independent pieces of
work (the chunks or blocks of a recording, the calls of a service) need no such barrier,
so voiceguard parallelises over them instead: :class:`ThreadPlan` gives ``workers``
threads, each running torch with **one** intra-op thread. On a quiet host they use every
core; on a busy one a descheduled worker delays only its own piece, so the whole is
never slower than one thread. Only work that cannot be split (one chunk) uses intra-op
threads, and then with OpenMP's *passive* wait policy (:func:`prefer_passive_waiting`),
which makes idle threads sleep instead of spin.

**Thread settings that do not leak.** torch has one intra-op thread pool per process:
``torch.set_num_threads`` changes it for every caller, including a server's other scoring
threads and a host application's own models. :func:`torch_threads` sets it only while a
block runs and restores it afterwards; blocks asking for a thread count run one at a time
(they would fight over the one pool). Work spread over ``workers`` runs inside
``torch_threads(1)``, in worker threads started for it, so the setting is restored when it
ends.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from voiceguard.errors import InvalidParameterError

__all__ = ["affinity_cpus", "cgroup_cpu_limit", "available_cpus", "ThreadPlan", "plan_threads",
           "prefer_passive_waiting", "passive_waiting", "ordered_map", "single_thread_torch", "check_threads",
           "torch_threads"]

T = TypeVar("T")
R = TypeVar("R")


def affinity_cpus() -> int:
    """CPUs this process may run on (its scheduler affinity; ``os.cpu_count()`` where the
    platform has no affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _v2_limit(root: Path, rel: str) -> float | None:
    """Smallest ``cpu.max`` quota along the cgroup v2 path ``rel`` (and its parents)."""
    best: float | None = None
    parts = [p for p in rel.strip("/").split("/") if p]
    for depth in range(len(parts), -1, -1):
        text = _read(root.joinpath(*parts[:depth], "cpu.max"))
        if not text:
            continue
        fields = text.split()
        if len(fields) == 2 and fields[0] != "max":
            try:
                quota, period = float(fields[0]), float(fields[1])
            except ValueError:
                continue
            if quota > 0 and period > 0:
                best = quota / period if best is None else min(best, quota / period)
    return best


def _v1_limit(mount: Path, rel: str) -> float | None:
    """``cpu.cfs_quota_us / cpu.cfs_period_us`` of the cgroup v1 path ``rel`` (or, as a
    container sees it, of the mount's root), the smallest along the path."""
    best: float | None = None
    parts = [p for p in rel.strip("/").split("/") if p]
    for depth in range(len(parts), -1, -1):
        d = mount.joinpath(*parts[:depth])
        q, p = _read(d / "cpu.cfs_quota_us"), _read(d / "cpu.cfs_period_us")
        if q is None or p is None:
            continue
        try:
            quota, period = float(q), float(p)
        except ValueError:
            continue
        if quota > 0 and period > 0:
            best = quota / period if best is None else min(best, quota / period)
    return best


def cgroup_cpu_limit(*, proc_cgroup: str | os.PathLike = "/proc/self/cgroup",
                     cgroup_root: str | os.PathLike = "/sys/fs/cgroup") -> float | None:
    """The CPU quota of this process's cgroup in CPUs (``1.5`` = 150 ms per 100 ms), or
    ``None`` when there is none (or no cgroup file system to read).

    Reads cgroup v2 (``0::/path`` in ``/proc/self/cgroup``, ``cpu.max``) and v1 (the
    ``cpu`` controller's ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``, under
    ``cpu``, ``cpu,cpuacct`` or ``cpuacct,cpu``); nested limits count (the smallest wins).
    """
    text = _read(Path(proc_cgroup))
    if text is None:
        return None
    root = Path(cgroup_root)
    limits: list[float] = []
    for line in text.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, rel = fields
        if controllers == "":
            lim = _v2_limit(root, rel)
            if lim is None and rel not in ("", "/"):
                lim = _v2_limit(root, "/")  # inside a container the path is often not visible
        elif "cpu" in controllers.split(","):
            lim = None
            for name in (controllers, "cpu", "cpu,cpuacct", "cpuacct,cpu"):
                mount = root / name
                if mount.is_dir():
                    lim = _v1_limit(mount, rel)
                    if lim is None and rel not in ("", "/"):
                        lim = _v1_limit(mount, "/")
                    break
        else:
            continue
        if lim is not None:
            limits.append(lim)
    return min(limits) if limits else None


def available_cpus(*, affinity: int | None = None, quota: float | None | str = "read") -> int:
    """CPUs voiceguard may keep busy: ``min(affinity, floor(quota))``, at least 1.

    Parameters
    ----------
    affinity : int, optional
        Default: :func:`affinity_cpus`.
    quota : float or None, optional
        CPUs of the cgroup quota (None: no quota). Default: :func:`cgroup_cpu_limit`.
    """
    aff = affinity_cpus() if affinity is None else int(affinity)
    q = cgroup_cpu_limit() if quota == "read" else quota
    n = aff if q is None else min(aff, int(math.floor(float(q) + 1e-9)))
    return max(1, n)


@dataclass(frozen=True)
class ThreadPlan:
    """How one job uses the CPUs.

    Attributes
    ----------
    workers : int
        Threads working on independent pieces (chunks, blocks, calls) at once.
    intra_op : int
        torch intra-op threads each of them uses (1 whenever ``workers > 1``).
    processes : int
        Worker processes for jobs that run several (``voiceguard batch``).
    cpus : int
        :func:`available_cpus` when the plan was made.
    reason : str
        Why, in words (for ``--verbose`` output and logs).
    """

    workers: int
    intra_op: int
    processes: int
    cpus: int
    reason: str


def plan_threads(threads: int | None = None, *, pieces: int | None = None, cpus: int | None = None) -> ThreadPlan:
    """The thread plan for a job of ``pieces`` independent pieces of work.

    Parameters
    ----------
    threads : int, optional
        What the user asked for (``--threads``): the most threads to keep busy. Default:
        every available CPU (:func:`available_cpus`).
    pieces : int, optional
        Independent pieces the job has (None: many).
    cpus : int, optional
        Override :func:`available_cpus` (tests).

    Returns
    -------
    ThreadPlan
        ``threads == 1`` gives one worker with one intra-op thread (the ``--threads 1``
        baseline). Otherwise up to ``threads`` workers with one intra-op thread each;
        a job of one piece gets one worker with ``threads`` intra-op threads (by default
        only when OpenMP waits passively, :func:`passive_waiting`: spinning threads made
        a busy host 3-4x slower).
    """
    n_cpu = available_cpus() if cpus is None else max(1, int(cpus))
    if threads is not None:
        if isinstance(threads, bool) or int(threads) < 1:
            raise InvalidParameterError(f"threads must be a positive integer, got {threads!r}")
        budget, why = int(threads), f"--threads {int(threads)}"
    else:
        budget, why = n_cpu, f"{n_cpu} available CPU(s)"
    if pieces is not None and pieces <= 1:
        if threads is None and not passive_waiting():
            return ThreadPlan(1, 1, 1, n_cpu, f"{why}; one piece of work, OpenMP threads spin while they wait: "
                                              "1 intra-op thread")
        return ThreadPlan(1, budget, 1, n_cpu, f"{why}; one piece of work: {budget} intra-op thread(s)")
    workers = budget if pieces is None else max(1, min(budget, int(pieces)))
    return ThreadPlan(workers, 1, workers, n_cpu, f"{why}: {workers} worker(s), 1 intra-op thread each")


def prefer_passive_waiting() -> bool:
    """Ask OpenMP to let idle threads sleep instead of spin (``OMP_WAIT_POLICY=PASSIVE``).

    Takes effect only if torch (its OpenMP runtime) is not loaded yet and the user has not
    set ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT``; returns whether it did. Called by the
    command line before it imports torch.
    """
    if "torch" in sys.modules or "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return False
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    return True


def passive_waiting() -> bool:
    """Whether OpenMP was asked to let idle threads sleep (``OMP_WAIT_POLICY=PASSIVE`` or
    ``GOMP_SPINCOUNT=0``)."""
    return (os.environ.get("OMP_WAIT_POLICY", "").upper() == "PASSIVE"
            or os.environ.get("GOMP_SPINCOUNT", "").strip() == "0")


_one_thread = threading.local()


def single_thread_torch() -> None:
    """Make torch in the calling thread use one intra-op thread (once per thread)."""
    if getattr(_one_thread, "done", False):
        return
    import torch

    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    _one_thread.done = True


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, *, ahead: int | None = None,
                pool: ThreadPoolExecutor | None = None) -> Iterator[R]:
    """``map(fn, items)`` over ``workers`` threads, results in order, memory bounded.

    At most ``ahead`` (default ``2 * workers``) items are in flight, so a long recording's
    chunks are never all in memory. ``workers == 1`` runs inline. Exceptions propagate in
    order (the items after a failed one are not started once it is seen).
    """
    if workers <= 1:
        yield from map(fn, items)
        return
    limit = max(workers, ahead or 2 * workers)
    own = pool is None
    ex = pool if pool is not None else ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vg-work")
    queue: list[Future[R]] = []
    try:
        for item in items:
            queue.append(ex.submit(fn, item))
            if len(queue) >= limit:
                yield queue.pop(0).result()
        while queue:
            yield queue.pop(0).result()
    finally:
        for f in queue:
            f.cancel()
        if own:
            ex.shutdown(wait=True, cancel_futures=True)


_lock = threading.RLock()


def check_threads(threads: int | None) -> int | None:
    """``threads`` as an int >= 1, or None; raises InvalidParameterError otherwise."""
    if threads is None:
        return None
    if int(threads) < 1:
        raise InvalidParameterError(f"threads must be >= 1, got {threads}")
    return int(threads)


@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op pool at ``threads`` (None: as it is), then restore it.

    When the pool already has ``threads`` (a service that runs everything on one thread
    each) nothing is changed and nothing is serialised: concurrent blocks run in parallel.
    """
    if threads is None:
        yield
        return
    import torch

    if torch.get_num_threads() == threads:
        yield
        return
    with _lock:
        before = torch.get_num_threads()
        if before != threads:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch.get_num_threads() != before:
                torch.set_num_threads(before)
