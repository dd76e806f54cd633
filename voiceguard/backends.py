"""What turns a chunk of audio into one raw score per window: the model behind a Detector.

A backend gets one chunk (:class:`voiceguard.windows.Chunk`: 16 kHz mono samples and
the windows inside it) and returns the uncalibrated score of each window (higher = more
bona fide). :class:`voiceguard.scoring.Detector` does everything around it (decoding,
resampling, speech activity, chunking, calibration, aggregation), so every model kind
is scored, streamed and evaluated the same way.

==========  ============================================================================
kind        backend
==========  ============================================================================
resnet      :class:`FeatureBackend`: LFCC of the chunk (C core), a ResNet per window
whisper     :class:`WhisperBackend`: one Whisper encoder pass per chunk, each window
            pooled from its frames, a small head on top
fusion      :class:`FusionBackend`: a weighted sum of other models' calibrated LLRs
==========  ============================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import ModelError

__all__ = ["FeatureBackend", "WhisperBackend", "FusionBackend", "feature_windows", "encode_chunk", "pool_windows",
           "load_backend"]

Windows = Sequence[tuple[int, int]]


def feature_windows(feats: np.ndarray, windows: Windows, hop: int) -> list[np.ndarray]:
    """Cut frame-level features ``[F, T]`` of a chunk into its windows (sample ranges).

    A window ``(a, b)`` takes frames ``round(a / hop) .. round(b / hop)`` (the chunk's
    last frames for a window that ends at the chunk's end).
    """
    t = feats.shape[1]
    out = []
    for a, b in windows:
        s = min(t, int(round(a / hop)))
        e = min(t, max(s + 1, int(round(b / hop))))
        out.append(feats[:, s:e])
    return out


class FeatureBackend:
    """LFCC/CQCC features of the chunk, scored per window by ``scorer``.

    Parameters
    ----------
    feature_config : dict
        ``features`` entry of the model config (see :func:`voiceguard.scoring.compute_features`).
    scorer : callable
        ``scorer(list of [F, T_i] arrays) -> [n]`` raw scores.
    """

    def __init__(self, feature_config: dict, scorer: Callable[[list[np.ndarray]], np.ndarray]) -> None:
        self.feature_config = feature_config
        self.sr = int(feature_config.get("sr", 16000))
        self.hop = int(round(float(feature_config.get("hop_s", 0.01)) * self.sr))
        self._scorer = scorer

    def score_chunk(self, y: np.ndarray, windows: Windows) -> np.ndarray:
        """Raw scores ``[len(windows)]`` of the windows of one chunk ``y``."""
        from voiceguard.scoring import compute_features

        feats = compute_features(y, self.sr, self.feature_config)
        if feats.shape[1] == 0:
            return np.full(len(windows), np.nan)
        return self._scorer(feature_windows(feats, windows, self.hop))


def resnet_scorer(net: Any, batch_size: int) -> Callable[[list[np.ndarray]], np.ndarray]:
    """Batch equal-length windows through a :class:`voiceguard.nets.ResNet1D`."""

    def score(windows: list[np.ndarray]) -> np.ndarray:
        import torch

        out = np.empty(len(windows))
        i = 0
        with torch.inference_mode():
            while i < len(windows):
                j = i + 1
                while j < len(windows) and j - i < batch_size and windows[j].shape == windows[i].shape:
                    j += 1
                x = torch.from_numpy(np.stack(windows[i:j]).astype(np.float32, copy=False))
                out[i:j] = net(x).double().numpy()
                i = j
        return out

    return score


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
        from voiceguard.frontends.whisper import load_encoder

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
    from voiceguard.frontends import whisper

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

    from voiceguard.frontends.whisper import HOP_LENGTH

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


class FusionBackend:
    """``sum_i w_i * llr_i + b`` over the calibrated LLRs of other models on the same chunk.

    The fused score is itself a calibrated LLR (the weights and bias are fitted by
    logistic regression on held-out scores), so the fusion model's own calibration is
    the identity.
    """

    def __init__(self, members: list[Any], weights: Sequence[float], bias: float) -> None:
        if len(members) != len(weights) or not members:
            raise ModelError("a fusion model needs one weight per member model")
        self.members = members
        self.weights = np.asarray(weights, float)
        self.bias = float(bias)
        self.sr = members[0].sr

    def score_chunk(self, y: np.ndarray, windows: Windows) -> np.ndarray:
        llrs = [np.asarray(m.calibration.llr(m.backend.score_chunk(y, windows))) for m in self.members]
        return self.bias + sum(w * l for w, l in zip(self.weights, llrs))


def load_backend(cfg: dict, weights_path: Path | None, *, location: Any, batch_size: int) -> Any:
    """The backend a model config describes (weights read from ``weights_path``; the
    member configs of a fusion model are found beside it, at ``location``)."""
    kind = cfg.get("kind")
    if kind == "resnet":
        import torch

        from voiceguard.nets import ResNet1D

        try:
            state = torch.load(str(weights_path), map_location="cpu", weights_only=True)
            net = ResNet1D(**cfg["model"])
            net.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001 - any failure means an unusable file
            raise ModelError(f"cannot load ResNet weights {weights_path} ({exc}); retrain or reinstall") from None
        net.eval()
        return FeatureBackend(dict(cfg["features"]), resnet_scorer(net, batch_size))
    if kind == "whisper":
        import torch

        from voiceguard.nets import PooledHead

        try:
            state = torch.load(str(weights_path), map_location="cpu", weights_only=True)
            head = PooledHead(**cfg["head"])
            head.load_state_dict(state)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"cannot load the Whisper head {weights_path} ({exc}); retrain or reinstall") from None
        head.eval()
        return WhisperBackend(dict(cfg["frontend"]), head)
    if kind == "fusion":
        from voiceguard.scoring import Detector

        members = []
        for m in cfg.get("members", []):
            name = str(m["model"])
            members.append(Detector(name if location.folder is None else location.folder / name,
                                    batch_size=batch_size))
        fusion = cfg.get("fusion", {})
        return FusionBackend(members, fusion.get("weights", []), fusion.get("bias", 0.0))
    raise ModelError(f"unknown model kind {kind!r}; expected 'resnet', 'whisper' or 'fusion'")
