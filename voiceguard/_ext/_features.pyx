# cython: language_level=3, boundscheck=False, wraparound=False
"""Thin wrappers over the C feature core. Arguments are validated by voiceguard.features;
these functions only marshal arrays and parameters, release the GIL around C, and turn
status codes into exceptions through one helper (_check)."""

import numpy as np
cimport numpy as cnp

from voiceguard._ext._cfeatures cimport *
from voiceguard.errors import (
    FeatureComputationError,
    InputTooShortError,
    InvalidParameterError,
    NonFiniteAudioError,
)

cnp.import_array()

_WINDOWS = {"hamming": 0, "hann": 1, "rect": 2}


cdef int _check(int status, str what) except -1:
    """Map a C status code to the voiceguard exception family."""
    if status == VG_OK:
        return 0
    if status == VG_ERR_TOO_SHORT:
        raise InputTooShortError(f"{what}: the signal is shorter than one analysis frame")
    if status == VG_ERR_NONFINITE:
        raise NonFiniteAudioError(f"{what}: the signal contains NaN or infinite samples")
    if status in (VG_ERR_SIZE, VG_ERR_PARAM):
        raise InvalidParameterError(f"{what}: the C core rejected a size or parameter (code {status})")
    if status == VG_ERR_NOMEM:
        raise MemoryError(f"{what}: out of memory in the C feature core")
    raise FeatureComputationError(f"{what}: C feature core failed with status {status}")


def rfft_plan(size_t n):
    """A real-FFT plan of length n in a numpy buffer (read-only once made; shareable)."""
    cdef size_t nbytes = 0
    _check(vg_rfft_plan_bytes(n, &nbytes), "rfft plan")
    cdef cnp.ndarray[cnp.uint8_t, ndim=1] mem = np.zeros(nbytes, dtype=np.uint8)
    _check(vg_rfft_plan_init(<void *>mem.data, nbytes, n), "rfft plan")
    mem.flags.writeable = False
    return mem


def cfft_plan(size_t n):
    """A complex-FFT plan of length n in a numpy buffer."""
    cdef size_t nbytes = 0
    _check(vg_cfft_plan_bytes(n, &nbytes), "cfft plan")
    cdef cnp.ndarray[cnp.uint8_t, ndim=1] mem = np.zeros(nbytes, dtype=np.uint8)
    _check(vg_cfft_plan_init(<void *>mem.data, nbytes, n), "cfft plan")
    mem.flags.writeable = False
    return mem


cdef vg_lfcc_params _lfcc_params(dict p, double sr) except *:
    cdef vg_lfcc_params c
    c.sr = sr
    c.win_length = p["win_length"]
    c.hop_length = p["hop_length"]
    c.n_fft = p["n_fft"]
    c.window = _WINDOWS[p["window"]]
    c.periodic = 1 if p["periodic"] else 0
    c.preemphasis = p["preemphasis"]
    c.n_filters = p["n_filters"]
    c.fmin = p["fmin"]
    c.fmax = p["fmax"]
    c.n_coeffs = p["n_coeffs"]
    c.deltas = 1 if p["deltas"] else 0
    c.delta_width = p["delta_width"]
    return c


cdef vg_cqt_params _cqt_params(dict p, double sr) except *:
    cdef vg_cqt_params c
    c.sr = sr
    c.hop_length = p["hop_length"]
    c.fmin = p["fmin"]
    c.n_bins = p["n_bins"]
    c.bins_per_octave = p["bins_per_octave"]
    c.bandwidth = p["bandwidth"]
    return c


def frame_count(size_t n, dict p):
    cdef size_t T = 0
    _check(vg_frame_count(n, p["win_length"], p["hop_length"], &T), "framing")
    return T


def lfcc(const double[::1] y, double sr, dict p, const cnp.uint8_t[::1] plan):
    cdef vg_lfcc_params c = _lfcc_params(p, sr)
    cdef size_t rows = 0, T = 0, n = y.shape[0]
    _check(vg_lfcc_check(&c), "lfcc")
    _check(vg_lfcc_rows(&c, &rows), "lfcc")
    _check(vg_frame_count(n, c.win_length, c.hop_length, &T), "lfcc")
    cdef cnp.ndarray[cnp.float32_t, ndim=2] out = np.empty((rows, T), dtype=np.float32)
    cdef float *o = <float *>out.data
    cdef int st
    with nogil:
        st = vg_lfcc(&y[0], n, &c, <const void *>&plan[0], o)
    _check(st, "lfcc")
    return out


def power_spectrogram(const double[::1] y, double sr, dict p, const cnp.uint8_t[::1] plan):
    cdef vg_lfcc_params c = _lfcc_params(p, sr)
    cdef size_t T = 0, n = y.shape[0]
    _check(vg_frame_count(n, c.win_length, c.hop_length, &T), "linear_spectrogram")
    cdef cnp.ndarray[cnp.float32_t, ndim=2] out = np.empty((c.n_fft // 2 + 1, T), dtype=np.float32)
    cdef float *o = <float *>out.data
    cdef int st
    with nogil:
        st = vg_power_spectrogram(&y[0], n, &c, <const void *>&plan[0], o)
    _check(st, "linear_spectrogram")
    return out


def cqt_geometry(size_t n, double sr, dict p):
    """(n_frames, M, L) of the constant-Q transform of an n-sample signal."""
    cdef vg_cqt_params c = _cqt_params(p, sr)
    cdef size_t T = 0, M = 0, L = 0
    _check(vg_cqt_geometry(n, &c, &T, &M, &L), "cqt")
    return T, M, L


def cqt_magnitude(const double[::1] y, double sr, dict p, const cnp.uint8_t[::1] rplan,
                  const cnp.uint8_t[::1] cplan):
    cdef vg_cqt_params c = _cqt_params(p, sr)
    cdef size_t T = 0, M = 0, L = 0, n = y.shape[0]
    _check(vg_cqt_geometry(n, &c, &T, &M, &L), "cqt")
    cdef cnp.ndarray[cnp.float32_t, ndim=2] out = np.empty((c.n_bins, T), dtype=np.float32)
    cdef float *o = <float *>out.data
    cdef int st
    with nogil:
        st = vg_cqt_magnitude(&y[0], n, &c, <const void *>&rplan[0], <const void *>&cplan[0], o)
    _check(st, "cqt")
    return out


def cqcc(const double[::1] y, double sr, dict p, const cnp.uint8_t[::1] rplan,
         const cnp.uint8_t[::1] cplan):
    cdef vg_cqt_params c = _cqt_params(p, sr)
    cdef vg_cqcc_params cc
    cc.resample_d = p["resample_d"]
    cc.n_coeffs = p["n_coeffs"]
    cc.deltas = 1 if p["deltas"] else 0
    cc.delta_width = p["delta_width"]
    cdef size_t T = 0, M = 0, L = 0, rows = 0, n = y.shape[0]
    _check(vg_cqcc_check(&c, &cc), "cqcc")
    _check(vg_cqcc_rows(&cc, &rows), "cqcc")
    _check(vg_cqt_geometry(n, &c, &T, &M, &L), "cqcc")
    cdef cnp.ndarray[cnp.float32_t, ndim=2] out = np.empty((rows, T), dtype=np.float32)
    cdef float *o = <float *>out.data
    cdef int st
    with nogil:
        st = vg_cqcc(&y[0], n, &c, &cc, <const void *>&rplan[0], <const void *>&cplan[0], o)
    _check(st, "cqcc")
    return out
