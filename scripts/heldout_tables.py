#!/usr/bin/env python3
"""Markdown tables of held-out fold results (the model card's side-by-side tables).

    python scripts/heldout_tables.py runs/recipe/heads [--per-fold NAME ...]

Every ``*.json`` in the folder written by ``voiceguard.training.whisper_head evaluate`` or
``voiceguard.training.detector_folds`` becomes one row: pooled EER (all trials, 16 kHz,
telephone), the worst fold and the mean over folds. ``--per-fold`` adds a table with one
column per named result and one row per fold. ``--manifest CORPUS/manifest.tsv`` adds the
operating points: the share of held-out spoof trials missed when the threshold flags 1, 5
or 10 % of the held-out bona fide trials (pooled out-of-fold scores, one threshold).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder")
    p.add_argument("--per-fold", nargs="*", default=[], help="result names (file stems) for the per-fold table")
    p.add_argument("--manifest", help="the corpus manifest the results score (adds the operating-point table)")
    args = p.parse_args()
    results = {}
    for f in sorted(Path(args.folder).glob("*.json")):
        r = json.loads(f.read_text())
        if "summary" in r and "pooled" in r["summary"]:
            results[f.stem] = r
    by_scheme: dict[str, list[str]] = {}
    for name, r in results.items():
        s = r["summary"]
        row = (f"| {name} | {pct(s['pooled']['all'])} | {pct(s['pooled']['16k'])} | {pct(s['pooled']['tel'])} | "
               f"{s['worst']['fold']} {pct(s['worst']['eer'])} | {pct(s['mean'])} |")
        by_scheme.setdefault(r.get("scheme", "?"), []).append(row)
    for scheme, rows in by_scheme.items():
        print(f"\nHeld out by {scheme}: EER (%)\n")
        print("| result | pooled | 16 kHz | telephone | worst fold | mean over folds |")
        print("|---|---|---|---|---|---|")
        print("\n".join(rows))
    if args.manifest:
        operating_points(results, args.manifest)
    if args.per_fold:
        chosen = [results[n] for n in args.per_fold]
        folds = list(chosen[0]["summary"]["per_fold"])
        print("\nPer fold: EER (%), all trials (spoof trials of the fold)\n")
        print("| fold | spoof trials | " + " | ".join(args.per_fold) + " |")
        print("|---|---|" + "---|" * len(chosen))
        for fold in folds:
            cells = [pct(r["summary"]["per_fold"].get(fold, {}).get("all")) for r in chosen]
            n = chosen[0]["summary"]["per_fold"][fold]["n_spoof"]
            print(f"| {fold} | {n} | " + " | ".join(cells) + " |")
    return 0


def operating_points(results: dict, manifest: str, rates: tuple[float, ...] = (0.01, 0.05, 0.10)) -> None:
    """Miss rate (%) at fixed false-alarm rates on the pooled held-out trials of each result."""
    import numpy as np

    from voiceguard.data import read_manifest
    from voiceguard.training.heldout import clip_info, pooled_scores

    label = clip_info(read_manifest(manifest)).label  # 1 bona fide, 0 spoof
    print("\nOperating points: spoof trials missed (%) at a share of bona fide trials flagged\n")
    print("| result | " + " | ".join(f"miss @ {r:.0%} false alarms" for r in rates) + " |")
    print("|---|" + "---|" * len(rates))
    for name, r in results.items():
        b, sp = pooled_scores(r, label)
        # scores are bona-fide-high: a trial is flagged when its score is at or below the threshold
        cells = [pct(float(np.mean(sp > np.quantile(b, rate, method="lower")))) for rate in rates]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    sys.exit(main())
