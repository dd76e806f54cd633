"""The LFCC front end of feature models (the LFCC-ResNet, ``--model fast``): LFCC of a chunk from the C core."""

from __future__ import annotations

import numpy as np

from voiceguard.detect.windows import Windows
from voiceguard.errors import InvalidParameterError, ModelError


def compute_features(y: np.ndarray, sr: int, feature_config: dict) -> np.ndarray:
    """Features of a mono signal already at the model's rate.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int
        Must equal ``feature_config['sr']``.
    feature_config : dict
        ``{'kind': 'lfcc', 'preset': str, 'sr': int}`` (the ``features`` entry of a
        model config).

    Returns
    -------
    np.ndarray [shape=(n_features, n_frames)], float32
        ``n_frames`` may be 0 when the signal is shorter than one analysis frame.
    """
    from voiceguard import features
    from voiceguard.errors import InputTooShortError

    kind = feature_config.get("kind", "lfcc")
    preset = feature_config.get("preset")
    if sr != feature_config.get("sr", sr):
        raise InvalidParameterError(f"features expected at {feature_config['sr']} Hz, got {sr} Hz")
    if kind != "lfcc":
        raise ModelError(f"unknown feature kind {kind!r} in the model config; expected 'lfcc'")
    kw = {} if preset is None else {"preset": preset}
    try:
        return features.lfcc(y, sr, **kw)
    except InputTooShortError:
        return np.zeros((int(feature_config.get("n_features", 60)), 0), np.float32)


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
