"""The ``whisper`` kind: one Whisper encoder pass per chunk, every window pooled from its
frames, a small head on top."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.detect.backends import LoadContext, load_torch_module
from voiceguard.detect.windows import Windows


class WhisperBackend:
    """One Whisper encoder pass per chunk; every window pooled from the frames it covers.

    Parameters
    ----------
    frontend : dict
        ``{'model': 'base' | 'tiny.en', 'layers': [int, ...]}``: which encoder, and which
        layers' outputs the head reads (the encoder runs up to the deepest one only).
    head : torch.nn.Module
        Maps ``pooled`` ``[n_windows, len(layers) * 2 * d_model]`` (mean and standard
        deviation of each layer's frames over the window) to ``[n_windows]`` raw scores.
    """

    def __init__(self, frontend: dict, head: Any) -> None:
        from voiceguard.detect.frontends.whisper import load_encoder

        self.frontend = frontend
        self.layers = [int(k) for k in frontend["layers"]]
        self.encoder = load_encoder(str(frontend.get("model", "base")), n_layers=max(1, max(self.layers)))
        self.sr = 16000
        self.head = head

    def pooled(self, y: np.ndarray, windows: Windows) -> np.ndarray:
        """Mean+std pooled layer outputs per window, ``[n_windows, len(layers) * 2 * d]``."""
        return pool_windows(encode_chunk(self.encoder, y, self.layers), windows)

    def score_chunk(self, y: np.ndarray, windows: Windows) -> np.ndarray:
        """Raw scores ``[len(windows)]`` of the windows of one chunk ``y``."""
        import torch

        x = torch.from_numpy(self.pooled(y, windows))
        with torch.inference_mode():
            return self.head(x).double().numpy().reshape(-1)


def encode_chunk(encoder: Any, y: np.ndarray, layers: Sequence[int]) -> list[Any]:
    """Hidden states ``[T', d]`` of ``layers`` for one chunk of 16 kHz audio (padded to 25 ms)."""
    from voiceguard.detect.frontends import whisper

    if len(y) < whisper.N_FFT:
        y = np.pad(y, (0, whisper.N_FFT - len(y)))
    return [s[0] for s in encoder.forward(whisper.log_mel(y), layers)]


def pool_windows(states: Sequence[Any], windows: Windows) -> np.ndarray:
    """Mean and standard deviation of each layer's frames inside each window.

    Parameters
    ----------
    states : sequence of torch.Tensor [shape=(T', d)]
        Encoder outputs of one chunk (:func:`encode_chunk`).
    windows : sequence of (start, stop)
        Sample ranges in the chunk; a window takes frames ``start // 320`` to
        ``ceil(stop / 320)`` (one encoder frame per 20 ms).

    Returns
    -------
    np.ndarray [shape=(n_windows, len(states) * 2 * d)], float32
        ``[mean_0, std_0, mean_1, std_1, ...]`` per window.
    """
    import torch

    from voiceguard.detect.frontends.whisper import HOP_LENGTH

    per_frame = 2 * HOP_LENGTH
    t = states[0].shape[0]
    out = np.empty((len(windows), len(states) * 2 * states[0].shape[1]), np.float32)
    for i, (a, b) in enumerate(windows):
        s = min(t - 1, a // per_frame)
        e = min(t, max(s + 1, -(-b // per_frame)))
        parts = []
        for h in states:
            w = h[s:e]
            parts += [w.mean(0), w.std(0, unbiased=False)]
        out[i] = torch.cat(parts).numpy()
    return out


def load(cfg: dict, weights_path: Path | None, ctx: LoadContext) -> WhisperBackend:
    """The Whisper encoder and pooled head of a ``whisper`` config, head weights from ``weights_path``."""
    from voiceguard.detect.nets import PooledHead

    head = load_torch_module(lambda: PooledHead(**cfg["head"]), weights_path, "the Whisper head")
    return WhisperBackend(dict(cfg["frontend"]), head)
