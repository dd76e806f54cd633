"""Choose, train, calibrate and export the Whisper detector's head.

``evaluate`` trains a head per held-out fold (:mod:`voiceguard.training.heldout`) on
cached embeddings (:mod:`voiceguard.training.embeddings`) and writes the fold scores and
their EER summary; ``export`` trains the chosen configuration on every training clip,
calibrates it on the out-of-fold scores of its leave-one-repository-out run (scores of
systems each fold's model never saw: the calibration is then about unseen systems, not
seen ones) and writes a detector config with its weights::

    python -m voiceguard.training.whisper_head evaluate EMB --layers 3 --hidden 256 --scheme repo -o R.json
    python -m voiceguard.training.whisper_head export EMB --from R.json --out models/ --name whisper-base
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import VoiceguardError
from voiceguard.training.heldout import (
    HeadConfig,
    clip_info,
    evaluate_folds,
    folds,
    pooled_scores,
    summarise_folds,
    to_json,
    train_head,
)

__all__ = ["run_evaluation", "export_model", "main"]


def _used_windows(table: Any) -> np.ndarray:
    """Windows that scoring would aggregate (speech fraction rule of :mod:`voiceguard.detect`)."""
    from voiceguard.detect.aggregate import used_segments

    keep = np.zeros(len(table.clip), bool)
    order = np.argsort(table.clip, kind="stable")
    clips = table.clip[order]
    starts = np.flatnonzero(np.r_[True, clips[1:] != clips[:-1]])
    ends = np.r_[starts[1:], len(clips)]
    for a, b in zip(starts, ends):
        idx = order[a:b]
        keep[idx] = used_segments(table.speech_fraction[idx], 0.25)
    return keep


def _inputs(table: Any, cfg: HeadConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    keep = _used_windows(table)
    X = table.features(cfg.layers)[keep]
    return X, table.clip[keep], table.speech_fraction[keep]


def _load_fixed_head(model: str | Path) -> tuple[Any, HeadConfig]:
    """A shipped or exported pooled-statistics head, and the layers it reads."""
    import torch

    from voiceguard.detect.nets import PooledHead

    path = Path(model)
    cfg = json.loads(path.read_text(encoding="utf-8"))
    if cfg.get("kind") != "whisper":
        raise VoiceguardError(f"{path}: --fixed needs a Whisper pooled-head model, got kind {cfg.get('kind')!r}")
    head = PooledHead(**{k: v for k, v in cfg["head"].items() if k != "kind"})
    head.load_state_dict(torch.load(path.parent / cfg["weights"], map_location="cpu", weights_only=True))
    head.eval()
    return head, HeadConfig(layers=tuple(int(k) for k in cfg["frontend"]["layers"]))


def run_evaluation(emb: str | Path, cfg: HeadConfig, scheme: str, *, log: Any = print,
                   fixed: str | Path | None = None, save_models: str | Path | None = None) -> dict[str, Any]:
    """Held-out evaluation of one head configuration; returns scores and summary.

    With ``fixed`` (a model config), no head is trained: that model scores every fold's
    test trials as it is (how an already shipped model fares on the same folds).
    """
    from voiceguard.training.embeddings import load
    from voiceguard.training.heldout import clip_scores

    table = load(emb)
    info = clip_info(table.clips)
    t0 = time.time()
    if fixed is not None:
        head, cfg = _load_fixed_head(fixed)
        X, cw, sf = _inputs(table, cfg)
        res = {"config": {**dataclasses.asdict(cfg), "fixed": str(fixed)}, "scheme": scheme, "folds": {}}
        for name, _, test in folds(info, scheme):
            clips = np.flatnonzero(test)
            res["folds"][name] = {"clips": clips.tolist(), "scores": clip_scores(head, X, cw, sf, clips).tolist()}
    else:
        X, cw, sf = _inputs(table, cfg)
        res = evaluate_folds(X, cw, sf, info, cfg, scheme, n_layer_inputs=len(cfg.layers), log=log,
                             save_models=save_models)
    res["summary"] = summarise_folds(res, info)
    res["embeddings"] = table.meta
    pct = {k: "-" if v is None else f"{v:.1%}" for k, v in res["summary"]["pooled"].items()}
    log(f"{cfg.describe()} {scheme}: pooled {pct['all']} (16k {pct['16k']}, tel {pct['tel']}), worst "
        f"{res['summary']['worst']['fold']} {res['summary']['worst']['eer']:.1%}, mean {res['summary']['mean']:.1%}"
        f" [{time.time() - t0:.0f} s]")
    return res


def export_model(emb: str | Path, evaluation: dict[str, Any], out: str | Path, *, name: str,
                 false_alarm_rate: float = 0.05, log: Any = print) -> Path:
    """Train the evaluated configuration on everything and write ``detector.json`` + weights.

    The calibration is fitted on the evaluation's out-of-fold scores, and the default
    verdict threshold flags ``false_alarm_rate`` of its held-out bona fide trials.
    """
    import torch

    from voiceguard.training.embeddings import load

    table = load(emb)
    info = clip_info(table.clips)
    cfg = HeadConfig(**{**evaluation["config"], "layers": tuple(evaluation["config"]["layers"]),
                        "exclude_families": tuple(evaluation["config"].get("exclude_families", ()))})
    X, cw, _ = _inputs(table, cfg)
    (_, train_clips, _), = folds(info, "none")
    t0 = time.time()
    head = train_head(X, cw, info, train_clips, cfg, n_layer_inputs=len(cfg.layers))
    seconds = time.time() - t0
    decision = decision_fields(evaluation, info.label, false_alarm_rate)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = f"{name}.pt"
    torch.save(head.state_dict(), out / weights)
    meta = table.meta
    config = {
        "format": "voiceguard-detector",
        "version": 1,
        "name": name,
        "kind": "whisper",
        "weights": weights,
        **digest_fields(out / weights, meta["model"]),
        "sr": 16000,
        **_geometry(meta, cfg, int(X.shape[1])),
        "n_parameters": int(sum(p.numel() for p in head.parameters())),
        **decision,
        "training": {
            "embeddings": {k: v for k, v in meta.items() if k != "seconds"},
            "head": dataclasses.asdict(cfg),
            "n_train_clips": int(train_clips.sum()),
            "n_train_windows": int(train_clips[cw].sum()),
            "seconds": round(seconds, 1),
            "heldout": {"scheme": evaluation["scheme"], "summary": evaluation["summary"]},
        },
    }
    (out / f"{name}.json").write_text(json.dumps(config, indent=1, default=float) + "\n", encoding="utf-8")
    log(f"wrote {out / (name + '.json')} ({config['n_parameters']} head parameters, calibration "
        f"scale {decision['calibration']['scale']:.3f} offset {decision['calibration']['offset']:.3f})")
    return out / f"{name}.json"


def decision_fields(evaluation: dict[str, Any], label: np.ndarray, false_alarm_rate: float) -> dict[str, Any]:
    """The ``calibration``, ``prior``, ``threshold`` and ``threshold_meaning`` of an exported
    config: the calibration is fitted on the evaluation's pooled out-of-fold scores (every
    trial scored by a model that never saw its system), the threshold flags
    ``false_alarm_rate`` of its held-out bona fide trials."""
    from voiceguard.detect.calibration import fit_calibration, threshold_for_false_alarm_rate

    bona, spoof = pooled_scores(evaluation, label)
    cal = fit_calibration(bona, spoof)
    threshold = threshold_for_false_alarm_rate(cal.llr(bona), false_alarm_rate)
    n_bonafide, n_spoof, scheme = len(bona), len(spoof), evaluation["scheme"]
    return {
        "calibration": {**cal.to_dict(), "fitted_on": f"out-of-fold {scheme} scores", "n_bonafide": n_bonafide,
                        "n_spoof": n_spoof},
        "prior": 0.5,
        "threshold": round(threshold, 4),
        "threshold_meaning": f"flags {false_alarm_rate:.0%} of the held-out bona fide trials "
                             f"(out-of-fold {scheme} scores) at prior 0.5",
    }


def digest_fields(weights: Path, encoder: str) -> dict[str, Any]:
    """SHA-256 pins of the head's weights and of the encoder it reads (checked at load)."""
    import hashlib

    pins: dict[str, Any] = {"weights_sha256": {weights.name: hashlib.sha256(weights.read_bytes()).hexdigest()}}
    try:
        from voiceguard.detect.frontends.whisper import weights_sha256
    except ImportError:  # a voiceguard without encoder pins
        return pins
    return pins | {"encoder_sha256": {f"whisper-{encoder}": weights_sha256(encoder)}}


