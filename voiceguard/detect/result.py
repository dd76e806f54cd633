"""What scoring a recording returns: :class:`ScoreResult` and its per-window :class:`Segment`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BONAFIDE = "bonafide"


SPOOF = "spoof"


NO_SPEECH = "no_speech"


@dataclass
class Segment:
    """Score of one analysis window.

    Attributes
    ----------
    start_s, end_s : float
        Window bounds in seconds.
    spoof_probability : float
        Calibrated probability of spoofing for this window alone.
    llr : float
        Calibrated LLR (bona fide over spoof).
    speech_fraction : float
        Fraction of the window's frames detected as speech.
    used : bool
        Whether the segment entered the recording's aggregated score.
    """

    start_s: float
    end_s: float
    spoof_probability: float
    llr: float
    speech_fraction: float
    used: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "spoof_probability": round(self.spoof_probability, 6),
            "llr": round(self.llr, 4),
            "speech_fraction": round(self.speech_fraction, 3),
            "used": self.used,
        }


@dataclass
class ScoreResult:
    """Outcome of scoring one recording.

    Attributes
    ----------
    file : str or None
        The path as given (``None`` for arrays).
    verdict : str
        ``'bonafide'``, ``'spoof'`` or ``'no_speech'``.
    spoof_probability : float or None
        Calibrated posterior probability of spoofing at ``prior``; ``None`` for
        ``no_speech``.
    llr : float or None
        Natural-log likelihood ratio, bona fide over spoof; ``None`` for ``no_speech``.
    duration_s : float
        Duration of the recording.
    speech_s : float
        Detected speech in seconds.
    sample_rate : int
        The input's sample rate (before resampling).
    channels : int
        The input's channel count (before mixing down).
    threshold : float
        Verdict threshold on ``spoof_probability``.
    prior : float
        Prior probability of bona fide speech used for ``spoof_probability``.
    segments : list of Segment
        Per-window scores (empty for ``no_speech``).
    model : str
        Name of the model that scored it.
    model_version : str
        :attr:`Detector.version` of that model.
    """

    file: str | None
    verdict: str
    spoof_probability: float | None
    llr: float | None
    duration_s: float
    speech_s: float
    sample_rate: int
    channels: int
    threshold: float
    prior: float
    segments: list[Segment] = field(default_factory=list)
    model: str = ""
    model_version: str = ""

    @property
    def is_spoof(self) -> bool:
        """bool : the verdict is ``'spoof'``."""
        return self.verdict == SPOOF

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, keys in a stable order (``file`` first)."""
        return {
            "file": self.file,
            "verdict": self.verdict,
            "spoof_probability": None if self.spoof_probability is None else round(self.spoof_probability, 6),
            "llr": None if self.llr is None else round(self.llr, 4),
            "duration_s": round(self.duration_s, 3),
            "speech_s": round(self.speech_s, 2),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "threshold": self.threshold,
            "prior": self.prior,
            "model": self.model,
            "model_version": self.model_version,
            "segments": [s.to_dict() for s in self.segments],
        }
