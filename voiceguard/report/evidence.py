"""What a report shows about one recording, gathered through the public API only.

:func:`analyse` decodes a recording once, scores it with a
:class:`voiceguard.detect.Detector` (``score_mono``), optionally verifies it against an
enrolled speaker (:meth:`voiceguard.verify.Verifier.verify_mono`, reusing that score),
and computes what the figures need: a min/max waveform envelope, a spectrogram image and
the speech regions of :func:`voiceguard.audio.vad.speech_activity`. Nothing here depends on the
detector's features or network: a report only reads a
:class:`~voiceguard.detect.ScoreResult` (and its per-window ``segments``).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voiceguard.errors import VoiceguardError, VoiceguardWarning

__all__ = ["RecordingEvidence", "analyse", "failed", "model_version", "envelope", "spectrogram_image",
           "speech_regions"]

#: Columns of the waveform envelope and of the spectrogram image.
COLUMNS = 800
#: Rows of the spectrogram image (0 to 8 kHz at the 16 kHz analysis rate).
SPEC_ROWS = 128
#: Rate at which the figures are computed (the detector's rate: 0-8 kHz on the figure).
FIGURE_SR = 16000
#: Dynamic range of the spectrogram image, dB below its loudest bin.
SPEC_RANGE_DB = 80.0


@dataclass
class RecordingEvidence:
    """Everything a report shows about one recording.

    Attributes
    ----------
    file : str
        The recording as the user named it.
    result : ScoreResult or None
        The detector's result; ``None`` when the recording could not be scored.
    verification : VerifyResult or None
        The fused speaker + spoof decision, when a speaker was given.
    error : str or None
        Why the recording could not be scored.
    warnings : list of str
        Caveats (a truncated file, several voices, little speech).
    duration_s : float
    speech : list of (start_s, end_s)
        Speech regions found by :func:`voiceguard.audio.vad.speech_activity`.
    envelope : np.ndarray [shape=(2, n_columns)]
        Minimum and maximum sample per column, in [-1, 1].
    spectrogram : np.ndarray [shape=(SPEC_ROWS, n_columns)], uint8
        Levels 0 (``SPEC_RANGE_DB`` below the loudest) to 255, row 0 the highest frequency.
    spec_fmax : float
        Frequency of the spectrogram's top row (Hz).
    model, model_version : str
        The detector that judged it.
    window_s, hop_s : float or None
        The detector's analysis window and hop, when it says (``Detector.window_s`` /
        ``hop_s``); otherwise the report infers them from the segments.
    """

    file: str
    result: Any = None
    verification: Any = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    speech: list[tuple[float, float]] = field(default_factory=list)
    envelope: np.ndarray = field(default_factory=lambda: np.zeros((2, 0)))
    spectrogram: np.ndarray = field(default_factory=lambda: np.zeros((SPEC_ROWS, 0), np.uint8))
    spec_fmax: float = FIGURE_SR / 2
    model: str = ""
    model_version: str = ""
    window_s: float | None = None
    hop_s: float | None = None
    provenance: dict[str, Any] | None = None  # ProvenanceResult.to_dict(), drawn by voiceguard.provenance.timeline

    @property
    def flagged(self) -> bool:
        """bool : judged spoof (with a speaker: not accepted)."""
        if self.verification is not None:
            return not self.verification.accepted
        return self.result is not None and self.result.is_spoof


def model_version(detector: Any) -> str:
    """The detector's version string (``Detector.version``), or ``'not recorded'``."""
    v = getattr(detector, "version", None)
    return str(v) if v else "not recorded"


def failed(file: str, message: str, detector: Any = None) -> RecordingEvidence:
    """Evidence of a recording that could not be scored."""
    return RecordingEvidence(file=file, error=message, model="" if detector is None else detector.name,
                             model_version="" if detector is None else model_version(detector))


