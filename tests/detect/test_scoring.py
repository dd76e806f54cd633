"""Whole-recording scoring with the shipped detector: formats, rates, channels, lengths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import voiceguard
from voiceguard import audio
from voiceguard.detect.detector import Detector
from voiceguard.detect.result import ScoreResult
from voiceguard.errors import AudioReadError, InvalidAudioError, ModelError
from voiceguard.training.resnet import window_bounds

DATA = Path(__file__).resolve().parents[1] / "assets"
SPEECH = DATA / "librispeech_118-121721-0000_3s.flac"


@pytest.fixture(scope="module")
def det() -> Detector:
    return Detector(threads=1)


@pytest.fixture(scope="module")
def speech() -> tuple[np.ndarray, int]:
    return audio.load_mono(SPEECH)


def _long(y: np.ndarray, seconds: float, sr: int) -> np.ndarray:
    return np.tile(y, int(np.ceil(seconds * sr / len(y))))[: int(seconds * sr)]


def test_window_bounds() -> None:
    assert window_bounds(100, 400, 200) == [(0, 100)]
    assert window_bounds(400, 400, 200) == [(0, 400)]
    assert window_bounds(1000, 400, 200) == [(0, 400), (200, 600), (400, 800), (600, 1000)]
    assert window_bounds(1050, 400, 200)[-1] == (650, 1050)


def test_score_file_result_fields(det: Detector) -> None:
    r = det.score(SPEECH)
    assert isinstance(r, ScoreResult)
    assert r.file == str(SPEECH) and r.verdict in ("bonafide", "spoof")
    assert 0.0 <= r.spoof_probability <= 1.0
    assert r.duration_s == pytest.approx(3.0, abs=0.01) and r.sample_rate == 16000 and r.channels == 1
    assert r.segments and r.segments[0].start_s == 0.0 and r.segments[-1].end_s == pytest.approx(r.duration_s)
    d = r.to_dict()
    for key in ("file", "spoof_probability", "llr", "verdict", "duration_s", "segments"):
        assert key in d
    assert set(d["segments"][0]) >= {"start_s", "end_s", "spoof_probability"}
    # the probability follows from the LLR at the documented prior
    assert r.spoof_probability == pytest.approx(1 / (1 + np.exp(r.llr)), abs=1e-9)
    assert r.is_spoof == (r.spoof_probability >= 0.5)


def test_scoring_is_deterministic(det: Detector, speech) -> None:
    y, sr = speech
    a, b = det.score(y, sr), Detector(threads=1).score(y, sr)
    assert a.llr == b.llr and [s.llr for s in a.segments] == [s.llr for s in b.segments]


def test_public_api_score(speech) -> None:
    y, sr = speech
    r = voiceguard.score(y, sr=sr)
    assert r.file is None and r.verdict in ("bonafide", "spoof")
    assert voiceguard.ScoreResult is ScoreResult
    with pytest.raises(ValueError, match="sample rate"):
        voiceguard.score(y)


def test_long_file_three_minutes(det: Detector, speech, tmp_path: Path) -> None:
    y, sr = speech
    path = tmp_path / "long.flac"
    sf.write(path, _long(y, 180.0, sr), sr)
    r = det.score(path)
    assert r.duration_s == pytest.approx(180.0, abs=0.01)
    # 4 s windows every 2 s over 180 s: 89 windows, the last ending at the end
    assert len(r.segments) == 89
    assert r.segments[-1].end_s == pytest.approx(180.0, abs=0.01)
    used = [s.llr for s in r.segments if s.used]
    assert r.llr == pytest.approx(np.mean(used))


def test_8k_audio_is_resampled_and_scored(det: Detector, speech, tmp_path: Path) -> None:
    y, sr = speech
    y8 = audio.resample(y, sr, 8000)
    sf.write(tmp_path / "phone.wav", y8, 8000, subtype="PCM_16")
    r = det.score(tmp_path / "phone.wav")
    assert r.sample_rate == 8000 and r.verdict in ("bonafide", "spoof")
    assert r.duration_s == pytest.approx(3.0, abs=0.01)
    # mu-law 8 kHz telephone audio
    sf.write(tmp_path / "phone_ulaw.wav", y8, 8000, subtype="ULAW")
    assert det.score(tmp_path / "phone_ulaw.wav").verdict in ("bonafide", "spoof")


def test_other_rates(det: Detector, speech) -> None:
    y, sr = speech
    for rate in (11025, 22050, 44100, 48000):
        r = det.score(audio.resample(y, sr, rate), sr=rate)
        assert r.sample_rate == rate and r.spoof_probability is not None


def test_stereo_is_mixed_down(det: Detector, speech, tmp_path: Path) -> None:
    y, sr = speech
    stereo = np.stack([y, y], axis=1)
    sf.write(tmp_path / "stereo.wav", stereo, sr, subtype="FLOAT")
    sf.write(tmp_path / "mono.wav", y, sr, subtype="FLOAT")
    rs, rm = det.score(tmp_path / "stereo.wav"), det.score(tmp_path / "mono.wav")
    assert rs.channels == 2 and rm.channels == 1
    assert rs.llr == pytest.approx(rm.llr, abs=1e-6)
    # arrays in both layouts
    assert det.score(stereo, sr).llr == pytest.approx(rm.llr, abs=1e-6)
    assert det.score(stereo.T, sr).llr == pytest.approx(rm.llr, abs=1e-6)


@pytest.mark.parametrize(
    "name, fmt, subtype",
    [("a.wav", "WAV", "PCM_16"), ("a.flac", "FLAC", "PCM_16"), ("a.ogg", "OGG", "VORBIS"),
     ("a.mp3", "MP3", "MPEG_LAYER_III")],
)
def test_formats(det: Detector, speech, tmp_path: Path, name: str, fmt: str, subtype: str) -> None:
    if fmt not in sf.available_formats():
        pytest.skip(f"libsndfile here cannot write {fmt}")
    y, sr = speech
    sf.write(tmp_path / name, y, sr, format=fmt, subtype=subtype)
    r = det.score(tmp_path / name)
    assert r.verdict in ("bonafide", "spoof")
    assert r.duration_s == pytest.approx(3.0, abs=0.1)


def test_corrupt_and_empty_files_raise(det: Detector, tmp_path: Path) -> None:
    (tmp_path / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 3)
    with pytest.raises(AudioReadError):
        det.score(tmp_path / "corrupt.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioReadError):
        det.score(tmp_path / "empty.wav")
    sf.write(tmp_path / "nosamples.wav", np.zeros(0, np.float32), 16000)
    with pytest.raises(AudioReadError, match="no audio samples"):
        det.score(tmp_path / "nosamples.wav")
    with pytest.raises(AudioReadError, match="no such file"):
        det.score(tmp_path / "missing.wav")


def test_bad_arrays(det: Detector) -> None:
    with pytest.raises(InvalidAudioError):
        det.score(np.array([0.0, np.nan, 0.1] * 8000), 16000)
    with pytest.raises(InvalidAudioError):
        det.score(np.zeros((2, 2, 2)), 16000)


def test_no_speech_verdicts(det: Detector) -> None:
    sr = 16000
    rng = np.random.default_rng(0)
    for y in (np.zeros(5 * sr), 0.05 * rng.standard_normal(5 * sr), np.zeros(100), 0.3 * np.sin(np.arange(3 * sr) * 0.3)):
        r = det.score(y, sr)
        assert r.verdict == "no_speech"
        assert r.spoof_probability is None and r.llr is None and r.segments == []


def test_too_little_speech_is_no_speech(det: Detector, speech) -> None:
    y, sr = speech
    short = np.concatenate([np.zeros(sr), y[int(0.6 * sr) : int(0.9 * sr)], np.zeros(sr)])
    assert det.score(short, sr).verdict == "no_speech"


def test_threshold_and_prior_overrides(speech) -> None:
    y, sr = speech
    low = Detector(threshold=0.0).score(y, sr)
    high = Detector(threshold=1.0).score(y, sr)
    assert low.verdict == "spoof" and high.verdict == "bonafide"
    r1, r9 = Detector(prior=0.1).score(y, sr), Detector(prior=0.9).score(y, sr)
    assert r1.llr == pytest.approx(r9.llr)
    assert r1.spoof_probability > r9.spoof_probability


def test_bad_model_config(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        Detector(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        Detector(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(ModelError, match="not a voiceguard detector"):
        Detector(tmp_path / "other.json")


def test_shipped_model_is_small_and_documented() -> None:
    import json
    from importlib import resources

    root = resources.files("voiceguard.models")
    cfg = json.loads((root / "detector.json").read_text())
    assert cfg["n_parameters"] <= 1_000_000
    assert (root / cfg["weights"]).is_file()
    assert (root / "MODEL_CARD.md").is_file()
    assert cfg["calibration"]["scale"] > 0
