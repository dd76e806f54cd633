"""Score the bundled examples and put each one's true label beside the verdict.

Run by ``scripts/quickstart``: ``python scripts/_quickstart_examples.py [--threshold P]
[--prior P] [--model CONFIG]``. The true labels come from ``examples/labels.csv`` (the
clips are described in ``examples/ATTRIBUTION.md``). When the detector gets a clip wrong,
the output says so plainly: a demo that hid its detector's misses would oversell it.
Exit code 0 whenever the clips could be scored (a miss is a result, not a failure), 2
otherwise.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def read_labels(path: Path = EXAMPLES / "labels.csv") -> list[dict[str, str]]:
    """Rows ``{file, label, what}`` of the examples' label file."""
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def judgement(expected: str, verdict: str) -> str:
    """``'yes'``, or what kind of mistake the verdict is."""
    if verdict == expected:
        return "yes"
    if verdict == "no_speech":
        return "no verdict (too little speech)"
    if expected == "spoof":
        return "NO: missed, a synthetic clip judged real"
    return "NO: false alarm, real speech judged synthetic"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threshold", type=float, default=None)
    ap.add_argument("--prior", type=float, default=None)
    ap.add_argument("--model", default=None)
    args = ap.parse_args(argv)

    from voiceguard.detect.detector import Detector
    from voiceguard.errors import VoiceguardError

    try:
        det = Detector(args.model, prior=args.prior, threshold=args.threshold)
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    rows = read_labels()
    print(f"Scoring the bundled examples (examples/) with the detector {det.name}. TRUE is what each clip "
          "really is (examples/labels.csv; sources in examples/ATTRIBUTION.md).\n")
    w = max(4, *(len(r["file"]) for r in rows))
    print(f"{'FILE':<{w}}  {'TRUE':<8}  {'VERDICT':<9}  {'P(SPOOF)':>8}  RIGHT?")
    wrong = []
    for r in rows:
        try:
            res = det.score(EXAMPLES / r["file"])
        except VoiceguardError as exc:
            print(f"{r['file']:<{w}}  {r['label']:<8}  error      {exc}")
            return 2
        p = "-" if res.spoof_probability is None else f"{res.spoof_probability:8.3f}"
        verdict_word = judgement(r["label"], res.verdict)
        print(f"{r['file']:<{w}}  {r['label']:<8}  {res.verdict:<9}  {p:>8}  {verdict_word}")
        if verdict_word != "yes":
            wrong.append((r, res, verdict_word))
    print()
    n = len(rows)
    if not wrong:
        print(f"The detector got all {n} clips right.")
    else:
        print(f"The detector got {n - len(wrong)} of {n} clips right. It got these wrong:")
        for r, res, what in wrong:
            print(f"  - {r['file']} ({r['what']}): {what.removeprefix('NO: ')}.")
    print("No detector is perfect: its measured error rates and blind spots are in models/MODEL_CARD.md.")
    print("See where in each clip it heard synthetic speech: .venv/bin/voiceguard report examples/ -o report.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
