"""The ``resnet`` kind: LFCC of each chunk (C core), a 1-D ResNet per window (``--model fast``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.detect.backends import LoadContext, load_torch_module
from voiceguard.detect.frontends.lfcc import feature_windows
from voiceguard.detect.windows import Windows


class FeatureBackend:
    """LFCC/CQCC features of the chunk, scored per window by ``scorer``.

    Parameters
    ----------
    feature_config : dict
        ``features`` entry of the model config (see :func:`voiceguard.detect.frontends.lfcc.compute_features`).
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
        from voiceguard.detect.frontends.lfcc import compute_features

        feats = compute_features(y, self.sr, self.feature_config)
        if feats.shape[1] == 0:
            return np.full(len(windows), np.nan)
        return self._scorer(feature_windows(feats, windows, self.hop))


def resnet_scorer(net: Any, batch_size: int) -> Callable[[list[np.ndarray]], np.ndarray]:
    """Batch equal-length windows through a :class:`voiceguard.detect.nets.ResNet1D`."""

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


def load(cfg: dict, weights_path: Path | None, ctx: LoadContext) -> FeatureBackend:
    """The LFCC-ResNet of a ``resnet`` config, weights from ``weights_path``."""
    from voiceguard.detect.nets import ResNet1D

    net = load_torch_module(lambda: ResNet1D(**cfg["model"]), weights_path, "ResNet weights")
    return FeatureBackend(dict(cfg["features"]), resnet_scorer(net, ctx.batch_size))
