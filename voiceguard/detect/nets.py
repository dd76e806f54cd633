"""Detector networks: a lightweight 1-D ResNet on LFCC and the pooled head of the Whisper detector (torch).

(This module is ``nets`` rather than ``models`` because ``voiceguard.models`` is the
package holding the shipped weights, installed from the repository's ``models/``.)

ResNet design
-------------
LFCC and CQCC are cepstra: a DCT decorrelates the log spectrum, so neighbouring
coefficients are not neighbouring frequencies and 2-D "image" convolutions over them have
little to share. :class:`ResNet1D` therefore convolves along time only, with the 60
coefficients (20 static + deltas + delta-deltas) as input channels, as TDNN / x-vector
style systems do. This is also ~10x cheaper than a 2-D ResNet of the same depth: one
thread scores 10 s of audio in a few milliseconds.

Input handling inside the model, so that training and scoring cannot drift apart:

* per-utterance (per-window) feature normalisation -- every coefficient is standardised
  over the window's frames (cepstral mean and variance normalisation). The mean removes a
  stationary convolutive channel and the level (c0), the variance removes gain: what is
  left is the temporal/spectral detail the synthesis leaves behind.

Heads: ``'linear'`` (one bona fide logit, trained with binary cross-entropy) or
``'ocsoftmax'`` (one-class softmax, Zhang, Jiang & Li, IEEE SPL 2021: the bona fide class
is pulled within an angular margin of a learnt direction, spoofs are pushed out, which
generalises better to unseen attacks). Both give a raw score, higher = more bona fide,
that :mod:`voiceguard.detect.calibration` maps to an LLR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from voiceguard.errors import InvalidParameterError

__all__ = [
    "ResNet1D",
    "count_parameters",
    "MAX_PARAMETERS",
    "PooledHead",
]

#: The issue's budget for a "lightweight" network.
MAX_PARAMETERS = 1_000_000


class _Block(nn.Module):
    """Two 1-D convolutions with batch norm and a residual connection.

    ``[B, c_in, T] -> [B, c_out, ceil(T / stride)]``.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        pad = dilation * (kernel_size // 2)
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, stride, pad, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, 1, pad, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.shortcut: nn.Module
        if c_in != c_out or stride != 1:
            self.shortcut = nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm1d(c_out))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return F.relu(h + self.shortcut(x))


