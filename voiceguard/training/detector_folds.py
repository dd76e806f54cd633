"""The same held-out folds for whole detectors: the LFCC-ResNet retrained per fold, any
fixed model scored as it is, and the fusion of two models' fold scores.

Results have the shape of :func:`voiceguard.training.heldout.evaluate_folds` (clip
indices of the corpus manifest and one score per clip), so every model of the model
card's table is measured on exactly the same trials::

    python -m voiceguard.training.detector_folds resnet CORPUS/manifest.tsv --scheme repo -o R.json
    python -m voiceguard.training.detector_folds fixed CORPUS/manifest.tsv --model fast --scheme repo -o F.json
    python -m voiceguard.training.detector_folds fuse A.json B.json -o FUSED.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import VoiceguardError
from voiceguard.training.heldout import clip_info, folds, summarise_folds, to_json

__all__ = ["resnet_folds", "fixed_model_folds", "fuse_folds"]


def _score_clips(model: Any, manifest: Any, clips: np.ndarray, threads: int = 2) -> np.ndarray:
    """Calibrated LLRs of clips, each scored as a recording by :class:`voiceguard.detect.Detector`."""
    from voiceguard.detect.detector import Detector

    det = model if isinstance(model, Detector) else Detector(model, threads=1)

    def one(i: int) -> float:
        try:
            r = det.score(manifest.resolve(manifest[int(i)]))
        except VoiceguardError:
            return float("nan")
        return float("nan") if r.llr is None else float(r.llr)

    with ThreadPoolExecutor(threads) as pool:
        return np.asarray(list(pool.map(one, clips)), float)


def resnet_folds(manifest_path: str | Path, scheme: str, work: str | Path, *, time_budget_s: float = 150.0,
                 log: Any = print) -> dict[str, Any]:
    """Train an LFCC-ResNet per fold and score each fold's held-out trials.

    Early stopping and calibration need validation clips that are not test trials: a
    tenth of each fold's training clips (whole source files, by ``group``) is set aside
    for them.
    """
    from voiceguard.data import read_manifest
    from voiceguard.data.manifest import Manifest
    from voiceguard.training.resnet import train

    m = read_manifest(manifest_path)
    info = clip_info(m)
    work = Path(work)
    res: dict[str, Any] = {"config": {"model": "lfcc-resnet", "time_budget_s": time_budget_s}, "scheme": scheme,
                           "folds": {}}
    t0 = time.time()
    for name, tr, te in folds(info, scheme):
        slug = name.replace("/", "+")
        out = work / slug
        cfg_path = out / "model.json"
        if not cfg_path.is_file():
            files = np.asarray([g.rsplit("-", 1)[0] for g in info.group], dtype=object)
            held_val = _tenth(files)
            rows = [dataclasses.replace(r, split="val" if held_val[i] else "train")
                    for i, r in enumerate(m) if tr[i]]
            train(Manifest(rows, m.root), out, time_budget_s=time_budget_s,
                  threads=2, jobs=2, cache_dir=work / "cache", name=f"lfcc-resnet-{slug}", log=lambda s: None)
        clips = np.flatnonzero(te)
        res["folds"][name] = {"clips": clips.tolist(), "scores": _score_clips(cfg_path, m, clips).tolist()}
        log(f"  fold {name}: {len(clips)} trials [{time.time() - t0:.0f} s]")
    res["summary"] = summarise_folds(res, info)
    return res


def _tenth(keys: np.ndarray) -> np.ndarray:
    import hashlib

    return np.asarray([int(hashlib.sha256(str(k).encode()).hexdigest()[:8], 16) % 10 == 0 for k in keys], bool)


def fixed_model_folds(manifest_path: str | Path, model: str, scheme: str, *, log: Any = print) -> dict[str, Any]:
    """Score every fold's held-out trials with one fixed model (no training: its "before" numbers)."""
    from voiceguard.data import read_manifest
    from voiceguard.detect.detector import Detector

    m = read_manifest(manifest_path)
    info = clip_info(m)
    det = Detector(model, threads=1)
    fl = folds(info, scheme)
    every = np.unique(np.concatenate([np.flatnonzero(te) for _, _, te in fl]))
    t0 = time.time()
    scores = dict(zip(every.tolist(), _score_clips(det, m, every).tolist()))
    log(f"  {len(every)} clips scored with {det.version} [{time.time() - t0:.0f} s]")
    res = {"config": {"model": det.version}, "scheme": scheme, "folds": {}}
    for name, _, te in fl:
        clips = np.flatnonzero(te)
        res["folds"][name] = {"clips": clips.tolist(), "scores": [scores[int(c)] for c in clips]}
    res["summary"] = summarise_folds(res, info)
    return res


