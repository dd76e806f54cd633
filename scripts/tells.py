"""Research (issue 22, not shipped): behavioural tells: prosody, pitch, timing and channel statistics of a recording.

A voice clone copies the timbre of its prompt; what it renders on top (the pitch contour,
the rhythm, the pauses, the noise floor and the high band of the channel) comes from the
synthesizer, not from the person. This module computes a few statistics of that, cheap and
from the waveform alone (no model):

* **pitch** (10 ms frames, a normalised autocorrelation pitch tracker on the speech frames,
  60-400 Hz): median log F0, its spread (semitones), range (10th-90th percentile),
  the mean absolute frame-to-frame change of log F0 in voiced runs (micro-prosody / jitter
  proxy), the share of voiced frames among the speech frames and the mean voiced-run
  length;
* **timing**: the share of pauses inside the speech span, mean pause length, and a
  syllable-rate proxy (peaks per second of the 2-8 Hz modulation of the band energy);
* **loudness**: the dynamic range of the speech frames' level (90th - 10th percentile, dB);
* **channel**: long-term spectral tilt (dB per octave, 300-3400 Hz), the energy above
  4 kHz relative to 300-3400 Hz, and the noise floor (non-speech frames) below the speech
  level.

:func:`tell_stats` returns them as a fixed-order vector (:data:`TELL_NAMES`); the
verification compares the test's vector with the enrollment's (:func:`tell_features`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["TELL_NAMES", "tell_stats", "tell_features", "pitch_track"]

_SR = 16000
_HOP = 160
_WIN = 640  # 40 ms: two periods of 50 Hz
_FMIN, _FMAX = 60.0, 400.0

#: Names of the entries of :func:`tell_stats`, in order.
TELL_NAMES = (
    "f0_median_st", "f0_spread_st", "f0_range_st", "f0_jitter_st", "voiced_share", "voiced_run_s",
    "pause_share", "pause_s", "syllable_rate", "level_range_db", "tilt_db_oct", "high_band_db", "noise_floor_db",
)


def pitch_track(y16: np.ndarray, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """F0 (Hz, 0 when unvoiced) and voicing strength of 10 ms frames of 16 kHz audio.

    Normalised autocorrelation of 40 ms Hann-windowed frames (via FFT); the lag of the
    shortest lag (2.5-16.7 ms) whose autocorrelation peak reaches 90 % of the highest is the period, refined by parabolic interpolation; a frame
    is voiced when that peak reaches 0.45. Frames outside ``mask`` are left unvoiced.
    """
    y = np.asarray(y16, np.float64)
    n = 1 + max(0, (len(y) - _WIN) // _HOP)
    if len(y) < _WIN:
        return np.zeros(0), np.zeros(0)
    idx = np.arange(_WIN)[None, :] + _HOP * np.arange(n)[:, None]
    frames = y[idx]
    frames = frames - frames.mean(axis=1, keepdims=True)
    frames = frames * np.hanning(_WIN)[None, :]
    nfft = 2 * _WIN
    spec = np.fft.rfft(frames, nfft, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, nfft, axis=1)[:, :_WIN]
    # normalise by the autocorrelation of the window, so that the peak of a periodic
    # signal is near 1 whatever the lag
    w = np.hanning(_WIN)
    wac = np.fft.irfft(np.abs(np.fft.rfft(w, nfft)) ** 2, nfft)[:_WIN]
    ac = ac / np.maximum(ac[:, :1], 1e-12) / np.maximum(wac / wac[0], 1e-3)[None, :]
    lo, hi = int(_SR / _FMAX), int(_SR / _FMIN)
    seg = ac[:, lo - 1 : hi + 1]
    # local maxima inside the lag range; the period is the shortest lag whose peak reaches
    # 90 % of the highest one (a sub-harmonic's peak is rarely higher than the true one's)
    locmax = (seg[:, 1:-1] >= seg[:, :-2]) & (seg[:, 1:-1] > seg[:, 2:])
    seg = seg[:, 1:-1]
    val = np.where(locmax, seg, -np.inf)
    best = val.max(axis=1)
    cand = locmax & (seg >= 0.9 * best[:, None])
    has = np.isfinite(best)
    k = np.where(has, np.argmax(cand, axis=1), 0)
    peak = np.where(has, seg[np.arange(n), k], 0.0)
    lag = (k + lo).astype(np.float64)
    inner = has & (k > 0) & (k < seg.shape[1] - 1)
    a = seg[np.arange(n), np.clip(k - 1, 0, None)]
    b = peak
    c = seg[np.arange(n), np.clip(k + 1, None, seg.shape[1] - 1)]
    den = a - 2 * b + c
    shift = np.where(inner & (np.abs(den) > 1e-12), 0.5 * (a - c) / np.where(np.abs(den) > 1e-12, den, 1.0), 0.0)
    f0 = _SR / (lag + np.clip(shift, -0.5, 0.5))
    voiced = has & (peak >= 0.6)
    energy = np.sqrt(np.mean(frames**2, axis=1))
    voiced &= energy > 1e-4
    if mask is not None:
        m = np.zeros(n, bool)
        m[: min(n, len(mask))] = np.asarray(mask[:n], bool)
        voiced &= m
    return np.where(voiced, f0, 0.0), peak


def _runs(mask: np.ndarray) -> np.ndarray:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1)], axis=1)


def tell_stats(y: np.ndarray, sr: int) -> np.ndarray | None:
    """The statistics of :data:`TELL_NAMES` of one recording (``None`` with under 1 s of speech)."""
    from voiceguard.audio import resample
    from voiceguard.audio.vad import frame_energies_db, speech_activity

    y16 = resample(np.asarray(y, np.float64), sr, _SR) if sr != _SR else np.asarray(y, np.float64)
    if len(y16) < _WIN * 2:
        return None
    act = speech_activity(y16, _SR)
    if act.speech_s < 1.0:
        return None
    mask = act.mask
    f0, _ = pitch_track(y16, mask)
    n = len(f0)
    m = mask[:n] if len(mask) >= n else np.concatenate([mask, np.zeros(n - len(mask), bool)])
    v = f0 > 0
    st = 12.0 * np.log2(np.maximum(f0, 1.0) / 100.0)
    out = np.full(len(TELL_NAMES), np.nan)
    if v.sum() >= 20:
        s = st[v]
        med = np.median(s)
        # octave errors: keep frames within an octave of the median
        keep = np.abs(s - med) < 12.0
        s = s[keep]
        out[0] = np.median(s)
        out[1] = np.std(s)
        out[2] = np.percentile(s, 90) - np.percentile(s, 10)
        jit = []
        for a, b in _runs(v):
            if b - a >= 3:
                d = np.abs(np.diff(st[a:b]))
                jit.append(d[d < 2.0])
        jit = np.concatenate(jit) if jit else np.zeros(0)
        out[3] = float(np.mean(jit)) if jit.size else np.nan
        runs = _runs(v)
        out[5] = float(np.mean(runs[:, 1] - runs[:, 0])) * _HOP / _SR
    out[4] = float(v.sum() / max(1, m.sum()))
    # pauses inside the speech span
    on = np.flatnonzero(m)
    if on.size:
        span = m[on[0] : on[-1] + 1]
        gaps = _runs(~span)
        out[6] = float((~span).mean())
        out[7] = float(np.mean(gaps[:, 1] - gaps[:, 0]) * _HOP / _SR) if len(gaps) else 0.0
    db = frame_energies_db(y16, _SR)
    k = min(len(db), len(mask))
    sdb = db[:k][mask[:k]]
    if sdb.size > 10:
        out[9] = float(np.percentile(sdb, 90) - np.percentile(sdb, 10))
        # syllable-rate proxy: peaks of the 2-8 Hz band of the speech frames' level contour
        env = np.where(mask[:k], db[:k], np.percentile(sdb, 10))
        env = env - env.mean()
        spec = np.fft.rfft(env * np.hanning(len(env)))
        freqs = np.fft.rfftfreq(len(env), _HOP / _SR)
        band = (freqs >= 2.0) & (freqs <= 8.0)
        if band.any() and np.sum(np.abs(spec[band]) ** 2) > 0:
            out[8] = float(np.sum(freqs[band] * np.abs(spec[band]) ** 2) / np.sum(np.abs(spec[band]) ** 2))
        nsp = db[:k][~mask[:k]]
        out[12] = float(np.median(nsp) - np.median(sdb)) if nsp.size > 10 else np.nan
    # long-term spectrum of the speech frames
    nfft = 512
    fr = 1 + (len(y16) - nfft) // _HOP
    if fr > 0:
        idx = np.arange(nfft)[None, :] + _HOP * np.arange(fr)[:, None]
        sm = mask[:fr] if len(mask) >= fr else np.concatenate([mask, np.zeros(fr - len(mask), bool)])
        sel = idx[sm[:fr]]
        if len(sel) > 10:
            P = np.mean(np.abs(np.fft.rfft(y16[sel] * np.hanning(nfft)[None, :], axis=1)) ** 2, axis=0) + 1e-20
            f = np.fft.rfftfreq(nfft, 1.0 / _SR)
            tb = (f >= 300) & (f <= 3400)
            hb = f >= 4000
            ldb = 10 * np.log10(P)
            out[10] = float(np.polyfit(np.log2(f[tb]), ldb[tb], 1)[0])
            out[11] = float(10 * np.log10(P[hb].sum() / P[tb].sum()))
    return out


def tell_features(test: np.ndarray | None, enroll: np.ndarray | None) -> np.ndarray:
    """Features of a trial from the test's and the enrollment's :func:`tell_stats`.

    For each statistic: the test's value and its absolute difference from the
    enrollment's (NaN where either is missing; the caller imputes).
    """
    k = len(TELL_NAMES)
    t = np.full(k, np.nan) if test is None else np.asarray(test, np.float64)
    e = np.full(k, np.nan) if enroll is None else np.asarray(enroll, np.float64)
    return np.concatenate([t, np.abs(t - e)])
