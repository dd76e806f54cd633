"""One resampler for everything voiceguard reads: inference, streaming and the training corpus."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Iterator
from fractions import Fraction

import numpy as np

from voiceguard.errors import InvalidParameterError


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
    up, down = _ratio(orig_sr, target_sr)
    out = resample_poly(np.asarray(y, dtype=np.float64), up, down, window=_poly_filter(up, down))
    return out[: _resampled_length(len(y), orig_sr, target_sr)]


@functools.lru_cache(maxsize=16)
def _poly_filter(up: int, down: int) -> np.ndarray:
    """The low-pass FIR that ``resample_poly(x, up, down)`` designs by default (Kaiser, beta 5,
    10 * max(up, down) taps each side), designed once per ratio: designing it took half the
    time of scoring a 10 s 44.1 kHz file, once per block. resample_poly copies it before use."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    h = firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    h.setflags(write=False)
    return h


def _ratio(orig_sr: float, target_sr: float) -> tuple[int, int]:
    ratio = Fraction(target_sr / orig_sr).limit_denominator(1000)
    return ratio.numerator, ratio.denominator


def _resampled_length(n: int, orig_sr: float, target_sr: float) -> int:
    return int(math.ceil(n * target_sr / orig_sr))


class StreamResampler:
    """:func:`resample` of a signal fed in consecutive pieces, bit-identical to the whole.

    Each output sample of the polyphase filter depends on the input samples within the
    filter's reach only, so the input is processed in stretches that start at multiples
    of the decimation factor, each with a margin of context on both sides beyond that
    reach; the outputs of a stretch are then exactly those of the whole signal. Memory
    holds the samples of one push plus the margins.

    Parameters
    ----------
    orig_sr, target_sr : float
        Rates in Hz (as for :func:`resample`).
    """

    def __init__(self, orig_sr: float, target_sr: float) -> None:
        if orig_sr <= 0 or target_sr <= 0:
            raise InvalidParameterError(f"sample rates must be positive, got {orig_sr} and {target_sr}")
        self.orig_sr, self.target_sr = orig_sr, target_sr
        self._identity = orig_sr == target_sr
        self._up, self._down = (1, 1) if self._identity else _ratio(orig_sr, target_sr)
        # scipy's resample_poly filter has 10 * max(up, down) taps on each side at the
        # upsampled rate: that many / up input samples, rounded up to whole decimation steps
        reach = 10 * max(self._up, self._down) / self._up + 2
        self._margin = self._down * int(math.ceil(reach / self._down))
        self._buf = np.zeros(0)
        self._buf_start = 0  # input index of self._buf[0]
        self._next = 0  # input index (multiple of down) whose outputs come next
        self._n_in = 0
        self._n_out = 0
        self._done = False

    def push(self, y: np.ndarray) -> np.ndarray:
        """Add input samples; returns the output samples that are now final (maybe none)."""
        if self._done:
            raise InvalidParameterError("StreamResampler.push after finish()")
        y = np.asarray(y, dtype=np.float64)
        self._n_in += y.size
        if self._identity:
            self._n_out += y.size
            return y
        self._buf = np.concatenate([self._buf, y]) if self._buf.size else y
        end = self._buf_start + self._buf.size
        stop = (end - self._margin) // self._down * self._down  # last input index fully covered
        if stop <= self._next:
            return np.zeros(0)
        return self._emit(stop, end)

    def finish(self) -> np.ndarray:
        """The remaining output samples (ends the stream)."""
        if self._done:
            return np.zeros(0)
        self._done = True
        if self._identity:
            return np.zeros(0)
        end = self._buf_start + self._buf.size
        if end == 0:
            return np.zeros(0)
        return self._emit(None, end)

    def _emit(self, stop: int | None, end: int) -> np.ndarray:
        from scipy.signal import resample_poly

        up, down = self._up, self._down
        lo = max(0, self._next - self._margin)
        hi = end if stop is None else min(end, stop + self._margin)
        seg = self._buf[lo - self._buf_start: hi - self._buf_start]
        out = resample_poly(seg, up, down, window=_poly_filter(up, down))
        first = self._next * up // down - lo * up // down
        if stop is None:
            total = _resampled_length(self._n_in, self.orig_sr, self.target_sr)
            last = total - lo * up // down
        else:
            last = stop * up // down - lo * up // down
        res = out[first:last]
        self._n_out += res.size
        if stop is not None:
            self._next = stop
            keep_from = max(0, stop - self._margin)
            self._buf = self._buf[keep_from - self._buf_start:].copy()
            self._buf_start = keep_from
        return res


def resampled_blocks(blocks: Iterable[np.ndarray], orig_sr: float, target_sr: float) -> Iterator[np.ndarray]:
    """Blocks of :func:`resample` of the concatenated ``blocks`` (bit-identical), in order."""
    rs = StreamResampler(orig_sr, target_sr)
    for b in blocks:
        out = rs.push(b)
        if out.size:
            yield out
    out = rs.finish()
    if out.size:
        yield out
