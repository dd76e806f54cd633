"""Read variables from a CTranslate2 ``model.bin`` without CTranslate2.

The file (binary version 6, as written by ``ctranslate2.specs.ModelSpec``) is::

    u32 binary_version
    str spec_name            # str = u16 length (including a final NUL) + bytes
    u32 spec_revision
    u32 n_variables
    n_variables x { str name; u8 rank; u32 dims[rank]; u8 dtype; u32 n_bytes; bytes }
    u32 n_aliases
    n_aliases x { str alias; str target }

all little-endian, dtype ids ``0 float32, 1 int8, 2 int16, 3 int32, 4 float16,
5 bfloat16``. A model may be split into several files that concatenate to ``model.bin``
(the Whisper-base weight packages on PyPI ship it in two parts); :func:`read_variables`
reads them as one stream and only the bytes of the variables asked for.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from voiceguard.errors import ModelError

__all__ = ["read_variables"]

_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_SUPPORTED_VERSIONS = (5, 6)


class _Concatenated:
    """Sequential reads (with forward skips) over files that concatenate to one stream."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self._paths = list(paths)
        self._sizes = [p.stat().st_size for p in self._paths]
        self._index = 0
        self._file = self._paths[0].open("rb")
        self._where = "+".join(p.name for p in self._paths)

    def _next_part(self) -> None:
        if self._index + 1 >= len(self._paths):
            raise ModelError(f"{self._where}: the model file ends early (truncated download or a "
                             "missing part); reinstall the weight packages")
        self._file.close()
        self._index += 1
        self._file = self._paths[self._index].open("rb")

    def read(self, n: int) -> bytes:
        parts = []
        while n > 0:
            chunk = self._file.read(n)
            if not chunk:
                self._next_part()
                continue
            parts.append(chunk)
            n -= len(chunk)
        return b"".join(parts)

    def skip(self, n: int) -> None:
        while n > 0:
            left = self._sizes[self._index] - self._file.tell()
            if n <= left:
                self._file.seek(n, os.SEEK_CUR)
                return
            n -= left
            self._next_part()

    def close(self) -> None:
        self._file.close()


def read_variables(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    want: Callable[[str], bool],
) -> tuple[str, dict[str, np.ndarray]]:
    """Read the variables whose names ``want`` accepts.

    Parameters
    ----------
    paths : path or sequence of paths
        ``model.bin``, or its parts in order.
    want : callable
        ``want(name) -> bool``; other variables are skipped without being read.

    Returns
    -------
    spec_name : str
        E.g. ``'WhisperSpec'``.
    variables : dict of str to np.ndarray
        Arrays in the file's dtype and shape.

    Raises
    ------
    ModelError
        The file is missing, truncated, of an unknown version or holds an unknown dtype.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files = [Path(p) for p in paths]
    for p in files:
        if not p.is_file():
            raise ModelError(f"model file {p} is missing; reinstall the weight packages")
    stream = _Concatenated(files)
    try:
        def u(fmt: str):
            size = struct.calcsize(fmt)
            return struct.unpack("<" + fmt, stream.read(size))[0]

        def text() -> str:
            n = u("H")
            return stream.read(n)[:-1].decode("utf-8")

        version = u("I")
        if version not in _SUPPORTED_VERSIONS:
            raise ModelError(f"{files[0]}: CTranslate2 binary version {version} is not supported "
                             f"(expected one of {_SUPPORTED_VERSIONS})")
        spec = text()
        u("I")  # spec revision
        out: dict[str, np.ndarray] = {}
        for _ in range(u("I")):
            name = text()
            rank = u("B")
            dims = [u("I") for _ in range(rank)]
            dtype_id = u("B")
            n_bytes = u("I")
            if not want(name):
                stream.skip(n_bytes)
                continue
            if dtype_id not in _DTYPES:
                raise ModelError(f"{files[0]}: variable {name} has dtype id {dtype_id}, which this reader "
                                 "does not handle (float32/float16/int8/int16/int32 only)")
            data = np.frombuffer(stream.read(n_bytes), dtype=_DTYPES[dtype_id])
            if data.size != int(np.prod(dims)):
                raise ModelError(f"{files[0]}: variable {name} holds {data.size} values, not {dims}")
            out[name] = data.reshape(dims).copy()
        return spec, out
    except struct.error as exc:
        raise ModelError(f"{files[0]}: the model file ends early; reinstall the weight packages") from exc
    finally:
        stream.close()
