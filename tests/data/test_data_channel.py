"""G.711 codecs, codec round trips and the randomised channel chain."""

from __future__ import annotations

import numpy as np
import pytest

from voiceguard.data import channel as ch
from voiceguard.errors import InvalidAudioError, InvalidParameterError

SR = 16000


def _speechlike(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    y = sum(np.sin(2 * np.pi * 130 * k * t) / k for k in range(1, 12)) * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t))
    y = y + 0.01 * rng.standard_normal(t.size)
    return (0.3 * y / np.max(np.abs(y))).astype(np.float32)


def test_mulaw_known_code_words():
    # ITU-T G.711: +0 -> 0xFF, -0 region -> 0x7F, most positive -> 0x80, most negative -> 0x00
    codes = ch.mulaw_encode(np.array([0, -1, 32767, -32768, 8000], dtype=np.int16))
    assert list(codes[:4]) == [0xFF, 0x7F, 0x80, 0x00]
    dec = ch.mulaw_decode(np.array([0xFF, 0x7F, 0x80, 0x00], dtype=np.uint8))
    assert list(dec) == [0, 0, 32124, -32124]
    # every code decodes to a value that re-encodes to itself (except the two zeros)
    allc = np.arange(256, dtype=np.uint8)
    back = ch.mulaw_encode(ch.mulaw_decode(allc))
    assert np.array_equal(back[allc != 0x7F], allc[allc != 0x7F])


def test_alaw_known_code_words():
    codes = ch.alaw_encode(np.array([0, -1, 32767, -32768], dtype=np.int16))
    assert list(codes) == [0xD5, 0x55, 0xAA, 0x2A]
    dec = ch.alaw_decode(np.array([0xD5, 0x55, 0xAA, 0x2A], dtype=np.uint8))
    assert list(dec) == [8, -8, 32256, -32256]
    allc = np.arange(256, dtype=np.uint8)
    assert np.array_equal(ch.alaw_encode(ch.alaw_decode(allc)), allc)


@pytest.mark.parametrize("law", ["mu", "a"])
def test_g711_round_trip_error_bounds(law):
    x = np.linspace(-0.99, 0.99, 20001)
    y = ch.g711_roundtrip(x, law)
    assert y.dtype == np.float32 and y.shape == x.shape
    # logarithmic quantiser: 16 steps per chord, so the relative error stays below a step
    # (~6 % at the bottom of a chord, ~3 % at the top)
    big = np.abs(x) > 0.01
    assert np.max(np.abs(y[big] - x[big]) / np.abs(x[big])) < 0.065
    loud = np.abs(x) > 0.1
    assert np.median(np.abs(y[loud] - x[loud]) / np.abs(x[loud])) < 0.02
    # near zero the absolute error stays within one small step (8 or 16 LSB of 16-bit PCM)
    small = np.abs(x) < 0.001
    assert np.max(np.abs(y[small] - x[small])) < 5.5e-4
    # speech-like signal: SNR of 8-bit log PCM is ~35-38 dB
    s = _speechlike()
    z = ch.g711_roundtrip(s, law)
    snr = 10 * np.log10(np.sum(s.astype(float) ** 2) / np.sum((z - s) ** 2))
    assert 30 < snr < 45
    with pytest.raises(InvalidParameterError):
        ch.g711_roundtrip(x, "b")


def test_g711_rejects_nan():
    with pytest.raises(InvalidAudioError):
        ch.mulaw_encode(np.array([0.0, np.nan]))


@pytest.mark.parametrize("codec", ["mp3", "opus"])
def test_codec_round_trip(codec):
    if not ch.codec_available(codec):
        pytest.skip(f"libsndfile here cannot encode {codec}")
    s = _speechlike()
    z = ch.codec_roundtrip(s, SR, codec, 0.5)
    assert z.shape == s.shape and np.all(np.isfinite(z))
    assert not np.allclose(z, s)
    assert np.corrcoef(z, s)[0, 1] > 0.8


