"""The ``whisper`` kind: the Whisper encoder, every window pooled from its frames, a small
head on top.

Two geometries, chosen by the config's front end:

* **chunks** (no ``block_s``; the model shipped until issue 24): one encoder pass per chunk
  of up to ``scoring.chunk_s`` (10 s), every 4 s window pooled from the chunk's frames
  (:class:`WhisperBackend`);
* **blocks** (``"block_s": 2.0``): non-overlapping blocks encoded alone, a window is
  ``scoring.blocks_per_window`` consecutive blocks (:class:`BlockWhisperBackend`,
  :mod:`voiceguard.detect.blocks`); the head is ``"head": {"kind": "pooled"}`` (mean and
  standard deviation of each layer over the window) or ``"frames"`` (the frame sequence).
"""

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


class BlockWhisperBackend:
    """A block-geometry Whisper model: :attr:`block_model` encodes blocks and scores windows.

    Scoring goes through :meth:`voiceguard.detect.Detector.score` (offline), a
    :class:`voiceguard.detect.live.LiveStream` (live) or the service's scheduler, never
    through chunks: :meth:`score_chunk` says so.
    """

    def __init__(self, frontend: dict, head: Any, head_kind: str, blocks_per_window: int, *,
                 tuned: Any = None) -> None:
        from voiceguard.detect.blocks import BlockEncoder, BlockGeometry, BlockModel
        from voiceguard.detect.frontends.whisper import load_encoder

        self.frontend = frontend
        self.layers = [int(k) for k in frontend["layers"]]
        # with tuned blocks, the frozen encoder stops where they take over
        frozen = max(self.layers) if tuned is None else int(tuned.first)
        self.encoder = load_encoder(str(frontend.get("model", "base")), n_layers=max(1, frozen))
        self.sr = 16000
        self.head = head
        geometry = BlockGeometry.from_seconds(float(frontend["block_s"]), int(blocks_per_window), self.sr)
        self.block_model = BlockModel(BlockEncoder(self.encoder, self.layers, tuned=tuned), head, geometry,
                                      head_kind)

    def score_chunk(self, y: np.ndarray, windows: Windows) -> np.ndarray:
        from voiceguard.errors import InvalidParameterError

        raise InvalidParameterError("a block-geometry model scores recordings block by block, not chunks; "
                                    "use Detector.score or a LiveStream")


def load(cfg: dict, weights_path: Path | None, ctx: LoadContext) -> WhisperBackend | BlockWhisperBackend:
    """The Whisper encoder and head of a ``whisper`` config, head weights from ``weights_path``."""
    from voiceguard.detect import nets
    from voiceguard.errors import ModelError

    head_cfg = dict(cfg["head"])
    head_kind = str(head_cfg.pop("kind", "pooled"))
    frontend = dict(cfg["frontend"])
    if head_kind == "frames":
        return _load_frame_model(cfg, head_cfg, frontend, weights_path)
    if head_kind == "pooled":
        make: Any = lambda: nets.PooledHead(**head_cfg)
    else:
        raise ModelError(f"{cfg.get('name')}: head kind {head_kind!r} is not known to this voiceguard "
                         "(expected 'pooled' or 'frames'); update voiceguard")
    if head_kind != "pooled" and not frontend.get("block_s"):
        raise ModelError(f"{cfg.get('name')}: a {head_kind!r} head needs the block geometry (frontend.block_s)")
    head = load_torch_module(make, weights_path, "the Whisper head")
    if frontend.get("block_s"):
        per = int(cfg.get("scoring", {}).get("blocks_per_window", 2))
        return BlockWhisperBackend(frontend, head, head_kind, per)
    return WhisperBackend(frontend, head)


def _load_frame_model(cfg: dict, head_cfg: dict, frontend: dict, weights_path: Path | None) -> BlockWhisperBackend:
    """A frame-sequence head (and its tuned encoder blocks, ``"tuned": {"first", "n"}``): one
    weights file whose keys start with ``head.`` and ``tuned.``."""
    from voiceguard.detect import frame_nets
    from voiceguard.detect.frontends.whisper import WHISPER_MODELS
    from voiceguard.errors import ModelError

    if not frontend.get("block_s"):
        raise ModelError(f"{cfg.get('name')}: a 'frames' head needs the block geometry (frontend.block_s)")
    spec = WHISPER_MODELS.get(str(frontend.get("model", "base")))
    tuned_cfg = cfg.get("tuned")

    class _Both:  # one state dict for the head and the tuned blocks
        def __init__(self) -> None:
            self.head = frame_nets.FrameHead(**head_cfg)
            self.tuned = None
            if tuned_cfg:
                heads = 8 if spec is None or spec.d_model == 512 else 6
                self.tuned = frame_nets.TunedBlocks(int(head_cfg["d_model"]), heads, int(tuned_cfg["n"]),
                                                    int(tuned_cfg["first"]))

        def load_state_dict(self, state: dict) -> None:
            self.head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
            if self.tuned is not None:
                self.tuned.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("tuned.")})

        def eval(self) -> None:
            self.head.eval()
            if self.tuned is not None:
                self.tuned.eval()

    both = load_torch_module(_Both, weights_path, "the Whisper frame head")
    per = int(cfg.get("scoring", {}).get("blocks_per_window", 2))
    return BlockWhisperBackend(frontend, both.head, "frames", per, tuned=both.tuned)
