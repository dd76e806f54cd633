"""Throughput of ``voiceguard batch`` on a local Ray cluster: 1 worker vs 2 workers.

Usage::

    nice -n 5 python benchmarks/bench_batch.py [--recordings 300] [--seconds 10] [--repeats 3]
        [--part-size 16] [--model MODEL] [--out benchmarks/results/bench_batch.json]

What it does
------------
1. Writes ``--recordings`` FLAC files of ``--seconds`` each (16 kHz mono) into a temp
   folder: the 3 bona fide and 3 synthetic example clips (``tests/data``, ``examples/``),
   each tiled to the length, taken in turn (the same six encodings repeated under
   different names: every file is a distinct key and is scored).
2. Scores them once in this process with ``Detector(threads=1).score`` (the baseline:
   one core, no Ray).
3. Starts one local Ray (``ray_session(local=2)``) and, ``--repeats`` times, runs
   :func:`voiceguard.batch.run` into a fresh output folder with 1 worker and with 2
   workers (one torch thread each), alternating the order between repeats.

Reported per run: ``end_to_end`` recordings/s (the whole run: actor start, model load,
scoring, part writes) and ``steady`` recordings/s (the recordings of every batch but
the first, over the time from the first batch's status rows reaching the driver to the
last batch's: actor start-up and model load excluded); the
scaling factor is ``rate(2 workers) / rate(1 worker)`` of the same repeat. The machine's
load average is recorded before each run: on a shared machine other processes take
CPU time, so read the range over the repeats, not one number. Nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIPS = [ROOT / "tests" / "data" / "librispeech_118-121721-0000_3s.flac",
         ROOT / "tests" / "data" / "librispeech_1034-121119-0000_2.5s.flac",
         ROOT / "examples" / "bonafide_librispeech_1898.flac",
         ROOT / "examples" / "spoof_espeak.flac",
         ROOT / "examples" / "spoof_griffinlim_copy.flac",
         ROOT / "examples" / "spoof_world_copy.flac"]


def make_corpus(folder: Path, n: int, seconds: float) -> list[Path]:
    from voiceguard import audio

    folder.mkdir(parents=True, exist_ok=True)
    encoded = []
    for i, clip in enumerate(CLIPS):
        y, sr = audio.load_mono(clip, sr=16000)
        y = np.tile(y, int(np.ceil(seconds * sr / len(y))))[: int(seconds * sr)]
        p = folder / f"src{i}.flac"
        sf.write(p, y, sr, subtype="PCM_16")
        encoded.append(p.read_bytes())
        p.unlink()
    paths = []
    for k in range(n):
        p = folder / f"rec{k:05d}.flac"
        p.write_bytes(encoded[k % len(encoded)])
        paths.append(p)
    return paths


def baseline(paths: list[Path], model: str | None) -> dict:
    import torch

    from voiceguard.scoring import Detector

    torch.set_num_threads(1)
    det = Detector(model, threads=1)
    det.score(str(paths[0]))  # warm-up
    t0 = time.perf_counter()
    for p in paths:
        det.score(str(p))
    dt = time.perf_counter() - t0
    return {"recordings": len(paths), "seconds": dt, "recordings_per_s": len(paths) / dt}


def one_run(files: list[Path], workers: int, tmp: Path, part_size: int, model: str | None) -> dict:
    from voiceguard.batch import run

    out = tmp / f"out-{workers}-{time.monotonic_ns()}"
    arrivals: dict[str, list] = {}  # part -> [time its first row reached the driver, rows]

    def on_status(st: dict) -> None:
        arrivals.setdefault(st["part"], [time.perf_counter(), 0])[1] += 1

    load = os.getloadavg()
    t0 = time.perf_counter()
    summary = run([str(files[0].parent)], str(out), workers=workers, threads=1, part_size=part_size,
                  model=model, progress=False, on_status=on_status)
    wall = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    assert summary.scored == len(files) and summary.outcomes.get("error", 0) == 0, summary.describe()
    batches = sorted(arrivals.values())
    first, last = batches[0][0], batches[-1][0]
    # rows of the batches after the first, over the time between the first and the last batch
    steady = sum(n for _, n in batches[1:]) / (last - first) if last > first else float("nan")
    return {"workers": workers, "wall_s": wall, "end_to_end": len(files) / wall, "steady": steady,
            "first_batch_after_s": first - t0, "loadavg_1min_before": load[0], "parts": summary.parts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recordings", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each recording")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--part-size", type=int, default=16)
    ap.add_argument("--model", default=None, help="detector model (default: the shipped one)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    from voiceguard.batch import ray_session

    tmp = Path(tempfile.mkdtemp(prefix="vg-bench-batch-"))
    try:
        files = make_corpus(tmp / "in", args.recordings, args.seconds)
        base = baseline(files, args.model)
        print(f"baseline, 1 core, no Ray: {base['recordings_per_s']:.2f} recordings/s", flush=True)
        runs = []
        with ray_session(local=2):
            for r in range(args.repeats):
                for w in ((1, 2) if r % 2 == 0 else (2, 1)):
                    res = one_run(files, w, tmp, args.part_size, args.model)
                    res["repeat"] = r
                    runs.append(res)
                    print(f"repeat {r} workers {w}: end-to-end {res['end_to_end']:.2f} rec/s, steady "
                          f"{res['steady']:.2f} rec/s (load {res['loadavg_1min_before']:.1f})", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def rate(w: int, r: int, key: str) -> float:
        return next(x[key] for x in runs if x["workers"] == w and x["repeat"] == r)

    report: dict = {
        "benchmark": "bench_batch", "args": vars(args),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "audio_s_per_recording": args.seconds, "baseline_no_ray_1_core": base, "runs": runs, "summary": {},
    }
    for key in ("end_to_end", "steady"):
        s = report["summary"][key] = {}
        for w in (1, 2):
            vals = [x[key] for x in runs if x["workers"] == w]
            s[f"workers_{w}"] = {"min": min(vals), "median": statistics.median(vals), "max": max(vals)}
        factors = [rate(2, r, key) / rate(1, r, key) for r in range(args.repeats)]
        s["scaling_factor"] = {"min": min(factors), "median": statistics.median(factors), "max": max(factors)}
        print(f"{key}: 1 worker {s['workers_1']['min']:.2f}-{s['workers_1']['max']:.2f} rec/s, 2 workers "
              f"{s['workers_2']['min']:.2f}-{s['workers_2']['max']:.2f} rec/s, scaling x"
              f"{s['scaling_factor']['min']:.2f}-{s['scaling_factor']['max']:.2f} "
              f"(median x{s['scaling_factor']['median']:.2f})")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
        print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
