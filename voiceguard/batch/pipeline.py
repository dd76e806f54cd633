"""The Ray Data pipeline of a batch run, driven from this process.

``file names -> map_batches(Scorer, actor pool) -> status rows``: the driver lists the
recordings, reads which keys the output folder already holds, and streams the file
names through a pool of :class:`voiceguard.batch.worker.Scorer` actors (one model per
actor, ``threads`` CPUs each). Workers read, decode and score the audio and write the
parts themselves; only names and one short status row per recording come back, so the
driver's memory and the object store stay small for any number of recordings.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from voiceguard.audio import AUDIO_EXTENSIONS
from voiceguard.batch import output
from voiceguard.batch.cluster import require_ray
from voiceguard.batch.inputs import filesystem, list_recordings, source_of
from voiceguard.batch.output import UNSCREENED
from voiceguard.batch.worker import ERROR, FATAL, SKIPPED, Scorer
from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = ["BatchSummary", "BatchPlan", "plan", "execute", "run", "DEFAULT_PART_SIZE"]

#: Recordings per part (and per actor call): what a killed worker can lose at most.
DEFAULT_PART_SIZE = 64


@dataclass
class BatchSummary:
    """What a batch run found and did.

    Attributes
    ----------
    total : int
        Recordings named by the inputs.
    scored : int
        Recordings given a row by this run (results and error rows).
    skipped : int
        Recordings whose key the output already held.
    outcomes : Counter
        ``bonafide`` / ``spoof`` / ``no_speech`` (silent) / ``unscreened`` (``no_speech`` with
        sound) / ``error`` over all ``total`` recordings,
        skipped ones counted with their committed outcome.
    failed : int
        Recordings of this run that got an error row.
    errors : list of str
        Their messages (the first 20).
    parts : int
        Parts this run committed.
    seconds : float
        Wall time of the pipeline.
    """

    total: int = 0
    scored: int = 0
    skipped: int = 0
    outcomes: Counter = field(default_factory=Counter)
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    parts: int = 0
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        """:func:`voiceguard.exit_codes.status`: 1 any spoof (it wins over errors), else 2
        any error, else 3 any recording not screened (sound without speech), else 0."""
        from voiceguard import exit_codes

        return exit_codes.status(self.outcomes.get("spoof", 0), self.outcomes.get(ERROR, 0),
                                 self.outcomes.get(UNSCREENED, 0))

    @property
    def recordings_per_s(self) -> float:
        """Recordings given a row per wall second (0 when nothing was scored)."""
        return self.scored / self.seconds if self.scored and self.seconds > 0 else 0.0

    def describe(self) -> str:
        """One line for the end of a run."""
        o = self.outcomes
        return (f"{self.total} recordings: {self.scored} scored now, {self.skipped} already done; "
                f"{o.get('bonafide', 0)} bona fide, {o.get('spoof', 0)} spoof, {o.get('no_speech', 0)} "
                f"silent, {o.get(UNSCREENED, 0)} not screened (sound without speech), {o.get(ERROR, 0)} "
                f"error{'s' if o.get(ERROR, 0) != 1 else ''}; {self.parts} "
                f"part{'s' if self.parts != 1 else ''} written in {self.seconds:.1f} s "
                f"({self.recordings_per_s:.2f} recordings/s)")


def _failure(exc: BaseException) -> str:
    """One line for a Ray failure: the last line of the remote traceback Ray's text holds."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    return lines[-1] if lines else type(exc).__name__


@dataclass
class BatchPlan:
    """A run worked out before any Ray work: what to score, where, with which settings.

    Made by :func:`plan` (which also reports every usage error, before a cluster is
    started) and carried out by :func:`execute`.
    """

    files: list[str]
    out: str
    fmt: str
    detector: dict[str, Any]
    threads: int
    workers: int | None
    part_size: int
    storage_options: dict[str, Any]
    done: dict[tuple[str, str], str]
    versions: set[str]


