"""Slow, literal numpy/scipy reference for the spectral features of ``docs/features.md``.

This module is the *generator of reference values* that the test-suite compares the
C core (through ``voiceguard.features``) against.  Every function here follows one
paragraph of ``docs/features.md`` as literally as numpy allows, favouring clarity over
speed; where the specification gives a formula, the code below evaluates that formula
directly rather than any faster equivalent:

* the power spectrum is ``np.fft.rfft`` of each zero-padded, windowed frame;
* the linear filterbank is built element by element from the triangle definition;
* the DCT is ``scipy.fft.dct(type=2, norm="ortho")``;
* the CQT evaluates ``X[k, m] = (1/L) sum_q G_k(q sr / L) Z[q] exp(2 pi i q m / M)`` as an
  explicit dense matrix product over each bin's frequency support (chunked over bins to
  bound memory), *not* through an inverse FFT, so that it is independent of the
  algorithm used by the C core;
* the CQCC uniform resampling is plain linear interpolation between the two
  neighbouring CQT bins.

It deliberately imports nothing from ``voiceguard``: the presets are re-derived from the
specification's tables (:func:`resolve_lfcc_params`, :func:`resolve_cqcc_params`) so the
tests can also check ``voiceguard.features.resolve_params`` against them.

All arithmetic is float64 and the functions return float64 arrays (the public API
returns float32; the tests compare with a tolerance).  No input validation is done
beyond what the formulas need: this is not a product implementation.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft

#: Floor added before every logarithm (float64 machine epsilon), per the spec.
EPS = 2.220446049250313e-16


# ---------------------------------------------------------------------------------------
# Input conversion
# ---------------------------------------------------------------------------------------
def to_float64(y) -> np.ndarray:
    """1-D audio as float64; integer PCM scaled to [-1, 1) exactly as the spec says."""
    y = np.asarray(y)
    if y.dtype == np.int16:
        return y.astype(np.float64) / 32768.0
    if y.dtype == np.int32:
        return y.astype(np.float64) / 2147483648.0
    if y.dtype == np.uint8:
        return (y.astype(np.float64) - 128.0) / 128.0
    return y.astype(np.float64)


def round_half_up(x: float) -> int:
    """``round(sr * seconds)`` of the spec, read as round-half-away-from-zero (C ``round``)."""
    return int(math.floor(x + 0.5))


# ---------------------------------------------------------------------------------------
# Presets (re-derived from the tables of docs/features.md)
# ---------------------------------------------------------------------------------------
def resolve_lfcc_params(preset: str, sr: int, **overrides) -> dict:
    """Resolved LFCC parameters (samples, Hz) of a preset at ``sr``, then ``overrides``."""
    if preset == "asvspoof2019":
        p = dict(
            preemphasis=0.97,
            win_length=round_half_up(sr * 0.020),
            hop_length=round_half_up(sr * 0.010),
            n_fft=512,
            window="hamming",
            periodic=False,
            n_filters=20,
            fmin=0.0,
            fmax=sr / 2.0,
            n_coeffs=20,
            deltas=True,
            delta_width=1,
        )
    elif preset == "asvspoof2021":
        p = dict(
            preemphasis=0.0,
            win_length=round_half_up(sr * 0.030),
            hop_length=round_half_up(sr * 0.015),
            n_fft=1024,
            window="hamming",
            periodic=False,
            n_filters=70,
            fmin=0.0,
            fmax=4000.0,
            n_coeffs=20,
            deltas=True,
            delta_width=1,
        )
    else:
        raise KeyError(preset)
    p.update(overrides)
    return p


def resolve_cqcc_params(preset: str, sr: int, **overrides) -> dict:
    """Resolved CQT/CQCC parameters of a preset at ``sr``, then ``overrides``."""
    if preset != "todisco":
        raise KeyError(preset)
    B = 96
    fmax = sr / 2.0
    p = dict(
        hop_length=round_half_up(sr * 0.010),
        fmin=fmax / 2.0**9,
        n_bins=9 * B,
        bins_per_octave=B,
        bandwidth=1.5,
        resample_d=16,
        n_coeffs=19,
        deltas=True,
        delta_width=1,
    )
    p.update(overrides)
    return p


# ---------------------------------------------------------------------------------------
# Shared building blocks
# ---------------------------------------------------------------------------------------
def preemphasis(y: np.ndarray, a: float) -> np.ndarray:
    """``z[0] = y[0]``, ``z[n] = y[n] - a y[n-1]`` (``a = 0`` leaves the signal unchanged)."""
    y = np.asarray(y, dtype=np.float64)
    z = y.copy()
    if a != 0.0:
        z[1:] = y[1:] - a * y[:-1]
    return z


def n_frames_framed(n_samples: int, win_length: int, hop_length: int) -> int:
    """``T = 1 + (N - win_length) // hop_length`` (LFCC / linear spectrogram)."""
    return 1 + (n_samples - win_length) // hop_length


