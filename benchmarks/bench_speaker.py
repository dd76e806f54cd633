"""Voiceprint timings: model load, enrollment and verification per second of audio.

Run (single-threaded, prints a table and writes JSON if asked)::

    python benchmarks/bench_speaker.py [--out benchmarks/results/bench_speaker.json]

* **load**: a fresh interpreter importing ``voiceguard.voiceprint.encoder`` and loading the GE2E
  weights (includes importing torch), and loading the speaker calibration + detector;
* **embed**: :meth:`GE2EEncoder.embed` of 10 s and 60 s of speech at 16 kHz and of 10 s at
  8 kHz (realtime factor = audio seconds per wall second);
* **enroll**: :func:`voiceguard.verify.enroll` of 3 clips of 10 s (embedding + telephone
  simulation + SQLite write);
* **verify**: :meth:`Verifier.verify` of a 10 s and a 60 s file (decode, speaker
  embedding, spoof detector, fusion).

Each timing is the median of ``--repeat`` runs after one warm-up. Never asserts on time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"


def _median_time(fn, repeat: int) -> float:
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    import soundfile as sf
    import torch

    torch.set_num_threads(1)
    from voiceguard import audio
    from voiceguard.verify import Verifier, enroll
    from voiceguard.voiceprint.encoder import GE2EEncoder

    res: dict = {"threads": 1, "cpu": os.cpu_count()}
    code = ("import time; t=time.perf_counter(); import voiceguard.voiceprint.encoder as s; "
            "e=s.GE2EEncoder(threads=1); print(time.perf_counter()-t)")
    loads = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                  check=True).stdout) for _ in range(args.repeat)]
    res["cold_load_s"] = statistics.median(loads)
    t = time.perf_counter()
    enc = GE2EEncoder(threads=1)
    res["warm_load_s"] = time.perf_counter() - t

    y, sr = audio.load_mono(SPEECH)

    def clip(seconds: float) -> np.ndarray:
        return np.tile(y, int(np.ceil(seconds * sr / len(y))))[: int(seconds * sr)]

    rows = []
    for name, sig, rate in (("embed 10 s 16 kHz", clip(10), 16000), ("embed 60 s 16 kHz", clip(60), 16000),
                            ("embed 10 s 8 kHz", audio.resample(clip(10), 16000, 8000), 8000)):
        dt = _median_time(lambda s=sig, r=rate: enc.embed(s, r), args.repeat)
        rows.append({"case": name, "seconds": dt, "s_per_audio_s": dt * rate / len(sig), "rtf_x": len(sig) / rate / dt})
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for i in range(3):
            p = Path(tmp) / f"e{i}.wav"
            sf.write(p, clip(10) * (0.5 + 0.2 * i), sr)
            files.append(p)
        db = Path(tmp) / "vp.db"
        n = [0]

        def do_enroll() -> None:
            n[0] += 1
            enroll(f"s{n[0]}", files, store=db, encoder=enc)

        dt = _median_time(do_enroll, args.repeat)
        rows.append({"case": "enroll 3 x 10 s", "seconds": dt, "s_per_audio_s": dt / 30, "rtf_x": 30 / dt})
        t = time.perf_counter()
        ver = Verifier(db, encoder=enc, threads=1)
        res["verifier_load_s (calibration + detector, encoder already loaded)"] = time.perf_counter() - t
        for secs in (10, 60):
            p = Path(tmp) / f"v{secs}.wav"
            sf.write(p, clip(secs), sr)
            dt = _median_time(lambda p=p: ver.verify("s1", p), args.repeat)
            rows.append({"case": f"verify {secs} s file", "seconds": dt, "s_per_audio_s": dt / secs,
                         "rtf_x": secs / dt})
        ver.close()
    res["rows"] = rows
    print(f"cold load (import + GE2E weights): {res['cold_load_s']:.2f} s; warm load {res['warm_load_s']:.3f} s")
    print(f"{'case':<22} {'seconds':>8} {'ms/audio s':>11} {'x realtime':>11}")
    for r in rows:
        print(f"{r['case']:<22} {r['seconds']:8.3f} {1000 * r['s_per_audio_s']:11.1f} {r['rtf_x']:11.0f}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
