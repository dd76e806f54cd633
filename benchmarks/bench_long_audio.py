"""Long recordings: peak memory of enroll / verify and verify's time against ``score``.

Run::

    python benchmarks/bench_long_audio.py [--minutes 10 60] [--model fast] [--out benchmarks/results/long_audio.json]

For each length a recording of one reader is generated (the LibriSpeech test clip of
``tests/assets`` with pauses and a little noise, written to FLAC in pieces); then, each in a
fresh interpreter (so peak RSS is that command's own): ``voiceguard enroll`` of the file
(clone check included), ``voiceguard verify`` of it against that voiceprint, and
``voiceguard score`` of it. Reports peak RSS (``ru_maxrss`` of the child) and wall time,
and the ratios the issue asks for: peak RSS of the longest over the shortest file (aim
<= 1.5) and verify time over score time on the same file (aim <= 3). Never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"


def make_file(path: Path, minutes: float) -> None:
    import soundfile as sf

    y, sr = sf.read(SPEECH)
    rng = np.random.default_rng(7)
    unit = np.concatenate([y, np.zeros(8000), 0.7 * y, np.zeros(4000)])
    n = int(minutes * 60 * sr)
    with sf.SoundFile(path, "w", sr, 1, subtype="PCM_16") as fh:
        done = 0
        while done < n:
            k = min(unit.size, n - done)
            fh.write(unit[:k] + 0.003 * rng.standard_normal(k))
            done += k


def run(argv: list[str], env: dict) -> dict:
    """Run ``voiceguard ARGV`` in a child; its wall time and peak RSS."""
    code = ("import resource, sys, time; from voiceguard.cli import main; t = time.perf_counter(); "
            "rc = main(sys.argv[1:]); dt = time.perf_counter() - t; "
            "print('BENCH', rc, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env)
    line = [x for x in p.stderr.splitlines() if x.startswith("BENCH")]
    if not line:
        raise RuntimeError(f"voiceguard {' '.join(argv)} failed:\n{p.stderr[-2000:]}")
    _, rc, dt, rss = line[-1].split()
    return {"rc": int(rc), "seconds": float(dt), "peak_rss_mb": int(rss) / 1024.0}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, nargs="+", default=[10.0, 60.0])
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--model", default="fast", help="detector for enroll/verify/score (default: fast)")
    args = ap.parse_args(argv)
    mod = ["--model", args.model]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    rows = []
    with tempfile.TemporaryDirectory() as d:
        env["VOICEGUARD_HOME"] = d
        for m in sorted(args.minutes):
            f = Path(d) / f"reader_{m:g}min.flac"
            make_file(f, m)
            name = f"reader{m:g}"
            row = {"minutes": m, "model": args.model,
                   "enroll": run(["enroll", name, str(f), "--threads", "1", "--allow-spoof", "--format", "json", *mod], env),
                   "verify": run(["verify", name, str(f), "--threads", "1", "--no-progress", "--format", "jsonl", *mod], env),
                   "score": run(["score", str(f), "--threads", "1", "--no-progress", "--format", "jsonl", *mod], env)}
            row["verify_over_score_time"] = row["verify"]["seconds"] / row["score"]["seconds"]
            rows.append(row)
            print(json.dumps(row), flush=True)
            if args.out:  # keep what is measured if a long run is stopped
                args.out.parent.mkdir(parents=True, exist_ok=True)
                args.out.with_suffix(".partial.json").write_text(json.dumps(rows, indent=2) + "\n")
            f.unlink()
    lo, hi = rows[0], rows[-1]
    summary = {
        "rows": rows,
        "enroll_peak_rss_ratio": hi["enroll"]["peak_rss_mb"] / lo["enroll"]["peak_rss_mb"],
        "verify_peak_rss_ratio": hi["verify"]["peak_rss_mb"] / lo["verify"]["peak_rss_mb"],
        "lengths_min": [lo["minutes"], hi["minutes"]],
        "verify_over_score_time": {r["minutes"]: r["verify_over_score_time"] for r in rows},
        "note": "--allow-spoof: the generated file repeats one 3 s clip, which the fast detector may call spoof",
    }
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
