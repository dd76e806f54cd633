"""G.711 mu-law and A-law (ITU-T G.711), as telephone networks carry speech."""

from __future__ import annotations

import numpy as np

from voiceguard.errors import InvalidAudioError, InvalidParameterError

_MU_BIAS = 0x84  # 33 at 14-bit scale, shifted to the 16-bit scale


_MU_CLIP = 32635  # largest magnitude before the bias would overflow 15 bits


def _as_pcm16(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating):
        if not np.all(np.isfinite(x)):
            raise InvalidAudioError("G.711 input contains NaN or infinite samples")
        return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int32)
    if not np.issubdtype(x.dtype, np.integer):
        raise InvalidAudioError(f"G.711 input must be float in [-1, 1] or int16 PCM, got {x.dtype}")
    return np.clip(x.astype(np.int32), -32768, 32767)


def mulaw_encode(x: np.ndarray) -> np.ndarray:
    """Encode PCM samples with G.711 mu-law.

    Parameters
    ----------
    x : np.ndarray
        Float samples in [-1, 1] (scaled by 32768) or integer 16-bit PCM.

    Returns
    -------
    np.ndarray of uint8
        Transmitted code words (0xFF is +0, 0x80 the largest positive value, 0x00 the
        largest negative value).
    """
    pcm = _as_pcm16(x)
    negative = pcm < 0
    mag = np.minimum(np.where(negative, -pcm, pcm), _MU_CLIP) + _MU_BIAS
    # Segment = position of the leading one among bits 7..14, minus 7.
    seg = np.clip(np.floor(np.log2(np.maximum(mag, 1))).astype(np.int32) - 7, 0, 7)
    mantissa = (mag >> (seg + 3)) & 0x0F
    code = (seg << 4) | mantissa
    code = np.where(negative, code ^ 0x7F, code ^ 0xFF)
    return code.astype(np.uint8)


def mulaw_decode(code: np.ndarray) -> np.ndarray:
    """Decode G.711 mu-law code words to 16-bit PCM values.

    Parameters
    ----------
    code : np.ndarray
        uint8 code words as produced by :func:`mulaw_encode`.

    Returns
    -------
    np.ndarray of int16
        Linear PCM (range -32124..32124).
    """
    u = (~np.asarray(code, dtype=np.uint8)).astype(np.int32)
    seg = (u & 0x70) >> 4
    t = (((u & 0x0F) << 3) + _MU_BIAS) << seg
    return np.where(u & 0x80, _MU_BIAS - t, t - _MU_BIAS).astype(np.int16)


_A_SEG_END = np.array([0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF])


def alaw_encode(x: np.ndarray) -> np.ndarray:
    """Encode PCM samples with G.711 A-law.

    Parameters
    ----------
    x : np.ndarray
        Float samples in [-1, 1] (scaled by 32768) or integer 16-bit PCM.

    Returns
    -------
    np.ndarray of uint8
        Transmitted code words (0xD5 is the smallest positive value, 0xAA the largest
        positive, 0x2A the largest negative).
    """
    pcm = _as_pcm16(x) >> 3  # 13-bit
    positive = pcm >= 0
    mag = np.where(positive, pcm, -pcm - 1)
    seg = np.searchsorted(_A_SEG_END, mag, side="left")
    shift = np.where(seg < 2, 1, seg)
    aval = (np.minimum(seg, 7) << 4) | ((mag >> shift) & 0x0F)
    aval = np.where(seg >= 8, 0x7F, aval)
    code = np.where(positive, aval ^ 0xD5, aval ^ 0x55)
    return code.astype(np.uint8)


def alaw_decode(code: np.ndarray) -> np.ndarray:
    """Decode G.711 A-law code words to 16-bit PCM values.

    Parameters
    ----------
    code : np.ndarray
        uint8 code words as produced by :func:`alaw_encode`.

    Returns
    -------
    np.ndarray of int16
        Linear PCM (range -32256..32256; A-law has no zero: the smallest values are +-8).
    """
    a = np.asarray(code, dtype=np.uint8).astype(np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, (t + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, t, -t).astype(np.int16)


def g711_roundtrip(y: np.ndarray, law: str = "mu") -> np.ndarray:
    """Encode and decode a float signal with G.711.

    Parameters
    ----------
    y : np.ndarray
        Float signal in [-1, 1] (normally at 8 kHz; G.711 itself is rate-agnostic).
    law : {'mu', 'a'}
        Companding law.

    Returns
    -------
    np.ndarray of float32
        The decoded signal, same length.
    """
    if law == "mu":
        return (mulaw_decode(mulaw_encode(y)) / 32768.0).astype(np.float32)
    if law == "a":
        return (alaw_decode(alaw_encode(y)) / 32768.0).astype(np.float32)
    raise InvalidParameterError(f"G.711 law must be 'mu' or 'a', got {law!r}")
