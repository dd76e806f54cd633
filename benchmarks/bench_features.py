"""Speed of the voiceguard feature core against its baselines (pytest-benchmark).

Run (single thread; see benchmarks/conftest.py)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        pytest benchmarks/ --benchmark-only [--vg-bench-results benchmarks/results.md]

All on 60 s of 16 kHz audio (the two LibriSpeech test clips, tiled):

group ``lfcc``
    * voiceguard ``features.lfcc`` (asvspoof2019);
    * the numpy reference ``tests/reference/features_ref.lfcc_ref`` (same parameters);
    * ``np.fft.rfft(frames, n=512)`` alone on the same pre-framed, pre-emphasised, windowed
      ``[T, 320]`` array (building the frames is outside the timed region).

group ``cqcc``
    * voiceguard ``features.cqcc`` (todisco: fmin 15.625 Hz, 864 bins, 96 bpo, hop 160);
    * ``librosa.cqt`` alone with the same bins and hop.

Targets (from the issue; reported, never asserted): LFCC >= 4x faster than the numpy
reference and <= 1.5x the bare rfft time; CQCC >= 15x faster than librosa.cqt.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

SR = 16000
SECONDS = 60
DATA = Path(__file__).resolve().parent.parent / "tests" / "assets"


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    import soundfile as sf

    clips = [sf.read(str(p), dtype="float64")[0] for p in sorted(DATA.glob("librispeech_*.flac"))]
    assert clips, "tests/assets/librispeech_*.flac not found"
    one = np.concatenate(clips)
    reps = -(-SECONDS * SR // len(one))
    return np.ascontiguousarray(np.tile(one, reps)[: SECONDS * SR])


@pytest.fixture(scope="module")
def features():
    from voiceguard import features as mod

    return mod


@pytest.fixture(scope="module")
def ref():
    import features_ref

    return features_ref


# --------------------------------------------------------------------------------- LFCC
@pytest.mark.benchmark(group="lfcc")
def test_lfcc_voiceguard(benchmark, record, features, audio):
    out = benchmark(features.lfcc, audio, SR, preset="asvspoof2019")
    record("lfcc_voiceguard")
    assert out.shape == (60, 1 + (len(audio) - 320) // 160)


@pytest.mark.benchmark(group="lfcc")
def test_lfcc_numpy_reference(benchmark, record, ref, audio):
    p = ref.resolve_lfcc_params("asvspoof2019", SR)
    out = benchmark.pedantic(ref.lfcc_ref, args=(audio, SR), kwargs=p, rounds=5, warmup_rounds=1)
    record("lfcc_reference")
    assert out.shape[0] == 60


@pytest.mark.benchmark(group="lfcc")
def test_rfft_only(benchmark, record, ref, audio):
    p = ref.resolve_lfcc_params("asvspoof2019", SR)
    frames = ref.frame_signal(ref.preemphasis(audio, p["preemphasis"]), p["win_length"], p["hop_length"])
    frames = np.ascontiguousarray(frames * ref.window("hamming", p["win_length"])[None, :])
    out = benchmark(np.fft.rfft, frames, n=p["n_fft"], axis=-1)
    record("rfft_only")
    assert out.shape == (frames.shape[0], p["n_fft"] // 2 + 1)


# --------------------------------------------------------------------------------- CQCC
@pytest.mark.benchmark(group="cqcc")
def test_cqcc_voiceguard(benchmark, record, features, audio):
    out = benchmark.pedantic(features.cqcc, args=(audio, SR), kwargs=dict(preset="todisco"),
                             rounds=5, warmup_rounds=1)
    record("cqcc_voiceguard")
    assert out.shape == (60, 1 + len(audio) // 160)


def _librosa_cqt(y):
    import librosa

    with warnings.catch_warnings():
        # hop 160 has five factors of two: librosa's lowest octaves may warn that their
        # STFT n_fft exceeds the downsampled signal.  Internal to librosa; irrelevant here.
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
        return librosa.cqt(y, sr=SR, hop_length=160, fmin=15.625, n_bins=864, bins_per_octave=96)


@pytest.mark.benchmark(group="cqcc")
def test_librosa_cqt(benchmark, record, audio):
    pytest.importorskip("librosa")
    out = benchmark.pedantic(_librosa_cqt, args=(audio,), rounds=3, warmup_rounds=1)
    record("librosa_cqt")
    assert out.shape == (864, 1 + len(audio) // 160)
