"""Keeping a C library's chatter off the terminal (a decoder's; Ray's, for ``batch``).

libsndfile decodes MP3 with libmpg123, which prints to the process's standard error (file
descriptor 2) whatever it meets: ``[src/libmpg123/layer3.c:...] error: part2_3_length
(832) too large for available bit count (736)`` for the first frames of many 32 kbps MP3
files (the bit reservoir of a frame it never saw), ``Note: Illegal Audio-MPEG-Header``
on bytes that are not MP3. The audio decodes correctly (or the failure is reported as an
error of its own); the lines only alarm and clutter the output of a batch.

:func:`c_stderr_filtered` points descriptor 2 at a temporary file for the duration of a
decoder call and, when the last such call of the process is done, writes back whatever
landed there except those lines. Nothing else is lost: output of other threads in that
window (milliseconds) comes out a moment later, in order.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["DECODER_NOISE", "c_stderr_filtered", "looks_like_mpeg"]

#: Lines of libmpg123 that say nothing about the result.
DECODER_NOISE = re.compile(rb"^(\[src/libmpg123/[^\]]*\] (error|warning): |Note: (Illegal Audio-MPEG-Header|"
                           rb"Trying to resync|Hit end of \(available\) data|Skipped \d+ bytes))")

_lock = threading.Lock()
_state: dict[str, int] = {"depth": 0, "saved": -1, "tmp": -1}
_patterns: list[re.Pattern[bytes]] = []


def looks_like_mpeg(head: bytes, name: str = "") -> bool:
    """Whether a file (its first bytes, its name) is MPEG audio, which libmpg123 decodes."""
    if name.lower().endswith((".mp3", ".mp2", ".mpga")):
        return True
    return head[:3] == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _enter(pattern: re.Pattern[bytes]) -> None:
    with _lock:
        _patterns.append(pattern)
        if _state["depth"] == 0:
            try:
                sys.stderr.flush()
            except (OSError, ValueError, AttributeError):  # a closed or replaced stream: nothing to flush
                pass
            fd, name = tempfile.mkstemp(prefix="voiceguard-stderr-")
            os.unlink(name)
            _state["saved"], _state["tmp"] = os.dup(2), fd
            os.dup2(fd, 2)
        _state["depth"] += 1


def _leave() -> None:
    with _lock:
        _state["depth"] -= 1
        if _state["depth"] > 0:
            return
        saved, tmp = _state["saved"], _state["tmp"]
        patterns = list(_patterns)
        _patterns.clear()
        os.dup2(saved, 2)
        os.close(saved)
        os.lseek(tmp, 0, os.SEEK_SET)
        chunks = []
        while True:
            b = os.read(tmp, 1 << 16)
            if not b:
                break
            chunks.append(b)
        os.close(tmp)
    kept = b"".join(line for line in b"".join(chunks).splitlines(keepends=True)
                    if not any(p.match(line) for p in patterns))
    if kept:
        os.write(2, kept)


@contextmanager
def c_stderr_filtered(enabled: bool = True, pattern: re.Pattern[bytes] = DECODER_NOISE) -> Iterator[None]:
    """While inside, lines of standard error that ``pattern`` matches are dropped (see the
    module docstring); the others come out when the last filter of the process ends.

    Parameters
    ----------
    enabled : bool
        False: do nothing (a file that is not MP3).
    pattern : re.Pattern of bytes
        The lines to drop (default: libmpg123's, :data:`DECODER_NOISE`).
    """
    if not enabled:
        yield
        return
    _enter(pattern)
    try:
        yield
    finally:
        _leave()
