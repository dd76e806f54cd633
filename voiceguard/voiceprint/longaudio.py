"""Long recordings in blocks: one decoding pass, memory bounded by one block.

Enrollment and verification read a recording in consecutive blocks of :data:`BLOCK_S`
seconds at the file's own rate (:func:`voiceguard.audio.iter_blocks`; a short tail is
joined to the block before it), and hand every block to the speaker encoder
(:meth:`voiceguard.voiceprint.encoder.GE2EEncoder.embed_blocks`) and the clone check in one pass. The
spoof detector streams the file itself (:meth:`voiceguard.detect.Detector.score`), so its
result is exactly that of ``voiceguard score``. Nothing holds the whole signal, its whole
spectrogram or all its frames: the peak memory of a 1-hour call is that of a 1-minute one
plus a few kilobytes per minute of results (the detector's segment list).

A recording of at most ``BLOCK_S + MIN_TAIL_S`` seconds is one block: its results are
exactly those of processing it whole.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Union

import numpy as np

from voiceguard.errors import InvalidParameterError

__all__ = ["BLOCK_S", "MIN_TAIL_S", "AudioBlocks", "open_blocks", "tee_blocks"]

PathLike = Union[str, os.PathLike]

#: Block length (seconds).
BLOCK_S = 60.0
#: A last block shorter than this joins the block before it.
MIN_TAIL_S = 15.0


@dataclass
class AudioBlocks:
    """A recording as mono blocks at its own rate (re-iterable).

    Attributes
    ----------
    sr : int
        Sample rate of the blocks (the file's, or the array's).
    channels : int
        Channel count of the source (blocks are mixed to mono).
    name : str or None
        The path as given; ``None`` for arrays.
    n_samples : int
        Length of the recording in samples (per channel).
    """

    sr: int
    channels: int
    name: str | None
    n_samples: int
    _source: Any
    block_s: float = BLOCK_S

    @property
    def duration_s(self) -> float:
        """float : length in seconds."""
        return self.n_samples / float(self.sr)

    def _bounds(self) -> list[tuple[int, int]]:
        blk = max(1, int(round(self.block_s * self.sr)))
        tail = int(round(MIN_TAIL_S * self.sr))
        starts = list(range(0, self.n_samples, blk)) or [0]
        bounds = [(s, min(self.n_samples, s + blk)) for s in starts]
        if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < tail:
            last = bounds.pop()
            bounds[-1] = (bounds[-1][0], last[1])
        return bounds

    def __iter__(self) -> Iterator[np.ndarray]:
        if isinstance(self._source, np.ndarray):
            for s, e in self._bounds():
                yield self._source[s:e]
            return
        from voiceguard.audio import iter_blocks

        tail = int(round(MIN_TAIL_S * self.sr))
        prev = None
        for b in iter_blocks(self._source, sr=self.sr, block_s=self.block_s):
            y = b.y
            if prev is not None:
                if len(y) < tail:
                    y = np.concatenate([prev, y])
                else:
                    yield prev
            prev = y
        if prev is not None:
            yield prev


def open_blocks(audio: PathLike | np.ndarray, sr: int | None = None, *, min_sr: int = 8000,
                purpose: str = "speaker verification", block_s: float = BLOCK_S) -> AudioBlocks:
    """Open a file (or wrap an array) for block-wise reading.

    Parameters
    ----------
    audio : path or np.ndarray
        A file libsndfile reads, or samples in any layout
        :func:`voiceguard.audio.to_mono_array` accepts.
    sr : int, optional
        The array's rate (required for arrays, ignored for files).
    min_sr : int
        Lowest usable rate.
    purpose : str
        For error messages.
    block_s : float
        Block length in seconds.

    Returns
    -------
    AudioBlocks

    Raises
    ------
    AudioReadError, InvalidAudioError, InvalidParameterError
    """
    from voiceguard.audio import read_input

    if block_s <= 0 or not math.isfinite(block_s):
        raise InvalidParameterError(f"block_s must be a positive number of seconds, got {block_s}")
    if not isinstance(audio, (str, os.PathLike)):
        y, file_sr, name, channels = read_input(audio, sr, min_sr=min_sr, purpose=purpose)
        return AudioBlocks(file_sr, channels, name, int(y.size), y, block_s)
    from voiceguard.audio import open_stream

    st = open_stream(audio, None, min_sr=min_sr, purpose=purpose)
    if st.frames <= 0:  # a format that does not announce its length: decode it whole
        y, file_sr, name, channels = read_input(audio, None, min_sr=min_sr, purpose=purpose)
        return AudioBlocks(file_sr, channels, name, int(y.size), y, block_s)
    return AudioBlocks(int(st.sr), int(st.channels), os.fspath(audio), int(st.frames), os.fspath(audio), block_s)


def tee_blocks(blocks: Iterable[np.ndarray], *consumers: Callable[[np.ndarray], None]) -> Iterator[np.ndarray]:
    """Yield each block after handing it to every consumer (one pass feeds them all)."""
    for b in blocks:
        for c in consumers:
            c(b)
        yield b


def detector_result(detector: Any, blocks: Any) -> Any:
    """The detector's result for the recording behind ``blocks`` (streamed from a file)."""
    from dataclasses import replace

    if isinstance(blocks._source, np.ndarray):
        r = detector.score_mono(blocks._source, blocks.sr, name=blocks.name, channels=blocks.channels)
    else:
        r = detector.score(blocks._source)
    return replace(r, file=blocks.name, channels=blocks.channels)
