"""Energy-based speech activity detection.

The detector must not guess on clips that hold (almost) no speech; this module decides
which 10 ms frames carry speech and whether a clip has enough of it.

Method (per clip, adaptive, no training):

1. log energy in dB of 20 ms frames every 10 ms (frame ``t`` starts at sample
   ``t * hop``, like the LFCC frames), counting only the 300-3400 Hz band (the telephone
   band, so wideband and 8 kHz audio are judged alike and low-frequency hum or
   high-frequency hiss count less), from Hann-windowed FFTs;
2. the noise floor is the 10th percentile of the frame energies and the speech level
   the 95th percentile; a frame is speech when it is above
   ``floor + max(min_margin_db, margin_fraction * (level - floor))`` and above an
   absolute floor of ``min_level_db`` (-100 dBFS);
3. a clip whose dynamic range ``level - floor`` is below ``min_range_db`` (stationary
   noise, a tone, digital silence) has no speech frames at all;
4. decisions are smoothed: speech runs shorter than 50 ms are dropped, gaps shorter than
   200 ms are filled, and each run is extended by 50 ms on both sides (hangover).

A clip with less than :data:`MIN_SPEECH_S` seconds of speech gets the ``no_speech``
verdict from :mod:`voiceguard.detect`.

**The level does not matter.** Every threshold is relative to the recording's own floor
and level, so a recording turned down (an attacker lowering the volume to slip past the
screening) is judged as it was. The one absolute limit, ``min_level_db`` = -100 dBFS, is
where a 16-bit file stops holding a signal: its rounding noise in the 300-3400 Hz band is
about -105 dBFS, so eSpeak at a peak of -80 dBFS (a few bits) is still found, while a file
of rounding noise or dither is not. A recording whose level reaches :data:`AUDIBLE_DB`
(-90 dBFS, clear of 16-bit rounding and dither noise) but that holds no speech (noise, a
tone, music, speech too distorted for this detector) is :attr:`SpeechActivity.audible`:
the detector reports it as ``content: non_speech``, which a pipeline must not take for a
pass (exit code 3, :mod:`voiceguard.exit_codes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voiceguard.errors import InvalidAudioError, InvalidParameterError, SampleRateError

__all__ = ["MIN_SPEECH_S", "AUDIBLE_DB", "SpeechActivity", "speech_activity", "frame_energies_db", "StreamingEnergies",
           "decide_speech", "trim_nonspeech"]

#: Minimum amount of detected speech (seconds) for a clip to be scored.
MIN_SPEECH_S = 0.5

#: Band level (dBFS, the 95th percentile of the frame energies) from which a recording
#: holds sound (:attr:`SpeechActivity.audible`): 16-bit rounding noise and +-1 LSB dither
#: stay below it (about -105 and -97 dBFS).
AUDIBLE_DB = -90.0


@dataclass
class SpeechActivity:
    """Frame-level speech decisions of one clip.

    Attributes
    ----------
    mask : np.ndarray [shape=(n_frames,)], bool
        Speech decision of frame ``t`` (samples ``t*hop_length .. t*hop_length+win``).
    hop_s : float
        Frame hop in seconds (0.01).
    speech_s : float
        Total speech duration in seconds (``mask.sum() * hop_s``).
    floor_db, level_db : float
        Estimated noise floor and speech level (dBFS, band-passed).
    audible : bool
        The recording holds sound (its level reaches :data:`AUDIBLE_DB`, or speech was
        found): not digital silence, rounding noise or dither.
    """

    mask: np.ndarray
    hop_s: float
    speech_s: float
    floor_db: float
    level_db: float
    audible: bool = False

    @property
    def has_speech(self) -> bool:
        """bool : at least :data:`MIN_SPEECH_S` seconds of speech."""
        return self.speech_s >= MIN_SPEECH_S


def _runs(mask: np.ndarray) -> np.ndarray:
    """[k, 2] start/stop (exclusive) indices of the True runs of a bool vector."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1)


#: Frames per FFT batch in :func:`_band_energy` (20 s at a 10 ms hop).
_GROUP = 2048