def test_trim_and_randomise_silence():
    s = _speechlike(0.5)
    padded = np.concatenate([np.zeros(SR), s, np.zeros(SR // 2)])
    core = ch.trim_silence(padded, SR)
    assert abs(len(core) - len(s)) <= int(0.02 * SR)
    rng = np.random.default_rng(1)
    outs = [ch.randomise_silence(padded, SR, rng)[0] for _ in range(20)]
    lengths = {len(o) for o in outs}
    assert len(lengths) > 10  # drawn, not fixed
    assert all(len(s) + 0.1 * SR - 0.02 * SR <= n <= len(s) + 1.2 * SR for n in lengths)


def test_chain_is_deterministic_and_labels_conditions():
    s = _speechlike(1.0)
    babble = [_speechlike(2.0, seed=5)]
    for profile in ("wideband", "telephone"):
        a, ia = ch.apply_channel(s, SR, np.random.default_rng(7), profile, babble=babble)
        b, ib = ch.apply_channel(s, SR, np.random.default_rng(7), profile, babble=babble)
        assert np.array_equal(a, b) and ia == ib
        c, _ = ch.apply_channel(s, SR, np.random.default_rng(8), profile, babble=babble)
        assert not (len(c) == len(a) and np.allclose(a, c))
        assert a.dtype == np.float32 and np.all(np.isfinite(a))
        assert np.max(np.abs(a)) <= 0.98 + 1e-6
    conds = set()
    for seed in range(40):
        y, info = ch.apply_channel(s, SR, np.random.default_rng(seed), "telephone")
        conds.add(info.condition)
        assert info.condition.startswith("tel-8k-")
        # telephone clips keep almost no energy above 4 kHz
        spec = np.abs(np.fft.rfft(y)) ** 2
        f = np.fft.rfftfreq(len(y), 1 / SR)
        assert spec[f > 4200].sum() < 0.01 * spec.sum()
    assert {"tel-8k-ulaw", "tel-8k-alaw"} <= conds
    with pytest.raises(InvalidParameterError):
        ch.apply_channel(s, SR, np.random.default_rng(0), "satellite")
    with pytest.raises(InvalidAudioError):
        ch.apply_channel(np.zeros(SR), SR, np.random.default_rng(0))


def test_chain_levels_and_edges_do_not_depend_on_input():
    """A loud clean clip and a quiet padded one end up with the same level/edge distributions."""
    clean = _speechlike(1.5)
    quiet = np.concatenate([np.zeros(SR), 0.01 * _speechlike(1.5, 2), np.zeros(SR)])
    lv = {0: [], 1: []}
    for seed in range(30):
        for k, y in enumerate((clean, quiet)):
            z, info = ch.apply_channel(y, SR, np.random.default_rng(seed), "wideband")
            lv[k].append(20 * np.log10(np.sqrt(np.mean(z.astype(float) ** 2))))
    assert abs(np.mean(lv[0]) - np.mean(lv[1])) < 4.0
    assert min(lv[0] + lv[1]) > -45 and max(lv[0] + lv[1]) < -10


def test_rir_and_noise_blocks():
    rng = np.random.default_rng(0)
    h, rt60 = ch.synthetic_rir(SR, rng, rt60=0.5)
    assert rt60 == 0.5 and np.argmax(np.abs(h)) < 0.02 * SR
    n = ch.coloured_noise(SR, rng, 1.0)
    assert abs(np.sqrt(np.mean(n**2)) - 1) < 1e-6
    s = _speechlike()
    noisy = ch.add_noise(s.astype(float), SR, rng, 10.0, "white")
    assert 6 < 10 * np.log10(np.mean(s.astype(float) ** 2) / np.mean((noisy - s) ** 2)) < 14


def test_corpus_and_inference_share_one_resampler():
    # the training corpus must be resampled with the filter scoring applies (issue 20)
    from voiceguard.audio import resample as inference_resample
    from voiceguard.data.channel import resample as corpus_resample

    rng = np.random.default_rng(3)
    y = rng.standard_normal(44100)
    for a, b in ((44100, 16000), (16000, 8000), (8000, 16000), (48000, 16000)):
        np.testing.assert_array_equal(corpus_resample(y, a, b), inference_resample(y, a, b))
