"""Consistency properties of ``voiceguard.features`` (no reference values needed).

* input dtypes: float32 input is converted to float64 exactly (spec: "all arithmetic is in
  float64"), integer PCM is scaled exactly as docs/features.md says;
* output contract: float32, C-contiguous, ``[60, T]`` for the presets, T per the spec;
* odd lengths, 8 and 16 kHz;
* the input array is never modified, read-only and strided inputs work;
* thread safety: concurrent calls are bit-identical to sequential ones.
"""

from __future__ import annotations

import concurrent.futures
import threading

import numpy as np
import pytest
import scipy.signal

LFCC_PRESETS = ["asvspoof2019", "asvspoof2021"]
# A moderate CQT configuration for the tests that call the CQT many times (the todisco
# preset itself is covered where it matters: preset shapes, threads, dtypes).
MODERATE = dict(fmin=32.703, n_bins=7 * 24, bins_per_octave=24, hop_length=256)


def _all_features(features, y, sr):
    """Every public feature of ``y`` at its default preset, as a dict of arrays."""
    return {
        "lfcc2019": features.lfcc(y, sr, preset="asvspoof2019"),
        "lfcc2021": features.lfcc(y, sr, preset="asvspoof2021"),
        "spec": features.linear_spectrogram(y, sr),
        "cqt": features.cqt(y, sr),
        "cqcc": features.cqcc(y, sr),
    }


# ---------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------
def test_float32_input_is_converted_exactly(features, speech):
    # The float32 signal and its exact float64 image must give bit-identical features:
    # all arithmetic is float64, the float32 -> float64 conversion is exact.
    y32 = speech[: 2 * 16000].astype(np.float32)
    a = _all_features(features, y32, 16000)
    b = _all_features(features, y32.astype(np.float64), 16000)
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{k}: float32 input differs from its float64 image"


# float64 signal vs the same signal rounded to float32 (relative perturbation <= 6e-8 per
# sample).  Tolerance: per row max|a - b| <= 1e-4 * max(1, max|b|), as for the reference
# comparison: the rounding is ~1000x smaller than that in every feature, except for the CQT
# magnitude where the per-row bound is absolute 1e-4 (magnitudes here are < 1).
def test_float32_and_float64_inputs_agree(features, speech):
    y64 = np.asarray(speech[: 2 * 16000])
    a = _all_features(features, y64, 16000)
    b = _all_features(features, y64.astype(np.float32), 16000)
    for k in a:
        A, B = a[k].astype(np.float64), b[k].astype(np.float64)
        err = np.abs(A - B).max(axis=1)
        bound = 1e-4 * np.maximum(1.0, np.abs(A).max(axis=1))
        worst = int(np.argmax(err / bound))
        assert np.all(err <= bound), f"{k}: row {worst} max|f64 - f32| = {err[worst]:.3e} > {bound[worst]:.3e}"


