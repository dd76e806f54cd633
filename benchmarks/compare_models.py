"""Cost of one model against another per second of audio, on one core, as a ratio.

    python benchmarks/compare_models.py --model default --baseline OLD/detector.json \
        --seconds 60 --repeats 7 -o benchmarks/results/compare_models.json

Both models score the same real-speech recording (a LibriSpeech clip of ``tests/assets``
tiled to ``--seconds``) end to end (``Detector.score``: decode, VAD, encoder, head), one
thread each, alternately, so that a change of the machine's load falls on both; the ratio
of medians is what a deployment pays more (> 1) or less (< 1) for the new model. Also
the ``fast`` model's real-time factor, the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import soundfile as sf

from voiceguard import audio
from voiceguard.detect import Detector

SPEECH = Path(__file__).resolve().parents[1] / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"


def _recording(folder: Path, seconds: float) -> Path:
    y, sr = audio.load_mono(SPEECH)
    y = np.tile(y, int(np.ceil(seconds * sr / len(y))))[: int(seconds * sr)]
    path = folder / "speech.flac"
    sf.write(path, y, sr, subtype="PCM_16")
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default")
    p.add_argument("--baseline", required=True, help="the model to compare against (name or config)")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("-o", "--out")
    args = p.parse_args()
    import torch

    torch.set_num_threads(1)
    models = {"new": Detector(args.model, threads=1), "baseline": Detector(args.baseline, threads=1),
              "fast": Detector("fast", threads=1)}
    times: dict[str, list[float]] = {k: [] for k in models}
    with tempfile.TemporaryDirectory() as tmp:
        path = _recording(Path(tmp), args.seconds)
        for det in models.values():
            det.score(path)  # warm-up: weights, first allocations
        for _ in range(args.repeats):
            for k, det in models.items():
                t0 = time.perf_counter()
                det.score(path)
                times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {"seconds": args.seconds, "repeats": args.repeats, "models": {k: models[k].name for k in models},
           "median_s": med, "realtime_factor": {k: args.seconds / v for k, v in med.items()},
           "cost_ratio_new_over_baseline": med["new"] / med["baseline"], "load_avg": os.getloadavg()}
    print(json.dumps(out, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
