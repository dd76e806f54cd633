"""Fuzz target ``audio_array``: arrays of any dtype, layout and sample rate through the public
array entry points: :func:`voiceguard.audio.read_input` (what ``Detector.score(y, sr=)``,
``Verifier.verify`` and ``enroll`` call), :func:`voiceguard.audio.to_mono_array` and
:func:`voiceguard.audio.resample`.

Input: dtype, layout, channel count and sample rate drawn from the first bytes, the rest
are the raw sample bytes (so NaN, infinities, denormals and extreme integers all occur).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.signal  # noqa: F401 - imported lazily by resample(); here so the first input is not slow
from _harness import Reader, check_audio, expected_errors

from voiceguard import audio

DTYPES = ("<i2", "<f4", "<f8", "<i4", "u1", "i1", "<i8", "<f2", "<u2", "<c8", "?", "<u4")
RATES = (8000, 16000, 44100, 48000, 11025, 22050, 12000, 96000, 192000, 8000.5, 0, -16000, 7999,
         float("nan"), float("inf"), 1e12, 1, 384000, 2 ** 31, True)


def one_input(data: bytes) -> None:
    r = Reader(data)
    dtype = np.dtype(r.pick(DTYPES))
    layout = r.int(0, 3)  # 0: [n], 1: [n, c], 2: [c, n], 3: [a, b, c]
    channels = r.int(1, 9)
    sr = r.pick(RATES)
    raw = r.rest()
    n = len(raw) // dtype.itemsize
    flat = np.frombuffer(raw[:n * dtype.itemsize], dtype=dtype)
    if layout == 0:
        y = flat
    elif layout == 3:
        y = flat[:(n // 4) * 4].reshape(2, 2, -1) if n >= 4 else flat.reshape(1, 1, -1)
    else:
        m = (n // channels) * channels
        y = flat[:m].reshape(-1, channels)
        if layout == 2:
            y = y.T
    with expected_errors():
        mono, ch = audio.to_mono_array(y)
        check_audio(mono)
        assert 1 <= ch
    with expected_errors():
        mono, rate, name, ch = audio.read_input(y, sr, min_sr=8000, purpose="fuzzing")
        check_audio(mono)
        assert name is None and isinstance(rate, int) and rate >= 8000 and ch >= 1
        if dtype.kind in "iu" and dtype.itemsize <= 4:
            assert np.abs(mono).max() <= 1.0
        out = audio.resample(mono, rate, 16000)
        _check_resampled(mono, rate, out)


def _check_resampled(y: np.ndarray, sr: int, out: np.ndarray) -> None:
    """resample() approximates the rate ratio by a fraction of denominator <= 1000: the length is
    that of the exact ratio, or up to 0.1 % short of it."""
    expected = math.ceil(len(y) * 16000 / sr)
    assert expected * (1 - 1e-3) - 1 <= len(out) <= expected, (len(y), sr, len(out))
    assert out.dtype == np.float64 and np.isfinite(out).all()
