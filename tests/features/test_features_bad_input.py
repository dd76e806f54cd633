"""Bad input to ``voiceguard.features``: always a :class:`voiceguard.errors.VoiceguardError`
subclass with a message naming the problem, never a crash, hang or silent NaN.

Each case asserts the exception *class* (the most specific one the contract names) and,
with ``match=``, that the message names the offending thing.  The regular expressions
are deliberately loose about wording, strict about content.
"""

from __future__ import annotations

import numpy as np
import pytest

FUNCS = ["lfcc", "linear_spectrogram", "cqt", "cqcc"]
LFCC_FUNCS = ["lfcc", "linear_spectrogram"]
CQ_FUNCS = ["cqt", "cqcc"]


@pytest.fixture(scope="module")
def errors():
    from voiceguard import errors as mod

    return mod


def call(features, name, y, sr=16000, **kw):
    return getattr(features, name)(y, sr, **kw)


# ---------------------------------------------------------------------------------------
# the audio array
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCS)
def test_empty(features, errors, name):
    with pytest.raises(errors.InputTooShortError, match=r"(?i)empty|0 samples|too short|shorter"):
        call(features, name, np.zeros(0))


@pytest.mark.parametrize("name", FUNCS)
def test_one_sample(features, errors, name):
    with pytest.raises(errors.InputTooShortError, match=r"(?i)short|1 sample"):
        call(features, name, np.zeros(1))


@pytest.mark.parametrize("name,preset,n", [
    ("lfcc", "asvspoof2019", 319),  # win_length 320 at 16 kHz
    ("linear_spectrogram", "asvspoof2019", 319),
    ("lfcc", "asvspoof2021", 479),  # win_length 480
])
def test_shorter_than_one_frame(features, errors, rng, name, preset, n):
    with pytest.raises(errors.InputTooShortError, match=r"(?i)short|frame|window"):
        call(features, name, rng.standard_normal(n), preset=preset)
    # one more sample is exactly one frame and works
    out = call(features, name, rng.standard_normal(n + 1), preset=preset)
    assert out.shape[1] == 1


@pytest.mark.parametrize("name", CQ_FUNCS)
def test_cq_shorter_than_one_hop(features, errors, rng, name):
    # The spec gives the CQT no minimum length (T = 1 + N // hop); voiceguard requires one
    # hop (160 samples at 16 kHz).
    with pytest.raises(errors.InputTooShortError, match=r"(?i)short|hop"):
        call(features, name, rng.standard_normal(159))
    assert call(features, name, rng.standard_normal(160)).shape[1] == 2


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite(features, errors, rng, name, bad):
    y = rng.standard_normal(16000)
    y[1234] = bad
    with pytest.raises(errors.NonFiniteAudioError, match=r"(?i)nan|inf|finite"):
        call(features, name, y)


@pytest.mark.parametrize("name", ["lfcc", "cqcc"])
def test_non_finite_float32(features, errors, name):
    y = np.zeros(16000, dtype=np.float32)
    y[-1] = np.float32("nan")
    with pytest.raises(errors.NonFiniteAudioError, match=r"(?i)nan|finite"):
        call(features, name, y)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("shape", [(2, 16000), (16000, 2), (1, 16000)])
def test_two_dimensional(features, errors, rng, name, shape):
    with pytest.raises(errors.InvalidAudioError, match=r"(?i)mono|channel"):
        call(features, name, rng.standard_normal(shape))


@pytest.mark.parametrize("name", FUNCS)
def test_zero_dimensional(features, errors, name):
    with pytest.raises(errors.InvalidAudioError, match=r"(?i)1-d|mono|shape|dimension"):
        call(features, name, np.float64(0.5))


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("dtype", [np.complex128, object, "U3"])
def test_non_audio_dtype(features, errors, name, dtype):
    y = np.zeros(16000, dtype=dtype) if dtype != "U3" else np.array(["abc"] * 16000)
    with pytest.raises(errors.InvalidAudioError, match=r"(?i)dtype|type"):
        call(features, name, y)


@pytest.mark.parametrize("name", FUNCS)
def test_int16_accepted_and_scaled(features, speech_int16, name):
    pcm = np.asarray(speech_int16[:16000])
    a = call(features, name, pcm)
    b = call(features, name, pcm.astype(np.float64) / 32768.0)
    assert a.dtype == np.float32
    assert np.array_equal(a, b)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("kind", ["silence", "dc", "loud", "tiny", "clipped_square"])
def test_extreme_signals_give_finite_output(features, rng, name, kind):
    n = 16000
    y = {
        "silence": np.zeros(n),
        "dc": np.ones(n),
        "loud": 1e6 * rng.standard_normal(n),
        "tiny": 1e-200 * rng.standard_normal(n),  # squares underflow: the EPS floor applies
        "clipped_square": np.sign(np.sin(2 * np.pi * 440 * np.arange(n) / 16000)),
    }[kind]
    out = call(features, name, y)
    assert out.dtype == np.float32 and np.all(np.isfinite(out)), f"{name}({kind}) is not finite"


