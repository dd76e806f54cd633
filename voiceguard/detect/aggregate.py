"""From window scores to the recording's score: which windows count, and the rule that
turns their LLRs into one.

Two rules, named by a model config's ``scoring.aggregate``:

``"mean_llr"``
    the mean LLR of the windows that hold speech (every model shipped before issue 24);
``{"rule": "min_mean_local", "alpha": A, "beta": B, "gamma": G}``
    ``min(mean, A * min_w LLR_w + B + G * ln n)`` over the ``n`` windows that hold speech:
    the mean, unless one window's evidence is strong enough on its own (a few synthetic
    seconds spliced into a real call). ``A, B, G`` are fitted on held-out spliced and
    untouched recordings (:mod:`voiceguard.training.partial`); the ``ln n`` term lets a long
    real call, with more windows that may look synthetic by chance, need a stronger minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def window_speech_fractions(mask: np.ndarray, bounds: Sequence[tuple[int, int]], sr: int,
                            hop_s: float = 0.01, win_s: float = 0.02) -> np.ndarray:
    """Share of speech frames of a VAD ``mask`` among the frames inside each window.

    Parameters
    ----------
    mask : np.ndarray [shape=(n_frames,)], bool
        :func:`voiceguard.audio.vad.speech_activity` decisions (frame ``t`` covers samples
        ``t * hop .. t * hop + win``).
    bounds : sequence of (start, stop)
        Windows as sample ranges at ``sr``.

    Returns
    -------
    np.ndarray [shape=(n_windows,)]
    """
    hop, win = int(round(hop_s * sr)), int(round(win_s * sr))
    out = np.zeros(len(bounds))
    for i, (a, b) in enumerate(bounds):
        t0 = -(-a // hop)
        t1 = (b - win) // hop + 1
        m = mask[t0:max(t0, t1)]
        out[i] = float(m.mean()) if m.size else 0.0
    return out


def used_segments(fractions: np.ndarray, min_fraction: float) -> np.ndarray:
    """Boolean ``[n_windows]``: the windows that enter the aggregate (see module docstring)."""
    used = fractions >= min_fraction
    if not used.any() and fractions.size:
        used = fractions >= fractions.max() - 1e-9
    return used


def aggregate_llr(segment_llrs: np.ndarray, used: np.ndarray) -> float:
    """Recording LLR: mean of the used segments' LLRs."""
    return float(np.mean(np.asarray(segment_llrs)[used]))


class RecordingRule:
    """``llr = min(mean, alpha * min + beta + gamma * ln n)`` over the used windows (see the
    module docstring); ``RecordingRule.mean()`` is the plain mean."""

    def __init__(self, alpha: float | None = None, beta: float = 0.0, gamma: float = 0.0) -> None:
        self.alpha = None if alpha is None else float(alpha)
        self.beta, self.gamma = float(beta), float(gamma)

    @classmethod
    def mean(cls) -> RecordingRule:
        return cls()

    @classmethod
    def from_config(cls, spec: Any) -> RecordingRule:
        """The rule a config's ``scoring.aggregate`` names."""
        from voiceguard.errors import ModelError

        if spec in (None, "mean_llr"):
            return cls.mean()
        if isinstance(spec, dict) and spec.get("rule") == "min_mean_local":
            try:
                return cls(float(spec["alpha"]), float(spec["beta"]), float(spec["gamma"]))
            except (KeyError, TypeError, ValueError) as exc:
                raise ModelError(f"scoring.aggregate {spec!r} needs numbers alpha, beta and gamma") from exc
        raise ModelError(f"scoring.aggregate {spec!r} is not a rule this voiceguard knows "
                         "('mean_llr' or {'rule': 'min_mean_local', ...}); update voiceguard")

    def local(self, wmin: Any, n: Any) -> Any:
        """The local term for window minimum(s) ``wmin`` over ``n`` used windows."""
        if self.alpha is None:
            return np.full(np.shape(wmin), np.inf)
        n_windows = np.maximum(np.asarray(n, float), 1)
        return self.alpha * np.asarray(wmin, float) + self.beta + self.gamma * np.log(n_windows)

    def llr(self, mean: Any, wmin: Any, n: Any) -> Any:
        return np.minimum(np.asarray(mean, float), self.local(wmin, n))

    def to_config(self) -> Any:
        if self.alpha is None:
            return "mean_llr"
        return {"rule": "min_mean_local", "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}


def recording_llr(segment_llrs: np.ndarray, fractions: np.ndarray, min_fraction: float,
                  rule: RecordingRule | None = None) -> tuple[float, np.ndarray]:
    """The recording-level rule: ``(llr, used)`` of a recording (or of a call so far) from
    its windows' LLRs and speech fractions.

    The one place ``voiceguard score``, the final verdict of a live call and its running
    verdicts all take the rule from (:meth:`voiceguard.detect.Detector.result_from_windows`,
    :class:`voiceguard.detect.live.LiveStream`); today the mean LLR of the windows that
    hold speech (:func:`used_segments`, :func:`aggregate_llr`), or the model's
    :class:`RecordingRule` over them.
    """
    used = used_segments(np.asarray(fractions), min_fraction)
    mean = aggregate_llr(np.asarray(segment_llrs), used)
    if rule is None or rule.alpha is None:
        return mean, used
    x = np.asarray(segment_llrs, float)[used]
    return float(rule.llr(mean, x.min(), len(x))), used