def _band_energy(
    y: np.ndarray, sr: int, win: int, hop: int, n_frames: int, fmin: float, fmax: float
) -> np.ndarray:
    """Mean power per frame in [fmin, fmax] Hz from Hann-windowed FFTs, ``[n_frames]``.

    numpy only (no scipy.signal import: it costs ~1 s of cold start), in groups of
    :data:`_GROUP` frames so long recordings stay within a few MB. The FFT of a batch of
    frames vectorises across frames, so its last bits depend on how frames are grouped:
    :class:`StreamingEnergies` keeps the same groups to give identical results.
    """
    n_fft = 1 << (win - 1).bit_length()
    window = np.hanning(win + 2)[1:-1]
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    band = (freqs >= fmin) & (freqs <= fmax)
    norm = 2.0 / (n_fft * np.sum(window**2))
    out = np.empty(n_frames)
    for c in range(0, n_frames, _GROUP):
        t = np.arange(c, min(n_frames, c + _GROUP))
        frames = y[t[:, None] * hop + np.arange(win)[None, :]] * window
        spec = np.fft.rfft(frames, n=n_fft, axis=1)[:, band]
        out[t] = norm * np.sum(spec.real**2 + spec.imag**2, axis=1)
    return out


def _frame_geometry(sr: int, hop_length: float, win_length: float) -> tuple[int, int]:
    return int(round(hop_length * sr)), int(round(win_length * sr))


