"""The default detector's speed on one core beside its physical bound.

The bound: the encoder's floating-point operations per second of audio (what
:meth:`voiceguard.detect.frontends.whisper.WhisperEncoder.flops_per_second` counts: the two stem
convolutions, the projections, the feed-forward layers and the attention products of the
blocks the model reads, for its chunk length) against the core's peak, taken two ways:
the *theoretical* peak (clock x FLOPs per cycle of the widest FMA units the CPU reports:
AVX-512 = 64 single-precision FLOPs/cycle with two FMA ports, AVX2 = 32) and the
*measured* peak of a large single-threaded float32 matrix product (what MKL reaches here).
Real time factors: ``bound = peak / flops_per_audio_second``, against the measured end-to-end
real-time factor of ``Detector.score`` on a 60 s file (decode, resample, VAD, log-mel,
encoder, head) with one thread.

    python benchmarks/encoder_bound.py [--model default] [--seconds 60] [-o results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import soundfile as sf

SPEECH = Path(__file__).resolve().parents[1] / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"


def theoretical_peak() -> tuple[float, str]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", text)
    flags = set(re.search(r"flags\s*:(.*)", text).group(1).split()) if "flags" in text else set()
    per_cycle, isa = (64, "AVX-512") if "avx512f" in flags else ((32, "AVX2+FMA") if "fma" in flags else (16, "SSE"))
    ghz = float(mhz.group(1)) / 1000 if mhz else float("nan")
    return ghz * 1e9 * per_cycle, f"{isa}, {per_cycle} FLOP/cycle at {ghz:.2f} GHz (nominal clock)"


def measured_peak(n: int = 2048, repeats: int = 5) -> float:
    import torch

    torch.set_num_threads(1)
    a = torch.randn(n, n)
    a @ a
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ a
        best = min(best, time.perf_counter() - t)
    return 2 * n ** 3 / best


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="default")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("-o", "--out")
    args = p.parse_args()
    import torch

    from voiceguard import audio
    from voiceguard.detect.detector import Detector

    torch.set_num_threads(1)
    det = Detector(args.model, threads=1)
    y, sr = audio.load_mono(SPEECH)
    y = np.tile(y, int(np.ceil(args.seconds * sr / len(y))))[: int(args.seconds * sr)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.flac"
        sf.write(path, y, sr, subtype="PCM_16")
        det.score(path)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            det.score(path)
            times.append(time.perf_counter() - t)
    rtf = args.seconds / float(np.median(times))
    out = {"model": det.version, "seconds": args.seconds, "rtf_end_to_end": round(rtf, 1),
           "rtf_runs": [round(args.seconds / t, 1) for t in times]}
    backend = det.backend
    block_model = getattr(backend, "block_model", None)
    encoder = None
    if block_model is not None:  # block geometry: every block encoded once, alone
        encoder = block_model.encoder.encoder
        n_layers = max(block_model.encoder.layers)
        chunk_s = step_s = block_model.geometry.block / det.sr
        out["geometry"] = f"blocks of {chunk_s:g} s, encoded once each"
    elif hasattr(backend, "encoder"):
        encoder, n_layers = backend.encoder, max(backend.layers)
        chunk_s = det.grid.max_chunk / det.sr - det.hop_s
        step_s = det.grid.windows_per_chunk * det.hop_s  # audio advanced per chunk
        out["geometry"] = f"chunks of {chunk_s:g} s every {step_s:g} s"
    if encoder is not None:
        flops = encoder.flops_per_second(n_layers, chunk_s=chunk_s) * chunk_s / step_s
        peak_t, desc = theoretical_peak()
        peak_m = measured_peak()
        out.update({
            "encoder_gflop_per_audio_s": round(flops / 1e9, 3),
            "theoretical_peak_gflops": round(peak_t / 1e9, 1), "theoretical_peak": desc,
            "measured_gemm_peak_gflops": round(peak_m / 1e9, 1),
            "rtf_bound_theoretical": round(peak_t / flops, 1), "rtf_bound_measured_gemm": round(peak_m / flops, 1),
            "share_of_gemm_bound": round(rtf / (peak_m / flops), 3),
        })
    out["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
