"""Reading audio files and bringing them to the rate and channel layout the detector uses."""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Union

import numpy as np

from voiceguard.errors import AudioReadError, InvalidAudioError
from voiceguard.features import as_float_audio

PathLike = Union[str, os.PathLike]

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


def to_mono(y: np.ndarray) -> np.ndarray:
    """Mix ``[n, channels]`` audio (soundfile's layout) down to ``[n]`` by averaging."""
    y = np.asarray(y)
    if y.ndim == 1:
        return y
    if y.ndim == 2:
        return y.mean(axis=1)
    raise InvalidAudioError(f"expected [samples] or [samples, channels] audio, got shape {y.shape}")


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
    y = to_mono(y)
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = int(sr)
    try:
        return as_float_audio(y), file_sr
    except InvalidAudioError as exc:
        raise AudioReadError(f"{path}: {exc}") from None
