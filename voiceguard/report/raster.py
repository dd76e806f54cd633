"""Images without a plotting library: a colour map and a minimal PNG encoder (zlib).

The spectrogram is embedded in the HTML report as an indexed-colour PNG (one byte per
pixel and a 256-colour palette), written by :func:`encode_png` from the PNG
specification (signature, IHDR, PLTE, IDAT, IEND chunks with CRC-32).
"""

from __future__ import annotations

import base64
import struct
import zlib

import numpy as np

__all__ = ["SPECTROGRAM_COLOURS", "palette", "encode_png", "png_data_uri"]

#: Control points of the spectrogram colour map, quiet to loud: near-black blue, violet,
#: raspberry, orange, pale yellow (monotonically brighter, so it reads in grey too).
SPECTROGRAM_COLOURS = ((0.00, (12, 14, 38)), (0.30, (62, 34, 110)), (0.55, (168, 52, 104)),
                       (0.80, (240, 138, 60)), (1.00, (253, 243, 170)))


def palette(stops: tuple = SPECTROGRAM_COLOURS, n: int = 256) -> np.ndarray:
    """``n`` colours interpolated linearly between ``stops``; returns uint8 ``[n, 3]``."""
    x = np.linspace(0.0, 1.0, n)
    pos = np.array([s[0] for s in stops])
    rgb = np.array([s[1] for s in stops], np.float64)
    return np.round(np.stack([np.interp(x, pos, rgb[:, c]) for c in range(3)], axis=1)).astype(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(index: np.ndarray, colours: np.ndarray) -> bytes:
    """Encode an indexed-colour image as PNG.

    Parameters
    ----------
    index : np.ndarray [shape=(height, width)], uint8
        Palette index of each pixel.
    colours : np.ndarray [shape=(n, 3)], uint8, n <= 256

    Returns
    -------
    bytes
        A PNG file (bit depth 8, colour type 3, no interlace).
    """
    index = np.ascontiguousarray(index, dtype=np.uint8)
    if index.ndim != 2 or index.size == 0:
        raise ValueError(f"expected a non-empty [height, width] index image, got shape {index.shape}")
    colours = np.ascontiguousarray(colours, dtype=np.uint8)
    h, w = index.shape
    rows = np.hstack([np.zeros((h, 1), np.uint8), index])  # filter type 0 (None) before each row
    header = struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"PLTE", colours.tobytes())
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + _chunk(b"IEND", b""))


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for embedding."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
