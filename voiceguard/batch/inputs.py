"""What to score: turning folders, globs, manifests and URLs into a list of recordings.

Every input names recordings through fsspec, so local paths, ``file://``, ``s3://``,
``gs://`` (and any other protocol whose fsspec package is installed) work the same way:

* a **folder** (or object-storage prefix): the audio files under it, recursively, sorted,
  with the extensions ``voiceguard score`` picks up;
* a **glob** (``calls/2024-*/*.wav``, ``s3://bucket/calls/**/*.flac``): the files it matches;
* a **manifest** (``.csv``, ``.tsv``, ``.parquet``) with a path column (``path`` by default,
  else ``file``, ``filename``, ``audio`` or ``wav``): relative entries are relative to the
  manifest's folder;
* anything else is one recording.

Local paths keep the spelling they were given (a folder's files are ``os.path.join(folder,
name)``, as ``voiceguard score`` names them), so the ``file`` field of a batch row equals
the one ``voiceguard score`` prints for the same input; URLs stay URLs.
"""

from __future__ import annotations

import glob as _glob
import io
import os
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from voiceguard.audio import AUDIO_EXTENSIONS
from voiceguard.errors import InvalidParameterError

__all__ = ["MANIFEST_EXTENSIONS", "PATH_COLUMNS", "is_url", "is_local", "filesystem", "source_of",
           "list_recordings"]

#: File extensions read as manifests rather than as recordings.
MANIFEST_EXTENSIONS = (".csv", ".tsv", ".parquet")

#: Column names taken as the path column of a manifest, in order of preference.
PATH_COLUMNS = ("path", "file", "filename", "audio", "wav")

_GLOB_CHARS = "*?["


def is_url(path: str) -> bool:
    """True when ``path`` carries a protocol (``s3://``, ``file://``...)."""
    return "://" in path


def is_local(fs) -> bool:
    """True for fsspec's local filesystem (plain paths and ``file://``)."""
    protocols = fs.protocol if isinstance(fs.protocol, (tuple, list)) else (fs.protocol,)
    return "file" in protocols


def source_of(file: str) -> str:
    """Where a worker reads ``file`` from: URLs as they are, local paths made absolute."""
    return file if is_url(file) else os.path.abspath(file)


def filesystem(path: str, storage_options: Mapping[str, Any] | None = None):
    """The fsspec filesystem of ``path`` and the path inside it.

    Returns
    -------
    fs : fsspec.AbstractFileSystem
    inner : str
        ``path`` without its protocol (what ``fs`` methods take).

    Raises
    ------
    InvalidParameterError
        The protocol is unknown or its fsspec package is not installed.
    """
    import fsspec

    try:
        return fsspec.core.url_to_fs(path, **dict(storage_options or {}))
    except (ImportError, ValueError) as exc:
        proto = path.split("://", 1)[0] if is_url(path) else "file"
        raise InvalidParameterError(
            f"{path}: cannot open {proto}:// storage ({exc}); install its fsspec package "
            "(s3fs for s3://, gcsfs for gs://)"
        ) from exc


def _is_audio(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS


def _local_folder(folder: str) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [os.path.join(root, f) for f in sorted(files) if _is_audio(f)]
    return found


def _join(base: str, entry: str) -> str:
    """Resolve a manifest entry against the manifest's folder ``base`` (path or URL)."""
    if is_url(entry) or os.path.isabs(entry):
        return entry
    if is_url(base):
        return posixpath.join(base, entry)
    return os.path.join(base, entry)


def _read_manifest(path: str, path_column: str | None, storage_options: Mapping[str, Any] | None) -> list[str]:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    fs, inner = filesystem(path, storage_options)
    try:
        with fs.open(inner, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InvalidParameterError(f"{path}: cannot read the manifest ({exc})") from exc
    ext = os.path.splitext(inner)[1].lower()
    try:
        if ext == ".parquet":
            table = pq.read_table(io.BytesIO(data))
        else:
            table = pacsv.read_csv(
                io.BytesIO(data),
                parse_options=pacsv.ParseOptions(delimiter="\t" if ext == ".tsv" else ","),
                convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
            )
    except Exception as exc:  # pyarrow raises ArrowInvalid and friends
        raise InvalidParameterError(f"{path}: not a readable {ext[1:].upper()} manifest ({exc})") from exc
    wanted = [path_column] if path_column else list(PATH_COLUMNS)
    column = next((c for c in wanted if c in table.column_names), None)
    if column is None:
        raise InvalidParameterError(
            f"{path}: the manifest has no {' / '.join(repr(c) for c in wanted)} column "
            f"(columns: {', '.join(table.column_names) or 'none'}); name it with --path-column"
        )
    base = path.rsplit("/", 1)[0] if is_url(path) else os.path.dirname(path)
    entries = [str(v) for v in table.column(column).to_pylist() if v is not None and str(v).strip()]
    return [_join(base, e.strip()) for e in entries]


def _expand_one(item: str, path_column: str | None, storage_options: Mapping[str, Any] | None) -> list[str]:
    if os.path.splitext(item.split("?", 1)[0])[1].lower() in MANIFEST_EXTENSIONS:
        return _read_manifest(item, path_column, storage_options)
    if not is_url(item):
        if any(c in item for c in _GLOB_CHARS):
            return sorted(p for p in _glob.glob(item, recursive=True) if os.path.isfile(p))
        if os.path.isdir(item):
            return _local_folder(item)
        if not os.path.exists(item):
            raise InvalidParameterError(f"{item}: no such file, folder or manifest")
        return [item]
    fs, inner = filesystem(item, storage_options)
    fs.invalidate_cache()  # list what is there now, not what an earlier call saw
    if any(c in inner for c in _GLOB_CHARS):
        return [fs.unstrip_protocol(p) for p in sorted(fs.glob(inner)) if not fs.isdir(p)]
    try:
        if fs.isdir(inner):
            return [fs.unstrip_protocol(p) for p in sorted(fs.find(inner)) if _is_audio(p)]
    except OSError as exc:
        raise InvalidParameterError(f"{item}: cannot list it ({exc})") from exc
    return [item]


def list_recordings(
    inputs: Iterable[str],
    *,
    path_column: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> list[str]:
    """The recordings named by ``inputs``, each once, in the order found.

    Parameters
    ----------
    inputs : iterable of str
        Folders, globs, manifests, files or URLs (see the module docstring).
    path_column : str, optional
        The manifest column holding the paths (default: the first of :data:`PATH_COLUMNS`
        present).
    storage_options : mapping, optional
        Passed to fsspec for URLs (``{"endpoint_url": ..., "key": ..., "secret": ...}``
        for an S3-compatible store, ``{"anon": True}`` for a public bucket...).

    Returns
    -------
    list of str

    Raises
    ------
    InvalidParameterError
        An input does not exist, a manifest is unreadable or has no path column, or a
        protocol's fsspec package is missing.
    """
    seen: dict[str, None] = {}
    for item in inputs:
        item = os.fspath(item)
        for p in _expand_one(item, path_column, storage_options):
            seen.setdefault(p, None)
    return list(seen)
