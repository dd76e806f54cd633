"""Block geometry: the Whisper encoder on non-overlapping blocks, windows of consecutive blocks.

A model whose front end says ``"block_s": 2.0`` (``{"kind": "whisper", "model": "base",
"layers": [2, 3], "block_s": 2.0}``) reads a recording (16 kHz) as **non-overlapping
blocks** of ``block_s`` seconds, each encoded alone: its own log-mel normalisation,
attention only inside the block, 100 encoder frames per full 2 s block. The last block holds
the rest of the recording (padded to 25 ms if shorter). A scoring **window** is
``blocks_per_window`` (2) consecutive blocks, one window per block boundary; a recording
of fewer blocks than one window is one window of all of them::

    blocks   | 0 | 1 | 2 | 3 |4|        (the last one holds the rest)
    windows  [0 1]                      one per block boundary, hop = one block
                 [1 2]
                     [2 3]
                         [3 4]

Every block is encoded exactly once, when it is complete, and a window's score depends on
its own blocks only; so a live call gets, as each block completes, the very window score
that scoring the whole recording gives: **streaming equals offline by construction**, and
costs what offline scoring costs.

The pieces, usable one by one (the service's scheduler batches blocks of many calls):

* :class:`BlockGeometry`: where blocks and windows lie (the definitions of the lead's
  training cache, :mod:`voiceguard.training.frames`: ``block_bounds``, ``window_blocks``);
* :class:`BlockSession`: one recording, fed 16 kHz samples in pieces of any size; says
  which blocks are complete, takes their frames back and says which windows are ready;
* :class:`BlockModel`: the encoder and the head: frames of a batch of blocks, raw scores
  of windows.

Determinism: the encoder's two stem convolutions run as explicit matrix products (the
same arithmetic as ``conv1d``), and the heads score one window at a time, so a block's
frames and a window's score do not depend on which other blocks share a batch (``conv1d``
picks its algorithm by batch size and differs in the last bits); a window's score is the
same bit for bit whether its recording is scored offline, streamed alone or streamed among
other calls.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError, ModelError

__all__ = ["BlockGeometry", "Block", "Window", "BlockSession", "BlockEncoder", "BlockModel", "SR"]

SR = 16000


@dataclass(frozen=True)
class BlockGeometry:
    """Where the blocks and windows of a recording lie (samples at 16 kHz).

    Parameters
    ----------
    block : int
        Samples per block (the last block of a recording holds the rest).
    blocks_per_window : int
        Consecutive blocks per scoring window.
    """

    block: int
    blocks_per_window: int = 2

    def __post_init__(self) -> None:
        if self.block < 400 or self.blocks_per_window < 1:
            raise InvalidParameterError(f"need block >= 400 samples (25 ms) and blocks_per_window >= 1, got "
                                        f"{self.block} and {self.blocks_per_window}")

    @classmethod
    def from_seconds(cls, block_s: float, blocks_per_window: int = 2, sr: int = SR) -> BlockGeometry:
        """A geometry of ``block_s``-second blocks."""
        return cls(int(round(float(block_s) * sr)), int(blocks_per_window))

    def bounds(self, n: int) -> list[tuple[int, int]]:
        """Sample ranges of the blocks of a recording of ``n`` samples."""
        if n <= 0:
            return []
        return [(a, min(n, a + self.block)) for a in range(0, n, self.block)]

    def windows(self, n_blocks: int) -> list[tuple[int, int]]:
        """Windows as block ranges ``(first, stop)`` of a recording of ``n_blocks`` blocks."""
        per = self.blocks_per_window
        if n_blocks <= per:
            return [(0, n_blocks)] if n_blocks else []
        return [(k, k + per) for k in range(n_blocks - per + 1)]

    def window_samples(self, n: int) -> list[tuple[int, int]]:
        """Windows of a recording of ``n`` samples as sample ranges."""
        b = self.bounds(n)
        return [(b[k0][0], b[k1 - 1][1]) for k0, k1 in self.windows(len(b))]


@dataclass
class Block:
    """A complete block of one recording: ``audio`` covers samples ``start .. start + len``."""

    index: int
    start: int
    audio: np.ndarray
    frames: Any = None  # tuple of torch.Tensor [T, d], one per layer, once encoded


@dataclass
class Window:
    """A window whose blocks are all encoded.

    ``frames`` holds one ``torch.Tensor [T, d]`` per layer (the blocks' frames end to end);
    ``start``/``stop`` are samples at 16 kHz; ``first``/``stop_block`` its block range.
    """

    first: int
    stop_block: int
    start: int
    stop: int
    frames: tuple[Any, ...]
    raw: float | None = None


class BlockSession:
    """The blocks and windows of one recording, fed 16 kHz samples in pieces of any size.

    Use::

        s = BlockSession(geometry)
        for blk in s.push(y16):            # blocks now complete, in order
            blk.frames = ...               # encode them (any batch, any time)
        ready = s.take_windows()           # windows whose blocks are all encoded, in order
        tail = s.finish()                  # the last, partial block (if any)

    With ``hop`` shorter than the block (the live path of a chunk-geometry model: 4 s units
    every 2 s, one unit per window) the units overlap; :meth:`finish` then cuts nothing.

    Memory: the samples of the block being filled, and the frames of the last
    ``blocks_per_window - 1`` encoded blocks.
    """

    def __init__(self, geometry: BlockGeometry, *, hop: int | None = None) -> None:
        self.geometry = geometry
        self.hop = geometry.block if hop is None else int(hop)
        if not 0 < self.hop <= geometry.block:
            raise InvalidParameterError(f"hop must lie in 1..{geometry.block}, got {hop}")
        self._buf = np.zeros(0)
        self._buf_start = 0  # absolute index of self._buf[0]
        self._n = 0  # samples received
        self._next_index = 0  # index of the next block to be cut
        self._delivered: list[Block] = []  # encoded blocks still needed by a window to come
        self._waiting: list[Block] = []  # cut, not yet consumed by take_windows (in order)
        self._n_windows = 0
        self._finished = False
        self._n_blocks_total: int | None = None

    @property
    def n_samples(self) -> int:
        """Samples received so far."""
        return self._n

    @property
    def n_blocks(self) -> int:
        """Blocks cut so far (complete ones, plus the tail after :meth:`finish`)."""
        return self._next_index

    @property
    def finished(self) -> bool:
        """Whether :meth:`finish` has been called."""
        return self._finished

    def push(self, y: np.ndarray) -> list[Block]:
        """Add samples; returns the blocks that are now complete."""
        if self._finished:
            raise InvalidParameterError("BlockSession.push after finish()")
        y = np.asarray(y, np.float64)
        out: list[Block] = []
        if not y.size:
            return out
        self._buf = np.concatenate([self._buf, y]) if self._buf.size else y.copy()
        self._n += y.size
        size, hop = self.geometry.block, self.hop
        while self._n >= self._next_index * hop + size:
            a = self._next_index * hop - self._buf_start
            out.append(self._cut(self._buf[a: a + size].copy()))
        keep_from = self._next_index * hop
        if keep_from > self._buf_start:
            self._buf = self._buf[keep_from - self._buf_start:].copy()
            self._buf_start = keep_from
        return out

    def finish(self) -> list[Block]:
        """End the recording; returns the last, partial block (empty list if none)."""
        if self._finished:
            return []
        self._finished = True
        out: list[Block] = []
        if self.hop == self.geometry.block and self._n > self._next_index * self.hop:
            out.append(self._cut(self._buf[self._next_index * self.hop - self._buf_start:].copy()))
        self._buf = np.zeros(0)
        self._n_blocks_total = self._next_index
        return out

    def _cut(self, audio: np.ndarray) -> Block:
        blk = Block(self._next_index, self._next_index * self.hop, audio)
        self._next_index += 1
        self._waiting.append(blk)
        return blk

    def take_windows(self) -> list[Window]:
        """The windows, in order, whose blocks are all encoded and that were not taken yet.

        A window is final as soon as its last block is complete and encoded; the one
        window of a recording shorter than a window is known only after :meth:`finish`.
        """
        out: list[Window] = []
        per = self.geometry.blocks_per_window
        while self._waiting and self._waiting[0].frames is not None:
            self._delivered.append(self._waiting.pop(0))
            last = self._delivered[-1].index
            if last + 1 >= per:
                out.append(self._window(self._delivered[-per:]))
                self._n_windows += 1
            self._delivered = self._delivered[-(per - 1):] if per > 1 else []
        total = self._n_blocks_total
        if total is not None and 0 < total < per and not self._waiting and self._n_windows == 0:
            out.append(self._window(self._delivered))
            self._n_windows += 1
        return out

    def _window(self, blocks: Sequence[Block]) -> Window:
        import torch

        n_layers = len(blocks[0].frames)
        frames = tuple(torch.cat([b.frames[i] for b in blocks]) if len(blocks) > 1 else blocks[0].frames[i]
                       for i in range(n_layers))
        return Window(blocks[0].index, blocks[-1].index + 1, blocks[0].start,
                      blocks[-1].start + len(blocks[-1].audio), frames)

    @property
    def pending(self) -> int:
        """Blocks cut and not yet consumed by :meth:`take_windows`."""
        return len(self._waiting)

    @property
    def encoded(self) -> bool:
        """Every block cut so far has its frames."""
        return all(b.frames is not None for b in self._waiting)

    @property
    def complete(self) -> bool:
        """Finished, and every block encoded and every window taken."""
        return self._finished and not self._waiting and (self._n_windows > 0 or self._n_blocks_total == 0)


class BlockEncoder:
    """A Whisper encoder run block by block: frames of the requested layers.

    Parameters
    ----------
    encoder : WhisperEncoder
        :func:`voiceguard.detect.frontends.whisper.load_encoder` with at least the deepest layer.
    layers : sequence of int
        Layers to return (``0`` = stem output with positions, ``k`` = after block ``k``).
    tuned : torch.nn.Module, optional
        Trainable copies of the encoder blocks above layer ``tuned.first`` (the lead's
        ``TunedBlocks``: ``tuned(x) -> [layer first + 1, ...]``); they run in each block's
        pass instead of the frozen blocks they replace.
    """

    def __init__(self, encoder: Any, layers: Sequence[int], *, tuned: Any = None) -> None:
        import torch

        self.encoder = encoder
        self.layers = [int(k) for k in layers]
        self.tuned = tuned
        deepest = max(self.layers)
        frozen = deepest if tuned is None else int(tuned.first)
        if not self.layers or min(self.layers) < 0 or frozen > encoder.n_layers:
            raise InvalidParameterError(f"layers must lie in 0..{encoder.n_layers}, got {list(layers)}")
        if tuned is not None and deepest > frozen + len(tuned.blocks):
            raise InvalidParameterError(f"layer {deepest} is above the tuned blocks "
                                        f"({frozen + 1}..{frozen + len(tuned.blocks)})")
        self.n_frozen = frozen
        m = encoder.module
        d = encoder.d_model
        # conv1d as matrix products: [(k, c_in), c_out] weights, k-major like the unfolded input
        self._w1 = m.conv1.weight.detach().permute(2, 1, 0).reshape(-1, d).contiguous()
        self._w2 = m.conv2.weight.detach().permute(2, 1, 0).reshape(-1, d).contiguous()
        self._b1, self._b2 = m.conv1.bias.detach(), m.conv2.bias.detach()
        self._torch = torch

    def _stem(self, mel: Any) -> Any:
        """``gelu(conv2(gelu(conv1(mel))))`` + positions, as matrix products: ``[B, T', d]``."""
        torch = self._torch
        from torch.nn import functional as F

        b, c, t = mel.shape
        x = F.pad(mel, (1, 1)).transpose(1, 2)  # [b, t + 2, c]
        cols = torch.cat([x[:, 0:t], x[:, 1:t + 1], x[:, 2:t + 2]], dim=2).reshape(b * t, 3 * c)
        h = F.gelu(torch.addmm(self._b1, cols, self._w1)).view(b, t, -1)
        h = F.pad(h, (0, 0, 1, 1))  # [b, t + 2, d]
        t2 = (t + 1) // 2
        cols = torch.cat([h[:, 0:2 * t2:2], h[:, 1:2 * t2 + 1:2], h[:, 2:2 * t2 + 2:2]], dim=2)
        x = F.gelu(torch.addmm(self._b2, cols.reshape(b * t2, -1), self._w2)).view(b, t2, -1)
        return x + self.encoder.module.positions[:t2]

    def _layers(self, mel: Any) -> list[Any]:
        """Requested layers of a batch of equal-length log-mels ``[B, 80, T]``: ``[B, T', d]`` each."""
        blocks = self.encoder.module.blocks
        x = self._stem(mel)
        states = {0: x}
        for i in range(self.n_frozen):
            x = blocks[i](x)
            states[i + 1] = x
        if self.tuned is not None and max(self.layers) > self.n_frozen:
            for j, h in enumerate(self.tuned(x)):
                states[self.n_frozen + 1 + j] = h
        return [states[k] for k in self.layers]

    def encode(self, blocks: Sequence[np.ndarray], *, batch: int = 16) -> list[tuple[Any, ...]]:
        """Frames of each block: a tuple of ``torch.Tensor [T, d]`` (one per layer).

        Blocks of equal length are batched ``batch`` at a time; the result of a block does
        not depend on the others (module docstring).
        """
        from voiceguard.detect.frontends import whisper

        torch = self._torch
        out: list[tuple[Any, ...] | None] = [None] * len(blocks)
        by_len: dict[int, list[int]] = {}
        for i, y in enumerate(blocks):
            by_len.setdefault(max(len(y), whisper.N_FFT), []).append(i)
        with torch.inference_mode():
            for n, idx in by_len.items():
                for s in range(0, len(idx), batch):
                    part = idx[s: s + batch]
                    mel = torch.stack([whisper.log_mel(_pad(blocks[i], n)) for i in part])
                    states = self._layers(mel)
                    for j, i in enumerate(part):
                        out[i] = tuple(st[j].clone() for st in states)
        return out  # type: ignore[return-value]


def _pad(y: np.ndarray, n: int) -> np.ndarray:
    return y if len(y) >= n else np.pad(y, (0, n - len(y)))


def pooled_statistics(frames: Sequence[Any]) -> Any:
    """``[mean_0, std_0, mean_1, std_1, ...]`` of a window's frames (``[T, d]`` per layer):
    ``torch.Tensor [len(frames) * 2 * d]``, as the pooled heads read them."""
    import torch

    parts = []
    for h in frames:
        parts += [h.mean(0), h.std(0, unbiased=False)]
    return torch.cat(parts)


@dataclass
class BlockModel:
    """A block-geometry detector backend: the block encoder and a head on windows.

    Parameters
    ----------
    encoder : BlockEncoder
    head : torch.nn.Module
        ``head_kind == 'pooled'``: ``[B, len(layers) * 2 * d] -> [B]`` (mean and std of each
        layer's frames over the window, :func:`pooled_statistics`); ``'frames'``:
        ``head(x [B, T, len(layers), d], mask [B, T] or None) -> [B]``.
    geometry : BlockGeometry
    head_kind : {'pooled', 'frames'}
    """

    encoder: BlockEncoder
    head: Any
    geometry: BlockGeometry
    head_kind: str = "pooled"
    sr: int = SR
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.head_kind not in ("pooled", "frames"):
            raise ModelError(f"unknown head kind {self.head_kind!r}; expected 'pooled' or 'frames'")

    def session(self) -> BlockSession:
        """A new :class:`BlockSession` in this model's geometry."""
        return BlockSession(self.geometry)

    def encode(self, blocks: Sequence[Block], *, batch: int = 16) -> None:
        """Encode ``blocks`` (of any recordings) in batches; sets each block's ``frames``."""
        if not blocks:
            return
        frames = self.encoder.encode([b.audio for b in blocks], batch=batch)
        for b, f in zip(blocks, frames):
            b.frames = f

    def score_windows(self, windows: Sequence[Window]) -> np.ndarray:
        """Raw scores of windows (one head pass per window: independent of batching); sets
        each window's ``raw``."""
        import torch

        out = np.empty(len(windows))
        with torch.inference_mode():
            for i, w in enumerate(windows):
                if self.head_kind == "pooled":
                    x = pooled_statistics(w.frames)[None]
                    out[i] = float(self.head(x).double().reshape(-1)[0])
                else:
                    x = torch.stack(w.frames, dim=1)[None]  # [1, T, L, d]
                    out[i] = float(self.head(x, None).double().reshape(-1)[0])
                w.raw = float(out[i])
        return out

    def warmup(self) -> None:
        """One pass over a silent block and its window (the calling thread's first pass
        is several times slower than the next: kernels are chosen and prepared)."""
        s = self.session()
        blocks = s.push(np.zeros(self.geometry.block * self.geometry.blocks_per_window))
        self.run(s, blocks)

    def run(self, session: BlockSession, blocks: Sequence[Block]) -> list[Window]:
        """Encode ``blocks`` of ``session`` now and return its windows that became ready, scored."""
        self.encode(blocks)
        ready = session.take_windows()
        self.score_windows(ready)
        return ready


def score_recording_blocks(model: BlockModel, pieces: Any, *, batch_blocks: int = 8,
                           on_window: Callable[[Window], None] | None = None) -> tuple[list[Window], int]:
    """All windows of a recording given as 16 kHz pieces (any sizes), scored.

    Blocks are encoded ``batch_blocks`` at a time as they complete (memory: one batch of
    audio and the frames of one block per window overlap).

    Returns
    -------
    windows : list of Window
        In order; their ``frames`` are dropped (``()``) once scored.
    n_samples : int
        Samples of the recording.
    """
    s = model.session()
    pending: list[Block] = []
    out: list[Window] = []

    def flush() -> None:
        for w in model.run(s, pending):
            w.frames = ()
            if on_window is not None:
                on_window(w)
            out.append(w)
        pending.clear()

    for y in pieces:
        pending += s.push(y)
        if len(pending) >= batch_blocks:
            flush()
    pending += s.finish()
    flush()
    return out, s.n_samples