@pytest.mark.parametrize(
    "dtype,scale,offset",
    [(np.int16, 1 / 32768, 0.0), (np.int32, 1 / 2**31, 0.0), (np.uint8, 1 / 128, -128.0)],
    ids=["int16", "int32", "uint8"],
)
def test_integer_pcm_equals_scaled_float(features, speech_int16, dtype, scale, offset):
    pcm16 = np.asarray(speech_int16[: 16000 + 123])
    if dtype == np.int16:
        pcm = pcm16
    elif dtype == np.int32:
        pcm = pcm16.astype(np.int32) * 65536 + 12345  # use the low bits too
    else:
        pcm = (pcm16.astype(np.int32) // 256 + 128).astype(np.uint8)
    as_float = (pcm.astype(np.float64) + offset) * scale  # exact: power-of-two scale
    a = _all_features(features, pcm, 16000)
    b = _all_features(features, as_float, 16000)
    for k in a:
        assert np.array_equal(a[k], b[k]), f"{k}: {np.dtype(dtype).name} PCM != float samples scaled per the spec"


def test_int16_fixture_is_the_float_fixture(speech_int16, speech):
    assert np.array_equal(speech_int16 / 32768.0, speech)


# ---------------------------------------------------------------------------------------
# output contract and frame counts
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sr", [8000, 16000])
def test_output_contract_presets(features, ref, speech, sr):
    y = scipy.signal.resample_poly(speech, 1, 2) if sr == 8000 else np.asarray(speech)
    N = len(y)
    out = _all_features(features, y, sr)
    for k, arr in out.items():
        assert isinstance(arr, np.ndarray), k
        assert arr.dtype == np.float32, f"{k}: dtype {arr.dtype}"
        assert arr.flags.c_contiguous, f"{k}: not C-contiguous"
        assert arr.ndim == 2, f"{k}: shape {arr.shape}"
        assert np.all(np.isfinite(arr)), f"{k}: non-finite values"
    p19 = ref.resolve_lfcc_params("asvspoof2019", sr)
    p21 = ref.resolve_lfcc_params("asvspoof2021", sr)
    pcq = ref.resolve_cqcc_params("todisco", sr)
    T19 = 1 + (N - p19["win_length"]) // p19["hop_length"]
    T21 = 1 + (N - p21["win_length"]) // p21["hop_length"]
    Tcq = 1 + N // pcq["hop_length"]
    assert out["lfcc2019"].shape == (60, T19)
    assert out["lfcc2021"].shape == (60, T21)
    assert out["spec"].shape == (512 // 2 + 1, T19)
    assert out["cqt"].shape == (864, Tcq)
    assert out["cqcc"].shape == (60, Tcq)
    # at 8 kHz: 20 ms / 10 ms = 160 / 80 samples, 30 ms / 15 ms = 240 / 120, hop 80
    if sr == 8000:
        assert (p19["win_length"], p19["hop_length"], p21["win_length"], pcq["hop_length"]) == (160, 80, 240, 80)


@pytest.mark.parametrize("n", [320, 321, 479, 480, 481, 999, 1001, 4097, 12345, 16001])
def test_lfcc_frame_count_odd_lengths(features, rng, n):
    y = rng.standard_normal(n)
    T = 1 + (n - 320) // 160  # asvspoof2019 at 16 kHz: win 320, hop 160
    assert features.lfcc(y, 16000).shape == (60, T)
    assert features.linear_spectrogram(y, 16000).shape == (257, T)
    if n >= 480:
        assert features.lfcc(y, 16000, preset="asvspoof2021").shape == (60, 1 + (n - 480) // 240)


@pytest.mark.parametrize("n", [256, 257, 511, 1000, 4097, 12345])
def test_cqt_frame_count_odd_lengths(features, rng, n):
    y = rng.standard_normal(n)
    T = 1 + n // 256
    assert features.cqt(y, 16000, **MODERATE).shape == (168, T)
    assert features.cqcc(y, 16000, **MODERATE).shape == (60, T)


@pytest.mark.parametrize("n", [160, 161, 12345])
def test_cqcc_todisco_frame_count_odd_lengths(features, rng, n):
    y = rng.standard_normal(n)
    assert features.cqcc(y, 16000).shape == (60, 1 + n // 160)
    assert features.cqcc(y[: n // 2 + 80], 8000).shape == (60, 1 + (n // 2 + 80) // 80)


@pytest.mark.parametrize("n", [1001, 12345])
def test_odd_length_lfcc_matches_reference(features, ref, rng, n):
    y = rng.standard_normal(n)
    p = ref.resolve_lfcc_params("asvspoof2019", 16000)
    R = ref.lfcc_ref(y, 16000, **p)
    C = features.lfcc(y, 16000).astype(np.float64)
    assert np.all(np.abs(C - R).max(axis=1) <= 1e-4 * np.maximum(1, np.abs(R).max(axis=1)))


def test_deltas_off_gives_static_rows_only(features, speech):
    full = features.lfcc(speech, 16000)
    static = features.lfcc(speech, 16000, deltas=False)
    assert static.shape == (20, full.shape[1])
    assert np.array_equal(static, full[:20])
    cq_full = features.cqcc(speech, 16000, **MODERATE)
    cq_static = features.cqcc(speech, 16000, deltas=False, **MODERATE)
    assert cq_static.shape == (20, cq_full.shape[1])
    assert np.array_equal(cq_static, cq_full[:20])


# ---------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------
def test_input_not_modified_and_read_only_accepted(features, speech):
    y = np.array(speech[:16000])  # writable copy
    before = y.copy()
    _all_features(features, y, 16000)
    assert np.array_equal(y, before), "the input array was modified"
    y.setflags(write=False)
    out = _all_features(features, y, 16000)  # must accept read-only buffers (e.g. np.frombuffer)
    again = _all_features(features, before, 16000)
    for k in out:
        assert np.array_equal(out[k], again[k]), k


def test_strided_input_equals_contiguous_copy(features, rng):
    base = rng.standard_normal(2 * 20000)
    y = base[::2]  # non-contiguous view
    assert not y.flags.c_contiguous
    a = _all_features(features, y, 16000)
    b = _all_features(features, np.ascontiguousarray(y), 16000)
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def test_repeated_calls_are_deterministic(features, noise):
    a = _all_features(features, noise[:16000], 16000)
    b = _all_features(features, noise[:16000], 16000)
    for k in a:
        assert np.array_equal(a[k], b[k]), k


# ---------------------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------------------
def test_threads_bit_identical_to_sequential(features, speech, speech_b, noise, rng):
    # 4 worker threads compute LFCC (both presets) and CQCC (todisco) of different signals
    # at the same time; every result must equal (np.array_equal) the single-threaded one.
    signals = [
        np.asarray(speech[: 2 * 16000]),
        np.asarray(speech_b[: 2 * 16000]),
        np.asarray(noise[: 2 * 16000]),
        rng.standard_normal(2 * 16000 + 77) * 0.05,
    ]
    jobs = []
    for i, y in enumerate(signals):
        jobs.append((f"lfcc2019[{i}]", lambda y=y: features.lfcc(y, 16000, preset="asvspoof2019")))
        jobs.append((f"lfcc2021[{i}]", lambda y=y: features.lfcc(y, 16000, preset="asvspoof2021")))
        jobs.append((f"cqcc[{i}]", lambda y=y: features.cqcc(y, 16000)))
        jobs.append((f"cqt[{i}]", lambda y=y: features.cqt(y, 16000, **MODERATE)))
    expected = {name: fn() for name, fn in jobs}

    barrier = threading.Barrier(4)

    def run(name_fn):
        name, fn = name_fn
        try:
            barrier.wait(timeout=10)  # start the first wave together
        except threading.BrokenBarrierError:
            pass
        return name, fn()

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        # two rounds, in different orders, so that different pairs overlap
        order = jobs + jobs[::-1]
        results = list(pool.map(run, order))
    for name, out in results:
        assert np.array_equal(out, expected[name]), f"{name}: threaded result differs from sequential"