def fuse_folds(a: dict[str, Any], b: dict[str, Any], info: Any) -> dict[str, Any]:
    """Logistic-regression fusion of two models' fold scores, each fold's weights fitted on
    the *other* folds' scores only (so the fused score of a fold is still of unseen systems)."""
    from voiceguard.training.fusion import fit_fusion

    names = [n for n in a["folds"] if n in b["folds"]]
    pairs = {}
    for n in names:
        ca, cb = np.asarray(a["folds"][n]["clips"]), np.asarray(b["folds"][n]["clips"])
        if not np.array_equal(ca, cb):
            raise VoiceguardError(f"fold {n}: the two results score different trials; rerun them on one corpus")
        sa, sb = np.asarray(a["folds"][n]["scores"], float), np.asarray(b["folds"][n]["scores"], float)
        pairs[n] = (ca, np.stack([sa, sb], 1))
    res: dict[str, Any] = {"config": {"fusion": [a["config"], b["config"]]}, "scheme": a["scheme"], "folds": {}}
    for n in names:
        others = [pairs[k] for k in names if k != n]
        X = np.concatenate([p[1] for p in others])
        y = info.label[np.concatenate([p[0] for p in others])]
        ok = np.all(np.isfinite(X), 1)
        w, bias = fit_fusion(X[ok], y[ok])
        c, Xn = pairs[n]
        res["folds"][n] = {"clips": c.tolist(), "scores": (Xn @ w + bias).tolist(), "weights": w.tolist(),
                           "bias": bias}
    res["summary"] = summarise_folds(res, info)
    return res


def export_fusion(members: Sequence[tuple[str, dict[str, Any], Any]], info: Any, out: str | Path, *,
                  name: str) -> Path:
    """Write a fusion model config over already exported member models.

    Parameters
    ----------
    members : sequence of (config file name, fold result, Calibration or None)
        Each member's config (a file beside ``out``), its leave-one-repository-out result,
        and the calibration that turns that result's scores into the member's LLRs
        (``None`` when the scores already are its calibrated LLRs).
    info : ClipInfo
    out : path
        Folder holding the members; the fusion config is written there.

    The fusion weights are fitted on the pooled out-of-fold scores (trials each fold's
    model never saw the system of), as the member calibrations are.
    """
    from voiceguard.training.fusion import fit_fusion

    names = [n for n in members[0][1]["folds"] if all(n in m[1]["folds"] for m in members)]
    cols, clips = [], None
    for _, res, cal in members:
        c = np.concatenate([np.asarray(res["folds"][n]["clips"], int) for n in names])
        s = np.concatenate([np.asarray(res["folds"][n]["scores"], float) for n in names])
        if clips is not None and not np.array_equal(c, clips):
            raise VoiceguardError("the member results score different trials; rerun them on one corpus")
        clips = c
        cols.append(s if cal is None else np.asarray(cal.llr(s), float))
    X = np.stack(cols, 1)
    ok = np.all(np.isfinite(X), 1)
    w, b = fit_fusion(X[ok], info.label[clips[ok]])
    # windows and chunks as the first member scores them (the Whisper head was trained on them)
    scoring = json.loads((Path(out) / members[0][0]).read_text(encoding="utf-8")).get("scoring", {})
    cfg = {"format": "voiceguard-detector", "version": 1, "name": name, "kind": "fusion", "sr": 16000,
           "members": [{"model": m[0]} for m in members], "scoring": scoring,
           "fusion": {"weights": [float(x) for x in w], "bias": float(b),
                      "fitted_on": "pooled out-of-fold leave-one-repository-out LLRs", "n_trials": int(ok.sum())},
           "calibration": {"scale": 1.0, "offset": 0.0}, "prior": 0.5, "threshold": 0.5}
    path = Path(out) / f"{name}.json"
    path.write_text(json.dumps(cfg, indent=1) + "\n", encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voiceguard.training.detector_folds",
                                description="held-out folds for whole detectors and fusions")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("resnet", help="retrain the LFCC-ResNet per fold and score the held-out trials")
    r.add_argument("manifest")
    r.add_argument("--scheme", default="repo", choices=["repo", "family"])
    r.add_argument("--work", required=True, help="folder for the fold models (resumable)")
    r.add_argument("--budget", type=float, default=150.0, help="training seconds per fold (default 150)")
    r.add_argument("-o", "--out", required=True)
    f = sub.add_parser("fixed", help="score the held-out trials with one fixed model")
    f.add_argument("manifest")
    f.add_argument("--model", required=True, help="model name ('fast', 'default') or config path")
    f.add_argument("--scheme", default="repo", choices=["repo", "family"])
    f.add_argument("-o", "--out", required=True)
    u = sub.add_parser("fuse", help="fuse two fold results (weights fitted on the other folds)")
    u.add_argument("manifest")
    u.add_argument("a")
    u.add_argument("b")
    u.add_argument("-o", "--out", required=True)
    args = p.parse_args(argv)
    try:
        if args.cmd == "resnet":
            res = resnet_folds(args.manifest, args.scheme, args.work, time_budget_s=args.budget)
        elif args.cmd == "fixed":
            res = fixed_model_folds(args.manifest, args.model, args.scheme)
        else:
            from voiceguard.data import read_manifest

            res = fuse_folds(json.loads(Path(args.a).read_text()), json.loads(Path(args.b).read_text()),
                             clip_info(read_manifest(args.manifest)))
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(to_json(res), encoding="utf-8")
        s = res["summary"]
        print(f"pooled {s['pooled']}, worst {s['worst']}, mean {s['mean']:.3f}")
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