def n_frames_cqt(n_samples: int, hop_length: int) -> int:
    """``T = 1 + N // hop_length`` (CQT / CQCC)."""
    return 1 + n_samples // hop_length


def frame_signal(z: np.ndarray, win_length: int, hop_length: int) -> np.ndarray:
    """Frames ``z[t*hop : t*hop + win]`` as rows of a ``[T, win_length]`` array (a copy)."""
    T = n_frames_framed(len(z), win_length, hop_length)
    if T < 1:
        raise ValueError("signal shorter than one frame")
    frames = np.empty((T, win_length), dtype=np.float64)
    for t in range(T):
        frames[t] = z[t * hop_length : t * hop_length + win_length]
    return frames


def window(name: str, W: int, periodic: bool = False) -> np.ndarray:
    """Hamming / Hann / rectangular window of length ``W`` (symmetric unless ``periodic``)."""
    if name == "rect":
        return np.ones(W, dtype=np.float64)
    if W == 1 and not periodic:
        return np.ones(1, dtype=np.float64)
    D = W if periodic else W - 1
    n = np.arange(W, dtype=np.float64)
    c = np.cos(2.0 * np.pi * n / D)
    if name == "hamming":
        return 0.54 - 0.46 * c
    if name == "hann":
        return 0.5 - 0.5 * c
    raise ValueError(f"unknown window {name!r}")


def power_spectrum(frames: np.ndarray, n_fft: int) -> np.ndarray:
    """``|rfft(frame, n_fft)|^2`` for each row: ``[T, n_fft // 2 + 1]``, no normalisation."""
    spec = np.fft.rfft(frames, n=n_fft, axis=-1)
    return spec.real**2 + spec.imag**2


def linear_filterbank(sr: float, n_fft: int, n_filters: int, fmin: float, fmax: float) -> np.ndarray:
    """Triangular filters ``[n_filters, n_fft // 2 + 1]`` with equally spaced edges.

    Built element by element from the definition, on purpose.
    """
    edges = [fmin + i * (fmax - fmin) / (n_filters + 1) for i in range(n_filters + 2)]
    n_bins = n_fft // 2 + 1
    fb = np.zeros((n_filters, n_bins), dtype=np.float64)
    for m in range(n_filters):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        for j in range(n_bins):
            f = j * sr / n_fft
            if lo <= f <= mid:
                fb[m, j] = (f - lo) / (mid - lo)
            elif mid < f <= hi:
                fb[m, j] = (hi - f) / (hi - mid)
    return fb


def log10_floor(x: np.ndarray) -> np.ndarray:
    return np.log10(x + EPS)


def ln_floor(x: np.ndarray) -> np.ndarray:
    return np.log(x + EPS)


