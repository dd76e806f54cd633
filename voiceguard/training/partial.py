"""The recording-level rule for partial deepfakes, chosen and calibrated on held-out material.

Averaging window evidence over a recording lets a few synthetic seconds spliced into a
real call through. The rule studied here keeps the mean and adds the strongest local
evidence, corrected for the number of windows (a long real call has more windows that can
look synthetic by chance):

    mean_llr  = mean of the window LLRs over speech windows      (today's rule)
    local_llr = alpha * min_w(window LLR) + beta + gamma * ln(n speech windows)
    llr       = min(mean_llr, local_llr)

``alpha, beta, gamma`` are fitted by logistic regression on held-out recordings: the
untouched and spliced pairs of :mod:`voiceguard.training.splices` scored by the fold
model that never saw the passage's system. The verdict threshold is then set on held-out
bona fide recordings of every length, so that real recordings are flagged no more often
than the threshold's stated rate.

``python -m voiceguard.training.partial SPLICE_FRAMES --models FOLD_MODELS --evaluation R.json -o P.json``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import VoiceguardError

__all__ = ["local_features", "fit_local", "RecordingRule", "main"]


def local_features(window_llrs: np.ndarray, used: np.ndarray) -> tuple[float, float, int]:
    """``(mean, min, n)`` of the used windows' LLRs of one recording."""
    x = np.asarray(window_llrs, float)[np.asarray(used, bool)]
    if not len(x):
        return float("nan"), float("nan"), 0
    return float(x.mean()), float(x.min()), int(len(x))


class RecordingRule:
    """``llr = min(mean, alpha * min + beta + gamma * ln n)`` (see the module docstring)."""

    def __init__(self, alpha: float, beta: float, gamma: float) -> None:
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)

    def local(self, wmin: np.ndarray, n: np.ndarray) -> np.ndarray:
        return self.alpha * np.asarray(wmin, float) + self.beta + self.gamma * np.log(np.maximum(np.asarray(n, float), 1))

    def llr(self, mean: np.ndarray, wmin: np.ndarray, n: np.ndarray) -> np.ndarray:
        return np.minimum(np.asarray(mean, float), self.local(wmin, n))

    def to_dict(self) -> dict[str, float]:
        return {"rule": "min_mean_local", "alpha": self.alpha, "beta": self.beta, "gamma": self.gamma}


def fit_local(bona: np.ndarray, spoof: np.ndarray, *, l2: float = 1e-3, iters: int = 200) -> RecordingRule:
    """Logistic regression of bona fide (1) vs spliced (0) on ``[min, ln n]`` rows.

    ``bona``/``spoof``: arrays ``[n, 2]`` of (window minimum LLR, ln of speech windows).
    The fitted log-odds are an LLR at prior 0.5 (both classes weighted alike).
    """
    X = np.vstack([bona, spoof]).astype(float)
    y = np.r_[np.ones(len(bona)), np.zeros(len(spoof))]
    w = np.r_[np.full(len(bona), 0.5 / len(bona)), np.full(len(spoof), 0.5 / len(spoof))] * len(y)
    A = np.c_[X[:, 0], np.ones(len(X)), X[:, 1]]
    theta = np.array([1.0, 0.0, 0.0])
    for _ in range(iters):
        z = A @ theta
        p = 1 / (1 + np.exp(-z))
        g = A.T @ (w * (p - y)) / len(y) + l2 * np.r_[theta[0], 0, theta[2]]
        H = (A * (w * p * (1 - p))[:, None]).T @ A / len(y) + l2 * np.diag([1, 1e-9, 1])
        step = np.linalg.solve(H, g)
        theta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return RecordingRule(*theta)


def _fold_of_cluster(evaluation: dict[str, Any], info: Any, clusters: np.ndarray) -> dict[str, str]:
    """Which fold of a by-system evaluation held out each cluster."""
    out: dict[str, str] = {}
    for fold, f in evaluation["folds"].items():
        c = np.asarray(f["clips"], int)
        for cl in set(clusters[c][info.label[c] == 0]):
            out[str(cl)] = fold
    return out


