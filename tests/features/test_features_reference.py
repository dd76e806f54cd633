"""C core (``voiceguard.features``) against the numpy reference of docs/features.md.

Tolerance (the contract of this file), for every output ``C`` and reference ``R`` of
shape ``[n_features, n_frames]``:

* per feature row ``i``:  ``max_t |C[i,t] - R[i,t]| <= 1e-4 * max(1, max_t |R[i,t]|)``
  (relative to the row's largest magnitude, absolute 1e-4 for rows whose values stay
  below 1), and
* globally: ``||C - R||_F / ||R||_F < 1e-4`` (relative Frobenius error).

The public functions return float32 (relative rounding 6e-8), so a correct float64
implementation passes with several orders of magnitude to spare; a wrong formula
(window, edge, normalisation, padding, off-by-one frame) does not.

The first class checks the reference itself against hand-computed cases, so that it can
be trusted as the generator of reference values; it does not need voiceguard.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.signal

RTOL = 1e-4


# ---------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------
def assert_matches_reference(C, R, what: str) -> None:
    """Assert the tolerance stated in the module docstring, with a precise message."""
    assert isinstance(C, np.ndarray), f"{what}: expected an ndarray, got {type(C)}"
    assert C.dtype == np.float32, f"{what}: dtype {C.dtype}, expected float32"
    assert C.shape == R.shape, f"{what}: shape {C.shape}, reference {R.shape}"
    assert np.all(np.isfinite(C)), f"{what}: non-finite values in the output"
    C64 = C.astype(np.float64)
    err = np.abs(C64 - R).max(axis=1)
    bound = RTOL * np.maximum(1.0, np.abs(R).max(axis=1))
    bad = np.nonzero(err > bound)[0]
    if bad.size:
        worst = bad[np.argmax(err[bad] / bound[bad])]
        t = int(np.argmax(np.abs(C64[worst] - R[worst])))
        pytest.fail(
            f"{what}: {bad.size}/{R.shape[0]} rows exceed max|C-R| <= 1e-4*max(1,max|R|); "
            f"worst row {worst} frame {t}: C={C64[worst, t]:.9g} R={R[worst, t]:.9g} "
            f"max|C-R|={err[worst]:.3e} bound={bound[worst]:.3e}; "
            f"failing rows (first 20): {bad[:20].tolist()}"
        )
    rel_fro = np.linalg.norm(C64 - R) / max(np.linalg.norm(R), 1e-300)
    assert rel_fro < RTOL, f"{what}: relative Frobenius error {rel_fro:.3e} >= {RTOL}"


def resample_to_8k(y16: np.ndarray) -> np.ndarray:
    return scipy.signal.resample_poly(y16, 1, 2)


LFCC_KEYS = {
    "preemphasis", "win_length", "hop_length", "n_fft", "window", "periodic",
    "n_filters", "fmin", "fmax", "n_coeffs", "deltas", "delta_width",
}
CQCC_KEYS = {
    "hop_length", "fmin", "n_bins", "bins_per_octave", "bandwidth", "resample_d",
    "n_coeffs", "deltas", "delta_width",
}


def _assert_same_params(got: dict, want: dict, what: str) -> None:
    assert set(got) == set(want), f"{what}: keys {sorted(got)} != {sorted(want)}"
    for k, v in want.items():
        if isinstance(v, float):
            assert got[k] == pytest.approx(v, rel=1e-12, abs=1e-12), f"{what}: {k}={got[k]!r}, spec {v!r}"
        else:
            assert got[k] == v, f"{what}: {k}={got[k]!r}, spec {v!r}"


# ---------------------------------------------------------------------------------------
# the reference itself (no voiceguard needed)
# ---------------------------------------------------------------------------------------
class TestReferenceSelfCheck:
    def test_filterbank_hand_computed(self, ref):
        # sr = 8, n_fft = 8: bin frequencies 0, 1, 2, 3, 4 Hz; 2 filters over 0..4 Hz have
        # edges 0, 4/3, 8/3, 4.  Filter 0 at 1 Hz: 1/(4/3) = 0.75; at 2 Hz: (8/3-2)/(4/3) = 0.5.
        fb = ref.linear_filterbank(8, 8, 2, 0.0, 4.0)
        np.testing.assert_allclose(fb, [[0, 0.75, 0.5, 0, 0], [0, 0, 0.5, 0.75, 0]], atol=1e-15)

    def test_filterbank_peaks_and_band(self, ref):
        # 20 filters over 0..8000 Hz with n_fft 512 at 16 kHz; the peak of filter m is at
        # e_{m+1} = (m+1) 8000/21 Hz.  Each filter's maximum equals the triangle value
        # at the nearest bin, and nothing is nonzero at or beyond 8000 Hz (e_21).
        sr, n_fft = 16000, 512
        fb = ref.linear_filterbank(sr, n_fft, 20, 0.0, 8000.0)
        f = np.arange(n_fft // 2 + 1) * sr / n_fft
        for m in range(20):
            peak = (m + 1) * 8000.0 / 21
            tri = np.clip(1 - np.abs(f - peak) / (8000.0 / 21), 0, None)
            np.testing.assert_allclose(fb[m], tri, atol=1e-12)
        assert np.all(fb[:, -1] == 0)

    def test_dct_matches_explicit_matrix(self, ref, rng):
        x = rng.standard_normal((37, 5))
        np.testing.assert_allclose(ref.dct_ortho(x, axis=0), ref.dct_ortho_matrix(37) @ x, atol=1e-12)
        # orthonormal: energy preserved
        assert np.allclose(np.linalg.norm(ref.dct_ortho(x, axis=0)), np.linalg.norm(x))

    def test_windows(self, ref):
        for W in (1, 2, 7, 320):
            np.testing.assert_allclose(ref.window("hamming", W), scipy.signal.windows.hamming(W, sym=True), atol=1e-15)
            np.testing.assert_allclose(ref.window("hann", W), scipy.signal.windows.hann(W, sym=True), atol=1e-15)
            if W > 1:  # periodic W == 1: the spec's formula (D = 1) gives [0.08] / [0], scipy [1]
                np.testing.assert_allclose(ref.window("hamming", W, True), scipy.signal.windows.hamming(W, sym=False), atol=1e-15)
                np.testing.assert_allclose(ref.window("hann", W, True), scipy.signal.windows.hann(W, sym=False), atol=1e-15)
        assert ref.window("hamming", 5)[0] == pytest.approx(0.08)  # MATLAB hamming(5)(1)

    def test_deltas_hand_computed(self, ref):
        c = np.array([[0.0, 1.0, 4.0, 9.0]])
        # padded [0, 0,1,4,9, 9]: d = (c[t+1]-c[t-1])/2 = [0.5, 2, 4, 2.5]
        np.testing.assert_allclose(ref.delta(c, 1), [[0.5, 2.0, 4.0, 2.5]])
        # H = 2: padded [0,0, 0,1,4,9, 9,9]; d[t] = ((c[t+1]-c[t-1]) + 2(c[t+2]-c[t-2]))/10
        np.testing.assert_allclose(ref.delta(c, 2), [[(1 + 2 * 4) / 10, (4 + 2 * 9) / 10, (8 + 2 * 9) / 10, (5 + 2 * 8) / 10]])
        out = ref.add_deltas(c, 1)
        assert out.shape == (3, 4)
        np.testing.assert_allclose(out[2], ref.delta(ref.delta(c, 1), 1)[0])

    def test_preemphasis_and_framing(self, ref):
        y = np.array([1.0, 2.0, 3.0, 5.0, 8.0])
        np.testing.assert_allclose(ref.preemphasis(y, 0.5), [1.0, 1.5, 2.0, 3.5, 5.5])
        np.testing.assert_array_equal(ref.preemphasis(y, 0.0), y)
        fr = ref.frame_signal(np.arange(10.0), 4, 3)  # T = 1 + (10-4)//3 = 3
        np.testing.assert_array_equal(fr, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])

    def test_power_spectrum_no_normalisation(self, ref):
        x = np.zeros((1, 4))
        x[0, 0] = 2.0  # impulse of height 2 -> |X[j]|^2 = 4 at every bin
        np.testing.assert_allclose(ref.power_spectrum(x, 10), np.full((1, 6), 4.0))

    def test_5_smooth(self, ref):
        assert [ref.next_5_smooth(n) for n in (1, 7, 11, 13, 14, 49, 97, 2161)] == [1, 8, 12, 15, 15, 50, 100, 2187]

    def test_cqt_sinusoid_gives_half_amplitude(self, ref):
        # A cos(2 pi f_k t) -> |X[k, m]| ~= A/2 away from the signal's ends (spec, CQT 6).
        sr, A = 16000, 0.8
        p = dict(hop_length=160, fmin=32.703, n_bins=7 * 24, bins_per_octave=24, bandwidth=1.5)
        t = np.arange(2 * sr) / sr
        for k in (24, 72, 120, 167):
            fk = p["fmin"] * 2 ** (k / 24)
            X = ref.cqt_ref(A * np.cos(2 * np.pi * fk * t), sr, **p)
            mid = X[k, 60:140]  # 0.6 s .. 1.4 s
            np.testing.assert_allclose(mid, A / 2, rtol=5e-3)

    def test_cqt_dense_matches_ifft(self, ref, rng):
        # The dense evaluation of X[k,m] equals the "inverse DFT of length M of the windowed
        # spectrum folded modulo M" reading of the same formula (spec, CQT 6).
        sr = 8000
        p = dict(hop_length=64, fmin=100.0, n_bins=30, bins_per_octave=12, bandwidth=1.5)
        y = rng.standard_normal(3000)
        X = ref.cqt_complex_ref(y, sr, **p)
        g = ref.cqt_geometry(len(y), sr, **p)
        L, M, T = g["L"], g["M"], g["T"]
        z = np.zeros(L)
        z[: len(y)] = y
        Z = np.fft.rfft(z)
        q = np.arange(L // 2 + 1)
        f = q * sr / L
        for k in (0, 13, 29):
            G = np.where(np.abs(f - g["fk"][k]) < g["bk"][k], 0.5 * (1 + np.cos(np.pi * (f - g["fk"][k]) / g["bk"][k])), 0.0)
            folded = np.zeros(M, dtype=complex)
            np.add.at(folded, q % M, G * Z)
            Xk = np.fft.ifft(folded) * M / L
            np.testing.assert_allclose(X[k], Xk[:T], rtol=1e-9, atol=1e-12 * np.abs(Xk).max())

    def test_cqcc_resampling_grid(self, ref):
        # todisco at 16 kHz: f_{K-1} = 8000 * 2^(-1/96); J = floor(16 (512 2^(-1/96) - 1)) + 1
        i0, a, J = ref.uniform_resampling_weights(15.625, 864, 96, 16)
        assert J == math.floor(16 * (512 * 2 ** (-1 / 96) - 1) + 1e-9) + 1 == 8118
        assert i0[0] == 0 and a[0] == 0.0
        assert i0[16] == 96 and a[16] == pytest.approx(0.0, abs=1e-9)  # u = 2 fmin is bin 96
        assert np.all(i0 + 1 <= 863)
        # interpolation reproduces a log-linear function of the bin index exactly
        LP = np.arange(864, dtype=float)[:, None] * np.ones((1, 2))
        kappa = 96 * np.log2(1 + np.arange(J) / 16)
        LU = (1 - a)[:, None] * LP[i0] + a[:, None] * LP[i0 + 1]
        np.testing.assert_allclose(LU[:, 0], kappa, atol=1e-9)

    def test_silence_reference_is_the_eps_floor(self, ref):
        p = ref.resolve_lfcc_params("asvspoof2019", 16000)
        out = ref.lfcc_ref(np.zeros(1600), 16000, **p)
        assert np.all(np.isfinite(out))
        np.testing.assert_allclose(out[0], math.sqrt(20) * math.log10(ref.EPS))
        np.testing.assert_allclose(out[1:], 0.0, atol=1e-12)


# ---------------------------------------------------------------------------------------
# resolved presets
# ---------------------------------------------------------------------------------------
# (At 44.1/48 kHz the presets' n_fft is shorter than their window, so they are rejected
# there: see test_features_bad_input.py.)
@pytest.mark.parametrize("sr", [8000, 11025, 16000, 22050])
@pytest.mark.parametrize("preset", ["asvspoof2019", "asvspoof2021"])
def test_resolve_params_lfcc_matches_spec(features, ref, preset, sr):
    got = features.resolve_params("lfcc", preset, sr)
    want = ref.resolve_lfcc_params(preset, sr)
    # "round(sr * seconds)" does not say how a tie rounds (22050 Hz x 10 ms = 220.5,
    # 44100 Hz x 15 ms = 661.5): at a tie accept either neighbour, elsewhere be exact.
    seconds = {"asvspoof2019": (0.020, 0.010), "asvspoof2021": (0.030, 0.015)}[preset]
    for key, sec in zip(("win_length", "hop_length"), seconds):
        exact = sr * sec
        if abs(exact - math.floor(exact) - 0.5) < 1e-9:
            assert got[key] in (math.floor(exact), math.ceil(exact)), f"{key}={got[key]} for {exact}"
            want[key] = got[key]
    _assert_same_params(got, want, f"lfcc/{preset}@{sr}")


def test_resolve_params_lfcc_documented_example(features):
    got = features.resolve_params("lfcc", "asvspoof2019", 16000)
    want = dict(preemphasis=0.97, win_length=320, hop_length=160, n_fft=512, window="hamming",
                periodic=False, n_filters=20, fmin=0.0, fmax=8000.0, n_coeffs=20, deltas=True,
                delta_width=1)
    _assert_same_params(got, want, "lfcc/asvspoof2019@16000")
    got = features.resolve_params("lfcc", "asvspoof2021", 16000)
    assert (got["win_length"], got["hop_length"], got["n_fft"], got["n_filters"]) == (480, 240, 1024, 70)
    assert got["fmax"] == 4000.0 and got["preemphasis"] == 0.0


@pytest.mark.parametrize("sr", [8000, 16000, 44100])
def test_resolve_params_cqcc_matches_spec(features, ref, sr):
    got = features.resolve_params("cqcc", "todisco", sr)
    _assert_same_params(got, ref.resolve_cqcc_params("todisco", sr), f"cqcc/todisco@{sr}")


def test_resolve_params_overrides(features):
    got = features.resolve_params("lfcc", "asvspoof2019", 16000, n_fft=1024, window="hann", fmax=6000.0)
    assert (got["n_fft"], got["window"], got["fmax"], got["win_length"]) == (1024, "hann", 6000.0, 320)
    got = features.resolve_params("cqcc", "todisco", 16000, hop_length=256, n_coeffs=12)
    assert (got["hop_length"], got["n_coeffs"], got["n_bins"]) == (256, 12, 864)


# ---------------------------------------------------------------------------------------
# LFCC and linear spectrogram
# ---------------------------------------------------------------------------------------
def _signal(name, speech, speech_b, noise):
    return {
        "speech16": (speech, 16000),
        "speech_b16": (speech_b, 16000),
        "noise16": (noise, 16000),
        "speech8": (resample_to_8k(speech), 8000),
        "noise8": (resample_to_8k(noise), 8000),
    }[name]


LFCC_CASES = [
    ("asvspoof2019", "speech16"),
    ("asvspoof2019", "speech_b16"),
    ("asvspoof2019", "noise16"),
    ("asvspoof2021", "speech16"),
    ("asvspoof2021", "speech_b16"),
    ("asvspoof2021", "noise16"),
    ("asvspoof2019", "speech8"),
    ("asvspoof2019", "noise8"),
    ("asvspoof2021", "speech8"),
]


@pytest.mark.parametrize("preset,signal", LFCC_CASES)
def test_lfcc_matches_reference(features, ref, speech, speech_b, noise, preset, signal):
    y, sr = _signal(signal, speech, speech_b, noise)
    p = ref.resolve_lfcc_params(preset, sr)
    R = ref.lfcc_ref(y, sr, **p)
    assert R.shape == (60, ref.n_frames_framed(len(y), p["win_length"], p["hop_length"]))
    C = features.lfcc(y, sr, preset=preset)
    assert_matches_reference(C, R, f"lfcc {preset} {signal}")


@pytest.mark.parametrize("preset,signal", [
    ("asvspoof2019", "speech16"), ("asvspoof2019", "noise16"),
    ("asvspoof2021", "speech16"), ("asvspoof2019", "speech8"),
])
def test_linear_spectrogram_matches_reference(features, ref, speech, speech_b, noise, preset, signal):
    y, sr = _signal(signal, speech, speech_b, noise)
    p = ref.resolve_lfcc_params(preset, sr)
    R = ref.linear_spectrogram_ref(y, sr, **p)
    assert R.shape == (p["n_fft"] // 2 + 1, ref.n_frames_framed(len(y), p["win_length"], p["hop_length"]))
    C = features.linear_spectrogram(y, sr, preset=preset)
    assert_matches_reference(C, R, f"linear_spectrogram {preset} {signal}")


LFCC_OVERRIDES = [
    dict(window="hann"),
    dict(window="rect"),
    dict(window="hamming", periodic=True),
    dict(window="hann", periodic=True),
    dict(n_fft=400),  # not a power of two ("any size")
    dict(n_fft=1000, win_length=400, hop_length=100),
    dict(win_length=512, n_fft=512),  # n_fft == win_length
    dict(n_fft=321, win_length=321, hop_length=97),  # odd everything
    dict(preemphasis=0.0),
    dict(preemphasis=0.5),
    dict(fmin=300.0, fmax=3400.0),
    dict(n_filters=40, n_coeffs=13),
    dict(n_filters=30, n_coeffs=30),
    dict(deltas=False),
    dict(delta_width=2),
    dict(delta_width=3, n_coeffs=10),
]


@pytest.mark.parametrize("overrides", LFCC_OVERRIDES, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_lfcc_overrides_match_reference(features, ref, speech, overrides):
    sr = 16000
    p = ref.resolve_lfcc_params("asvspoof2019", sr, **overrides)
    R = ref.lfcc_ref(speech, sr, **p)
    C = features.lfcc(speech, sr, preset="asvspoof2019", **overrides)
    assert C.shape[0] == p["n_coeffs"] * (3 if p["deltas"] else 1)
    assert_matches_reference(C, R, f"lfcc overrides {overrides}")


@pytest.mark.parametrize("overrides", [dict(window="hann", n_fft=1024), dict(preemphasis=0.97, n_fft=2048)],
                         ids=["hann1024", "preemph2048"])
def test_linear_spectrogram_overrides_match_reference(features, ref, speech, overrides):
    p = ref.resolve_lfcc_params("asvspoof2021", 16000, **overrides)
    R = ref.linear_spectrogram_ref(speech, 16000, **p)
    C = features.linear_spectrogram(speech, 16000, preset="asvspoof2021", **overrides)
    assert_matches_reference(C, R, f"linear_spectrogram overrides {overrides}")


def test_lfcc_silence_is_finite_floor(features, ref):
    y = np.zeros(8000)
    p = ref.resolve_lfcc_params("asvspoof2019", 16000)
    C = features.lfcc(y, 16000)
    assert_matches_reference(C, ref.lfcc_ref(y, 16000, **p), "lfcc of digital silence")


# ---------------------------------------------------------------------------------------
# CQT and CQCC
# ---------------------------------------------------------------------------------------
# The reference CQT costs ~2 s per signal at the todisco resolution (864 bins, ~18 s of
# padding): compute it once per signal and share it between the CQT and CQCC checks.
_CQT_CACHE: dict = {}


def _ref_cqt(ref, key, y, sr, p):
    k = (key, sr, tuple(sorted(p.items())))
    if k not in _CQT_CACHE:
        _CQT_CACHE[k] = ref.cqt_complex_ref(y, sr, **p)
    return _CQT_CACHE[k]


def _cqt_signal(name, speech, speech_b, noise):
    return {
        "speech16": (speech, 16000),  # 3.0 s
        "noise16": (noise[: 2 * 16000], 16000),  # 2.0 s
        "speech8": (resample_to_8k(speech), 8000),  # 3.0 s
    }[name]


@pytest.mark.parametrize("signal", ["speech16", "noise16", "speech8"])
def test_cqt_todisco_matches_reference(features, ref, speech, speech_b, noise, signal):
    y, sr = _cqt_signal(signal, speech, speech_b, noise)
    p = ref.resolve_cqcc_params("todisco", sr)
    R = np.abs(_ref_cqt(ref, signal, y, sr, p))
    assert R.shape == (864, ref.n_frames_cqt(len(y), p["hop_length"]))
    C = features.cqt(y, sr, preset="todisco")
    assert_matches_reference(C, R, f"cqt todisco {signal}")


@pytest.mark.parametrize("signal", ["speech16", "noise16", "speech8"])
def test_cqcc_todisco_matches_reference(features, ref, speech, speech_b, noise, signal):
    y, sr = _cqt_signal(signal, speech, speech_b, noise)
    p = ref.resolve_cqcc_params("todisco", sr)
    R = ref.cqcc_from_cqt(_ref_cqt(ref, signal, y, sr, p), **p)
    assert R.shape == (60, ref.n_frames_cqt(len(y), p["hop_length"]))
    C = features.cqcc(y, sr, preset="todisco")
    assert_matches_reference(C, R, f"cqcc todisco {signal}")


# A moderate configuration (7 octaves x 24 bins from C1) keeps the reference fast, so the
# overrides can be exercised on speech_b too.
MODERATE = dict(fmin=32.703, n_bins=7 * 24, bins_per_octave=24, hop_length=256)
CQT_OVERRIDES = [
    dict(),
    dict(bandwidth=1.0),
    dict(bandwidth=2.5),
    dict(hop_length=100),
    dict(hop_length=333),  # odd hop
    dict(bins_per_octave=12, n_bins=80),
    dict(fmin=100.0, n_bins=100, bins_per_octave=36),
]


@pytest.mark.parametrize("overrides", CQT_OVERRIDES, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "base")
def test_cqt_overrides_match_reference(features, ref, speech_b, overrides):
    kw = {**MODERATE, **overrides}
    p = ref.resolve_cqcc_params("todisco", 16000, **kw)
    R = ref.cqt_ref(speech_b, 16000, **p)
    C = features.cqt(speech_b, 16000, preset="todisco", **kw)
    assert_matches_reference(C, R, f"cqt overrides {kw}")


@pytest.mark.parametrize("overrides", [
    dict(),
    dict(deltas=False),
    dict(delta_width=2),
    dict(n_coeffs=12),
    dict(resample_d=8),
    dict(resample_d=5),
    dict(bandwidth=1.0, hop_length=160),
], ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()) or "base")
def test_cqcc_overrides_match_reference(features, ref, speech_b, overrides):
    kw = {**MODERATE, **overrides}
    p = ref.resolve_cqcc_params("todisco", 16000, **kw)
    R = ref.cqcc_ref(speech_b, 16000, **p)
    C = features.cqcc(speech_b, 16000, preset="todisco", **kw)
    assert C.shape[0] == (1 + p["n_coeffs"]) * (3 if p["deltas"] else 1)
    assert_matches_reference(C, R, f"cqcc overrides {kw}")


def test_cqcc_silence_is_finite_floor(features, ref):
    y = np.zeros(4000)
    p = ref.resolve_cqcc_params("todisco", 16000, **MODERATE)
    C = features.cqcc(y, 16000, **MODERATE)
    assert_matches_reference(C, ref.cqcc_ref(y, 16000, **p), "cqcc of digital silence")
