"""Throughput of ``voiceguard batch`` on a local Ray cluster: 1 worker vs 2 workers.

Usage::

    nice -n 5 python benchmarks/bench_batch.py [--recordings 300] [--seconds 10] [--repeats 3]
        [--part-size 16] [--model MODEL] [--out benchmarks/results/bench_batch.json]

What it does
------------
1. Writes ``--recordings`` FLAC files of ``--seconds`` each (16 kHz mono) into a temp
   folder: the 3 bona fide and 3 synthetic example clips (``tests/assets``, ``examples/``),
   each tiled to the length, taken in turn (the same six encodings repeated under
   different names: every file is a distinct key and is scored).
2. Starts one local Ray (``ray_session(local=2)``; its workers run at this process's
   niceness) and, ``--repeats`` times: scores the first ``--baseline`` recordings in
   this process with ``Detector(threads=1).score`` (the baseline: one core, no Ray), then
   runs :func:`voiceguard.batch.run` into a fresh output folder with 1 worker and with 2
   workers (one torch thread each), alternating their order between repeats.

Reported per run: ``end_to_end`` recordings/s (the whole run: actor start, model load,
scoring, part writes) and ``steady`` recordings/s (the recordings of the batches that
finished after every actor had finished its first batch, over the time from then to the
last batch's end, by the workers' clocks: actor start-up and model load excluded); the
scaling factor is ``rate(2 workers) / rate(1 worker)`` of the same repeat.

Wall-clock rates depend on how much CPU the machine lends: the load average before each
run is recorded, and so are the workers' own CPU seconds per batch. ``cpu_s_per_recording``
(CPU time on the workers per recording, steady window) gives the throughput of one
fully available core; ``cores_used`` (worker CPU seconds / window seconds) shows how much
CPU the workers actually got. On a machine shared with other busy sessions (Linux
autogroup scheduling shares the CPU per session) 2 workers can get no more CPU than 1,
and the wall-clock scaling factor then says so; read the ranges, not one number. Nothing
asserts on time.
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
CLIPS = [ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac",
         ROOT / "tests" / "assets" / "librispeech_1034-121119-0000_2.5s.flac",
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


def baseline(det, paths: list[Path]) -> dict:
    det.score(str(paths[0]))  # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    for p in paths:
        det.score(str(p))
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"recordings": len(paths), "seconds": dt, "recordings_per_s": len(paths) / dt,
            "cpu_s_per_recording": cpu / len(paths)}


def one_run(files: list[Path], workers: int, tmp: Path, part_size: int, model: str | None) -> dict:
    from voiceguard.batch import run

    out = tmp / f"out-{workers}-{time.monotonic_ns()}"
    batches: dict[tuple, int] = {}  # (worker, started, finished, cpu_s) -> recordings

    def on_status(st: dict) -> None:
        key = (st["worker"], st["started"], st["finished"], st["cpu_s"])
        batches[key] = batches.get(key, 0) + 1

    load = os.getloadavg()
    t0 = time.perf_counter()
    summary = run([str(files[0].parent)], str(out), workers=workers, threads=1, part_size=part_size,
                  model=model, progress=False, on_status=on_status)
    wall = time.perf_counter() - t0
    shutil.rmtree(out, ignore_errors=True)
    assert summary.scored == len(files) and summary.outcomes.get("error", 0) == 0, summary.describe()
    # steady state: from the moment every actor has finished its first batch (models
    # loaded) to the last batch's end, the recordings of the batches finished in between
    first_end: dict[str, float] = {}
    for (worker, _, end, _) in batches:
        first_end[worker] = min(end, first_end.get(worker, end))
    start = max(first_end.values())
    last = max(end for (_, _, end, _) in batches)
    window = [(n, cpu) for (_, _, end, cpu), n in batches.items() if end > start]
    done = sum(n for n, _ in window)
    steady = done / (last - start) if last > start else float("nan")
    cpu = sum(c for _, c in window)
    return {"workers": workers, "wall_s": wall, "end_to_end": len(files) / wall, "steady": steady,
            # CPU seconds per recording on the workers, and the cores the workers got in the window
            "cpu_s_per_recording": cpu / done if done else float("nan"),
            "cores_used": cpu / (last - start) if last > start else float("nan"),
            "batches": len(batches), "actors": len(first_end), "loadavg_1min_before": load[0],
            "parts": summary.parts}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recordings", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each recording")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--part-size", type=int, default=16)
    ap.add_argument("--baseline", type=int, default=100, help="recordings scored in-process per repeat")
    ap.add_argument("--model", default=None, help="detector model (default: the shipped one)")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    import torch

    from voiceguard.batch import ray_session
    from voiceguard.detect.detector import Detector

    torch.set_num_threads(1)
    det = Detector(args.model, threads=1)
    tmp = Path(tempfile.mkdtemp(prefix="vg-bench-batch-"))
    try:
        files = make_corpus(tmp / "in", args.recordings, args.seconds)
        runs, bases, base_cpu = [], [], []
        with ray_session(local=2):
            for r in range(args.repeats):
                base = baseline(det, files[: args.baseline])
                bases.append(base["recordings_per_s"])
                base_cpu.append(base["cpu_s_per_recording"])
                print(f"repeat {r} baseline, 1 core, no Ray: {base['recordings_per_s']:.2f} rec/s, "
                      f"{1000 * base['cpu_s_per_recording']:.1f} CPU-ms/recording", flush=True)
                for w in ((1, 2) if r % 2 == 0 else (2, 1)):
                    res = one_run(files, w, tmp, args.part_size, args.model)
                    res["repeat"] = r
                    runs.append(res)
                    print(f"repeat {r} workers {w}: end-to-end {res['end_to_end']:.2f} rec/s, steady "
                          f"{res['steady']:.2f} rec/s, {1000 * res['cpu_s_per_recording']:.1f} CPU-ms/recording, "
                          f"{res['cores_used']:.2f} cores used (load {res['loadavg_1min_before']:.1f})", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def rate(w: int, r: int, key: str) -> float:
        return next(x[key] for x in runs if x["workers"] == w and x["repeat"] == r)

    report: dict = {
        "benchmark": "bench_batch", "args": vars(args),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
        "audio_s_per_recording": args.seconds, "runs": runs,
        "summary": {"baseline_no_ray_1_core": {"min": min(bases), "median": statistics.median(bases),
                                               "max": max(bases), "values": bases,
                                               "cpu_s_per_recording": base_cpu}},
    }
    cpu = [x["cpu_s_per_recording"] for x in runs]
    report["summary"]["cpu_s_per_recording"] = {"min": min(cpu), "median": statistics.median(cpu), "max": max(cpu)}
    report["summary"]["recordings_per_core_s"] = 1.0 / statistics.median(cpu)
    for w in (1, 2):
        used = [x["cores_used"] for x in runs if x["workers"] == w]
        report["summary"][f"cores_used_workers_{w}"] = {"min": min(used), "max": max(used)}
    print(f"CPU per recording {1000 * min(cpu):.1f}-{1000 * max(cpu):.1f} ms: "
          f"{report['summary']['recordings_per_core_s']:.1f} recordings per core-second "
          f"({report['summary']['recordings_per_core_s'] * args.seconds:.0f} x real time per core)")
    for key in ("end_to_end", "steady"):
        s = report["summary"][key] = {}
        for w in (1, 2):
            vals = [x[key] for x in runs if x["workers"] == w]
            s[f"workers_{w}"] = {"min": min(vals), "median": statistics.median(vals), "max": max(vals)}
        s["per_worker_vs_baseline"] = statistics.median(
            [rate(1, r, key) / bases[r] for r in range(args.repeats)])
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
