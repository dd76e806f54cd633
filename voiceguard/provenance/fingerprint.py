"""A robust acoustic fingerprint: sub-band energy-difference bits (Haitsma & Kalker).

Written from J. Haitsma and T. Kalker, "A Highly Robust Audio Fingerprinting System",
ISMIR 2002, adapted to speech and to the telephone band:

* the audio is mixed to mono and resampled to 8 kHz, so wideband, telephone (G.711) and
  re-encoded copies share one analysis (block by block: memory does not grow with the
  recording's length, but for the 5 bytes of fingerprint per 16 ms);
* frames of 0.2 s (Hann window, FFT of 2048 points) every 16 ms; the power spectrum is
  summed in 33 bands spaced logarithmically between 300 and 3400 Hz (the telephone band);
* each frame gives one 32-bit *sub-fingerprint*: bit ``m`` is 1 when the energy difference
  between bands ``m`` and ``m + 1`` grows from ``LAG`` frames earlier to this frame,
  ``F(n, m) = [E(n, m) - E(n, m+1)] - [E(n-LAG, m) - E(n-LAG, m+1)] > 0``. Signs of
  differences do not change with the level, and survive low bit-rate codecs: measured
  bit error rates against the original are about 0.08 (MP3 32 kbps), 0.10 (Opus 16 kbps),
  0.015 (G.711) and 0 (resampling, level), against 0.50 for unrelated speech;
* each frame's level (dB relative to the recording's loud frames, the 95th percentile)
  marks quiet frames, whose bits are noise;
* for look-up, the low ``KEY_BITS`` bits of a frame are its *key* (an inverted index
  maps keys to recordings and frames). A query frame also tries the keys with its
  ``FLIP_BITS`` least reliable bits (smallest energy-difference margin) flipped, as
  Haitsma & Kalker propose, so a key still hits when codec noise flipped a weak bit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from voiceguard.errors import InputTooShortError, InvalidParameterError

__all__ = ["Fingerprint", "fingerprint", "fingerprint_blocks", "VERSION", "SR", "HOP_S", "KEY_BITS", "bit_errors"]

#: Identifies the fingerprint definition; stored with every registered original.
VERSION = "hk32-8k-v1"
#: Analysis rate (Hz).
SR = 8000
FRAME = 1600  # 0.2 s
N_FFT = 2048
HOP = 128  # 16 ms
HOP_S = HOP / SR
LAG = 2
N_BITS = 32
FMIN, FMAX = 300.0, 3400.0
#: Low bits of a sub-fingerprint used as its look-up key.
KEY_BITS = 20
#: Weakest key bits flipped to make a query frame's extra keys (2 ** FLIP_BITS keys).
FLIP_BITS = 3
#: Frames quieter than this (dB re the loud level) carry no usable bits.
QUIET_DB = -35.0

_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


@dataclass
class Fingerprint:
    """The fingerprint of one recording.

    Attributes
    ----------
    bits : np.ndarray [shape=(n_frames,)], uint32
        Sub-fingerprints, one every :data:`HOP_S` seconds; sub-fingerprint ``i`` compares
        the analysis frames starting at ``i * HOP_S`` and ``(i + LAG) * HOP_S`` (0.2 s each).
    level_db : np.ndarray [shape=(n_frames,)], int8
        Frame level in dB relative to the recording's loud frames (clipped to -128..0).
    duration_s : float
        Duration of the audio.
    weak : np.ndarray [shape=(n_frames, FLIP_BITS)], uint8, optional
        Positions of each frame's least reliable key bits (queries only; not stored).
    """

    bits: np.ndarray
    level_db: np.ndarray
    duration_s: float
    weak: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        """int : number of sub-fingerprints."""
        return int(self.bits.size)

    @property
    def loud(self) -> np.ndarray:
        """np.ndarray [shape=(n_frames,)], bool : frames louder than :data:`QUIET_DB`."""
        return self.level_db.astype(np.float32) > QUIET_DB

    def frame_time(self, i: np.ndarray | int) -> np.ndarray | float:
        """Centre (s) of the audio that frame ``i`` summarises (frames ``i`` and ``i + LAG``
        of the analysis, ``i * HOP_S + 0.116`` s)."""
        return np.asarray(i) * HOP_S + (LAG * HOP + FRAME) / 2 / SR

    def keys(self) -> np.ndarray:
        """np.ndarray [shape=(n_frames,)], int64 : each frame's look-up key."""
        return (self.bits & np.uint32((1 << KEY_BITS) - 1)).astype(np.int64)

    def query_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Keys of the loud frames with their weak-bit variants.

        Returns
        -------
        keys : np.ndarray [shape=(n,)], int64
        frames : np.ndarray [shape=(n,)], int64
            The query frame each key comes from.
        """
        loud = np.flatnonzero(self.loud)
        base = self.keys()[loud]
        if self.weak is None:
            return base, loud
        weak = self.weak[loud].astype(np.int64)
        masks = np.zeros((loud.size, 1 << FLIP_BITS), np.int64)
        for v in range(1, 1 << FLIP_BITS):
            for j in range(FLIP_BITS):
                if v >> j & 1:
                    masks[:, v] ^= np.left_shift(1, weak[:, j])
        keys = base[:, None] ^ masks
        return keys.reshape(-1), np.repeat(loud, 1 << FLIP_BITS)

    def to_bytes(self) -> bytes:
        """Serialised bits and levels (little-endian), as stored in the registry."""
        return np.asarray(self.bits, "<u4").tobytes() + np.asarray(self.level_db, np.int8).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes, duration_s: float) -> Fingerprint:
        """Inverse of :meth:`to_bytes`."""
        if len(data) % 5:
            raise InvalidParameterError("a stored fingerprint is malformed (length not a multiple of 5 bytes)")
        n = len(data) // 5
        bits = np.frombuffer(data[: 4 * n], "<u4").astype(np.uint32)
        level = np.frombuffer(data[4 * n:], np.int8).copy()
        return cls(bits, level, float(duration_s))


@functools.lru_cache(maxsize=1)
def _band_edges() -> np.ndarray:
    """FFT-bin index where each of the ``N_BITS + 1`` bands starts, and where the last ends."""
    edges_hz = np.geomspace(FMIN, FMAX, N_BITS + 2)
    return np.ceil(edges_hz * N_FFT / SR).astype(np.int64)


class _Framer:
    """Band energies of the analysis frames of a signal at :data:`SR` fed in pieces."""

    def __init__(self) -> None:
        edges = _band_edges()
        self.lo, self.hi = int(edges[0]), int(edges[-1])
        self.starts = edges[:-1] - self.lo
        self.win = np.hanning(FRAME).astype(np.float32)
        self.buf = np.zeros(0, np.float32)
        self.out: list[np.ndarray] = []

    def push(self, x: np.ndarray, block_frames: int = 4096) -> None:
        import scipy.fft

        self.buf = np.concatenate([self.buf, np.asarray(x, np.float32)])
        n = 1 + (self.buf.size - FRAME) // HOP if self.buf.size >= FRAME else 0
        if n <= 0:
            return
        frames = np.lib.stride_tricks.sliding_window_view(self.buf, FRAME)[::HOP][:n]
        for s in range(0, n, block_frames):
            spec = scipy.fft.rfft(frames[s:s + block_frames] * self.win, n=N_FFT, axis=1, workers=1)
            spec = spec[:, self.lo:self.hi]
            power = spec.real ** 2 + spec.imag ** 2
            self.out.append(np.add.reduceat(power, self.starts, axis=1, dtype=np.float64))
        self.buf = self.buf[n * HOP:].copy()

    def energies(self) -> np.ndarray:
        return np.concatenate(self.out) if self.out else np.zeros((0, N_BITS + 1))


def fingerprint_blocks(blocks: Iterable[np.ndarray], sr: int, *, query: bool = False) -> Fingerprint:
    """Fingerprint a recording given as consecutive blocks of mono samples (bounded memory:
    one block and 5 bytes per 16 ms of audio).

    Parameters
    ----------
    blocks : iterable of np.ndarray [shape=(k,)]
        Mono float samples in [-1, 1] at ``sr``, in order (e.g.
        :func:`voiceguard.audio.open_stream`'s blocks).
    sr : int
    query : bool
        Also find each frame's weak bits (for look-ups).

    Returns
    -------
    Fingerprint
        Equal to :func:`fingerprint` of the concatenated blocks.

    Raises
    ------
    InputTooShortError
        Less than 0.25 s of audio.
    """
    from voiceguard.audio import resampled_blocks

    if sr < 4000:
        raise InvalidParameterError(f"sample rate {sr} Hz is too low for a fingerprint (need >= 4000 Hz)")
    n_in = 0

    def counted() -> Iterator[np.ndarray]:
        nonlocal n_in
        for b in blocks:
            n_in += len(b)
            yield b

    framer = _Framer()
    for x in resampled_blocks(counted(), sr, SR):
        framer.push(x)
    energy = framer.energies()
    if energy.shape[0] <= LAG + 2:
        raise InputTooShortError(f"{n_in / sr:.2f} s of audio is too short to fingerprint (need >= 0.25 s)")
    diff = energy[:, :-1] - energy[:, 1:]
    delta = diff[LAG:] - diff[:-LAG]
    weights = np.left_shift(np.uint64(1), np.arange(N_BITS, dtype=np.uint64))
    bits = ((delta > 0).astype(np.uint64) @ weights).astype(np.uint32)
    total = energy.sum(axis=1)
    level = 10.0 * np.log10(total + 1e-20)
    rel = np.clip(np.round(level - np.percentile(level, 95)), -128, 0).astype(np.int8)[LAG:]
    weak = None
    if query:
        # reliability of a bit: its margin relative to the frame's energy
        margin = np.abs(delta[:, :KEY_BITS]) / (total[LAG:, None] + total[:-LAG, None] + 1e-20)
        weak = np.argsort(margin, axis=1, kind="stable")[:, :FLIP_BITS].astype(np.uint8)
    return Fingerprint(bits, rel, n_in / float(sr), weak)


def fingerprint(y: np.ndarray, sr: int, *, query: bool = False) -> Fingerprint:
    """Fingerprint a mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio (any rate >= 4 kHz), float in [-1, 1] or integer PCM.
    sr : int
        Its sample rate.
    query : bool
        Also find each frame's weak bits (for look-ups).

    Returns
    -------
    Fingerprint

    Raises
    ------
    InvalidAudioError
        ``y`` is not mono, or holds NaN or infinite values.
    InputTooShortError
        Less than 0.25 s of audio.
    """
    from voiceguard.audio.convert import as_float_audio

    return fingerprint_blocks([as_float_audio(y)], int(sr), query=query)


def bit_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of differing bits between two equal-length arrays of uint32 sub-fingerprints.

    Returns
    -------
    np.ndarray [shape=(n,)], uint8
    """
    x = np.bitwise_xor(np.asarray(a, np.uint32), np.asarray(b, np.uint32))
    by = x.view(np.uint8).reshape(-1, 4)
    return _POPCOUNT[by].sum(axis=1, dtype=np.uint8)
