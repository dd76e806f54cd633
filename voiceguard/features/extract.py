"""The C core's feature extractors: validated input in, float32 ``[n_features, n_frames]`` out."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from voiceguard.audio.convert import as_float_audio
from voiceguard.errors import (
    InputTooShortError,
)
from voiceguard.features.presets import _check_sr, _resolve_cqcc, _resolve_lfcc

# ----------------------------------------------------------------------------- validation


# --------------------------------------------------------------------------- computation


@functools.lru_cache(maxsize=8)
def _rfft_plan(n: int) -> np.ndarray:
    from voiceguard._ext import _features

    return _features.rfft_plan(n)


@functools.lru_cache(maxsize=8)
def _cfft_plan(n: int) -> np.ndarray:
    from voiceguard._ext import _features

    return _features.cfft_plan(n)


def _framed_input(y: Any, sr: Any, preset: str, overrides: dict[str, Any]):
    sr = _check_sr(sr)
    p = _resolve_lfcc(preset, sr, overrides)
    y = as_float_audio(y)
    if y.size < p["win_length"]:
        raise InputTooShortError(
            f"the signal has {y.size} samples, shorter than one analysis frame "
            f"({p['win_length']} samples = {1000 * p['win_length'] / sr:g} ms at {sr:g} Hz)"
        )
    return y, sr, p


def _cq_input(y: Any, sr: Any, preset: str, overrides: dict[str, Any]):
    sr = _check_sr(sr)
    p = _resolve_cqcc(preset, sr, overrides)
    y = as_float_audio(y)
    if y.size < p["hop_length"]:
        raise InputTooShortError(
            f"the signal has {y.size} samples, shorter than one hop "
            f"({p['hop_length']} samples = {1000 * p['hop_length'] / sr:g} ms at {sr:g} Hz)"
        )
    return y, sr, p


def lfcc(y: np.ndarray, sr: float, preset: str = "asvspoof2019", **overrides: Any) -> np.ndarray:
    """Linear-frequency cepstral coefficients.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio: float32/float64 in [-1, 1], or integer PCM (scaled).
    sr : float
        Sample rate in Hz.
    preset : {"asvspoof2019", "asvspoof2021"}
        The published front end to reproduce; see :data:`LFCC_PRESETS` for provenance.
    **overrides
        ``n_fft``, ``win_length``, ``hop_length`` (samples), ``window`` ("hamming", "hann",
        "rect"), ``periodic``, ``preemphasis`` (0 disables), ``n_filters``, ``fmin``,
        ``fmax`` (Hz), ``n_coeffs``, ``deltas`` (bool), ``delta_width``.

    Returns
    -------
    np.ndarray [shape=(n_coeffs * 3, n_frames) or (n_coeffs, n_frames)], float32
        Rows ``[c_0..c_{n-1}; deltas; delta-deltas]``; ``n_frames = 1 + (n - win_length)
        // hop_length`` (frames are not centred or padded).

    Raises
    ------
    InvalidAudioError, InputTooShortError, NonFiniteAudioError
        The signal is not mono, is shorter than one frame, or is not finite.
    SampleRateError, InvalidParameterError
        ``sr`` or an override is invalid or inconsistent with the preset.
    """
    y, sr, p = _framed_input(y, sr, preset, overrides)
    from voiceguard._ext import _features

    return _features.lfcc(y, sr, p, _rfft_plan(p["n_fft"]))


def linear_spectrogram(
    y: np.ndarray, sr: float, preset: str = "asvspoof2019", **overrides: Any
) -> np.ndarray:
    """Power spectrogram on the LFCC preset's frames (pre-emphasis, window, zero-padding).

    Parameters are those of :func:`lfcc`; only the framing ones (``n_fft``, ``win_length``,
    ``hop_length``, ``window``, ``periodic``, ``preemphasis``) affect the result.

    Returns
    -------
    np.ndarray [shape=(n_fft // 2 + 1, n_frames)], float32
        ``|FFT|^2`` of each frame, unnormalised.
    """
    y, sr, p = _framed_input(y, sr, preset, overrides)
    from voiceguard._ext import _features

    return _features.power_spectrogram(y, sr, p, _rfft_plan(p["n_fft"]))


def cqt(y: np.ndarray, sr: float, preset: str = "todisco", **overrides: Any) -> np.ndarray:
    """Constant-Q transform magnitude (rasterised constant-Q nonstationary Gabor transform).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio, at least ``hop_length`` samples.
    sr : float
        Sample rate in Hz.
    preset : {"todisco"}
        Bin layout of the CQCC preset (96 bins per octave over nine octaves below sr/2).
    **overrides
        ``hop_length``, ``fmin``, ``n_bins``, ``bins_per_octave``, ``bandwidth``.

    Returns
    -------
    np.ndarray [shape=(n_bins, 1 + n // hop_length)], float32
        ``|X[k, m]|``, frame ``m`` centred on sample ``m * hop_length``; a sinusoid of
        amplitude A on a bin centre gives about A / 2 (as ``librosa.cqt(..., scale=False)``).
    """
    y, sr, p = _cq_input(y, sr, preset, overrides)
    from voiceguard._ext import _features

    _, M, L = _features.cqt_geometry(y.size, sr, p)
    return _features.cqt_magnitude(y, sr, p, _rfft_plan(L), _cfft_plan(M))


def cqcc(y: np.ndarray, sr: float, preset: str = "todisco", **overrides: Any) -> np.ndarray:
    """Constant-Q cepstral coefficients (Todisco, Delgado & Evans 2016, 2017).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio, at least ``hop_length`` samples.
    sr : float
        Sample rate in Hz; the preset's nine octaves end at sr / 2.
    preset : {"todisco"}
        See :data:`CQCC_PRESETS` for provenance.
    **overrides
        Those of :func:`cqt`, plus ``resample_d`` (uniform samples in the first octave),
        ``n_coeffs``, ``deltas``, ``delta_width``.

    Returns
    -------
    np.ndarray [shape=(3 * (n_coeffs + 1), 1 + n // hop_length)], float32
        Rows ``[log energy; c_1..c_n; deltas; delta-deltas]`` (60 rows for the preset).
    """
    y, sr, p = _cq_input(y, sr, preset, overrides)
    from voiceguard._ext import _features

    _, M, L = _features.cqt_geometry(y.size, sr, p)
    return _features.cqcc(y, sr, p, _rfft_plan(L), _cfft_plan(M))
