"""What the store holds per speaker: :class:`Voiceprint` and its enrollment clips (:class:`ClipRecord`)."""

from __future__ import annotations

import base64
import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError

_MAX_NAME = 128


@dataclass
class ClipRecord:
    """One enrollment clip's embedding and quality (no audio).

    Attributes
    ----------
    source : str
        File name (base name only) or a label.
    embedding : np.ndarray [shape=(dim,)]
    telephone_embedding : np.ndarray [shape=(dim,)]
        Embedding of the clip's simulated telephone version (equal to ``embedding`` for
        telephone clips).
    speech_s, duration_s : float
    sample_rate : int
    channel : str
        ``'wideband'`` or ``'telephone'``.
    similarity : float or None
        Cosine with the voiceprint (mean of the clips), filled in at enrollment.
    checked_by : str or None
        Detector (name and version) that checked the clip at enrollment; ``None`` for clips
        enrolled before schema 2.
    spoof_llr : float or None
        The detector's LLR (bona fide over spoof) for the clip.
    spoof_verdict : str or None
    spoof_override : bool
        The clip was called spoof and enrolled anyway (``allow_spoof``).
    """

    source: str
    embedding: np.ndarray
    telephone_embedding: np.ndarray
    speech_s: float
    duration_s: float
    sample_rate: int
    channel: str
    similarity: float | None = None
    checked_by: str | None = None
    spoof_llr: float | None = None
    spoof_verdict: str | None = None
    spoof_override: bool = False

    def info(self) -> dict[str, Any]:
        """Metadata without the embedding."""
        return {"source": self.source, "speech_s": round(self.speech_s, 2), "duration_s": round(self.duration_s, 3),
                "sample_rate": self.sample_rate, "channel": self.channel,
                "similarity": None if self.similarity is None else round(self.similarity, 4),
                "checked_by": self.checked_by,
                "spoof_llr": None if self.spoof_llr is None else round(self.spoof_llr, 4),
                "spoof_verdict": self.spoof_verdict, "spoof_override": self.spoof_override}


@dataclass
class Voiceprint:
    """An enrolled speaker.

    Attributes
    ----------
    name : str
    encoder : str
        Speaker encoder that made the embeddings.
    channel : str
        ``'wideband'`` when every enrollment clip was wideband, else ``'telephone'``.
    embedding : np.ndarray [shape=(dim,)], float32
        Unit-norm mean of the clips' embeddings.
    telephone_embedding : np.ndarray [shape=(dim,)], float32
        Unit-norm mean of the clips' telephone-version embeddings.
    speech_s : float
        Total enrolled speech.
    clips : list of ClipRecord
    created, updated : str
        ISO-8601 UTC times.
    quality : dict
        Enrollment checks (``min_clip_similarity``, ``flagged`` clips...).
    clone_models : list of bytes
        Serialised per-speaker clone-check models, one per enrollment that built one
        (:class:`voiceguard.voiceprint.clone_check.CloneModel`); empty when none was built.
    """

    name: str
    encoder: str
    channel: str
    embedding: np.ndarray
    telephone_embedding: np.ndarray
    speech_s: float
    clips: list[ClipRecord] = field(default_factory=list)
    created: str = ""
    updated: str = ""
    quality: dict[str, Any] = field(default_factory=dict)
    clone_models: list[bytes] = field(default_factory=list, repr=False)

    @property
    def n_clips(self) -> int:
        """int : number of enrollment clips."""
        return len(self.clips)

    def info(self, *, embeddings: bool = False) -> dict[str, Any]:
        """JSON-ready description; with ``embeddings`` the vectors too (biometric data)."""
        d: dict[str, Any] = {
            "name": self.name, "encoder": self.encoder, "channel": self.channel, "n_clips": self.n_clips,
            "speech_s": round(self.speech_s, 2), "created": self.created, "updated": self.updated,
            "quality": self.quality, "clips": [c.info() for c in self.clips],
            "checked_by": sorted({c.checked_by for c in self.clips if c.checked_by}),
            "spoof_override": any(c.spoof_override for c in self.clips),
            "clone_check": len(self.clone_models) > 0,
        }
        if embeddings:
            d["embedding"] = [round(float(v), 7) for v in self.embedding]
            d["telephone_embedding"] = [round(float(v), 7) for v in self.telephone_embedding]
            for cd, c in zip(d["clips"], self.clips):
                cd["embedding"] = [round(float(v), 7) for v in c.embedding]
                cd["telephone_embedding"] = [round(float(v), 7) for v in c.telephone_embedding]
            d["clone_models"] = [base64.b64encode(m).decode("ascii") for m in self.clone_models]
        return d


def utc_now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def check_name(name: str) -> str:
    if not isinstance(name, str):
        raise InvalidParameterError(f"speaker name must be text, got {type(name).__name__}")
    n = name.strip()
    if not n or len(n) > _MAX_NAME or any(ord(ch) < 32 or ord(ch) == 127 for ch in n):
        raise InvalidParameterError(
            f"invalid speaker name {name!r}: use 1 to {_MAX_NAME} printable characters")
    return n


def unit_vector(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    n = np.linalg.norm(v)
    return v / n if n > 0 else v


def mean_unit(vs: Sequence[np.ndarray]) -> np.ndarray:
    m = np.mean([unit_vector(v) for v in vs], axis=0)
    return unit_vector(m).astype(np.float32)
