"""Arrays as audio: validated float samples, channels mixed down."""

from __future__ import annotations

from typing import Any

import numpy as np

from voiceguard.errors import (
    InputTooShortError,
    InvalidAudioError,
    NonFiniteAudioError,
)


def as_float_audio(y: Any) -> np.ndarray:
    """Return ``y`` as a finite, 1-D, C-contiguous float64 array.

    Integer PCM is scaled to [-1, 1): int16 by 1/32768, int32 by 1/2**31, int8 by 1/128 and
    uint8 as (y - 128) / 128.

    Raises
    ------
    InvalidAudioError
        ``y`` is not 1-D, or of a dtype that is not audio.
    InputTooShortError
        ``y`` is empty.
    NonFiniteAudioError
        ``y`` holds NaN or infinite values.
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        hint = (
            " Mix it down to mono first, e.g. y.mean(axis=0) for [channels, samples]"
            " or y.mean(axis=1) for [samples, channels]."
            if arr.ndim == 2
            else ""
        )
        raise InvalidAudioError(
            f"expected mono audio as a 1-D array, got an array of shape {arr.shape}.{hint}"
        )
    kind = arr.dtype.kind
    if kind == "f":
        with np.errstate(invalid="ignore"):  # signalling NaNs warn when cast; they are refused below
            out = np.ascontiguousarray(arr, dtype=np.float64)
    elif arr.dtype == np.int16:
        out = arr.astype(np.float64) / 32768.0
    elif arr.dtype == np.int32:
        out = arr.astype(np.float64) / 2147483648.0
    elif arr.dtype == np.int8:
        out = arr.astype(np.float64) / 128.0
    elif arr.dtype == np.uint8:
        out = (arr.astype(np.float64) - 128.0) / 128.0
    else:
        raise InvalidAudioError(
            f"unsupported audio dtype {arr.dtype}: pass float32/float64 samples in [-1, 1] "
            "or int8/uint8/int16/int32 PCM"
        )
    if out.size == 0:
        raise InputTooShortError("the audio signal is empty (0 samples)")
    if not np.isfinite(out).all():
        bad = int(np.count_nonzero(~np.isfinite(out)))
        raise NonFiniteAudioError(
            f"the audio signal contains {bad} NaN or infinite sample(s); clean or drop them first"
        )
    return out


def to_mono_array(y: np.ndarray, *, frames_first: bool = False) -> tuple[np.ndarray, int]:
    """Mix an array down to mono.

    Accepts ``[n]``, soundfile's ``[n, channels]`` and librosa's ``[channels, n]``
    (recognised as the layout whose first axis is at most 8 and shorter than the second).
    Integer PCM is scaled as :func:`voiceguard.features.as_float_audio` does.

    Parameters
    ----------
    y : np.ndarray
    frames_first : bool
        ``y`` is known to be ``[n, channels]`` (decoded from a file): no layout guess, which
        would take a few frames of many channels, e.g. a file's last block, for the other one.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64
    channels : int
    """
    y = np.asarray(y)
    if y.ndim == 1:
        return as_float_audio(y), 1
    if y.ndim != 2:
        raise InvalidAudioError(f"expected audio as [n], [n, channels] or [channels, n], got shape {y.shape}")
    if not frames_first and y.shape[0] <= 8 and y.shape[0] < y.shape[1]:
        y = y.T
    channels = int(y.shape[1])
    # scale integer PCM per channel (as_float_audio takes 1-D input), then average
    flat = as_float_audio(np.ascontiguousarray(y).reshape(-1)).reshape(y.shape)
    return np.ascontiguousarray(flat.mean(axis=1)), channels


def to_mono(y: np.ndarray, *, frames_first: bool = False) -> np.ndarray:
    """Mix ``[n]``, ``[n, channels]`` or ``[channels, n]`` audio down to ``[n]``."""
    return to_mono_array(y, frames_first=frames_first)[0]