def analyse(audio: str | os.PathLike, detector: Any, *, result: Any = None, verifier: Any = None,
            speaker: str | None = None) -> RecordingEvidence:
    """Decode, score (unless ``result`` is given) and describe one recording.

    Parameters
    ----------
    audio : str or os.PathLike
        The recording.
    detector : voiceguard.detect.Detector
    result : ScoreResult, optional
        The detector's result for this file when the caller already has it.
    verifier : voiceguard.verify.Verifier, optional
        With ``speaker``: also verify the recording against that enrolled speaker.
    speaker : str, optional

    Returns
    -------
    RecordingEvidence

    Raises
    ------
    VoiceguardError
        The file cannot be read or scored, or the speaker is unknown.
    """
    from voiceguard.audio import read_input

    name = os.fspath(audio)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VoiceguardWarning)
        y, sr, _, channels = read_input(audio, None, min_sr=4000, purpose="spoof scoring")
    notes = [str(w.message) for w in caught if issubclass(w.category, VoiceguardWarning)]
    for w in caught:  # anything else goes on as it would have
        if not issubclass(w.category, VoiceguardWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if result is None:
        result = detector.score_mono(y, sr, name=name, channels=channels)
    verification = None
    if speaker is not None:
        if verifier is None:
            raise VoiceguardError("a speaker was given without a verifier")
        verification = verifier.verify_mono(speaker, y, sr, file=name, channels=channels, spoof=result)
        notes += [w for w in verification.warnings if w not in notes]
    y16 = _at_figure_rate(y, sr)
    spec, fmax = spectrogram_image(y16, FIGURE_SR)
    return RecordingEvidence(
        file=name, result=result, verification=verification, warnings=notes, duration_s=len(y) / float(sr),
        speech=speech_regions(y16, FIGURE_SR), envelope=envelope(y), spectrogram=spec, spec_fmax=fmax,
        model=detector.name, model_version=model_version(detector), **_windowing(detector))  # type: ignore[arg-type]


def _windowing(detector: Any) -> dict[str, float | None]:
    out = {}
    for key in ("window_s", "hop_s"):
        v = getattr(detector, key, None)
        out[key] = float(v) if isinstance(v, (int, float)) and v > 0 else None
    return out


def _at_figure_rate(y: np.ndarray, sr: int) -> np.ndarray:
    from voiceguard.audio import resample

    return resample(y, sr, FIGURE_SR) if sr != FIGURE_SR else np.asarray(y, np.float64)


def envelope(y: np.ndarray, columns: int = COLUMNS) -> np.ndarray:
    """Min and max of ``y`` [n] over ``columns`` equal spans; returns ``[2, min(columns, n)]``."""
    y = np.asarray(y, np.float64)
    n = len(y)
    cols = max(1, min(columns, n))
    edges = np.linspace(0, n, cols + 1).astype(np.int64)
    lo = np.minimum.reduceat(y, edges[:-1])
    hi = np.maximum.reduceat(y, edges[:-1])
    return np.clip(np.vstack([lo, hi]), -1.0, 1.0)


def spectrogram_image(y: np.ndarray, sr: int, columns: int = COLUMNS, rows: int = SPEC_ROWS,
                      n_fft: int = 512, win_length: int = 400) -> tuple[np.ndarray, float]:
    """A log-power spectrogram as an image of at most ``columns`` columns.

    Frames (Hann window of ``win_length`` samples) are taken every 10 ms, or at
    ``columns`` evenly spaced positions when that would give more columns, so a long
    recording costs ``columns`` FFTs.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int
    columns, rows : int
        Image size limits; the ``n_fft // 2`` positive-frequency bins are averaged down
        to ``rows``.
    n_fft, win_length : int

    Returns
    -------
    image : np.ndarray [shape=(rows, n_columns)], uint8
        0 = ``SPEC_RANGE_DB`` or more below the loudest bin, 255 = the loudest; row 0 is
        the highest frequency.
    fmax : float
        Frequency of the top row (``sr / 2``).
    """
    y = np.asarray(y, np.float64)
    if len(y) < win_length:
        y = np.pad(y, (0, win_length - len(y)))
    n_natural = 1 + (len(y) - win_length) // max(1, int(0.01 * sr))
    n_cols = max(1, min(columns, n_natural))
    starts = np.linspace(0, len(y) - win_length, n_cols).astype(np.int64)
    frames = y[starts[:, None] + np.arange(win_length)[None, :]] * np.hanning(win_length)[None, :]
    power = np.abs(np.fft.rfft(frames, n=n_fft, axis=1)[:, : n_fft // 2]) ** 2  # [cols, n_fft/2]
    per = max(1, (n_fft // 2) // rows)
    power = power[:, : per * rows].reshape(n_cols, rows, per).mean(axis=2)
    db = 10.0 * np.log10(power + 1e-12)
    db -= db.max()
    level = np.clip(1.0 + db / SPEC_RANGE_DB, 0.0, 1.0)
    return np.round(level.T[::-1] * 255).astype(np.uint8), sr / 2.0


def speech_regions(y: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """Speech regions ``[(start_s, end_s)]`` of :func:`voiceguard.audio.vad.speech_activity`."""
    from voiceguard.audio.vad import speech_activity

    act = speech_activity(y, sr)
    m = np.concatenate([[False], act.mask, [False]])
    d = np.flatnonzero(np.diff(m.astype(np.int8)))
    return [(float(s * act.hop_s), float(e * act.hop_s)) for s, e in zip(d[::2], d[1::2])]