# ---------------------------------------------------------------------------------------
# the sample rate
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("sr", [0, -16000, float("nan"), float("inf"), -0.0])
def test_invalid_sample_rate(features, errors, rng, name, sr):
    with pytest.raises(errors.SampleRateError, match=r"(?i)\bsr\b|sample rate"):
        call(features, name, rng.standard_normal(16000), sr=sr)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("sr", ["16000", None, [16000]])
def test_sample_rate_not_a_number(features, errors, rng, name, sr):
    with pytest.raises(errors.SampleRateError, match=r"(?i)\bsr\b|sample rate"):
        call(features, name, rng.standard_normal(16000), sr=sr)


def test_fmax_above_nyquist_at_8k(features, errors, rng):
    # asvspoof2019 with fmax overridden to 6 kHz cannot run on 8 kHz audio
    with pytest.raises(errors.SampleRateError, match=r"(?i)nyquist|fmax|sr"):
        features.lfcc(rng.standard_normal(8000), 8000, preset="asvspoof2019", fmax=6000.0)
    # ...but is fine at 16 kHz
    assert features.lfcc(rng.standard_normal(16000), 16000, preset="asvspoof2019", fmax=6000.0).shape[0] == 60


@pytest.mark.parametrize("name", LFCC_FUNCS)
@pytest.mark.parametrize("sr", [6000, 7999])
def test_asvspoof2021_needs_8k(features, errors, rng, name, sr):
    # the preset's 0..4000 Hz band needs sr >= 8000
    with pytest.raises(errors.SampleRateError, match=r"(?i)nyquist|4000|sr"):
        call(features, name, rng.standard_normal(sr), sr=sr, preset="asvspoof2021")


@pytest.mark.parametrize("name", LFCC_FUNCS)
@pytest.mark.parametrize("preset,sr", [("asvspoof2019", 44100), ("asvspoof2019", 48000), ("asvspoof2021", 48000)])
def test_preset_window_longer_than_n_fft(features, errors, rng, name, preset, sr):
    # 20 ms at 44.1 kHz is 882 samples > n_fft = 512: the preset cannot run there
    with pytest.raises(errors.SampleRateError, match=r"(?i)n_fft|window"):
        call(features, name, rng.standard_normal(sr), sr=sr, preset=preset)


@pytest.mark.parametrize("name", CQ_FUNCS)
@pytest.mark.parametrize("overrides", [
    dict(fmin=20.0, n_bins=864),  # top bin 20 * 2^(863/96) = 10.2 kHz > 8 kHz
    dict(n_bins=865),  # one bin more than the preset: the top bin reaches Nyquist
    dict(fmin=8000.0, n_bins=1),  # at Nyquist
    dict(fmin=9000.0, n_bins=1),  # above Nyquist
])
def test_cq_bins_above_nyquist(features, errors, rng, name, overrides):
    with pytest.raises(errors.SampleRateError, match=r"(?i)nyquist|sr"):
        call(features, name, rng.standard_normal(16000), **overrides)


# ---------------------------------------------------------------------------------------
# presets and overrides
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCS)
def test_unknown_preset(features, errors, rng, name):
    with pytest.raises(errors.InvalidParameterError, match=r"(?i)preset.*no_such_preset|no_such_preset.*preset"):
        call(features, name, rng.standard_normal(16000), preset="no_such_preset")


def test_preset_of_the_other_family(features, errors, rng):
    with pytest.raises(errors.InvalidParameterError, match=r"(?i)preset"):
        features.lfcc(rng.standard_normal(16000), 16000, preset="todisco")
    with pytest.raises(errors.InvalidParameterError, match=r"(?i)preset"):
        features.cqcc(rng.standard_normal(16000), 16000, preset="asvspoof2019")


@pytest.mark.parametrize("name", FUNCS)
def test_unknown_override_keyword(features, errors, rng, name):
    with pytest.raises(errors.InvalidParameterError, match=r"bogus_param"):
        call(features, name, rng.standard_normal(16000), bogus_param=1)


@pytest.mark.parametrize("name,kw", [
    ("lfcc", "bins_per_octave"), ("lfcc", "resample_d"), ("cqt", "n_fft"), ("cqcc", "window"), ("cqcc", "n_filters"),
])
def test_override_of_the_other_family(features, errors, rng, name, kw):
    value = "hann" if kw == "window" else 12
    with pytest.raises(errors.InvalidParameterError, match=kw):
        call(features, name, rng.standard_normal(16000), **{kw: value})


