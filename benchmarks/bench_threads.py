"""``voiceguard score`` of a long file: default threads against ``--threads 1``, quiet and busy.

Run::

    python benchmarks/bench_threads.py [--minutes 10] [--model default fast] [--busy 0 2] [--repeats 2]
                                       [--variant NAME=ENV=VALUE,...:ARGS ...] [--out results.json]

A recording of one reader (the LibriSpeech clip of ``tests/data`` with pauses and a little
noise, as ``bench_long_audio.py`` makes it) is scored by ``voiceguard score FILE --format
jsonl`` in a fresh interpreter for every combination of model, number of busy-loop
processes (``--busy``: 0 = whatever else the machine runs; k = k extra processes that spin
``while True: pass`` for the whole run, started before and killed after each timing) and
variant (default: ``default`` = no ``--threads``, and ``threads1`` = ``--threads 1``).
The variants of one (model, busy) cell run interleaved, ``--repeats`` times, so that
their ratio is measured under the same conditions. Reports wall time, user and system
CPU time of the child (``resource.getrusage(RUSAGE_CHILDREN)``) and the scores (which
must not depend on the variant beyond float rounding). Never asserts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_long_audio import make_file  # noqa: E402


def parse_variant(text: str) -> tuple[str, dict[str, str], list[str]]:
    """``NAME[=K=V,K=V][:ARG ARG]`` -> (name, env, args)."""
    head, _, args = text.partition(":")
    name, _, envs = head.partition("=")
    env = dict(kv.split("=", 1) for kv in envs.split(",") if kv) if envs else {}
    return name, env, args.lstrip(":").split()


def run_once(path: Path, model: str, env_extra: dict[str, str], args: list[str]) -> dict:
    env = {**os.environ, **env_extra}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "voiceguard", "score", str(path), "--format", "jsonl",
                        "--model", model, *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"score failed ({p.returncode}): {p.stderr[-2000:]}")
    row = json.loads(p.stdout.splitlines()[-1])
    return {"wall_s": round(wall, 2), "user_s": round(after.ru_utime - before.ru_utime, 2),
            "sys_s": round(after.ru_stime - before.ru_stime, 2), "llr": row.get("llr"),
            "stderr": [ln for ln in p.stderr.splitlines() if ln.strip()][-3:]}


def busy_loops(k: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(k)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
    for p in procs:
        p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--model", nargs="+", default=["default", "fast"])
    ap.add_argument("--busy", type=int, nargs="+", default=[0, 2])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--variant", nargs="+", default=["default", "threads1:--threads 1"],
                    help="NAME[=ENV=VAL,...][:ARGS] (default: 'default' and 'threads1:--threads 1')")
    ap.add_argument("--out")
    args = ap.parse_args()
    variants = [parse_variant(v) for v in args.variant]
    res: dict = {"machine": {"cpu_count": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
                             "platform": platform.platform(), "loadavg_start": os.getloadavg()},
                 "args": vars(args), "cells": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"speech_{args.minutes:g}min.flac"
        make_file(path, args.minutes)
        for model in args.model:
            run_once(path, model, variants[-1][1], ["--threads", "1"])  # warm the page cache and the model files
            for k in args.busy:
                cell = {"model": model, "busy": k, "runs": {name: [] for name, _, _ in variants}}
                for _ in range(args.repeats):
                    for name, env, extra in variants:
                        procs = busy_loops(k)
                        try:
                            time.sleep(0.5)
                            r = run_once(path, model, env, extra)
                        finally:
                            stop(procs)
                        cell["runs"][name].append(r)
                        print(f"{model:8s} busy={k} {name:12s} wall {r['wall_s']:6.2f} s  user {r['user_s']:6.2f}"
                              f"  sys {r['sys_s']:5.2f}  llr {r['llr']}", flush=True)
                walls = {n: [r["wall_s"] for r in rs] for n, rs in cell["runs"].items()}
                cell["wall_range_s"] = {n: [min(w), max(w)] for n, w in walls.items()}
                base = variants[-1][0]
                cell["ratio_to_" + base] = {n: round(float(np.median(w) / np.median(walls[base])), 3)
                                            for n, w in walls.items()}
                print(f"  median wall ratio to {base}: {cell['ratio_to_' + base]}", flush=True)
                res["cells"].append(cell)
    res["machine"]["loadavg_end"] = os.getloadavg()
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
