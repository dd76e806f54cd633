"""What turns a chunk of audio into one raw score per window: the model behind a Detector.

A backend gets one chunk (:class:`voiceguard.detect.windows.Chunk`: 16 kHz mono samples and
the windows inside it) and returns the uncalibrated score of each window (higher = more
bona fide). :class:`voiceguard.detect.Detector` does everything around it (decoding,
resampling, speech activity, chunking, calibration, aggregation), so every model kind
is scored, streamed and evaluated the same way.

==========  ============================================================================
kind        backend
==========  ============================================================================
resnet      :mod:`~voiceguard.detect.backends.resnet`: LFCC of the chunk (C core), a
            ResNet per window (``--model fast``)
whisper     :mod:`~voiceguard.detect.backends.whisper`: one Whisper encoder pass per
            chunk, each window pooled from its frames, a small head on top (the default)
fusion      :mod:`~voiceguard.detect.backends.fusion`: a weighted sum of other models'
            calibrated LLRs
==========  ============================================================================

**Adding a kind** is one module here with a ``load(cfg, weights, ctx)`` function that
returns an object with ``sr`` and ``score_chunk(y, windows) -> [n_windows]``, plus one
entry in :data:`BACKENDS`. Modules are imported when a config of their kind is loaded, so
torch and the encoders stay unloaded until needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from voiceguard.detect.windows import Windows
from voiceguard.errors import ModelError

__all__ = ["BACKENDS", "Backend", "LoadContext", "load_backend", "load_torch_module"]

#: Model kind (the config's ``kind``) -> module of this package that loads it.
BACKENDS: dict[str, str] = {
    "resnet": "resnet",
    "whisper": "whisper",
    "fusion": "fusion",
}


class Backend(Protocol):
    """What a Detector needs of a model: its rate and raw window scores of a chunk."""

    sr: int

    def score_chunk(self, y: np.ndarray, windows: Windows) -> np.ndarray: ...


@dataclass(frozen=True)
class LoadContext:
    """What a backend's ``load`` may use besides its config and weights.

    Attributes
    ----------
    location : Any
        Where the config lives (member configs of a fusion model are found beside it).
    batch_size : int
        Windows per forward pass.
    load_member : callable
        ``load_member(name_or_path) -> LoadedModel``: loads another model (fusion members)
        without the backends importing the loader that imports them.
    """

    location: Any
    batch_size: int
    load_member: Callable[[Any], Any]


def load_torch_module(make: Callable[[], Any], weights_path: Path | None, what: str) -> Any:
    """``make()`` with the state dict of ``weights_path`` loaded, in eval mode; any failure is
    a :class:`ModelError` naming ``what`` (a backend's network: ``'ResNet weights'``, ...)."""
    import torch

    try:
        state = torch.load(str(weights_path), map_location="cpu", weights_only=True)
        net = make()
        net.load_state_dict(state)
    except Exception as exc:  # any failure means an unusable file
        raise ModelError(f"cannot load {what} {weights_path} ({exc}); retrain or reinstall") from exc
    net.eval()
    return net


def load_backend(cfg: dict, weights_path: Path | None, ctx: LoadContext) -> Backend:
    """The backend a model config describes (weights read from ``weights_path``)."""
    kind = cfg.get("kind")
    name = BACKENDS.get(str(kind))
    if name is None:
        raise ModelError(f"unknown model kind {kind!r}; expected one of {', '.join(map(repr, BACKENDS))}")
    module = importlib.import_module(f"{__name__}.{name}")
    return module.load(cfg, weights_path, ctx)