def dct_ortho(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """Orthonormal DCT-II along ``axis`` (scipy's ``dct(type=2, norm='ortho')``)."""
    return scipy.fft.dct(x, type=2, norm="ortho", axis=axis)


def dct_ortho_matrix(F: int) -> np.ndarray:
    """The explicit ``[F, F]`` orthonormal DCT-II matrix (used to cross-check scipy)."""
    k = np.arange(F)[:, None]
    i = np.arange(F)[None, :]
    C = np.cos(np.pi * k * (2 * i + 1) / (2 * F))
    s = np.full((F, 1), math.sqrt(2.0 / F))
    s[0, 0] = math.sqrt(1.0 / F)
    return s * C


def delta(c: np.ndarray, width: int = 1) -> np.ndarray:
    """Deltas along time (axis 1) of a ``[D, T]`` array, edge frames repeated ``width`` times."""
    c = np.asarray(c, dtype=np.float64)
    T = c.shape[1]
    padded = np.concatenate(
        [np.repeat(c[:, :1], width, axis=1), c, np.repeat(c[:, -1:], width, axis=1)], axis=1
    )
    denom = 2.0 * sum(h * h for h in range(1, width + 1))
    d = np.zeros_like(c)
    for h in range(1, width + 1):
        d += h * (padded[:, width + h : width + h + T] - padded[:, width - h : width - h + T])
    return d / denom


def add_deltas(static: np.ndarray, width: int = 1) -> np.ndarray:
    """``[static; delta; delta-delta]``."""
    d1 = delta(static, width)
    d2 = delta(d1, width)
    return np.concatenate([static, d1, d2], axis=0)


# ---------------------------------------------------------------------------------------
# LFCC and the linear spectrogram
# ---------------------------------------------------------------------------------------
def _framed_power(y, sr, preemphasis, win_length, hop_length, n_fft, window, periodic):
    # NB: parameter names shadow the module functions on purpose (they are the spec's
    # parameter names); the module-level functions are reached through globals().
    g = globals()
    z = g["preemphasis"](to_float64(y), preemphasis)
    frames = frame_signal(z, win_length, hop_length)
    frames = frames * g["window"](window, win_length, periodic)[None, :]
    return power_spectrum(frames, n_fft)  # [T, n_fft//2+1]


def linear_spectrogram_ref(
    y, sr, *, preemphasis, win_length, hop_length, n_fft, window, periodic, **_ignored
) -> np.ndarray:
    """Power spectrum ``P`` after pre-emphasis, framing and window: ``[n_fft//2+1, T]``."""
    P = _framed_power(y, sr, preemphasis, win_length, hop_length, n_fft, window, periodic)
    return P.T.copy()


def lfcc_ref(
    y,
    sr,
    *,
    preemphasis,
    win_length,
    hop_length,
    n_fft,
    window,
    periodic,
    n_filters,
    fmin,
    fmax,
    n_coeffs,
    deltas,
    delta_width=1,
) -> np.ndarray:
    """LFCC ``[n_coeffs * (3 if deltas else 1), T]`` per docs/features.md."""
    P = _framed_power(y, sr, preemphasis, win_length, hop_length, n_fft, window, periodic)
    fb = linear_filterbank(sr, n_fft, n_filters, fmin, fmax)
    E = fb @ P.T  # [n_filters, T]
    L = log10_floor(E)
    C = dct_ortho(L, axis=0)[:n_coeffs]
    if deltas:
        C = add_deltas(C, delta_width)
    return C


# ---------------------------------------------------------------------------------------
# CQT (rasterised constant-Q NSGT, whole-signal definition)
# ---------------------------------------------------------------------------------------
def is_5_smooth(n: int) -> bool:
    for p in (2, 3, 5):
        while n % p == 0:
            n //= p
    return n == 1


def next_5_smooth(n: int) -> int:
    """Smallest integer ``>= n`` whose prime factors are all 2, 3 or 5."""
    n = max(int(n), 1)
    while not is_5_smooth(n):
        n += 1
    return n


def cqt_geometry(n_samples, sr, *, hop_length, fmin, n_bins, bins_per_octave, bandwidth):
    """Frame count, padding and transform length of the spec's CQT (steps 1-3)."""
    B = bins_per_octave
    k = np.arange(n_bins, dtype=np.float64)
    fk = fmin * 2.0 ** (k / B)
    Q = 1.0 / (2.0 ** (1.0 / B) - 1.0)
    bk = bandwidth * fk / Q
    T = n_frames_cqt(n_samples, hop_length)
    pad = math.ceil(3.0 * sr / bk[0])
    M = next_5_smooth(T + math.ceil(pad / hop_length))
    L = M * hop_length
    return dict(fk=fk, bk=bk, Q=Q, T=T, pad=pad, M=M, L=L)


def cqt_complex_ref(
    y,
    sr,
    *,
    hop_length,
    fmin,
    n_bins,
    bins_per_octave,
    bandwidth=1.5,
    chunk_elems=4_000_000,
    **_ignored,
) -> np.ndarray:
    """Complex CQT ``X[k, m]``, ``[n_bins, T]``, from the whole-signal formula.

    ``X[k, m] = (1/L) sum_q G_k(q sr / L) Z[q] exp(2 pi i q m / M)`` is evaluated as a
    dense ``(support) x (frames)`` matrix product per bin.  The complex exponentials are
    taken from a table of the M-th roots of unity indexed by ``(q * m) mod M`` (exact
    integer arithmetic, so no precision is lost to large phase arguments).  Bins are
    processed in chunks so that no chunk's matrix exceeds ``chunk_elems`` entries.
    """
    z0 = to_float64(y)
    N = len(z0)
    g = cqt_geometry(
        N, sr, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
        bins_per_octave=bins_per_octave, bandwidth=bandwidth,
    )
    T, M, L, fk, bk = g["T"], g["M"], g["L"], g["fk"], g["bk"]
    z = np.zeros(L, dtype=np.float64)
    z[:N] = z0
    Z = np.fft.rfft(z)  # q = 0 .. L//2
    roots = np.exp(2j * np.pi * np.arange(M) / M)  # exp(2 pi i r / M)
    m = np.arange(T, dtype=np.int64)

    # Frequency supports and window samples of every bin.
    supports = []
    for k in range(n_bins):
        q_lo = max(0, math.floor((fk[k] - bk[k]) * L / sr) - 1)
        q_hi = min(L // 2, math.ceil((fk[k] + bk[k]) * L / sr) + 1)
        q = np.arange(q_lo, q_hi + 1, dtype=np.int64)
        f = q * sr / L
        keep = np.abs(f - fk[k]) < bk[k]
        q, f = q[keep], f[keep]
        G = 0.5 * (1.0 + np.cos(np.pi * (f - fk[k]) / bk[k]))
        supports.append((q, G * Z[q]))

    X = np.zeros((n_bins, T), dtype=np.complex128)
    k = 0
    while k < n_bins:
        # Gather bins until the stacked matrix would exceed chunk_elems.
        k_end, total = k, 0
        while k_end < n_bins and (k_end == k or (total + len(supports[k_end][0])) * T <= chunk_elems):
            total += len(supports[k_end][0])
            k_end += 1
        qs = np.concatenate([supports[i][0] for i in range(k, k_end)])
        ws = np.concatenate([supports[i][1] for i in range(k, k_end)])
        E = roots[(qs[:, None] * m[None, :]) % M]  # [S, T], exp(2 pi i q m / M)
        contrib = ws[:, None] * E  # G_k(q sr / L) Z[q] exp(2 pi i q m / M)
        # Sum the rows belonging to each bin.
        starts = np.concatenate([[0], np.cumsum([len(supports[i][0]) for i in range(k, k_end)])])
        for j, i in enumerate(range(k, k_end)):
            a, b = starts[j], starts[j + 1]
            if b > a:
                X[i] = contrib[a:b].sum(axis=0)
        k = k_end
    return X / L


def cqt_ref(y, sr, **params) -> np.ndarray:
    """CQT magnitude ``|X|``, ``[n_bins, T]``."""
    return np.abs(cqt_complex_ref(y, sr, **params))


# ---------------------------------------------------------------------------------------
# CQCC
# ---------------------------------------------------------------------------------------
def uniform_resampling_weights(fmin, n_bins, bins_per_octave, d):
    """Indices and weights of the uniform resampling: ``LU[j] = (1-a) LP[i0] + a LP[i0+1]``.

    Returns ``(i0, a, J)``; where ``kappa_j`` reaches the last bin ``i0 = K-2, a = 1``
    (the same value as the spec's ``LU[j] = LP[K-1]``).
    """
    K, B = n_bins, bins_per_octave
    f_last = fmin * 2.0 ** ((K - 1) / B)
    J = math.floor((f_last - fmin) * d / fmin + 1e-9) + 1
    j = np.arange(J, dtype=np.float64)
    u = fmin + j * fmin / d
    kappa = B * np.log2(u / fmin)
    i0 = np.floor(kappa).astype(np.int64)
    a = kappa - i0
    at_end = i0 >= K - 1
    i0[at_end] = K - 2
    a[at_end] = 1.0
    return i0, a, J


def cqcc_from_cqt(X, *, fmin, n_bins, bins_per_octave, resample_d, n_coeffs, deltas, delta_width=1, **_ignored):
    """CQCC from a complex (or magnitude) CQT ``X`` ``[K, T]``."""
    P = np.abs(X) ** 2
    LP = ln_floor(P)
    i0, a, J = uniform_resampling_weights(fmin, n_bins, bins_per_octave, resample_d)
    LU = (1.0 - a)[:, None] * LP[i0] + a[:, None] * LP[i0 + 1]  # [J, T]
    C = dct_ortho(LU, axis=0)[1 : n_coeffs + 1]
    LE = ln_floor(P.sum(axis=0))
    static = np.concatenate([LE[None, :], C], axis=0)
    if deltas:
        static = add_deltas(static, delta_width)
    return static


def cqcc_ref(y, sr, **params) -> np.ndarray:
    """CQCC ``[(1 + n_coeffs) * (3 if deltas else 1), T]`` per docs/features.md."""
    X = cqt_complex_ref(y, sr, **params)
    return cqcc_from_cqt(X, **params)
