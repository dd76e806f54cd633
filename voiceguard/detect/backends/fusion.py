"""The ``fusion`` kind: a weighted sum of other models' calibrated LLRs on the same chunk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.detect.backends import LoadContext
from voiceguard.detect.windows import Windows
from voiceguard.errors import ModelError


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
        return self.bias + sum(w * llr for w, llr in zip(self.weights, llrs))


def load(cfg: dict, weights_path: Path | None, ctx: LoadContext) -> FusionBackend:
    """The member models of a ``fusion`` config (found beside it) and their weights."""
    members = []
    for m in cfg.get("members", []):
        name = str(m["model"])
        members.append(ctx.load_member(name if ctx.location.folder is None else ctx.location.folder / name))
    fusion = cfg.get("fusion", {})
    return FusionBackend(members, fusion.get("weights", []), fusion.get("bias", 0.0))