def frame_energies_db(y: np.ndarray, sr: int, *, hop_length: float = 0.010, win_length: float = 0.020) -> np.ndarray:
    """Band-limited (300-3400 Hz) log energy of every frame, in dB.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal, float in [-1, 1].
    sr : int
        Sample rate (>= 8000 Hz).
    hop_length, win_length : float
        Frame hop and length in seconds.

    Returns
    -------
    np.ndarray [shape=(max(0, 1 + (n - win) // hop),)], float64
        Frame ``t`` covers samples ``t * hop .. t * hop + win``; it depends on those
        samples only, so energies of consecutive pieces of a signal (see
        :class:`StreamingEnergies`) equal those of the whole.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise InvalidAudioError(f"speech_activity expects mono [n] audio, got shape {y.shape}")
    if sr < 8000:
        raise SampleRateError(f"speech_activity needs sr >= 8000 Hz, got {sr}")
    hop, win = _frame_geometry(sr, hop_length, win_length)
    n_frames = 0 if len(y) < win else 1 + (len(y) - win) // hop
    if n_frames == 0:
        return np.zeros(0)
    e = _band_energy(y, sr, win, hop, n_frames, 300.0, min(3400.0, 0.45 * sr))
    return 10.0 * np.log10(e + 1e-12)


class StreamingEnergies:
    """:func:`frame_energies_db` of a signal fed in consecutive pieces of any size.

    Energies are computed in the same groups of frames as for a whole signal, so the
    result is bit-identical to :func:`frame_energies_db` of the concatenation; memory
    holds at most one group of audio (about 20 s) plus the energies (8 bytes per frame).
    """

    def __init__(self, sr: int, *, hop_length: float = 0.010, win_length: float = 0.020) -> None:
        if sr < 8000:
            raise SampleRateError(f"speech_activity needs sr >= 8000 Hz, got {sr}")
        self.sr, self.hop_length, self.win_length = int(sr), hop_length, win_length
        self._hop, self._win = _frame_geometry(sr, hop_length, win_length)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._parts: list[np.ndarray] = []
        self._done = False

    def _group_span(self) -> int:
        """Samples covering one complete group of frames (and the next group's start)."""
        return _GROUP * self._hop + self._win - self._hop

    def push(self, y: np.ndarray) -> None:
        """Add the next samples."""
        if self._done:
            raise InvalidParameterError("StreamingEnergies.push after finish()")
        y = np.asarray(y, np.float64)
        if y.size == 0:
            return
        self._pending.append(y)
        self._n_pending += y.size
        span = self._group_span()
        if self._n_pending < span:
            return
        x = np.concatenate(self._pending)
        used = 0
        while len(x) - used >= span:
            self._parts.append(frame_energies_db(x[used: used + span], self.sr, hop_length=self.hop_length,
                                                 win_length=self.win_length))
            used += _GROUP * self._hop
        rest = x[used:].copy()
        self._pending, self._n_pending = [rest], rest.size

    def finish(self) -> np.ndarray:
        """Energies of every frame of the signal, ``[n_frames]`` (ends the stream)."""
        if not self._done:
            self._done = True
            if self._n_pending:
                self._parts.append(frame_energies_db(np.concatenate(self._pending), self.sr,
                                                     hop_length=self.hop_length, win_length=self.win_length))
            self._pending, self._n_pending = [], 0
        return np.concatenate(self._parts) if self._parts else np.zeros(0)


def decide_speech(
    db: np.ndarray,
    *,
    hop_length: float = 0.010,
    min_margin_db: float = 3.0,
    margin_fraction: float = 0.25,
    min_range_db: float = 6.0,
    min_level_db: float = -100.0,
) -> SpeechActivity:
    """Speech decisions from frame energies (steps 2-4 of the module docstring).

    Parameters
    ----------
    db : np.ndarray [shape=(n_frames,)]
        :func:`frame_energies_db` of a clip.
    hop_length : float
        Their hop in seconds.
    min_margin_db, margin_fraction, min_range_db, min_level_db : float
        See :func:`speech_activity`.

    Returns
    -------
    SpeechActivity
    """
    n_frames = len(db)
    if n_frames == 0:
        return SpeechActivity(np.zeros(0, bool), hop_length, 0.0, -120.0, -120.0)
    floor = float(np.percentile(db, 10))
    level = float(np.percentile(db, 95))
    if level - floor < min_range_db or level < min_level_db:
        mask = np.zeros(n_frames, bool)
    else:
        thr = max(floor + max(min_margin_db, margin_fraction * (level - floor)), min_level_db)
        mask = db > thr
        short, gap, ext = int(round(0.05 / hop_length)), int(round(0.2 / hop_length)), int(round(0.05 / hop_length))
        # fill short gaps, then drop short runs, then extend
        for s, t in _runs(~mask):
            if s > 0 and t < n_frames and t - s < gap:
                mask[s:t] = True
        for s, t in _runs(mask):
            if t - s < short:
                mask[s:t] = False
        runs = _runs(mask)
        for s, t in runs:
            mask[max(0, s - ext) : min(n_frames, t + ext)] = True
    return SpeechActivity(mask, hop_length, float(mask.sum() * hop_length), floor, level,
                          bool(level >= AUDIBLE_DB or mask.any()))


def speech_activity(
    y: np.ndarray,
    sr: int,
    *,
    hop_length: float = 0.010,
    win_length: float = 0.020,
    min_margin_db: float = 3.0,
    margin_fraction: float = 0.25,
    min_range_db: float = 6.0,
    min_level_db: float = -100.0,
) -> SpeechActivity:
    """Detect speech frames with an adaptive energy threshold.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal, float in [-1, 1].
    sr : int
        Sample rate (>= 8000 Hz).
    hop_length, win_length : float
        Frame hop and length in seconds.
    min_margin_db, margin_fraction : float
        Threshold above the noise floor: ``max(min_margin_db, margin_fraction * range)``.
    min_range_db : float
        Minimum dynamic range (95th - 10th percentile, dB) for any frame to be speech.
    min_level_db : float
        Absolute level (dBFS, band energy) below which nothing is speech: -100, just above
        the rounding noise of 16-bit samples (about -105), so the decision does not depend
        on the recording's level wherever its samples still hold the signal.

    Returns
    -------
    SpeechActivity
        ``n_frames = max(0, 1 + (n - win) // hop)`` frames.
    """
    db = frame_energies_db(y, sr, hop_length=hop_length, win_length=win_length)
    return decide_speech(db, hop_length=hop_length, min_margin_db=min_margin_db, margin_fraction=margin_fraction,
                         min_range_db=min_range_db, min_level_db=min_level_db)


def trim_nonspeech(y: np.ndarray, sr: int) -> np.ndarray:
    """Cut leading and trailing non-speech (used by the shortcut audit).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int

    Returns
    -------
    np.ndarray [shape=(m,)]
        ``y`` from the first to the last speech frame; unchanged if no speech is found.
    """
    act = speech_activity(y, sr)
    on = np.flatnonzero(act.mask)
    if on.size == 0:
        return y
    hop = int(round(act.hop_s * sr))
    start = on[0] * hop
    stop = min(len(y), on[-1] * hop + 2 * hop)
    return y[start:stop]
