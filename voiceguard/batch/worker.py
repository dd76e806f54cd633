"""What one Ray worker does: read, hash, decode and score recordings, and commit a part.

:class:`Scorer` is the callable class of the actor pool: each actor holds one
:class:`voiceguard.scoring.Detector`, loaded on the first recording it has to score (a
rerun that finds everything done never loads a model). For every recording of a batch it

1. reads the file's bytes through fsspec (local disk, ``s3://``, ``gs://``...);
2. hashes them (SHA-256) and skips the recording when ``(file, sha256)`` is committed;
3. decodes the bytes with soundfile and mixes them down with
   :func:`voiceguard.audio.read_input`, the code ``Detector.score`` runs on a file, then
   scores them with :meth:`Detector.score_mono`, so a row equals the one
   ``voiceguard score --format jsonl`` prints for the file (at the same thread count);
4. turns any failure into an error row instead of stopping the run;

then writes the batch's rows as one part (:func:`voiceguard.batch.output.commit_part`)
and returns one small status row per recording to the driver: ``file``, ``sha256``,
``status`` (a verdict, ``error`` or ``skipped``), ``error``, ``part``, ``worker``
(``host:pid``), the batch's ``started`` / ``finished`` Unix times and ``cpu_s``, the CPU
seconds the worker process spent on the batch.
"""

from __future__ import annotations

import hashlib
import io
import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

from voiceguard.batch import output
from voiceguard.batch.inputs import filesystem
from voiceguard.errors import AudioReadError, VoiceguardError

__all__ = ["Scorer", "decode", "SKIPPED", "ERROR"]

SKIPPED = "skipped"
ERROR = "error"

#: What ``Detector.score`` passes to ``read_input`` for files.
_MIN_SR = 4000
_PURPOSE = "spoof scoring"


def decode(data: bytes, name: str):
    """Decode an audio file's bytes as ``Detector.score`` decodes the file.

    Parameters
    ----------
    data : bytes
        The file's content (any format libsndfile reads).
    name : str
        The file's name, for error messages.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64
        Mono samples (channels averaged).
    sr : int
    channels : int

    Raises
    ------
    AudioReadError
        Empty, not audio, or holding no samples.
    InvalidAudioError
        Sample rate below 4 kHz, non-finite samples.
    """
    import soundfile as sf

    from voiceguard.audio import read_input

    if not data:
        raise AudioReadError(f"{name}: the file is empty (0 bytes)")
    try:
        y, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=False)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types for undecodable input
        reason = getattr(exc, "error_string", None) or str(exc)
        raise AudioReadError(f"{name}: cannot decode audio ({reason})") from None
    if y.size == 0:
        raise AudioReadError(f"{name}: the file holds no audio samples")
    y, sr, _, channels = read_input(y, sr, min_sr=_MIN_SR, purpose=_PURPOSE)
    return y, sr, channels


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
    models : sequence of str
        Model names found in the committed rows: a different detector is refused.
    """

    def __init__(self, *, out: str, fmt: str, detector: Mapping[str, Any],
                 storage_options: Mapping[str, Any] | None = None, done: list | None = None,
                 models: Sequence[str] = ()) -> None:
        import ray

        self.fmt = fmt
        self.detector_kwargs = dict(detector)
        self.storage_options = dict(storage_options or {})
        self.out_fs, self.out = filesystem(out, self.storage_options)
        self.done: frozenset[bytes] = ray.get(done[0]) if done else frozenset()
        self.models = set(models)
        self._detector = None

    def detector(self):
        """The actor's Detector, loaded on first use."""
        if self._detector is None:
            from voiceguard.scoring import Detector

            det = Detector(**self.detector_kwargs)
            if self.models and self.models != {det.name}:
                raise VoiceguardError(
                    f"the output folder holds results of model {', '.join(sorted(self.models))}, this run "
                    f"uses {det.name}; resume with the same --model or write to a new --out folder"
                )
            self._detector = det
        return self._detector

    def _read(self, file: str) -> bytes:
        fs, inner = filesystem(file, self.storage_options)  # fsspec caches the instances
        return fs.cat_file(inner)

    def score_file(self, file: str) -> tuple[dict[str, Any] | None, str | None]:
        """One recording: ``(row, sha256)``; ``row`` is None when the key is committed."""
        try:
            data = self._read(file)
        except FileNotFoundError:
            return {"file": file, "error": f"{file}: no such file"}, None
        except Exception as exc:  # noqa: BLE001 - any storage failure: retried by the next run
            return {"file": file, "error": f"{file}: cannot read it ({type(exc).__name__}: {exc})"}, None
        sha = hashlib.sha256(data).hexdigest()
        if output.key_digest(file, sha) in self.done:
            return None, sha
        try:
            y, sr, channels = decode(data, file)
        except VoiceguardError as exc:
            return {"file": file, "error": str(exc), "sha256": sha}, sha
        det = self.detector()  # a model that cannot load fails the run, not a row
        try:
            row = det.score_mono(y, sr, name=file, channels=channels).to_dict()
        except VoiceguardError as exc:
            return {"file": file, "error": str(exc), "sha256": sha}, sha
        except Exception as exc:  # noqa: BLE001 - not keyed: tried again by the next run
            return {"file": file, "error": f"{file}: {type(exc).__name__}: {exc}"}, None
        row["sha256"] = sha
        return row, sha

    def __call__(self, batch):
        """Score a batch (``pyarrow.Table`` with a ``file`` column); returns status rows."""
        import pyarrow as pa

        started, cpu0 = time.time(), time.process_time()
        files = batch.column("file").to_pylist()
        rows, shas, status = [], [], []
        for f in files:
            row, sha = self.score_file(f)
            shas.append(sha)
            if row is None:
                status.append(SKIPPED)
            else:
                rows.append(row)
                status.append(ERROR if row.get("error") else row["verdict"])
        part = None
        if rows:
            part = output.part_name(rows, self.fmt)
            output.commit_part(self.out_fs, self.out, part, output.encode_part(rows, self.fmt))
        errors = [None] * len(files)
        it = iter(r.get("error") for r in rows)
        for i, s in enumerate(status):
            if s != SKIPPED:
                errors[i] = next(it)
        worker = f"{socket.gethostname()}:{os.getpid()}"
        return pa.table({
            "file": pa.array(files, pa.string()),
            "sha256": pa.array(shas, pa.string()),
            "status": pa.array(status, pa.string()),
            "error": pa.array(errors, pa.string()),
            "part": pa.array([part if s != SKIPPED else None for s in status], pa.string()),
            "worker": pa.array([worker] * len(files), pa.string()),
            "started": pa.array([started] * len(files), pa.float64()),
            "finished": pa.array([time.time()] * len(files), pa.float64()),
            "cpu_s": pa.array([time.process_time() - cpu0] * len(files), pa.float64()),
        })