def plan(
    inputs: Iterable[str],
    out: str,
    *,
    fmt: str = "parquet",
    model: str | None = None,
    prior: float | None = None,
    threshold: float | None = None,
    threads: int = 1,
    workers: int | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    path_column: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> BatchPlan:
    """List the recordings, check the settings against ``out`` and read its committed keys.

    Parameters: see :func:`run`. Needs no Ray.

    Raises
    ------
    InvalidParameterError
        No recordings, bad settings, or an output folder made with other settings.
    """
    if fmt not in output.FORMATS:
        raise InvalidParameterError(f"unknown output format {fmt!r}; expected one of {', '.join(output.FORMATS)}")
    if threads < 1 or part_size < 1 or (workers is not None and workers < 1):
        raise InvalidParameterError("--threads, --workers and --part-size must be at least 1")
    files = list_recordings(inputs, path_column=path_column, storage_options=storage_options)
    if not files:
        raise InvalidParameterError("no audio files found in the inputs (looked for "
                                    f"folders' {' '.join(AUDIO_EXTENSIONS)} files, globs, manifests)")
    fs, inner = filesystem(out, storage_options)
    output.check_settings(fs, inner, {"format": fmt, "model": model, "prior": prior,
                                      "threshold": threshold, "threads": threads})
    output.remove_temp_files(fs, inner)
    done, versions = output.committed(fs, inner)
    return BatchPlan(files=files, out=out, fmt=fmt, threads=threads, workers=workers, part_size=part_size,
                     detector={"model": model, "prior": prior, "threshold": threshold, "threads": threads},
                     storage_options=dict(storage_options or {}), done=done, versions=versions)


def execute(
    p: BatchPlan, *, progress: bool = True, on_status: Callable[[dict[str, Any]], None] | None = None
) -> BatchSummary:
    """Carry out a :func:`plan` on the connected Ray cluster (see :func:`run`)."""
    ray = require_ray()
    if not ray.is_initialized():
        raise VoiceguardError("no Ray cluster: call voiceguard.batch.run inside ray_session()")
    workers = p.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // p.threads))

    from ray.data import ActorPoolStrategy, DataContext

    DataContext.get_current().enable_progress_bars = progress
    done_ref = ray.put(frozenset(output.key_digest(f, s) for f, s in p.done))
    summary = BatchSummary(total=len(p.files))
    t0 = time.perf_counter()
    n_blocks = max(1, math.ceil(len(p.files) / p.part_size))
    workers = min(workers, n_blocks)  # an actor with no block to take would only load a model
    ds = ray.data.from_items([{"file": f, "source": source_of(f)} for f in p.files], override_num_blocks=n_blocks)
    ds = ds.map_batches(
        Scorer,
        fn_constructor_kwargs={"out": p.out, "fmt": p.fmt, "storage_options": p.storage_options,
                               "done": [done_ref], "versions": sorted(p.versions), "detector": p.detector},
        batch_size=p.part_size, batch_format="pyarrow", compute=ActorPoolStrategy(size=workers),
        num_cpus=p.threads,
    )
    parts = set()
    try:
        for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
            for st in batch.to_pylist():
                if st["status"] == FATAL:  # the model does not load: nothing can be scored
                    raise VoiceguardError(st["error"])
                if st["status"] == SKIPPED:
                    summary.skipped += 1
                    summary.outcomes[p.done[(st["file"], st["sha256"])]] += 1
                else:
                    summary.scored += 1
                    summary.outcomes[st["status"]] += 1
                    if st["error"]:
                        summary.failed += 1
                        if len(summary.errors) < 20:
                            summary.errors.append(st["error"])
                    parts.add(st["part"])
                if on_status is not None:
                    on_status(st)
    except VoiceguardError:
        raise
    except Exception as exc:  # Ray wraps worker failures in its own types
        raise VoiceguardError(f"the Ray job failed: {_failure(exc)}") from exc
    summary.parts = len(parts)
    summary.seconds = time.perf_counter() - t0
    return summary


def run(
    inputs: Iterable[str],
    out: str,
    *,
    fmt: str = "parquet",
    model: str | None = None,
    prior: float | None = None,
    threshold: float | None = None,
    threads: int = 1,
    workers: int | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    path_column: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    progress: bool = True,
    on_status: Callable[[dict[str, Any]], None] | None = None,
) -> BatchSummary:
    """Score every recording named by ``inputs`` on the connected Ray cluster.

    Call it inside :func:`voiceguard.batch.ray_session` (or after ``ray.init``). The same
    as ``execute(plan(...))``.

    Parameters
    ----------
    inputs : iterable of str
        Folders, globs, manifests, files or URLs (:func:`voiceguard.batch.list_recordings`).
    out : str
        Output folder (path or fsspec URL); created if missing, resumed if it holds parts.
    fmt : {'parquet', 'jsonl'}
        Part format.
    model, prior, threshold : optional
        Passed to :class:`voiceguard.detect.Detector` (default: the shipped detector).
    threads : int
        Torch threads and Ray CPUs per actor. Rows equal ``voiceguard score --threads
        THREADS`` bit for bit.
    workers : int, optional
        Actors in the pool (default: the cluster's CPUs // ``threads``).
    part_size : int
        Recordings per part.
    path_column : str, optional
        Manifest path column.
    storage_options : mapping, optional
        fsspec options (endpoint, credentials) for inputs and output.
    progress : bool
        Ray Data's progress bars.
    on_status : callable, optional
        Called with each status row as it arrives (``file``, ``sha256``, ``status``,
        ``error``, ``part``, ``worker``, ``started``, ``finished``, ``cpu_s``: see
        :mod:`voiceguard.batch.worker`).

    Returns
    -------
    BatchSummary

    Raises
    ------
    InvalidParameterError
        No recordings, bad settings, or an output folder made with other settings.
    VoiceguardError
        The model cannot be loaded on the workers, or the Ray job failed.
    """
    return execute(
        plan(inputs, out, fmt=fmt, model=model, prior=prior, threshold=threshold, threads=threads,
             workers=workers, part_size=part_size, path_column=path_column, storage_options=storage_options),
        progress=progress, on_status=on_status,
    )