class ResNet1D(nn.Module):
    """Lightweight residual network over time for cepstral features.

    Parameters
    ----------
    n_features : int
        Input coefficients per frame (60 for the LFCC / CQCC presets).
    channels : sequence of int
        Width of each residual stage.
    strides : sequence of int
        Time stride of the first block of each stage (same length as ``channels``).
    blocks_per_stage : int
        Residual blocks per stage.
    kernel_size : int
        Temporal kernel (odd).
    stem_stride : int
        Time stride of the stem convolution (2 halves the frame rate to 50 Hz).
    embedding_dim : int
        Size of the utterance embedding before the head.
    head : {'linear', 'ocsoftmax'}
        Scoring head (see the module docstring).
    dropout : float
        Dropout on the pooled statistics during training.
    normalise : bool
        Per-window mean and variance normalisation of every coefficient.

    Notes
    -----
    Shapes for the defaults and a 4 s window (``T = 400`` frames)::

        x        [B, 60, 400]   features
        norm     [B, 60, 400]   standardised per coefficient over time
        stem     [B, 64, 200]   conv k=5, stride 2
        stage 1  [B, 64, 200]
        stage 2  [B, 128, 100]
        stage 3  [B, 128, 50]
        pool     [B, 256]       mean and standard deviation over time
        embed    [B, 64]
        score    [B]            higher = more bona fide
    """

    def __init__(
        self,
        *,
        n_features: int = 60,
        channels: Sequence[int] = (64, 128, 128),
        strides: Sequence[int] = (1, 2, 2),
        blocks_per_stage: int = 1,
        kernel_size: int = 3,
        stem_stride: int = 2,
        embedding_dim: int = 64,
        head: str = "linear",
        dropout: float = 0.1,
        normalise: bool = True,
    ) -> None:
        super().__init__()
        channels, strides = list(channels), list(strides)
        if len(channels) != len(strides) or not channels:
            raise InvalidParameterError(
                f"channels {channels} and strides {strides} must be non-empty and of equal length"
            )
        if kernel_size % 2 != 1:
            raise InvalidParameterError(f"kernel_size must be odd, got {kernel_size}")
        if head not in ("linear", "ocsoftmax"):
            raise InvalidParameterError(f"head must be 'linear' or 'ocsoftmax', got {head!r}")
        self.config = dict(
            n_features=n_features, channels=channels, strides=strides,
            blocks_per_stage=blocks_per_stage, kernel_size=kernel_size, stem_stride=stem_stride,
            embedding_dim=embedding_dim, head=head, dropout=dropout, normalise=normalise,
        )
        self.normalise_input = normalise
        self.stem = nn.Sequential(
            nn.Conv1d(n_features, channels[0], 5, stem_stride, 2, bias=False),
            nn.BatchNorm1d(channels[0]),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        c_in = channels[0]
        for c, s in zip(channels, strides):
            for j in range(blocks_per_stage):
                blocks.append(_Block(c_in, c, s if j == 0 else 1, kernel_size, 1))
                c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.embed = nn.Sequential(nn.Linear(2 * c_in, embedding_dim), nn.BatchNorm1d(embedding_dim), nn.ReLU())
        self.head = head
        if head == "linear":
            self.out = nn.Linear(embedding_dim, 1)
        else:
            self.center = nn.Parameter(torch.randn(embedding_dim) / math.sqrt(embedding_dim))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Per-window feature normalisation, ``[B, F, T] -> [B, F, T]``."""
        if not self.normalise_input:
            return x
        mean = x.mean(dim=2, keepdim=True)
        std = x.std(dim=2, keepdim=True, unbiased=False)
        return (x - mean) / (std + 1e-5)

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """Utterance embedding of already normalised features, ``[B, F, T] -> [B, E]``."""
        h = self.blocks(self.stem(x))  # [B, C, T']
        stats = torch.cat([h.mean(dim=2), h.std(dim=2, unbiased=False)], dim=1)  # [B, 2C]
        return self.embed(self.dropout(stats))

    def score_embedding(self, e: torch.Tensor) -> torch.Tensor:
        """Raw score from embeddings, ``[B, E] -> [B]`` (cosine for OC-softmax)."""
        if self.head == "linear":
            return self.out(e).squeeze(1)
        return F.normalize(e, dim=1) @ F.normalize(self.center, dim=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Raw bona fide score of each window, ``[B, F, T] -> [B]``."""
        return self.score_embedding(self.embedding(self.normalise(x)))


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


class PooledHead(nn.Module):
    """A small classifier on pooled encoder statistics (the Whisper detector's head).

    Input ``[B, n_layers * width]``: for each of ``n_layers`` encoder layers, the mean and
    standard deviation of its frames over the window (``width = 2 * d_model``). Steps:

    1. standardisation with the training set's mean and standard deviation (buffers, so
       they ship inside the weights and training and scoring cannot drift apart);
    2. ``mix='concat'``: the layers side by side; ``mix='weighted'``: a softmax-weighted
       sum of the layers (one learnt weight per layer, as in SUPERB probing);
    3. ``hidden == 0``: a linear logit (logistic regression); else ``Linear(hidden)``,
       GELU, dropout, ``Linear(1)``.

    Output ``[B]``: a raw score, higher = more bona fide.
    """

    def __init__(self, n_inputs: int, *, n_layers: int = 1, mix: str = "concat", hidden: int = 0,
                 dropout: float = 0.1) -> None:
        super().__init__()
        if n_inputs % n_layers:
            raise InvalidParameterError(f"n_inputs={n_inputs} is not a multiple of n_layers={n_layers}")
        if mix not in ("concat", "weighted"):
            raise InvalidParameterError(f"mix must be 'concat' or 'weighted', got {mix!r}")
        self.n_inputs, self.n_layers, self.mix = n_inputs, n_layers, mix
        self.mean: torch.Tensor
        self.scale: torch.Tensor
        self.register_buffer("mean", torch.zeros(n_inputs))
        self.register_buffer("scale", torch.ones(n_inputs))
        width = n_inputs if mix == "concat" else n_inputs // n_layers
        self.layer_logits = nn.Parameter(torch.zeros(n_layers)) if mix == "weighted" else None
        if hidden:
            self.net: nn.Module = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout),
                                                nn.Linear(hidden, 1))
        else:
            self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, 1))

    def set_normalisation(self, mean: np.ndarray, std: np.ndarray) -> None:
        """Standardise inputs with these statistics (``[n_inputs]`` each)."""
        self.mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.scale.copy_(1.0 / torch.clamp(torch.as_tensor(std, dtype=torch.float32), min=1e-4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) * self.scale
        if self.layer_logits is not None:
            w = torch.softmax(self.layer_logits, 0)
            x = (x.view(x.shape[0], self.n_layers, -1) * w[None, :, None]).sum(1)
        return self.net(x).squeeze(-1)
