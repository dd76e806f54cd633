"""Reading audio files and bringing them to the rate and channel layout the detector uses."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Union

import numpy as np

from voiceguard.errors import AudioReadError, InvalidAudioError, InvalidParameterError
from voiceguard.features import as_float_audio

PathLike = Union[str, os.PathLike]

#: Highest sample rate accepted (a rate beyond it is a corrupt header or a wrong ``sr``).
MAX_SR = 768000

#: File extensions `voiceguard score` picks up when given a folder.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au")


def load(path: PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 samples in [-1, 1].

    Parameters
    ----------
    path : str or os.PathLike
        WAV, FLAC, OGG (Vorbis/Opus), MP3, AIFF or any other format libsndfile reads.

    Returns
    -------
    y : np.ndarray [shape=(n,) or (n, channels)]
        Samples as read, not yet mixed down.
    sr : int
        The file's sample rate.

    Raises
    ------
    AudioReadError
        The file is missing, unreadable, not audio, or holds no samples.
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"{path}: no such file")
    try:
        y, sr = sf.read(str(path), dtype="float64", always_2d=False)
    except Exception as exc:  # libsndfile raises several types for undecodable input
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from None
    if y.size == 0:
        raise AudioReadError(f"{path}: the file holds no audio samples")
    return y, int(sr)


def to_mono_array(y: np.ndarray) -> tuple[np.ndarray, int]:
    """Mix an array down to mono.

    Accepts ``[n]``, soundfile's ``[n, channels]`` and librosa's ``[channels, n]``
    (recognised as the layout whose first axis is at most 8 and shorter than the second).
    Integer PCM is scaled as :func:`voiceguard.features.as_float_audio` does.

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
    if y.shape[0] <= 8 and y.shape[0] < y.shape[1]:
        y = y.T
    channels = int(y.shape[1])
    # scale integer PCM per channel (as_float_audio takes 1-D input), then average
    flat = as_float_audio(np.ascontiguousarray(y).reshape(-1)).reshape(y.shape)
    return np.ascontiguousarray(flat.mean(axis=1)), channels


def to_mono(y: np.ndarray) -> np.ndarray:
    """Mix ``[n]``, ``[n, channels]`` or ``[channels, n]`` audio down to ``[n]``."""
    return to_mono_array(y)[0]


def read_input(
    audio: PathLike | np.ndarray, sr: float | None, *, min_sr: int, purpose: str
) -> tuple[np.ndarray, int, str | None, int]:
    """A file path or an array with its rate, as mono float64 audio.

    Parameters
    ----------
    audio : str, os.PathLike or np.ndarray
        A file to decode, or samples (any layout :func:`to_mono_array` accepts).
    sr : float or None
        The array's sample rate (ignored for files, whose rate is read from the file).
    min_sr : int
        The lowest sample rate ``purpose`` can work with.
    purpose : str
        What the audio is for, used in error messages ("spoof scoring", ...).

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64
    sr : int
    name : str or None
        The path as given, None for arrays.
    channels : int

    Raises
    ------
    AudioReadError, InvalidAudioError, InvalidParameterError
    """
    if isinstance(audio, (str, os.PathLike)):
        y, file_sr = load(audio)
        name: str | None = os.fspath(audio)
    else:
        if sr is None:
            raise InvalidParameterError(
                f"{purpose} of an array needs its sample rate: pass sr=16000 (or the array's rate)"
            )
        if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)) or \
                not math.isfinite(sr) or sr <= 0:
            raise InvalidParameterError(f"sample rate must be a positive number of Hz, got {sr!r}")
        y, file_sr, name = np.asarray(audio), int(sr), None
    if file_sr > MAX_SR:
        raise InvalidAudioError(f"sample rate {file_sr} Hz is above the {MAX_SR} Hz voiceguard reads; "
                                "resample the audio first")
    if file_sr < min_sr:
        raise InvalidAudioError(
            f"sample rate {file_sr} Hz is too low for {purpose} (need >= {min_sr} Hz)"
        )
    y, channels = to_mono_array(y)
    if y.size == 0:
        raise InvalidAudioError("the audio holds no samples")
    return y, int(file_sr), name, channels


def resample(y: np.ndarray, orig_sr: float, target_sr: float) -> np.ndarray:
    """Resample with a polyphase FIR (scipy.signal.resample_poly, Kaiser window).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    orig_sr, target_sr : float
        Rates in Hz; their ratio is approximated by a fraction with denominator <= 1000.

    Returns
    -------
    np.ndarray [shape=(about n * target_sr / orig_sr,)], float64
    """
    from scipy.signal import resample_poly

    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float64)
    ratio = Fraction(target_sr / orig_sr).limit_denominator(1000)
    out = resample_poly(np.asarray(y, dtype=np.float64), ratio.numerator, ratio.denominator)
    expected = int(math.ceil(len(y) * target_sr / orig_sr))
    return out[:expected]


def load_mono(path: PathLike, sr: float | None = None) -> tuple[np.ndarray, int]:
    """Read a file, mix it to mono and optionally resample it to ``sr``.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64, finite
    sr : int
    """
    y, file_sr = load(path)
    try:
        # to_mono validates too (finite samples): a file holding NaN is a read error
        y = to_mono(y)
    except InvalidAudioError as exc:
        raise AudioReadError(f"{path}: {exc}") from None
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = int(sr)
    return y, file_sr
