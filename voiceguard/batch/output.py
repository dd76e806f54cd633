"""The output folder of a batch run: rows, parts written atomically, and what is already done.

Layout of ``OUT`` (a local folder or any fsspec URL)::

    OUT/_voiceguard_batch.json      settings of the run (format, model, prior, threshold, threads)
    OUT/part-<20 hex>.parquet       one part per batch of recordings (or .jsonl)

A row holds the fields of ``voiceguard score --format jsonl`` for the recording
(:meth:`voiceguard.detect.ScoreResult.to_dict`, segments as a nested list) followed by
``sha256``, the hash of the file's bytes; a recording that could not be scored has
``file``, ``error`` and, when its bytes could be read, ``sha256``.

**Commit.** A part becomes visible in one step: on a local disk it is written to a
``.tmp-*`` file in ``OUT`` and renamed; on object storage the single PUT of the whole
object is atomic. A killed worker therefore leaves either a whole part or none (plus,
locally, a temp file that the next run deletes). A part's name is a hash of the keys it
holds, so a batch that Ray retries after a crash rewrites the same part instead of
adding a duplicate.

**Resume.** The key of a recording is ``(file, sha256)``: the rows of the committed parts
are skipped by the next run. A recording whose bytes could not be read has no hash and
is tried again; one whose bytes do not decode is committed with its error (the same
bytes fail the same way), so delete its part to force a retry.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from voiceguard.batch.inputs import is_local
from voiceguard.errors import InvalidParameterError

__all__ = [
    "FORMATS",
    "SETTINGS_FILE",
    "schema",
    "key_digest",
    "part_name",
    "encode_part",
    "commit_part",
    "part_files",
    "read_rows",
    "committed",
    "check_settings",
    "remove_temp_files",
    "outcome",
    "UNSCREENED",
]

FORMATS = ("parquet", "jsonl")
SETTINGS_FILE = "_voiceguard_batch.json"
#: The outcome of a ``no_speech`` recording whose ``content`` is ``non_speech``: it holds
#: sound but was not screened (exit code 3, :data:`voiceguard.exit_codes.UNSCREENED`).
UNSCREENED = "unscreened"
_PART_PREFIX = "part-"
_TMP_PREFIX = ".tmp-"


def schema():
    """The Parquet schema of a row (``pyarrow.Schema``), in the order of ``to_dict``."""
    import pyarrow as pa

    segment = pa.struct([
        ("start_s", pa.float64()), ("end_s", pa.float64()), ("spoof_probability", pa.float64()),
        ("llr", pa.float64()), ("speech_fraction", pa.float64()), ("used", pa.bool_()),
    ])
    return pa.schema([
        ("file", pa.string()), ("verdict", pa.string()), ("content", pa.string()), ("spoof_probability", pa.float64()),
        ("llr", pa.float64()), ("duration_s", pa.float64()), ("speech_s", pa.float64()),
        ("sample_rate", pa.int64()), ("channels", pa.int64()), ("threshold", pa.float64()),
        ("prior", pa.float64()), ("model", pa.string()), ("model_version", pa.string()),
        ("segments", pa.list_(segment)), ("warnings", pa.list_(pa.string())),
        ("error", pa.string()), ("sha256", pa.string()),
    ])


def outcome(row: Mapping[str, Any]) -> str:
    """What a row counts as: ``'error'``, :data:`UNSCREENED` or its verdict."""
    if row.get("error"):
        return "error"
    verdict = str(row.get("verdict"))
    return UNSCREENED if verdict == "no_speech" and row.get("content") == "non_speech" else verdict


def key_digest(file: str, sha256: str) -> bytes:
    """16-byte digest of a recording's key ``(file, sha256)`` (what workers compare)."""
    return hashlib.sha256(f"{file}\0{sha256}".encode()).digest()[:16]


def part_name(rows: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """Deterministic part name: a hash of the keys of its rows."""
    keys = sorted(f"{r['file']}\0{r.get('sha256') or ''}\0{'error' if r.get('error') else ''}" for r in rows)
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:20]
    return f"{_PART_PREFIX}{digest}.{fmt}"


