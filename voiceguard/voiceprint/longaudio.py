"""Long recordings in blocks: one decoding pass, memory bounded by one block.

Enrollment and verification read a recording once, in consecutive blocks of
:data:`BLOCK_S` seconds at the file's own rate (a short tail is joined to the block before
it), and hand every block to each consumer: the speaker encoder
(:meth:`voiceguard.speaker.GE2EEncoder.embed_blocks`), the spoof detector
(:class:`BlockScorer`) and the clone check. Nothing holds the whole signal, its whole
spectrogram or all its frames, so the peak memory of a 1-hour call is that of a
1-minute one plus a few kilobytes per minute of results (the detector's segment list).

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

from voiceguard.errors import AudioReadError, InvalidAudioError, InvalidParameterError

__all__ = ["BLOCK_S", "MIN_TAIL_S", "AudioBlocks", "open_blocks", "tee_blocks", "BlockScorer"]

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
        from voiceguard.audio import to_mono_array

        if isinstance(self._source, np.ndarray):
            for s, e in self._bounds():
                yield self._source[s:e]
            return
        import soundfile as sf

        try:
            with sf.SoundFile(self._source) as fh:
                for s, e in self._bounds():
                    fh.seek(s)
                    y = fh.read(e - s, dtype="float64", always_2d=True)
                    try:
                        m, _ = to_mono_array(y)
                    except InvalidAudioError as exc:
                        raise AudioReadError(f"{self.name}: {exc}") from None
                    yield m
        except (RuntimeError, sf.LibsndfileError) as exc:  # decoding failed mid-file
            raise AudioReadError(f"{self.name}: cannot decode audio ({exc})") from None


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
    import soundfile as sf

    path = os.fspath(audio)
    if not os.path.isfile(path):
        raise AudioReadError(f"{path}: no such file")
    try:
        info = sf.info(path)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types for undecodable input
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from None
    frames = int(info.frames)
    if frames <= 0 or frames >= 2**62:  # some formats report no length: decode whole
        y, file_sr, name, channels = read_input(path, None, min_sr=min_sr, purpose=purpose)
        return AudioBlocks(file_sr, channels, name, int(y.size), y, block_s)
    if info.samplerate < min_sr:
        raise InvalidAudioError(f"sample rate {info.samplerate} Hz is too low for {purpose} (need >= {min_sr} Hz)")
    return AudioBlocks(int(info.samplerate), int(info.channels), path, frames, path, block_s)


def tee_blocks(blocks: Iterable[np.ndarray], *consumers: Callable[[np.ndarray], None]) -> Iterator[np.ndarray]:
    """Yield each block after handing it to every consumer (one pass feeds them all)."""
    for b in blocks:
        for c in consumers:
            c(b)
        yield b


class BlockScorer:
    """The spoof detector's verdict on a recording fed block by block.

    Each block is scored with :meth:`voiceguard.scoring.Detector.score_mono`; the
    recording's LLR aggregates the blocks' segments as the detector aggregates its
    windows (mean of the segment LLRs over speech segments, or over the segments with the
    most speech when none reaches ``min_speech_fraction``). With one block the result is
    the detector's own.

    Parameters
    ----------
    detector : voiceguard.scoring.Detector
    sr : int
        Rate of the blocks.
    """

    def __init__(self, detector: Any, sr: int) -> None:
        self.detector = detector
        self.sr = int(sr)
        self._results: list[tuple[float, Any]] = []
        self._offset = 0

    def add(self, y: np.ndarray) -> None:
        """Score the next block."""
        r = self.detector.score_mono(y, self.sr)
        self._results.append((self._offset / self.sr, r))
        self._offset += len(y)

    def result(self, *, name: str | None = None, channels: int = 1) -> Any:
        """The recording's :class:`voiceguard.scoring.ScoreResult`."""
        from dataclasses import replace

        from voiceguard.calibration import spoof_probability
        from voiceguard.scoring import BONAFIDE, NO_SPEECH, SPOOF, ScoreResult, Segment

        det = self.detector
        duration = self._offset / self.sr
        if len(self._results) == 1:
            return replace(self._results[0][1], file=name, channels=channels)
        speech = float(sum(r.speech_s for _, r in self._results))
        segs = [Segment(o + s.start_s, o + s.end_s, s.spoof_probability, s.llr, s.speech_fraction, s.used)
                for o, r in self._results for s in r.segments]
        base = dict(file=name, duration_s=duration, speech_s=speech, sample_rate=self.sr, channels=channels,
                    threshold=det.threshold, prior=det.prior, model=det.name)
        if speech < det.min_speech_s or not segs:
            return ScoreResult(verdict=NO_SPEECH, spoof_probability=None, llr=None, **base)
        fr = np.array([s.speech_fraction for s in segs])
        used = fr >= det.min_speech_fraction
        if not used.any():
            used = fr >= fr.max()
        segs = [Segment(s.start_s, s.end_s, s.spoof_probability, s.llr, s.speech_fraction, bool(u))
                for s, u in zip(segs, used)]
        llr = float(np.mean([s.llr for s, u in zip(segs, used) if u]))
        p = float(spoof_probability(llr, det.prior))
        return ScoreResult(verdict=SPOOF if p >= det.threshold else BONAFIDE, spoof_probability=p, llr=llr,
                           segments=segs, **base)
