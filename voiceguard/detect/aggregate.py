"""From window scores to the recording's score: which windows count, and their mean LLR."""

from __future__ import annotations

from collections.abc import Sequence

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


def recording_llr(segment_llrs: np.ndarray, fractions: np.ndarray, min_fraction: float) -> tuple[float, np.ndarray]:
    """The recording-level rule: ``(llr, used)`` of a recording (or of a call so far) from
    its windows' LLRs and speech fractions.

    The one place ``voiceguard score``, the final verdict of a live call and its running
    verdicts all take the rule from (:meth:`voiceguard.detect.Detector.result_from_windows`,
    :class:`voiceguard.detect.live.LiveStream`); today the mean LLR of the windows that
    hold speech (:func:`used_segments`, :func:`aggregate_llr`).
    """
    used = used_segments(np.asarray(fractions), min_fraction)
    return aggregate_llr(np.asarray(segment_llrs), used), used
