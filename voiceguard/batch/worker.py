"""What one Ray worker does: fetch, hash and score recordings, and commit a part.

:class:`Scorer` is the callable class of the actor pool: each actor holds one
:class:`voiceguard.detect.Detector`, loaded on the first recording it has to score (a
rerun that finds everything done never loads a model). For every recording of a batch it

1. reads the file through fsspec in 1 MiB blocks, hashing them (SHA-256); a file on
   object storage (``s3://``, ``gs://``...) is copied block by block into the actor's
   scratch folder on the way, a local file is only read;
2. skips the recording when ``(file, sha256)`` is committed;
3. scores the file with :meth:`Detector.score`, the very call ``voiceguard score``
   makes: decoded, mixed down, resampled and scored block by block in bounded memory,
   so a row equals the line ``voiceguard score --format jsonl`` prints for the file (at
   the same thread count), with ``file`` as the input named it;
4. turns any failure into an error row instead of stopping the run;

then writes the batch's rows as one part (:func:`voiceguard.batch.output.commit_part`)
and returns one small status row per recording to the driver: ``file``, ``sha256``,
``status`` (a verdict, ``error`` or ``skipped``), ``error``, ``part``, ``worker``
(``host:pid``), the batch's ``started`` / ``finished`` Unix times and ``cpu_s``, the CPU
seconds the worker process spent on the batch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any

from voiceguard.batch import output
from voiceguard.batch.inputs import filesystem, is_local
from voiceguard.console import collecting_warnings
from voiceguard.errors import VoiceguardError

__all__ = ["Scorer", "SKIPPED", "ERROR", "FATAL"]

SKIPPED = "skipped"
ERROR = "error"
#: Status of the rows of a batch whose actor cannot score at all (the model does not load):
#: the driver stops the run with the message instead of filling the output with errors.
FATAL = "fatal"

_BLOCK = 1 << 20


class _Fatal(Exception):
    """The actor cannot score anything (its message is the user's)."""


class Scorer:
    """The actor-pool UDF of :func:`voiceguard.batch.run` (one Detector per actor).

    Parameters
    ----------
    out : str
        Output folder (path or URL).
    fmt : {'parquet', 'jsonl'}
    detector : dict
        ``Detector`` keyword arguments: ``model``, ``prior``, ``threshold``, ``threads``.
    storage_options : mapping, optional
        fsspec options for the inputs and the output.
    done : list of ObjectRef or None
        ``[ref]`` to a frozenset of :func:`voiceguard.batch.output.key_digest` of the
        committed keys (nested in a list so that Ray does not resolve it eagerly).
    versions : sequence of str
        ``model_version`` values of the committed rows: a different model is refused.
    """

    def __init__(self, *, out: str, fmt: str, detector: Mapping[str, Any],
                 storage_options: Mapping[str, Any] | None = None, done: list | None = None,
                 versions: Sequence[str] = ()) -> None:
        import ray

        self.fmt = fmt
        self.detector_kwargs = dict(detector)
        self.storage_options = dict(storage_options or {})
        self.out_fs, self.out = filesystem(out, self.storage_options)
        self.done: frozenset[bytes] = ray.get(done[0]) if done else frozenset()
        self.versions = set(versions)
        self._detector: Any = None
        self._scratch = tempfile.mkdtemp(prefix="vg-batch-")  # copies of remote recordings

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_scratch", ""), ignore_errors=True)

    def detector(self):
        """The actor's Detector, loaded on first use."""
        if self._detector is None:
            from voiceguard.detect.detector import Detector

            try:
                det = Detector(**self.detector_kwargs)
            except VoiceguardError as exc:
                raise _Fatal(str(exc)) from exc
            version = getattr(det, "version", det.name)
            if self.versions and self.versions != {version}:
                raise _Fatal(
                    f"the output folder holds results of model {', '.join(sorted(self.versions))}, this "
                    f"run uses {version}; resume with the same model or write to a new --out folder"
                )
            self._detector = det
        return self._detector

    def fetch(self, file: str, source: str) -> tuple[str, str]:
        """A local path of ``source`` to score, and the SHA-256 of its bytes."""
        fs, inner = filesystem(source, self.storage_options)  # fsspec caches the instances
        h = hashlib.sha256()
        if is_local(fs):
            with open(inner, "rb") as fh:
                for block in iter(lambda: fh.read(_BLOCK), b""):
                    h.update(block)
            return inner, h.hexdigest()
        local = os.path.join(self._scratch, "recording" + os.path.splitext(inner)[1])
        try:
            with fs.open(inner, "rb") as src, open(local, "wb") as dst:
                for block in iter(lambda: src.read(_BLOCK), b""):
                    h.update(block)
                    dst.write(block)
        except BaseException:
            if os.path.exists(local):
                os.unlink(local)
            raise
        return local, h.hexdigest()

    def score_file(self, file: str, source: str | None = None) -> tuple[dict[str, Any] | None, str | None]:
        """One recording: ``(row, sha256)``; ``row`` is None when the key is committed.

        ``file`` is the name the input gave (and the row's ``file``), ``source`` where to
        read it (an absolute path or URL; default ``file``).
        """
        try:
            path, sha = self.fetch(file, source or file)
        except FileNotFoundError:
            return {"file": file, "error": f"{file}: no such file"}, None
        except Exception as exc:  # noqa: BLE001 - any storage failure: retried by the next run
            return {"file": file, "error": f"{file}: cannot read it ({type(exc).__name__}: {exc})"}, None
        try:
            if output.key_digest(file, sha) in self.done:
                return None, sha
            det = self.detector()  # a model that cannot load fails the run, not a row
            try:
                res, notes = collecting_warnings(det.score, path)
                row = res.to_dict()
            except VoiceguardError as exc:  # the same bytes fail the same way: keyed
                return {"file": file, "error": str(exc).replace(path, file), "sha256": sha}, sha
            except Exception as exc:  # noqa: BLE001 - not keyed: tried again by the next run
                return {"file": file, "error": f"{file}: {type(exc).__name__}: {exc}"}, None
        finally:
            if path.startswith(self._scratch):
                os.unlink(path)
        row["file"] = file
        if notes:  # what `score --format jsonl` reports as "warnings" (a truncated file...)
            row["warnings"] = [n.replace(path, file) for n in notes]
        row["sha256"] = sha
        return row, sha

    def __call__(self, batch):
        """Score a batch (``pyarrow.Table`` with ``file`` and ``source`` columns); returns status rows."""
        started, cpu0 = time.time(), time.process_time()
        files = batch.column("file").to_pylist()
        sources = batch.column("source").to_pylist() if "source" in batch.column_names else files
        try:
            scored = [self.score_file(f, src) for f, src in zip(files, sources, strict=True)]
        except _Fatal as exc:
            return self._status(files, [(None, None)] * len(files), None, started, cpu0, fatal=str(exc))
        rows = [row for row, _ in scored if row is not None]
        part = None
        if rows:
            part = output.part_name(rows, self.fmt)
            output.commit_part(self.out_fs, self.out, part, output.encode_part(rows, self.fmt))
        return self._status(files, scored, part, started, cpu0)

    @staticmethod
    def _status(files, scored, part, started, cpu0, fatal=None):
        import pyarrow as pa

        def status(row):
            if fatal is not None:
                return FATAL
            return SKIPPED if row is None else output.outcome(row)

        n = len(files)
        return pa.table({
            "file": pa.array(files, pa.string()),
            "sha256": pa.array([sha for _, sha in scored], pa.string()),
            "status": pa.array([status(row) for row, _ in scored], pa.string()),
            "error": pa.array([fatal if fatal is not None else (row or {}).get("error") for row, _ in scored],
                              pa.string()),
            "part": pa.array([None if row is None else part for row, _ in scored], pa.string()),
            "worker": pa.array([f"{socket.gethostname()}:{os.getpid()}"] * n, pa.string()),
            "started": pa.array([started] * n, pa.float64()),
            "finished": pa.array([time.time()] * n, pa.float64()),
            "cpu_s": pa.array([time.process_time() - cpu0] * n, pa.float64()),
        })
