"""What scoring a recording returns: :class:`ScoreResult` and its per-window :class:`Segment`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BONAFIDE", "SPOOF", "NO_SPEECH", "SPEECH", "NON_SPEECH", "SILENCE", "Segment", "ScoreResult",
           "content_of", "output_schema"]

BONAFIDE = "bonafide"


SPOOF = "spoof"


NO_SPEECH = "no_speech"


#: ``content`` of a recording: speech was found (the verdict is ``bonafide`` or ``spoof``).
SPEECH = "speech"
#: ``content`` of a ``no_speech`` recording that holds sound above the floor of its samples
#: but no speech the voice activity detector found: not screened, not a pass (exit code 3).
NON_SPEECH = "non_speech"
#: ``content`` of a ``no_speech`` recording that is silent (digital silence, rounding noise).
SILENCE = "silence"


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
    content : str
        What the recording holds: ``'speech'`` (scored), ``'non_speech'`` (``no_speech``, but
        it holds sound: noise, music, a tone, speech the detector could not find; not
        screened, so not a pass) or ``'silence'`` (``no_speech`` and silent).
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
    content: str = ""

    def __post_init__(self) -> None:
        if not self.content:
            self.content = SPEECH if self.verdict != NO_SPEECH else (NON_SPEECH if self.speech_s > 0 else SILENCE)

    @property
    def is_spoof(self) -> bool:
        """bool : the verdict is ``'spoof'``."""
        return self.verdict == SPOOF

    @property
    def unscreened(self) -> bool:
        """bool : ``no_speech`` although the recording holds sound (``content`` is
        ``'non_speech'``): nothing could be judged, and it is not a pass."""
        return self.verdict == NO_SPEECH and self.content == NON_SPEECH

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, keys in a stable order (``file`` first)."""
        return {
            "file": self.file,
            "verdict": self.verdict,
            "content": self.content,
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


def content_of(activity: Any, min_speech_s: float) -> str:
    """:attr:`ScoreResult.content` of a recording from its speech activity
    (:class:`voiceguard.audio.vad.SpeechActivity`) and the detector's ``min_speech_s``."""
    if activity.speech_s >= min_speech_s:
        return SPEECH
    return NON_SPEECH if getattr(activity, "audible", False) else SILENCE


def output_schema(kind: str = "score") -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of voiceguard's JSON output, shipped in the package
    (``voiceguard/detect/schema/output.schema.json``).

    Parameters
    ----------
    kind : {'score', 'verify'}
        ``'score'``: a line of ``voiceguard score --format jsonl``, the body of ``POST
        /v1/score``, a row of a ``batch`` JSONL part (a :class:`ScoreResult` or an error
        row). ``'verify'``: a line of ``voiceguard verify --format jsonl``, the body of
        ``POST /v1/verify``.

    Returns
    -------
    dict
        A schema any JSON Schema validator takes (``jsonschema.validate(row, schema)``).
    """
    import json
    from importlib import resources

    schema = json.loads((resources.files("voiceguard.detect") / "schema" / "output.schema.json")
                        .read_text(encoding="utf-8"))
    if kind == "verify":
        return {**{k: v for k, v in schema.items() if k != "oneOf"}, "$ref": "#/$defs/verify_line"}
    if kind != "score":
        raise ValueError(f"kind must be 'score' or 'verify', got {kind!r}")
    return schema
