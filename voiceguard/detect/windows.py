"""Where the analysis windows of a recording lie, and how they are grouped into chunks.

A recording of ``n`` samples (at the model's rate) is scored in windows of ``window``
samples every ``hop`` samples, the last one aligned to the end of the recording; a
recording not longer than one window is one window. Windows are grouped into
**chunks** of up to ``windows_per_chunk`` consecutive windows; a chunk's audio spans its
windows and nothing else, and each chunk is one pass of the model's front end (for the
Whisper encoder, one encoder pass, whose frames every window of the chunk pools from).

The grouping depends only on the absolute window positions, never on how the audio
arrives, so :class:`ChunkAssembler` (audio fed block by block, memory bounded by one
chunk) gives exactly the chunks that :func:`chunks` gives for the whole signal::

    chunk c = windows c*K .. c*K+K-1 of the grid (K = windows_per_chunk)
    audio   = [first window's start, last window's end)
    the end-aligned extra window (when the grid does not reach the end) joins the last chunk
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from voiceguard.errors import InvalidParameterError

__all__ = ["WindowGrid", "Chunk", "ChunkAssembler", "Windows"]

#: Windows of a chunk or recording: (start, stop) sample ranges.
Windows = Sequence[tuple[int, int]]


@dataclass(frozen=True)
class Chunk:
    """One model pass: ``audio`` covers samples ``start .. start + len(audio)``.

    ``windows`` are (start, stop) sample ranges relative to ``start``; ``index`` is the
    position of the chunk's first window among all windows of the recording.
    """

    start: int
    audio: np.ndarray
    windows: tuple[tuple[int, int], ...]
    index: int


@dataclass(frozen=True)
class WindowGrid:
    """Window and chunk geometry, in samples.

    Parameters
    ----------
    window, hop : int
        Window length and hop.
    windows_per_chunk : int
        Windows per model pass.
    """

    window: int
    hop: int
    windows_per_chunk: int = 1

    def __post_init__(self) -> None:
        if self.window <= 0 or self.hop <= 0 or self.windows_per_chunk < 1:
            raise InvalidParameterError(
                f"need window > 0, hop > 0 and windows_per_chunk >= 1, got {self.window}, {self.hop}, "
                f"{self.windows_per_chunk}"
            )

    @classmethod
    def from_seconds(cls, sr: int, window_s: float, hop_s: float, chunk_s: float | None = None) -> WindowGrid:
        """A grid for windows of ``window_s`` every ``hop_s``, chunks of at most ``chunk_s``."""
        window, hop = int(round(window_s * sr)), int(round(hop_s * sr))
        per = 1 if chunk_s is None else max(1, int((round(chunk_s * sr) - window) // hop) + 1)
        return cls(window, hop, per)

    @property
    def max_chunk(self) -> int:
        """Longest chunk in samples (the last one may take the end-aligned window too)."""
        return (self.windows_per_chunk - 1) * self.hop + self.window + self.hop

    def _n_grid(self, n: int) -> int:
        return (n - self.window) // self.hop + 1

    def windows(self, n: int) -> list[tuple[int, int]]:
        """All windows of a recording of ``n`` samples, absolute (start, stop)."""
        if n <= self.window:
            return [(0, n)]
        out = [(k * self.hop, k * self.hop + self.window) for k in range(self._n_grid(n))]
        if out[-1][1] < n:
            out.append((n - self.window, n))
        return out

    def chunks(self, y: np.ndarray) -> list[Chunk]:
        """The chunks of a whole signal ``y``."""
        asm = ChunkAssembler(self)
        return list(asm.push(y)) + list(asm.finish())


class ChunkAssembler:
    """Chunks of a signal that arrives in blocks of any size (see the module docstring).

    Memory holds the audio from the next chunk's start to the newest sample: at most
    one chunk plus one window plus the last block.
    """

    def __init__(self, grid: WindowGrid) -> None:
        self.grid = grid
        self._buf: list[np.ndarray] = []
        self._buf_start = 0  # absolute index of the first buffered sample
        self._n = 0  # samples received
        self._next_chunk = 0
        self._done = False

    @property
    def n_samples(self) -> int:
        """Samples received so far."""
        return self._n

    def _take(self, start: int, stop: int) -> np.ndarray:
        x = np.concatenate(self._buf) if len(self._buf) > 1 else (self._buf[0] if self._buf else np.zeros(0))
        self._buf = [x]
        return x[start - self._buf_start: stop - self._buf_start]

    def _drop_before(self, start: int) -> None:
        x = self._take(self._buf_start, self._buf_start + sum(b.size for b in self._buf))
        self._buf = [x[start - self._buf_start:].copy()]
        self._buf_start = start

    def push(self, y: np.ndarray) -> Iterator[Chunk]:
        """Add samples; yields the chunks that are now complete and known not to be last."""
        if self._done:
            raise InvalidParameterError("ChunkAssembler.push after finish()")
        y = np.asarray(y, np.float64)
        if y.size:
            self._buf.append(y)
            self._n += y.size
        g, per = self.grid, self.grid.windows_per_chunk
        while True:
            c = self._next_chunk
            # chunk c is not the last one once the next chunk's first window is complete
            if self._n < ((c + 1) * per) * g.hop + g.window:
                return
            first = c * per
            start, stop = first * g.hop, (first + per - 1) * g.hop + g.window
            audio = self._take(start, stop).copy()
            wins = tuple((k * g.hop - start, k * g.hop + g.window - start) for k in range(first, first + per))
            self._next_chunk += 1
            self._drop_before((c + 1) * per * g.hop)
            yield Chunk(start, audio, wins, first)

    def finish(self) -> Iterator[Chunk]:
        """The remaining chunks, the last one ending at the last sample (ends the stream)."""
        if self._done:
            return
        self._done = True
        g, per, n = self.grid, self.grid.windows_per_chunk, self._n
        if n == 0:
            return
        if n <= g.window:
            yield Chunk(0, self._take(0, n).copy(), ((0, n),), 0)
            return
        n_grid = g._n_grid(n)
        last_chunk = (n_grid - 1) // per
        for c in range(self._next_chunk, last_chunk + 1):
            first = c * per
            ks = range(first, min(n_grid, first + per))
            start = first * g.hop
            wins = [(k * g.hop - start, k * g.hop + g.window - start) for k in ks]
            stop = wins[-1][1] + start
            if c == last_chunk and stop < n:
                wins.append((n - g.window - start, n - start))
                stop = n
            yield Chunk(start, self._take(start, stop).copy(), tuple(wins), first)
        self._buf = []
