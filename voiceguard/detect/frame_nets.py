"""Networks on the Whisper encoder's frame sequence: the frame head and its tuned layers.

They are trained by :mod:`voiceguard.training.frame_head` and loaded by the ``whisper``
backend (``"head": {"kind": "frames", ...}``, optional ``"tuned": {"first": k, "n": n}``).

A window (two 2 s encoder blocks, up to 200 frames at 20 ms) is scored from the frames of
one or more encoder layers, not only from their mean and standard deviation:

1. **standardise** each layer's frames with the training set's per-dimension statistics
   (buffers, shipped inside the weights);
2. **mix layers**: a softmax-weighted sum, one learnt weight per layer (SUPERB-style);
3. **project** to ``hidden`` units (linear, GELU, dropout);
4. **temporal model** (optional): ``conv`` = residual 1-D convolutions (kernel 5,
   dilations 1, 2, 4), ``transformer`` = pre-norm self-attention layers; padded frames are
   masked;
5. **attentive statistics pooling** (Okabe et al., 2018): a learnt attention over frames
   gives a weighted mean and standard deviation;
6. **classifier**: linear, GELU, dropout, linear to one raw score (higher = bona fide).

:class:`TunedBlocks` holds trainable copies of encoder blocks above the last frozen one
(initialised from the Whisper weights): the fine-tuned model runs them per encoder block,
exactly where the frozen encoder would have run its own, so scoring stays block-wise.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from voiceguard.detect.frontends.whisper import encoder_block
from voiceguard.errors import InvalidParameterError

__all__ = ["FrameHead", "AttentiveStatsPool", "TunedBlocks"]


class AttentiveStatsPool(nn.Module):
    """Attention-weighted mean and standard deviation over frames: ``[B, T, h] -> [B, 2h]``."""

    def __init__(self, hidden: int, attention: int = 64) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.Linear(hidden, attention), nn.Tanh(), nn.Linear(attention, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        logits = self.score(x).squeeze(-1)  # [B, T]
        if mask is not None:
            logits = logits.masked_fill(~mask, float("-inf"))
        w = torch.softmax(logits, dim=1).unsqueeze(-1)
        mean = (w * x).sum(1)
        var = (w * (x - mean.unsqueeze(1)) ** 2).sum(1)
        return torch.cat([mean, torch.sqrt(var.clamp_min(1e-6))], dim=-1)


class _ConvBlock(nn.Module):
    def __init__(self, hidden: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.conv = nn.Conv1d(hidden, hidden, 5, padding=2 * dilation, dilation=dilation)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = self.norm(x)
        if mask is not None:
            h = h * mask.unsqueeze(-1)
        h = self.conv(h.transpose(1, 2)).transpose(1, 2)
        return x + self.drop(F.gelu(h))


class _AttnBlock(nn.Module):
    def __init__(self, hidden: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attn = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(hidden)
        self.ff = nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(2 * hidden, hidden))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        h = self.norm1(x)
        a, _ = self.attn(h, h, h, key_padding_mask=None if mask is None else ~mask, need_weights=False)
        x = x + a
        return x + self.ff(self.norm2(x))


class FrameHead(nn.Module):
    """A detector head on encoder frames (see the module docstring).

    Parameters
    ----------
    d_model : int
        Width of the encoder's frames.
    n_layers : int
        Encoder layers given side by side (input ``[B, T, n_layers, d_model]``).
    hidden : int
        Width after the projection.
    temporal : {'none', 'conv', 'transformer'}
    depth : int
        Temporal blocks.
    dropout : float
    """

    mean: torch.Tensor  # buffers, typed for the checker
    scale: torch.Tensor

    def __init__(self, d_model: int, n_layers: int, *, hidden: int = 128, temporal: str = "conv", depth: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if temporal not in ("none", "conv", "transformer"):
            raise InvalidParameterError(f"temporal must be 'none', 'conv' or 'transformer', got {temporal!r}")
        self.d_model, self.n_layers, self.hidden, self.temporal = d_model, n_layers, hidden, temporal
        self.register_buffer("mean", torch.zeros(n_layers, d_model))
        self.register_buffer("scale", torch.ones(n_layers, d_model))
        self.layer_logits = nn.Parameter(torch.zeros(n_layers))
        self.proj = nn.Sequential(nn.Linear(d_model, hidden), nn.GELU(), nn.Dropout(dropout))
        if temporal == "conv":
            self.blocks = nn.ModuleList([_ConvBlock(hidden, 2 ** i, dropout) for i in range(depth)])
        elif temporal == "transformer":
            self.blocks = nn.ModuleList([_AttnBlock(hidden, 4, dropout) for _ in range(depth)])
        else:
            self.blocks = nn.ModuleList()
        self.pool = AttentiveStatsPool(hidden)
        self.classify = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.GELU(), nn.Dropout(dropout),
                                      nn.Linear(hidden, 1))

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Standardise each layer's frames with these statistics (``[n_layers, d_model]``)."""
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.scale.copy_(1.0 / torch.clamp(torch.as_tensor(std, dtype=torch.float32), min=1e-4))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Raw scores ``[B]`` of frames ``x`` ``[B, T, n_layers, d_model]`` (``mask`` ``[B, T]``
        True where a frame is real, None when none is padding)."""
        x = (x - self.mean) * self.scale
        w = torch.softmax(self.layer_logits, 0)
        x = torch.einsum("btld,l->btd", x, w)
        x = self.proj(x)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.classify(self.pool(x, mask)).squeeze(-1)


class TunedBlocks(nn.Module):
    """Encoder blocks ``first .. first + n - 1`` as trainable modules.

    Parameters
    ----------
    d, heads, n : int
        Width, attention heads and number of blocks.
    first : int
        Index (0-based) of the first encoder block they replace: they read the output of
        layer ``first`` (``0`` = stem) and give layers ``first + 1 ..``.
    """

    def __init__(self, d: int, heads: int, n: int, first: int) -> None:
        super().__init__()
        self.first = first
        self.blocks = nn.ModuleList([encoder_block(d, heads) for _ in range(n)])

    @classmethod
    def from_encoder(cls, encoder: Any, first: int, n: int) -> TunedBlocks:
        """Copies of ``encoder``'s blocks ``first .. first + n - 1`` (a
        :class:`voiceguard.detect.frontends.whisper.WhisperEncoder` loaded with enough layers)."""
        if first + n > len(encoder.module.blocks):
            raise InvalidParameterError(f"the encoder holds {encoder.n_layers} blocks; cannot copy "
                                        f"{first}..{first + n - 1}")
        out = cls(encoder.d_model, encoder.heads, n, first)
        with torch.no_grad():
            for i, blk in enumerate(out.blocks):
                src = encoder.module.blocks[first + i]
                blk.load_state_dict({k: v.clone() for k, v in src.state_dict().items()})
        return out

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Outputs of every block, ``[layer first + 1, ...]``, for blocks of frames ``x``
        ``[n_blocks, T, d]`` (``mask`` ``[n_blocks, T]``)."""
        outs = []
        for blk in self.blocks:
            x = blk(x, mask)
            if mask is not None:
                x = x * mask.unsqueeze(-1)
            outs.append(x)
        return outs


def n_parameters(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))