def _geometry(meta: dict[str, Any], cfg: HeadConfig, n_inputs: int) -> dict[str, Any]:
    """The ``frontend``, ``head`` and ``scoring`` sections for the geometry the features were
    extracted in: blocks encoded alone (:mod:`voiceguard.training.frames`) or chunks
    (:mod:`voiceguard.training.embeddings`)."""
    head = {"n_inputs": n_inputs, "n_layers": len(cfg.layers), "mix": cfg.mix, "hidden": cfg.hidden,
            "dropout": cfg.dropout}
    frontend = {"kind": "whisper", "model": meta["model"], "layers": list(cfg.layers)}
    scoring: dict[str, Any] = {"min_speech_fraction": 0.25, "min_speech_s": 0.5, "aggregate": "mean_llr"}
    if meta.get("block_s"):
        block, per = float(meta["block_s"]), int(meta["blocks_per_window"])
        frontend["block_s"] = block
        head = {"kind": "pooled", **head}
        scoring |= {"window_s": block * per, "hop_s": block, "blocks_per_window": per}
    else:
        scoring |= {"window_s": meta["window_s"], "hop_s": meta["hop_s"], "chunk_s": meta["chunk_s"]}
    return {"frontend": frontend, "head": head, "scoring": scoring}


def _config_from_args(args: argparse.Namespace) -> HeadConfig:
    return HeadConfig(layers=tuple(int(x) for x in args.layers.split(",")), mix=args.mix, hidden=args.hidden,
                      dropout=args.dropout, epochs=args.epochs, lr=args.lr, weight_decay=args.weight_decay,
                      seed=args.seed, balance=args.balance, bona_balance=args.bona_balance,
                      exclude_families=tuple(f for f in (args.exclude_families or "").split(",") if f))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voiceguard.training.whisper_head",
                                description="held-out evaluation and export of Whisper-encoder detector heads")
    sub = p.add_subparsers(dest="cmd", required=True)
    ev = sub.add_parser("evaluate", help="train one head per held-out fold and report EERs")
    ev.add_argument("emb", help="embedding folder (python -m voiceguard.training.embeddings)")
    ev.add_argument("--layers", default="3", help="comma-separated encoder layers (0 = stem)")
    ev.add_argument("--mix", default="concat", choices=["concat", "weighted"], help="how layers are combined")
    ev.add_argument("--hidden", type=int, default=0, help="MLP hidden units (0: logistic regression)")
    ev.add_argument("--dropout", type=float, default=0.1)
    ev.add_argument("--epochs", type=int, default=12)
    ev.add_argument("--lr", type=float, default=1e-3)
    ev.add_argument("--weight-decay", type=float, default=1e-2)
    ev.add_argument("--balance", default="system", choices=["system", "family", "none"])
    ev.add_argument("--bona-balance", default="", choices=["", "source", "none"],
                    help="bona fide weighting when it differs from --balance")
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument("--exclude-families", help="comma-separated spoof families left out of training (ablation)")
    ev.add_argument("--scheme", default="repo", choices=["repo", "family", "system", "repos"], help="held-out folds")
    ev.add_argument("--fixed", help="score the folds with this model config as it is, training nothing")
    ev.add_argument("--save-models", help="folder to keep each fold's head in (FOLD.pt)")
    ev.add_argument("-o", "--out", required=True, help="result JSON")
    ex = sub.add_parser("export", help="train the evaluated configuration on everything, calibrate, write a model")
    ex.add_argument("emb")
    ex.add_argument("--from", dest="source", required=True, help="a leave-one-repository-out result JSON")
    ex.add_argument("--out", required=True, help="output folder")
    ex.add_argument("--name", required=True, help="model name (file stem)")
    ex.add_argument("--false-alarm-rate", type=float, default=0.05,
                    help="share of held-out bona fide trials the default threshold flags (default 0.05)")
    ev.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(getattr(args, "threads", 1))
    try:
        if args.cmd == "evaluate":
            res = run_evaluation(args.emb, _config_from_args(args), args.scheme, fixed=args.fixed,
                                 save_models=args.save_models)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(to_json(res), encoding="utf-8")
        else:
            export_model(args.emb, json.loads(Path(args.source).read_text()), args.out, name=args.name,
                         false_alarm_rate=args.false_alarm_rate)
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