def encode_part(rows: Sequence[Mapping[str, Any]], fmt: str) -> bytes:
    """The bytes of one part holding ``rows``.

    Parameters
    ----------
    rows : sequence of dict
        Row dicts (``ScoreResult.to_dict()`` plus ``sha256``, or ``file``/``error``/``sha256``).
    fmt : {'parquet', 'jsonl'}

    Returns
    -------
    bytes
    """
    if fmt == "jsonl":
        return "".join(json.dumps(dict(r)) + "\n" for r in rows).encode()
    import pyarrow as pa
    import pyarrow.parquet as pq

    sch = schema()
    extra = sorted({k for r in rows for k in r} - set(sch.names))
    if extra:  # fields a newer ScoreResult adds: kept, as JSON text
        sch = pa.schema(list(sch) + [(k, pa.string()) for k in extra])
    known = schema().names
    table = pa.Table.from_pylist(
        [{**{k: r.get(k) for k in known}, **{k: None if r.get(k) is None else json.dumps(r[k]) for k in extra}}
         for r in rows],
        schema=sch,
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return buf.getvalue()


def commit_part(fs, folder: str, name: str, data: bytes) -> None:
    """Make ``folder/name`` hold ``data`` in one atomic step (see the module docstring)."""
    path = f"{folder.rstrip('/')}/{name}"
    if is_local(fs):
        tmp = os.path.join(folder, f"{_TMP_PREFIX}{uuid.uuid4().hex}-{name}")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    else:
        fs.pipe_file(path, data)


def part_files(fs, folder: str) -> list[str]:
    """Committed parts in ``folder`` (inner fsspec paths), sorted."""
    fs.invalidate_cache(folder)  # object stores' listings are cached per filesystem instance
    if not fs.exists(folder):
        return []
    names = []
    for p in fs.ls(folder, detail=False):
        base = p.rstrip("/").rsplit("/", 1)[-1]
        if base.startswith(_PART_PREFIX) and base.endswith(tuple(f".{f}" for f in FORMATS)):
            names.append(p)
    return sorted(names)


def remove_temp_files(fs, folder: str) -> int:
    """Delete the temp files a killed run left in a local ``folder``; returns how many."""
    if not is_local(fs) or not os.path.isdir(folder):
        return 0
    n = 0
    for name in os.listdir(folder):
        if name.startswith(_TMP_PREFIX):
            os.unlink(os.path.join(folder, name))
            n += 1
    return n


def read_rows(fs, folder: str, columns: Sequence[str] | None = None) -> Iterable[dict[str, Any]]:
    """Every row of the committed parts of ``folder`` (dicts; Parquet rows carry every column).

    Parameters
    ----------
    fs : fsspec.AbstractFileSystem
    folder : str
        Inner path of the output folder.
    columns : sequence of str, optional
        Read only these columns (Parquet; JSONL rows are filtered after parsing).
    """
    import pyarrow.parquet as pq

    for p in part_files(fs, folder):
        with fs.open(p, "rb") as fh:
            data = fh.read()
        if p.endswith(".parquet"):
            pf = pq.ParquetFile(io.BytesIO(data))
            # parts of an older voiceguard may lack a newer column (content, warnings)
            have = set(pf.schema_arrow.names)
            table = pf.read(columns=[c for c in columns if c in have] if columns else None)
            for row in table.to_pylist():
                yield row if columns is None else {c: row.get(c) for c in columns}
        else:
            for line in data.decode().splitlines():
                if line.strip():
                    row = json.loads(line)
                    yield row if columns is None else {c: row.get(c) for c in columns}


def committed(fs, folder: str) -> tuple[dict[tuple[str, str], str], set[str]]:
    """What the committed parts of ``folder`` hold.

    Returns
    -------
    done : dict
        ``{(file, sha256): outcome}``, outcome a verdict or ``'error'`` (rows with a hash).
    versions : set of str
        The ``model_version`` values of the scored rows.
    """
    done: dict[tuple[str, str], str] = {}
    versions: set[str] = set()
    for r in read_rows(fs, folder, columns=("file", "sha256", "verdict", "content", "error", "model_version")):
        if r.get("sha256"):
            done[(r["file"], r["sha256"])] = outcome(r)
        if r.get("model_version"):
            versions.add(r["model_version"])
    return done, versions


def check_settings(fs, folder: str, settings: Mapping[str, Any]) -> None:
    """Record the run's settings in ``folder``, or check that they match the recorded ones.

    Raises
    ------
    InvalidParameterError
        ``folder`` holds results made with other settings (resuming would mix them).
    """
    path = f"{folder.rstrip('/')}/{SETTINGS_FILE}"
    if fs.exists(path):
        with fs.open(path, "rb") as fh:
            try:
                old = json.loads(fh.read().decode())
            except ValueError:
                old = None
        if old != dict(settings):
            diff = ", ".join(f"{k} {old.get(k)!r} -> {v!r}" for k, v in settings.items()
                             if isinstance(old, dict) and old.get(k) != v) or "unreadable settings file"
            raise InvalidParameterError(
                f"{folder} holds results of a run with other settings ({diff}); "
                "resume with the same settings or write to a new --out folder"
            )
        return
    fs.makedirs(folder, exist_ok=True)
    commit_part(fs, folder, SETTINGS_FILE, (json.dumps(dict(settings), indent=1) + "\n").encode())
