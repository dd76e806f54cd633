"""EER of held-out evaluations on the repositories the shipped model never saw (ALLOWED2).

The shipped head (until issue 24) was trained on the ALLOWED.tsv pages; scored on the new
by-system folds it is judged partly on systems it trained on. Restricted to the ALLOWED2
repositories (spoof and bona fide of those pages only), every compared model is judged on
material it never saw.

    python scripts/unseen_by_shipped.py runs/heads/shipped-system.json:runs/emb-chunk10 \
        runs/heads/pb-L1+2-mlp-system-saved.json:runs/frames-base
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from voiceguard.data import read_manifest
from voiceguard.evaluation.metrics import eer

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "spoof-demos"


def allowed2() -> set[str]:
    with (SHARED / "ALLOWED2.tsv").open(newline="", encoding="utf-8") as f:
        return {r["repo"] for r in csv.DictReader(f, delimiter="\t")}


def pooled(result: dict) -> dict[int, float]:
    out: dict[int, float] = {}
    for f in result["folds"].values():
        out.update(zip(f["clips"], f["scores"]))
    return out


def main(argv: list[str]) -> int:
    repos = allowed2()
    for spec in argv:
        res_path, cache = spec.split(":")
        rows = list(read_manifest(Path(cache) / "clips.tsv"))
        scores = pooled(json.loads(Path(res_path).read_text(encoding="utf-8")))
        parts = {"ALLOWED2 (unseen by the shipped head)": lambda r: r.extra.get("repo") in repos,
                 "ALLOWED2, telephone": lambda r: r.extra.get("repo") in repos and r.condition.startswith("tel"),
                 "ALLOWED.tsv pages": lambda r: r.extra.get("repo") not in repos and r.domain == "demo"}
        line = [Path(res_path).stem]
        for name, keep in parts.items():
            b = [s for c, s in scores.items() if keep(rows[c]) and rows[c].label == "bonafide" and np.isfinite(s)]
            sp = [s for c, s in scores.items() if keep(rows[c]) and rows[c].label == "spoof" and np.isfinite(s)]
            line.append(f"{name}: EER {eer(np.array(b), np.array(sp)):.1%} ({len(b)} bona fide, {len(sp)} spoof)")
        print(" | ".join(line))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