def _fold_scorer(evaluation: dict[str, Any], models: Path, main_table: Any) -> Any:
    """``scorer(fold, table, windows) -> raw scores`` with the fold's saved model: a frame model
    (:mod:`voiceguard.training.frame_head`) or a pooled head (:mod:`voiceguard.training.whisper_head`)."""
    import torch

    conf = dict(evaluation["config"])
    loaded: dict[str, Any] = {}
    if evaluation.get("kind") == "frames":
        from voiceguard.training.frame_head import FrameConfig, FrameModel, _encoder_for, score_windows

        cfg = FrameConfig(**{**conf, "layers": tuple(conf["layers"])})
        encoder = _encoder_for(main_table, cfg)

        def frames(fold: str, table: Any, wins: np.ndarray) -> np.ndarray:
            if fold not in loaded:
                m = FrameModel(cfg, main_table.pooled.shape[2] // 2, 8, encoder)
                m.load_state_dict(torch.load(models / f"{fold}.pt", map_location="cpu", weights_only=True))
                m.train(False)
                loaded[fold] = m
            return score_windows(loaded[fold], table, wins)

        return frames
    from voiceguard.detect.nets import PooledHead

    layers = [int(k) for k in conf["layers"]]

    def pooled(fold: str, table: Any, wins: np.ndarray) -> np.ndarray:
        X = table.features(layers)[wins]
        if fold not in loaded:
            h = PooledHead(X.shape[1], n_layers=len(layers), mix=conf.get("mix", "concat"),
                           hidden=int(conf.get("hidden", 0)), dropout=float(conf.get("dropout", 0.1)))
            h.load_state_dict(torch.load(models / f"{fold}.pt", map_location="cpu", weights_only=True))
            h.eval()
            loaded[fold] = h
        with torch.inference_mode():
            return loaded[fold](torch.from_numpy(np.ascontiguousarray(X, np.float32))).double().numpy()

    return pooled


def score_splices(splice_frames: str | Path, models: str | Path, evaluation: dict[str, Any], frames: str | Path,
                  calibration: Any) -> list[dict[str, Any]]:
    """Window LLRs of every untouched/spliced pair, scored by the fold model that held out the
    passage's system cluster (both recordings of a pair by the same model); long untouched
    recordings by every fold's model in turn."""
    from voiceguard.training.frames import FrameTable
    from voiceguard.training.heldout import clip_info
    from voiceguard.training.systemfolds import clip_clusters
    from voiceguard.training.whisper_head import _used_windows

    main_table = FrameTable(frames)
    main_info = clip_info(main_table.clips)
    fold_of = _fold_of_cluster(evaluation, main_info, clip_clusters(main_info))
    scorer = _fold_scorer(evaluation, Path(models), main_table)
    st = FrameTable(splice_frames)
    used = _used_windows(st)
    rows = list(st.clips)
    pair_fold = {r.extra["pair"]: fold_of.get(r.extra["cluster"]) for r in rows if r.label == "spoof"}
    folds_sorted = sorted(evaluation["folds"])
    every = np.arange(len(st.clip))
    out = []
    for c, r in enumerate(rows):
        pair = r.extra["pair"]
        # a long untouched recording is held out of every fold: any fold's model may score it
        fold = folds_sorted[c % len(folds_sorted)] if pair.startswith("long") else pair_fold.get(pair)
        if fold is None:
            continue
        wins = every[st.clip == c]
        llr = calibration.llr(scorer(fold, st, wins))
        mean, wmin, n = local_features(llr, used[wins])
        out.append({"clip": c, "pair": pair, "label": r.label, "fold": fold, "cluster": r.extra["cluster"],
                    "condition": r.condition, "duration_s": float(r.duration_s), "mean": mean, "min": wmin, "n": n,
                    "window_llrs": [round(float(x), 4) for x in llr], "used": used[wins].tolist(),
                    "splice": [r.extra.get("splice_start_s"), r.extra.get("splice_end_s")]})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voiceguard.training.partial",
                                description="score untouched/spliced pairs with the held-out fold models")
    p.add_argument("splice_frames", help="frame cache of the splice set (python -m voiceguard.training.frames)")
    p.add_argument("--frames", required=True, help="the main corpus frame cache the evaluation ran on")
    p.add_argument("--models", required=True, help="folder of the by-system evaluation's fold weights")
    p.add_argument("--evaluation", required=True, help="the by-system evaluation result JSON")
    p.add_argument("--model", help="an exported model config whose calibration maps window scores (default: a "
                                   "calibration fitted on the evaluation's pooled out-of-fold clip scores)")
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args(argv)
    from voiceguard.detect.calibration import Calibration, fit_calibration
    from voiceguard.data import read_manifest
    from voiceguard.training.heldout import clip_info, pooled_scores

    try:
        ev = json.loads(Path(args.evaluation).read_text(encoding="utf-8"))
        if args.model:
            cal = Calibration.from_dict(json.loads(Path(args.model).read_text(encoding="utf-8"))["calibration"])
        else:
            label = clip_info(read_manifest(Path(args.frames) / "clips.tsv")).label
            cal = fit_calibration(*pooled_scores(ev, label))
        rows = score_splices(args.splice_frames, args.models, ev, args.frames, cal)
        Path(args.out).write_text(json.dumps(rows) + "\n", encoding="utf-8")
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
