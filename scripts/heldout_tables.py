#!/usr/bin/env python3
"""Markdown tables of held-out fold results (the model card's side-by-side tables).

    python scripts/heldout_tables.py runs/recipe/heads [--per-fold NAME ...]

Every ``*.json`` in the folder written by ``voiceguard.training.whisper_head evaluate`` or
``voiceguard.training.detector_folds`` becomes one row: pooled EER (all trials, 16 kHz,
telephone), the worst fold and the mean over folds. ``--per-fold`` adds a table with one
column per named result and one row per fold. ``--manifest CORPUS/manifest.tsv`` adds the
operating points: the share of held-out spoof trials missed when the threshold flags 1, 5
or 10 % of the held-out bona fide trials (pooled out-of-fold scores, one threshold), and
the breakdown table: the worst held-out group of each result (system cluster for the
``system`` scheme, repository for ``repos``, family for ``family``; groups with at least
20 spoof trials) and, with ``--languages`` (``path language probability`` of the demo
files, ``python -m voiceguard.data.languages``), pooled EERs on English and on
other-language trials apart. ``--groups NAME`` prints one result's per-group table.
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
    p.add_argument("--languages", help="languages.tsv of the demo files (adds English / other-language columns)")
    p.add_argument("--groups", nargs="*", default=[], help="result names whose per-group table is printed")
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
        breakdowns(results, args.manifest, args.languages, args.groups)
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


def clip_languages(info, manifest_rows, languages: str | None, demos_manifest: str | None = None):
    """Language of every corpus clip: demo clips from their source file's identified language
    (probability >= 0.6, else '-'), the shared corpora's own column otherwise."""
    import csv

    import numpy as np

    out = np.asarray([r.language or "-" for r in manifest_rows], dtype=object)
    if not languages:
        return out
    demos = Path(demos_manifest) if demos_manifest else Path(languages).parent / "MANIFEST.tsv"
    from voiceguard.data.build import _slug, _stable_int

    lang_of = {}
    with open(languages, encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            lang_of[r["path"]] = r["language"] if float(r["probability"]) >= 0.6 else "-"
    key_lang = {}
    with demos.open(encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t"):
            key = f"demo.{_slug(rec['repo'], 30)}.{_slug(Path(rec['path']).stem, 40)}.{_stable_int(rec['path']) % 10**6:06d}"
            key_lang[key] = lang_of.get(rec["path"], "-")
    for i, g in enumerate(info.group):
        if info.split[i] == "demo":
            out[i] = key_lang.get(str(g).rsplit("-", 1)[0], "-")
    return out


def breakdowns(results: dict, manifest: str, languages: str | None, groups: list[str]) -> None:
    """Worst held-out group, and English / other-language pooled EERs, of each result."""
    import numpy as np

    from voiceguard.data import read_manifest
    from voiceguard.evaluation.metrics import eer
    from voiceguard.training.heldout import clip_info
    from voiceguard.training.systemfolds import breakdown, clip_clusters

    rows = list(read_manifest(manifest))
    info = clip_info(rows)
    keys = {"system": clip_clusters(info), "repos": info.repo, "family": info.family, "repo": info.repo}
    lang = clip_languages(info, rows, languages)
    print("\nWorst held-out group (>= 20 spoof trials) and language split: EER (%)\n")
    print("| result | scheme | worst group | groups | English | other languages (bona fide / spoof trials) |")
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        key = keys.get(r.get("scheme"))
        table = breakdown(r, info, key, min_spoof=20) if key is not None else {}
        worst = max(table, key=lambda g: table[g]["all"]) if table else None
        cells = []
        for sel_lang in ("en", "other"):
            b_all, s_all = [], []
            for f in r["folds"].values():
                c, sc = np.asarray(f["clips"], int), np.asarray(f["scores"], float)
                ok = np.isfinite(sc)
                is_lang = (lang[c] == "en") if sel_lang == "en" else (~np.isin(lang[c], ["en", "-"]))
                b_all.append(sc[ok & is_lang & (info.label[c] == 1)])
                s_all.append(sc[ok & is_lang & (info.label[c] == 0)])
            b, sp = np.concatenate(b_all), np.concatenate(s_all)
            e = pct(float(eer(b, sp))) if len(b) and len(sp) else "-"
            cells.append(e if sel_lang == "en" else f"{e} ({len(b)} / {len(sp)})")
        w = f"{worst} {pct(table[worst]['all'])}" if worst else "-"
        print(f"| {name} | {r.get('scheme')} | {w} | {len(table)} | {cells[0]} | {cells[1]} |")
        if name in groups:
            print(f"\n{name}: per group, EER (%) all / 16 kHz / telephone (spoof trials)\n")
            print("| group | all | 16 kHz | telephone | spoof trials |")
            print("|---|---|---|---|---|")
            for g in sorted(table, key=lambda g: -table[g]["all"]):
                t = table[g]
                print(f"| {g} | {pct(t['all'])} | {pct(t['16k'])} | {pct(t['tel'])} | {t['n_spoof']} |")
            print()


if __name__ == "__main__":
    sys.exit(main())
