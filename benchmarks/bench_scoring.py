"""End-to-end scoring throughput, single-threaded, as a multiple of real time.

Run: ``pytest benchmarks/bench_scoring.py --benchmark-only`` (pytest-benchmark). Each
case writes a 10 s FLAC clip (or 3 min for the long-file case) and times
``Detector.score(path)``: decode, resample, VAD, features, model, calibration. The
realtime factor (audio seconds per wall second) is stored in ``extra_info`` and printed.
Targets: >= 30x real time for the default (Whisper-encoder) model, >= 500x for ``fast``
(the LFCC-ResNet), on one thread.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np
import pytest
import soundfile as sf

from voiceguard import audio
from voiceguard.detect.detector import Detector

SPEECH = Path(__file__).resolve().parents[1] / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"


def _clip(tmp: Path, seconds: float, sr: int, name: str) -> Path:
    y, file_sr = audio.load_mono(SPEECH)
    y = np.tile(y, int(np.ceil(seconds * file_sr / len(y))))[: int(seconds * file_sr)]
    if sr != file_sr:
        y = audio.resample(y, file_sr, sr)
    path = tmp / name
    sf.write(path, y, sr, subtype="PCM_16")
    return path


@pytest.fixture(scope="module", params=["default", "fast"])
def detector(request) -> Detector:
    import torch

    torch.set_num_threads(1)
    return Detector(request.param, threads=1)


@pytest.mark.parametrize(
    "seconds, sr, name",
    [(10.0, 16000, "clip10s_16k.flac"), (10.0, 8000, "clip10s_8k.wav"), (10.0, 44100, "clip10s_44k.flac"),
     (180.0, 16000, "clip3min_16k.flac")],
)
def test_scoring_throughput(benchmark, detector: Detector, tmp_path: Path, seconds: float, sr: int, name: str) -> None:
    path = _clip(tmp_path, seconds, sr, name)
    fast = detector.name.startswith("lfcc")
    result = benchmark.pedantic(detector.score, args=(path,), rounds=(10 if seconds < 60 else 3) if fast else 3,
                                warmup_rounds=1, iterations=1)
    assert result.verdict in ("bonafide", "spoof")
    rtf = seconds / benchmark.stats.stats.median
    benchmark.extra_info["realtime_factor"] = round(rtf, 1)
    benchmark.extra_info["model"] = detector.name
    print(f"\n{name}: {rtf:.0f}x real time (median {1000 * benchmark.stats.stats.median:.1f} ms, "
          f"model {detector.name}, 1 thread)")
