"""The channel of a recording (wideband or telephone), and the simulated telephone channel
that makes a clean enrollment comparable with calls."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["WIDEBAND", "TELEPHONE", "detect_channel", "telephone_band", "telephone_simulation"]

#: Channel tags.
WIDEBAND = "wideband"
TELEPHONE = "telephone"


def _band_power(y: np.ndarray, sr: int, lo: float, hi: float) -> float:
    n_fft = 512
    hop = 256
    if len(y) < n_fft:
        y = np.pad(y, (0, n_fft - len(y)))
    n = 1 + (len(y) - n_fft) // hop
    idx = np.arange(n)[:, None] * hop + np.arange(n_fft)[None, :]
    win = np.hanning(n_fft)
    spec = np.abs(np.fft.rfft(y[idx] * win, axis=1)) ** 2
    f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    band = (f >= lo) & (f < hi)
    return float(spec[:, band].sum())


def detect_channel(y: np.ndarray, sr: int) -> str:
    """Tell telephone-band audio from wideband audio.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono signal.
    sr : int
        Its sample rate.

    Returns
    -------
    str
        ``'telephone'`` when ``sr <= 8000`` or the power in 4.3-7.5 kHz is more than 40 dB
        below the power in 300-3400 Hz (telephone audio stored at a higher rate); else
        ``'wideband'``.
    """
    if sr <= 8000:
        return TELEPHONE
    y = np.asarray(y, np.float64)
    low = _band_power(y, sr, 300.0, 3400.0)
    high = _band_power(y, sr, 4300.0, min(7500.0, 0.48 * sr))
    if low <= 0:
        return WIDEBAND
    return TELEPHONE if 10.0 * math.log10(high / low + 1e-20) < -40.0 else WIDEBAND


def telephone_band(y: np.ndarray, sr: int) -> np.ndarray:
    """Band-pass 300-3400 Hz (4th-order Butterworth, zero phase): the telephone band.

    Telephone-condition embeddings are all computed on this band, whatever the line did,
    so that a call that kept or lost its lowest frequencies compares alike.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int

    Returns
    -------
    np.ndarray [shape=(n,)], float64
    """
    from scipy.signal import butter, sosfiltfilt

    y = np.asarray(y, np.float64)
    sos = butter(4, [300.0, min(3400.0, 0.45 * sr)], btype="band", fs=sr, output="sos")
    if len(y) <= 3 * (2 * sos.shape[0] + 1):
        return y
    return sosfiltfilt(sos, y)


def telephone_simulation(y: np.ndarray, sr: int) -> np.ndarray:
    """Simulate a telephone call: 300-3400 Hz band-pass, 8 kHz, G.711 mu-law round trip,
    back to ``sr``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float signal in [-1, 1].
    sr : int
        Its rate (> 8000).

    Returns
    -------
    np.ndarray [shape=(n,)], float64
    """
    from voiceguard.audio import resample
    from voiceguard.audio.g711 import g711_roundtrip

    y = telephone_band(y, sr)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.99:  # keep the codec from clipping
        y = y * (0.99 / peak)
    nb = g711_roundtrip(resample(y, sr, 8000), law="mu")
    out = resample(np.asarray(nb, np.float64), 8000, sr)
    if len(out) < len(y):
        out = np.pad(out, (0, len(y) - len(out)))
    return out[: len(y)]
