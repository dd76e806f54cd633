"""Speaker embeddings: what an encoder returns, cosine similarity, the single-voice check."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

__all__ = ["SPEAKER_SR", "SpeakerEmbedding", "SpeakerEncoder", "cosine_similarity", "voice_consistency", "unit_vector"]

#: Rate the speaker encoder works at.
SPEAKER_SR = 16000


#: Default single-voice rule (see :func:`voice_consistency`).
MULTI_VOICE_MAX_CENTROID_COS = 0.75


MULTI_VOICE_MIN_SHARE = 0.2


@dataclass
class SpeakerEmbedding:
    """The speaker embedding of one recording.

    Attributes
    ----------
    vector : np.ndarray [shape=(dim,)], float32
        Unit-norm embedding of the recording; all zeros when it holds no speech.
    speech_s : float
        Speech the embedding was computed from, in seconds (after speech activity
        detection).
    duration_s : float
        Duration of the input.
    sample_rate : int
        The input's rate.
    channel : str
        ``'wideband'`` or ``'telephone'`` (:func:`detect_channel`).
    partials : np.ndarray [shape=(n_windows, dim)], float32
        Embeddings of the 1.6 s partial windows.
    single_voice : bool or None
        ``False`` when the partial embeddings split into two dissimilar voices, ``None``
        when the recording is too short to tell (fewer than 4 windows).
    consistency : float or None
        Cosine between the two voice groups' centroids (1 = one voice); ``None`` as above.
    telephone_vector : np.ndarray [shape=(dim,)] or None
        Embedding of the simulated telephone version (only when asked for and the input is
        wideband; for telephone input it equals ``vector``).
    encoder : str
        Name of the encoder.
    """

    vector: np.ndarray
    speech_s: float
    duration_s: float
    sample_rate: int
    channel: str
    partials: np.ndarray = field(repr=False)
    single_voice: bool | None = None
    consistency: float | None = None
    telephone_vector: np.ndarray | None = field(default=None, repr=False)
    encoder: str = ""

    @property
    def has_speech(self) -> bool:
        """bool : the embedding was computed from at least one window of speech."""
        return self.partials.shape[0] > 0


class SpeakerEncoder(Protocol):
    """What :mod:`voiceguard.verify` and :mod:`voiceguard.store` need from an encoder.

    Attributes
    ----------
    name : str
        Identifier stored with every voiceprint; embeddings of different encoders are
        never compared.
    dim : int
        Embedding size.
    """

    name: str
    dim: int

    def embed(self, y: np.ndarray, sr: int, *, telephone: bool = False) -> SpeakerEmbedding:
        """Embed a mono float signal at any rate (see :meth:`GE2EEncoder.embed`)."""
        ...  # pragma: no cover

    def embed_blocks(self, blocks: Iterable[np.ndarray], sr: int, *, telephone: bool = False) -> SpeakerEmbedding:
        """Embed a recording given as consecutive blocks (see :meth:`GE2EEncoder.embed_blocks`)."""
        ...  # pragma: no cover


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
    """Cosine similarity of two vectors, or of the rows of ``a`` with vector ``b``.

    Parameters
    ----------
    a : np.ndarray [shape=(dim,) or (n, dim)]
    b : np.ndarray [shape=(dim,)]

    Returns
    -------
    float or np.ndarray [shape=(n,)]
        0 where a vector is all zeros.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    nb = np.linalg.norm(b)
    na = np.linalg.norm(a, axis=-1)
    num = a @ b
    den = na * nb
    out = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
    return float(out) if np.ndim(out) == 0 else out


def voice_consistency(
    partials: np.ndarray,
    *,
    max_centroid_cos: float = MULTI_VOICE_MAX_CENTROID_COS,
    min_share: float = MULTI_VOICE_MIN_SHARE,
    min_windows: int = 4,
) -> tuple[bool | None, float | None]:
    """Decide whether partial-window embeddings come from one voice.

    The windows are split in two by spherical 2-means (seeded with the two least similar
    windows, 10 iterations). The recording holds more than one voice when each group has
    at least ``min_share`` of the windows (and at least 2) and the cosine between the two
    group centroids is below ``max_centroid_cos``.

    Parameters
    ----------
    partials : np.ndarray [shape=(n, dim)]
        Unit-norm window embeddings.
    max_centroid_cos : float
        Centroid similarity below which two groups are two voices.
    min_share : float
        Minimum share of windows in the smaller group.
    min_windows : int
        Fewer windows than this: undecided.

    Returns
    -------
    single_voice : bool or None
    centroid_cos : float or None
        1.0 when the windows do not split into two substantial groups.
    """
    p = np.asarray(partials, np.float64)
    n = p.shape[0]
    if n < min_windows:
        return None, None
    sim = p @ p.T
    i, j = np.unravel_index(np.argmin(sim), sim.shape)
    cents = np.stack([p[i], p[j]])
    labels = np.zeros(n, int)
    for _ in range(10):
        labels = np.argmax(p @ cents.T, axis=1)
        new = []
        for k in range(2):
            m = p[labels == k].sum(axis=0) if np.any(labels == k) else cents[k]
            new.append(m / (np.linalg.norm(m) or 1.0))
        cents = np.stack(new)
    counts = np.bincount(labels, minlength=2)
    if counts.min() < max(2, int(math.ceil(min_share * n))):
        return True, 1.0
    cos = float(cents[0] @ cents[1])
    return cos >= max_centroid_cos, cos


def unit_vector(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, np.float64)
    n = np.linalg.norm(v)
    return (v / n if n > 0 else v).astype(np.float32)