LFCC_BAD = [
    (dict(n_fft=256), r"n_fft"),  # < win_length 320
    (dict(win_length=600), r"n_fft|win_length"),  # > n_fft 512
    (dict(n_coeffs=21), r"n_coeffs|n_filters"),  # > n_filters 20
    (dict(n_filters=10), r"n_coeffs|n_filters"),  # < n_coeffs 20
    (dict(window="blackman"), r"window"),
    (dict(window=None), r"window"),
    (dict(win_length=0), r"win_length"),
    (dict(hop_length=0), r"hop_length"),
    (dict(hop_length=-160), r"hop_length"),
    (dict(n_fft=512.5), r"n_fft"),
    (dict(n_fft="512"), r"n_fft"),
    (dict(n_filters=0), r"n_filters"),
    (dict(n_coeffs=0), r"n_coeffs"),
    (dict(delta_width=0), r"delta_width"),
    (dict(fmin=5000.0, fmax=4000.0), r"fmin|fmax"),
    (dict(fmin=-10.0), r"fmin"),
    (dict(fmax=float("nan")), r"fmax"),
    (dict(preemphasis=float("nan")), r"preemphasis"),
]


# The linear spectrogram accepts the LFCC overrides; whether it validates the filterbank /
# cepstrum ones it does not use is not specified, so it is only given the framing ones.
_UNUSED_BY_SPECTROGRAM = {"n_coeffs", "n_filters", "delta_width", "fmin", "fmax"}
BAD_LFCC_CASES = [("lfcc", o, pat) for o, pat in LFCC_BAD] + [
    ("linear_spectrogram", o, pat) for o, pat in LFCC_BAD if not (set(o) & _UNUSED_BY_SPECTROGRAM)
]


@pytest.mark.parametrize("name,overrides,pattern", BAD_LFCC_CASES, ids=[f"{n}-{o}" for n, o, _ in BAD_LFCC_CASES])
def test_bad_lfcc_override(features, errors, rng, name, overrides, pattern):
    with pytest.raises(errors.InvalidParameterError, match=pattern):
        call(features, name, rng.standard_normal(16000), **overrides)


CQ_BAD = [
    (dict(hop_length=0), r"hop_length"),
    (dict(hop_length=-1), r"hop_length"),
    (dict(bins_per_octave=0), r"bins_per_octave"),
    (dict(n_bins=0), r"n_bins"),
    (dict(bandwidth=0.0), r"bandwidth"),
    (dict(bandwidth=-1.5), r"bandwidth"),
    (dict(bandwidth=float("inf")), r"bandwidth"),
    (dict(fmin=0.0), r"fmin"),
    (dict(fmin=-15.625), r"fmin"),
    (dict(fmin=float("nan")), r"fmin"),
    (dict(n_bins=10.5), r"n_bins"),
]
CQCC_ONLY_BAD = [
    (dict(resample_d=0), r"resample_d"),
    (dict(n_coeffs=0), r"n_coeffs"),
    (dict(n_coeffs=100000), r"n_coeffs"),  # more than the J uniform samples
    (dict(delta_width=0), r"delta_width"),
]


@pytest.mark.parametrize("name", CQ_FUNCS)
@pytest.mark.parametrize("overrides,pattern", CQ_BAD, ids=[str(o) for o, _ in CQ_BAD])
def test_bad_cq_override(features, errors, rng, name, overrides, pattern):
    with pytest.raises(errors.InvalidParameterError, match=pattern):
        call(features, name, rng.standard_normal(16000), **overrides)


@pytest.mark.parametrize("overrides,pattern", CQCC_ONLY_BAD, ids=[str(o) for o, _ in CQCC_ONLY_BAD])
def test_bad_cqcc_override(features, errors, rng, overrides, pattern):
    with pytest.raises(errors.InvalidParameterError, match=pattern):
        features.cqcc(rng.standard_normal(16000), 16000, **overrides)


def test_resolve_params_errors(features, errors):
    with pytest.raises(errors.InvalidParameterError, match=r"(?i)kind|mfcc"):
        features.resolve_params("mfcc", "asvspoof2019", 16000)
    with pytest.raises(errors.InvalidParameterError, match=r"(?i)preset"):
        features.resolve_params("lfcc", "nope", 16000)
    with pytest.raises(errors.SampleRateError):
        features.resolve_params("cqcc", "todisco", 0)
    with pytest.raises(errors.InvalidParameterError, match="bogus_param"):
        features.resolve_params("cqcc", "todisco", 16000, bogus_param=3)


def test_errors_are_value_errors(features, errors):
    # code that already catches ValueError keeps working (voiceguard/errors.py)
    with pytest.raises(ValueError):
        features.lfcc(np.zeros(0), 16000)
    with pytest.raises(ValueError):
        features.cqcc(np.zeros(16000), -1)
    with pytest.raises(errors.VoiceguardError):
        features.cqt(np.zeros(16000), 16000, preset="nope")
