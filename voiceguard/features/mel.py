"""Slaney-scale mel filterbanks (librosa's defaults), shared by the Whisper and GE2E front ends."""

from __future__ import annotations

import math

import numpy as np

from voiceguard.errors import InvalidParameterError


def _hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney's mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, np.float64)
    lin = f / (200.0 / 3.0)
    brk = 1000.0 / (200.0 / 3.0)
    step = math.log(6.4) / 27.0
    return np.where(f >= 1000.0, brk + np.log(np.maximum(f, 1e-10) / 1000.0) / step, lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    brk = 1000.0 / (200.0 / 3.0)
    step = math.log(6.4) / 27.0
    return np.where(m >= brk, 1000.0 * np.exp(step * (m - brk)), m * (200.0 / 3.0))


def mel_filterbank(sr: int = 16000, n_fft: int = 400, n_mels: int = 40, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular Slaney-scale mel filters with area normalisation (librosa's defaults).

    Parameters
    ----------
    sr, n_fft, n_mels : int
    fmin, fmax : float
        Band edges in Hz; ``fmax=None`` is ``sr / 2``.

    Returns
    -------
    np.ndarray [shape=(n_mels, n_fft // 2 + 1)], float64
        Filter ``i`` rises from edge ``i`` to its centre ``i + 1`` and falls to edge
        ``i + 2`` (edges equally spaced in mel), scaled by ``2 / (upper - lower edge)`` (Hz).

    Raises
    ------
    InvalidParameterError
        Unless ``0 <= fmin < fmax <= sr / 2``.
    """
    fmax = sr / 2.0 if fmax is None else float(fmax)
    if not 0.0 <= fmin < fmax <= sr / 2.0:
        raise InvalidParameterError(f"need 0 <= fmin < fmax <= sr/2, got fmin={fmin}, fmax={fmax}, sr={sr}")
    freqs = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    fb = np.zeros((n_mels, freqs.size))
    for i in range(n_mels):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        rise = (freqs - lo) / (mid - lo)
        fall = (hi - freqs) / (hi - mid)
        fb[i] = np.maximum(0.0, np.minimum(rise, fall)) * (2.0 / (hi - lo))
    return fb
