"""Issue 24 experiment: z-scored mean of several held-out results on the same folds (an ensemble of heads).

python scripts/experiments/ensemble_folds.py pb-L2+3-mlp-system pb-L1+2-mlp-system   # runs/heads/NAME.json
"""

import json
import sys

import numpy as np

from voiceguard.data import read_manifest
from voiceguard.training.heldout import clip_info, summarise_folds

info = clip_info(list(read_manifest("runs/corpus/manifest.tsv")))
names = sys.argv[1:]
rs = [json.load(open(f"runs/heads/{n}.json")) for n in names]
out = {"folds": {}, "scheme": rs[0]["scheme"]}
for fold in rs[0]["folds"]:
    c = rs[0]["folds"][fold]["clips"]
    S = []
    for r in rs:
        assert r["folds"][fold]["clips"] == c
        s = np.array(r["folds"][fold]["scores"])
        S.append((s - np.nanmean(s)) / np.nanstd(s))
    out["folds"][fold] = {"clips": c, "scores": list(np.mean(S, 0))}
s = summarise_folds(out, info)
print(names, {k: round(v, 4) for k, v in s["pooled"].items()}, s["worst"])
