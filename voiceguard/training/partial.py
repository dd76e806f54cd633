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

``python -m voiceguard.training.partial score SPLICE_FRAMES --frames F --models FOLD_MODELS --evaluation R.json \
--model CFG -o S.json``
``python -m voiceguard.training.partial fit S.json --model CFG -o P.json`` (writes the rule into CFG)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.detect.aggregate import RecordingRule
from voiceguard.errors import VoiceguardError

__all__ = ["local_features", "fit_local", "fit_rule", "evaluate_rule", "main"]


def local_features(window_llrs: np.ndarray, used: np.ndarray) -> tuple[float, float, int]:
    """``(mean, min, n)`` of the used windows' LLRs of one recording."""
    x = np.asarray(window_llrs, float)[np.asarray(used, bool)]
    if not len(x):
        return float("nan"), float("nan"), 0
    return float(x.mean()), float(x.min()), int(len(x))


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


def _features(rows: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    keep = [r for r in rows if r["n"] > 0]
    return {"spoof": np.array([r["label"] == "spoof" for r in keep]), "mean": np.array([r["mean"] for r in keep]),
            "min": np.array([r["min"] for r in keep]), "n": np.array([r["n"] for r in keep], float),
            "fold": np.array([r["fold"] for r in keep]), "long": np.array([r["pair"].startswith("long") for r in keep])}


def fit_rule(f: dict[str, np.ndarray], cut: float, max_false_alarm: float, train: np.ndarray) -> RecordingRule:
    """The local rule fitted on ``train`` rows, its offset then raised until the bona fide
    training rows fall below the verdict cut (LLR) no more often than ``max_false_alarm``."""
    bona, spoof = train & ~f["spoof"], train & f["spoof"]
    rule = fit_local(np.c_[f["min"][bona], np.log(f["n"][bona])], np.c_[f["min"][spoof], np.log(f["n"][spoof])])
    for _ in range(2000):
        if np.mean(rule.llr(f["mean"][bona], f["min"][bona], f["n"][bona]) < cut) <= max_false_alarm:
            break
        rule.beta += 0.01
    return rule


def evaluate_rule(rows: list[dict[str, Any]], cut: float, max_false_alarm: float = 0.05) -> dict[str, Any]:
    """Cross-fitted by fold: each fold's recordings judged by a rule fitted on the other folds'.

    Returns the share of spliced recordings judged spoof and of untouched ones (the pairs'
    and the long recordings) flagged at the verdict cut, for the mean rule and the local
    rule, and both at the cut that flags ``max_false_alarm`` of the untouched recordings.
    """
    f = _features(rows)
    cross = np.empty(len(f["mean"]))
    for fold in sorted(set(f["fold"])):
        rule = fit_rule(f, cut, max_false_alarm, f["fold"] != fold)
        te = f["fold"] == fold
        cross[te] = rule.llr(f["mean"][te], f["min"][te], f["n"][te])

    def shares(llr: np.ndarray) -> dict[str, float]:
        bona = np.sort(llr[~f["spoof"]])
        at = bona[int(np.floor(max_false_alarm * len(bona)))]  # flags max_false_alarm of them
        return {"caught": float(np.mean(llr[f["spoof"]] < cut)),
                "false_alarms_pairs": float(np.mean(llr[~f["spoof"] & ~f["long"]] < cut)),
                "false_alarms_long": float(np.mean(llr[f["long"]] < cut)),
                "caught_at_matched_false_alarms": float(np.mean(llr[f["spoof"]] < at))}

    return {"n_spliced": int(f["spoof"].sum()), "n_untouched": int((~f["spoof"] & ~f["long"]).sum()),
            "n_long": int(f["long"].sum()), "cut_llr": cut, "max_false_alarm": max_false_alarm,
            "mean_llr": shares(f["mean"]), "min_mean_local": shares(cross)}


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
                                description="the partial-deepfake rule: score held-out splices, fit and apply the rule")
    sub = p.add_subparsers(dest="cmd", required=True)
    sc = sub.add_parser("score", help="score untouched/spliced pairs with the held-out fold models")
    sc.add_argument("splice_frames", help="frame cache of the splice set (python -m voiceguard.training.frames)")
    sc.add_argument("--frames", required=True, help="the main corpus frame cache the evaluation ran on")
    sc.add_argument("--models", required=True, help="folder of the by-system evaluation's fold weights")
    sc.add_argument("--evaluation", required=True, help="the by-system evaluation result JSON")
    sc.add_argument("--model", required=True, help="the exported model config whose calibration maps window scores")
    sc.add_argument("-o", "--out", required=True)
    ft = sub.add_parser("fit", help="evaluate the rule cross-fitted by fold, fit it on all, write it into a model")
    ft.add_argument("scores", help="output of `score`")
    ft.add_argument("--model", required=True, help="model config: its threshold is the verdict cut; "
                                                    "its scoring.aggregate is set to the fitted rule")
    ft.add_argument("--max-false-alarm", type=float, default=0.05)
    ft.add_argument("-o", "--out", required=True, help="evaluation JSON")
    args = p.parse_args(argv)
    try:
        return _score(args) if args.cmd == "score" else _fit(args)
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _score(args: argparse.Namespace) -> int:
    from voiceguard.detect.calibration import Calibration

    ev = json.loads(Path(args.evaluation).read_text(encoding="utf-8"))
    cal = Calibration.from_dict(json.loads(Path(args.model).read_text(encoding="utf-8"))["calibration"])
    rows = score_splices(args.splice_frames, args.models, ev, args.frames, cal)
    Path(args.out).write_text(json.dumps(rows) + "\n", encoding="utf-8")
    return 0


def _fit(args: argparse.Namespace) -> int:
    rows = json.loads(Path(args.scores).read_text(encoding="utf-8"))
    cfg_path = Path(args.model)
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    t = float(cfg["threshold"])
    prior = float(cfg.get("prior", 0.5))
    # spoof when P(spoof) >= t, P(spoof) = 1 / (1 + exp(llr + logit(prior)))
    cut = float(np.log((1 - t) / t) - np.log(prior / (1 - prior)))
    result = evaluate_rule(rows, cut, args.max_false_alarm)
    f = _features(rows)
    rule = fit_rule(f, cut, args.max_false_alarm, np.ones(len(f["mean"]), bool))
    result["rule"] = rule.to_config()
    cfg.setdefault("scoring", {})["aggregate"] = rule.to_config()
    cfg["partial_spoof"] = {k: result[k] for k in ("n_spliced", "n_untouched", "n_long", "mean_llr", "min_mean_local")}
    cfg_path.write_text(json.dumps(cfg, indent=1) + "\n", encoding="utf-8")
    Path(args.out).write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    for name in ("mean_llr", "min_mean_local"):
        r = result[name]
        print(f"{name:15s} caught {r['caught']:.1%} at the default threshold (false alarms: pairs "
              f"{r['false_alarms_pairs']:.1%}, long {r['false_alarms_long']:.1%}); caught "
              f"{r['caught_at_matched_false_alarms']:.1%} at {args.max_false_alarm:.0%} false alarms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
