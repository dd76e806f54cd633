"""Peak memory (RSS) of ``voiceguard score``, ``enroll`` and ``verify`` against input length.

Usage::

    nice -n 5 python benchmarks/memory.py --label before \\
        [--durations 300,600,3600,7200] [--kinds silence,speech] [--commands score,enroll,verify,upload] \\
        [--audio-dir /tmp/vg_memory_audio] [--out benchmarks/results/memory.json]

    # a quick smoke run (about a minute)
    python benchmarks/memory.py --label smoke --durations 30,60 --out /tmp/memory_smoke.json

Every measurement is one fresh ``python -m voiceguard ...`` subprocess; its peak resident
set size is the kernel's ``ru_maxrss`` of that child (``os.wait4``), so nothing of this
process or of earlier runs is counted. The test audio is generated once into
``--audio-dir`` and reused (FLAC, 16 kHz mono, written in 10 s blocks so the generator
itself stays small):

* ``silence``: seeded white noise at -80 dBFS (a line with nothing on it);
* ``speech``: the 3 s LibriSpeech clip of ``tests/assets`` (one speaker) followed by 1 s of
  that noise, looped, with the gain varied per repetition (-6 to 0 dB).

``upload`` is what ``POST /v1/score`` does with a request body (the file's bytes through
``decode_upload``, then ``Detector.score_mono`` on the decoded array), without HTTP.
``verify`` runs against a speaker enrolled once from the first 60 s of the speech file
(``--force``: the loop is one voice but the same sentence). Results are merged into
``--out`` under ``--label`` (``before``/``after`` the block pipeline), and a Markdown table
of peak RSS (MiB) per duration and the 2 h / 5 min ratio is printed. The issue's targets:
``score`` on 2 h within 1.2x of 5 min; ``enroll``/``verify`` on 1 h within 1.5x of 10 min.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"
SR = 16000
BLOCK_S = 10
NOISE = 10 ** (-80 / 20)


def _label(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds % 3600 == 0 else f"{seconds // 60} min" if seconds % 60 == 0 \
        else f"{seconds} s"


def make_audio(path: Path, kind: str, seconds: int, seed: int = 0) -> Path:
    """Write ``seconds`` of ``kind`` audio (see the module docstring) to ``path`` (FLAC)."""
    if path.is_file() and sf.info(str(path)).frames == seconds * SR:
        return path
    rng = np.random.default_rng(seed)
    clip, sr = sf.read(str(SPEECH), dtype="float64")
    assert sr == SR
    unit_len = len(clip) + SR
    tmp = path.with_suffix(".part.flac")
    with sf.SoundFile(str(tmp), "w", samplerate=SR, channels=1, format="FLAC", subtype="PCM_16") as fh:
        done = 0
        while done < seconds * SR:
            n = min(BLOCK_S * SR, seconds * SR - done)
            block = rng.normal(0.0, NOISE, n)
            if kind == "speech":
                # the speech units on the global grid that overlap this block
                first, last = done // unit_len, (done + n - 1) // unit_len
                for u in range(first, last + 1):
                    gain = 10 ** (-6 * ((u * 7919) % 13) / 12 / 20)
                    start = u * unit_len
                    a, b = max(start, done), min(start + len(clip), done + n)
                    if a < b:
                        block[a - done:b - done] += gain * clip[a - start:b - start]
            fh.write(np.clip(block, -1, 1))
            done += n
    os.replace(tmp, path)
    return path


#: Runs argv[2:] and writes its exit code and ``ru_maxrss`` (KiB) to the file argv[1]. On Linux a
#: child's ru_maxrss starts at its parent's peak RSS (exec records the high-water mark of the
#: address space it replaces), so a command started straight from this script (which holds
#: generated audio) reported this script's peak: 878 MiB for a 2-hour `score` that peaks at
#: about 420 MiB. Started from this small launcher, the command's figure is its own.
_LAUNCHER = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def measure(cmd: list[str], env: dict[str, str], timeout_s: float) -> dict:
    """Run ``cmd`` (through :data:`_LAUNCHER`); its exit code, wall time and peak RSS (MiB)."""
    t0 = time.monotonic()
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        proc = subprocess.Popen([sys.executable, "-c", _LAUNCHER, rss.name, *cmd], stdout=subprocess.DEVNULL,
                                stderr=err, env=env, start_new_session=True)
        deadline = t0 + timeout_s
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)  # the launcher and the command
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        got = rss.read().split()
    rc, maxrss_kib = (int(got[0]), int(got[1])) if len(got) == 2 else (proc.returncode, usage.ru_maxrss)
    return {"rc": rc, "wall_s": round(time.monotonic() - t0, 1),
            "peak_rss_mib": round(maxrss_kib / 1024, 1),  # Linux: KiB
            "stderr_tail": tail[0][:300] if tail else ""}


def _commands(command: str, path: Path, db: Path) -> list[str]:
    base = [sys.executable, "-m", "voiceguard"]
    if command == "score":
        return base + ["score", str(path), "--no-progress", "--format", "jsonl"]
    if command == "enroll":
        return base + ["enroll", "bench", str(path), "--db", str(db), "--replace", "--force", "--format", "json"]
    if command == "verify":
        return base + ["verify", "bench", str(path), "--db", str(db), "--no-progress", "--format", "jsonl"]
    if command == "upload":  # what POST /v1/score does with the body: decode_upload, then score_mono
        return [sys.executable, "-c", _UPLOAD, str(path)]
    raise SystemExit(f"unknown command {command!r}")


_UPLOAD = """
import sys
from voiceguard.detect import Detector
from voiceguard.service.http_api import decode_upload
data = open(sys.argv[1], "rb").read()
y, sr, ch = decode_upload(data, "audio/flac", max_duration_s=1e6)
del data
print(Detector().score_mono(y, sr, channels=ch).to_dict()["verdict"])
"""


def table(runs: dict) -> str:
    """Markdown: one row per (label, command, kind), peak RSS (MiB) per duration."""
    durs = sorted({int(d) for lab in runs.values() for cmd in lab.values() for kind in cmd.values() for d in kind})
    lines = ["| run | command | audio | " + " | ".join(_label(d) for d in durs) + " | longest / shortest |",
             "|---|---|---|" + "---|" * (len(durs) + 1)]
    for label, cmds in runs.items():
        for command, kinds in cmds.items():
            for kind, res in kinds.items():
                cells = []
                for d in durs:
                    r = res.get(str(d))
                    cells.append("" if r is None else f"{r['peak_rss_mib']:.0f}" + ("" if r["rc"] in (0, 1) else
                                                                                     f" (exit {r['rc']})"))
                have = [res[str(d)]["peak_rss_mib"] for d in durs if str(d) in res]
                ratio = f"{have[-1] / have[0]:.2f}x" if len(have) > 1 else ""
                lines.append(f"| {label} | {command} | {kind} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True, help="name of this run in the results (before, after, ...)")
    ap.add_argument("--durations", default="300,600,3600,7200", help="seconds, comma-separated")
    ap.add_argument("--kinds", default="silence,speech")
    ap.add_argument("--commands", default="score,enroll,verify")
    ap.add_argument("--audio-dir", default=str(Path(tempfile.gettempdir()) / "vg_memory_audio"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory.json"))
    ap.add_argument("--timeout-s", type=float, default=3600.0, help="per run")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of each run")
    args = ap.parse_args()
    durations = [int(d) for d in args.durations.split(",")]
    kinds = args.kinds.split(",")
    commands = args.commands.split(",")
    audio_dir = Path(args.audio_dir)
    audio_dir.mkdir(parents=True, exist_ok=True)
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.is_file() else {}
    data.setdefault("runs", {})
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    res_all = data["runs"].setdefault(args.label, {})
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "voiceprints.db"
        if "verify" in commands:
            ref = make_audio(audio_dir / "speech_60s.flac", "speech", 60)
            r = measure(_commands("enroll", ref, db), env, args.timeout_s)
            if r["rc"] != 0:
                raise SystemExit(f"enrolling the reference speaker failed: {r}")
        for command in commands:
            for kind in kinds:
                for d in durations:
                    path = make_audio(audio_dir / f"{kind}_{d}s.flac", kind, d)
                    # enroll goes to a throw-away db so verify keeps its reference speaker
                    use_db = db if command != "enroll" else Path(tmp) / "enroll.db"
                    cmd = _commands(command, path, use_db)
                    r = measure(cmd + (["--threads", str(args.threads)] if command != "upload" else []), env,
                                args.timeout_s)
                    res_all.setdefault(command, {}).setdefault(kind, {})[str(d)] = r
                    print(f"{args.label} {command} {kind} {_label(d)}: {r['peak_rss_mib']:.0f} MiB, "
                          f"{r['wall_s']:.0f} s, exit {r['rc']}", flush=True)
                    data["machine"] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                                       "threads": args.threads}
                    out.write_text(json.dumps(data, indent=2) + "\n")
    print(table({args.label: res_all}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
