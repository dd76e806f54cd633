"""Cold-start wall time of ``voiceguard score`` on a 10 s clip vs ``python -c "import torch"``.

Each command runs as a fresh subprocess ``--runs`` times after ``--warmup`` discarded runs
(hyperfine-like: mean, standard deviation, min, median). Usage::

    python benchmarks/cold_start.py [--runs 10] [--warmup 2] [--json out.json]

The "cold" here is a new Python process with the OS file cache warm, which is what a user
running the command twice in a row sees.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

SPEECH = Path(__file__).resolve().parents[1] / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"


def _time(cmd: list[str], runs: int, warmup: int) -> dict[str, float]:
    times = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        dt = time.perf_counter() - t0
        if p.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr}")
        if i >= warmup:
            times.append(dt)
    return {"mean_s": statistics.mean(times), "stdev_s": statistics.stdev(times) if len(times) > 1 else 0.0,
            "min_s": min(times), "median_s": statistics.median(times), "runs": len(times)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    data, sr = sf.read(SPEECH)
    clip = np.tile(data, 4)[: 10 * sr]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip10s.wav"
        sf.write(path, clip, sr, subtype="PCM_16")
        cases = {
            "python -c 'import torch'": [sys.executable, "-c", "import torch"],
            "python -c 'import voiceguard'": [sys.executable, "-c", "import voiceguard"],
            "voiceguard score clip10s.wav": [sys.executable, "-m", "voiceguard", "score", str(path)],
        }
        results = {name: _time(cmd, args.runs, args.warmup) for name, cmd in cases.items()}
    for name, r in results.items():
        print(f"{name:<32} {r['mean_s'] * 1000:7.0f} ms +- {r['stdev_s'] * 1000:4.0f} ms "
              f"(min {r['min_s'] * 1000:.0f}, median {r['median_s'] * 1000:.0f}, {r['runs']} runs)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
