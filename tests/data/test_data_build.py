"""Synthetic corpus, segmentation, TTS wrappers and an end-to-end tiny build."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("librosa")

from voiceguard.data import tts
from voiceguard.data.build import BuildConfig, build_corpus, main, segment
from voiceguard.data.manifest import read_manifest
from voiceguard.data.splits import check_speaker_disjoint
from voiceguard.data.synthetic import make_synthetic_corpus
from voiceguard.errors import InvalidParameterError

SR = 16000


def test_synthetic_corpus_layout(tmp_path: Path):
    import soundfile as sf

    man = make_synthetic_corpus(tmp_path / "c", n_speakers=2, utterances_per_speaker=2, seed=1)
    lines = man.read_text().splitlines()
    assert lines[0].startswith("path\tlabel\tsource\tspeaker\tduration_s")
    assert len(lines) == 5
    m = read_manifest(man.parent)
    assert m.values("speaker") == ["synthetic_spk00", "synthetic_spk01"]
    y, sr = sf.read(m.resolve(m[0]))
    assert sr == SR and 1.0 < len(y) / sr < 5.0 and np.max(np.abs(y)) > 0.3
    # same seed, same audio
    man2 = make_synthetic_corpus(tmp_path / "d", n_speakers=2, utterances_per_speaker=2, seed=1)
    y2, _ = sf.read(man2.parent / m[0].path)
    assert np.array_equal(y, y2)


def test_segment_lengths():
    rng = np.random.default_rng(0)
    y = np.random.default_rng(1).standard_normal(SR * 37) * 0.1
    cuts = segment(y, SR, rng, (2.0, 8.0))
    assert cuts[0][0] == 0 and cuts[-1][1] == len(y)
    assert all(b == c for (_, b), (c, _) in zip(cuts[:-1], cuts[1:]))
    lengths = [(b - a) / SR for a, b in cuts]
    assert all(1.5 <= n <= 9.0 for n in lengths)
    assert segment(y[: SR // 2], SR, rng) == []
    assert segment(y[: int(1.2 * SR)], SR, rng) == [(0, int(1.2 * SR))]


def test_tts_engines_report_missing_binaries():
    e = tts.EspeakEngine(binary="definitely-not-espeak")
    assert not e.available() and e.voices() == []
    with pytest.raises(tts.TTSUnavailableError, match="apt-get install espeak-ng"):
        e.synthesize("hello", tts.Voice("espeak-ng", "en-us+m1", "tts-rule"), np.random.default_rng(0))
    assert len(tts.SENTENCES) >= 60
    assert sum(len(s.split()) for s in tts.SENTENCES) > 400


@pytest.mark.parametrize("name", sorted(tts.ENGINES))
def test_tts_engine_speaks(name):
    engine = tts.ENGINES[name]()
    if not engine.available():
        pytest.skip(f"{name} is not installed ({engine.install_hint})")
    voices = engine.voices()
    assert voices
    if name == "kokoro-ja" and not os.environ.get("VOICEGUARD_SLOW_TESTS"):
        pytest.skip("kokoro-ja takes ~10 s to load; set VOICEGUARD_SLOW_TESTS=1 to run it")
    text = tts.FOREIGN_SENTENCES["ja"][0] if voices[0].language == "ja" else "Please hold the line."
    y, settings = tts.synthesize(text, voices[0], np.random.default_rng(0))
    assert y.dtype == np.float32 and 0.3 * SR < len(y) < 6 * SR and np.max(np.abs(y)) > 0.01
    assert settings


def test_tiny_build_end_to_end(tmp_path: Path):
    make_synthetic_corpus(tmp_path / "syn", n_speakers=4, utterances_per_speaker=2, duration_s=(1.2, 2.5), seed=2)
    cfg = BuildConfig(
        out=tmp_path / "corpus",
        inputs=[tmp_path / "syn"],
        jobs=1,
        seed=0,
        vocoders=["voc-gl-linear", "voc-lpc"],
        vocoders_per_segment=1,
        tts=False,
    )
    m = build_corpus(cfg, progress=False)
    assert (tmp_path / "corpus" / "manifest.tsv").is_file()
    assert (tmp_path / "corpus" / "summary.txt").read_text().startswith(f"{len(m)} clips")
    labels = {r.label for r in m}
    assert labels == {"bonafide", "spoof"}
    assert {r.system for r in m if r.is_spoof} == {"voc-gl-linear", "voc-lpc"}
    assert {r.family for r in m} == {"bonafide", "dsp-vocoder"}
    assert {r.split for r in m} <= {"train", "val", "test"} and "train" in {r.split for r in m}
    assert {r.condition.split("-")[0] for r in m} == {"wideband", "tel"}
    check_speaker_disjoint(m)
    # every spoof has a bona fide original of the same segment, speaker and split
    bona = {(r.group, r.speaker, r.split) for r in m if not r.is_spoof}
    assert all((r.group, r.speaker, r.split) in bona for r in m if r.is_spoof)
    import soundfile as sf

    for r in list(m)[:6]:
        info = sf.info(m.resolve(r))
        assert info.samplerate == SR and info.channels == 1
        assert abs(info.duration - r.duration_s) < 0.01
    # the manifest on disk reads back identically
    again = read_manifest(tmp_path / "corpus" / "manifest.tsv")
    assert [r.path for r in again] == [r.path for r in m]
    # resumable: a rerun reuses every part and gives the same manifest
    first = (tmp_path / "corpus" / "manifest.tsv").read_text()
    shutil.rmtree(tmp_path / "corpus" / "clips" / "train", ignore_errors=False)
    m2 = build_corpus(cfg, progress=False)
    assert len(m2) == len(m) and (tmp_path / "corpus" / "manifest.tsv").read_text() == first
    # other settings into the same folder are refused
    cfg.seed = 1
    with pytest.raises(InvalidParameterError, match="other settings"):
        build_corpus(cfg, progress=False)


def test_cli_synth_and_errors(tmp_path: Path, capsys):
    assert main(["synth", "--out", str(tmp_path / "s"), "--speakers", "2", "--utterances", "1"]) == 0
    assert (tmp_path / "s" / "MANIFEST.tsv").is_file()
    assert main(["build", "--out", str(tmp_path / "o"), "--input", str(tmp_path / "s"), "--tts-fraction", "0.9"]) == 2
    assert "minority" in capsys.readouterr().err


def test_build_with_tts_and_input_spoofs(tmp_path: Path):
    """TTS spoofs (espeak-ng, the fastest engine) and spoofs listed in a user manifest."""
    if not tts.EspeakEngine().available():
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    import soundfile as sf

    make_synthetic_corpus(tmp_path / "syn", n_speakers=3, utterances_per_speaker=1, duration_s=(1.2, 2.0), seed=4)
    # a user's manifest with one extra spoof (here: a synthetic clip relabelled)
    y, sr = sf.read(tmp_path / "syn" / "synthetic_spk00" / "synthetic_spk00_000.flac")
    sf.write(tmp_path / "fake.flac", y[::-1].copy(), sr)
    (tmp_path / "user.csv").write_text("path,label,speaker,system\nfake.flac,spoof,someone,my-tts\n")
    cfg = BuildConfig(
        out=tmp_path / "corpus",
        inputs=[tmp_path / "syn", tmp_path / "user.csv"],
        jobs=1,
        vocoders=["voc-gl-linear"],
        vocoders_per_segment=1,
        tts_engines=["espeak-ng"],
        tts_fraction=0.3,
        profiles=["wideband"],
    )
    m = build_corpus(cfg, progress=False)
    systems = {r.system for r in m if r.is_spoof}
    assert {"voc-gl-linear", "tts-espeak-ng", "my-tts"} <= systems
    espeak = [r for r in m if r.system == "tts-espeak-ng"]
    assert all(r.family == "tts-rule" and r.speaker.startswith("espeak-ng:") for r in espeak)
    assert all(r.condition.startswith("wideband") for r in m)
    user = [r for r in m if r.system == "my-tts"]
    assert user and user[0].speaker == "someone"

