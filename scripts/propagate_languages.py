#!/usr/bin/env python3
"""Fill in the language of demo files not yet identified, from files of the same page and system.

Language identification of all 8,965 demo files takes hours on 2 cores; it runs over a
shuffled manifest, so the files identified so far are a random sample. A page's system
speaks one language in most demos: an unidentified file gets the language of the
identified files of the same repository and system (or of the page's real recordings)
when at least ``--min-known`` of them were identified (probability >= 0.6) and
``--min-share`` of those agree; otherwise it stays unknown.

    python scripts/propagate_languages.py runs/demos/MANIFEST.tsv runs/demos/languages.tsv \
        -o runs/demos/languages-propagated.tsv

Output: the identified rows as they are (``how`` = identified) and the filled-in ones
(``how`` = propagated, ``probability`` = the agreeing share).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter, defaultdict


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("manifest")
    p.add_argument("languages")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--min-known", type=int, default=3)
    p.add_argument("--min-share", type=float, default=0.8)
    args = p.parse_args()
    with open(args.languages, encoding="utf-8") as f:
        known = {r["path"]: (r["language"], float(r["probability"])) for r in csv.DictReader(f, delimiter="\t")}
    with open(args.manifest, encoding="utf-8") as f:
        rows = list(csv.DictReader((line for line in f if not line.startswith("#")), delimiter="\t"))
    key = {r["path"]: (r["repo"], r["system"] if r["label"] == "spoof" else "bonafide") for r in rows}
    votes: dict[tuple, Counter] = defaultdict(Counter)
    for path, (lang, prob) in known.items():
        if prob >= 0.6 and path in key:
            votes[key[path]][lang] += 1
    n_prop = 0
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["path", "language", "probability", "how"])
        for r in rows:
            path = r["path"]
            if path in known:
                w.writerow([path, known[path][0], f"{known[path][1]:.3f}", "identified"])
                continue
            v = votes.get(key[path])
            if v and sum(v.values()) >= args.min_known:
                lang, n = v.most_common(1)[0]
                share = n / sum(v.values())
                if share >= args.min_share:
                    w.writerow([path, lang, f"{share:.3f}", "propagated"])
                    n_prop += 1
    print(f"{len(known)} identified, {n_prop} propagated, {len(rows) - len(known) - n_prop} unknown of {len(rows)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
