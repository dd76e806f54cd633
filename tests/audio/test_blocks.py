"""Block-wise decoding, resampling, speech activity and chunking equal the whole-signal path."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voiceguard import audio
from voiceguard.audio import vad
from voiceguard.detect.windows import ChunkAssembler, WindowGrid
from voiceguard.errors import AudioReadError, InvalidAudioError, InvalidParameterError


def _pieces(y: np.ndarray, rng: np.random.Generator, max_size: int):
    i = 0
    while i < len(y):
        k = int(rng.integers(0, max_size))  # includes empty pushes
        yield y[i: i + k]
        i += k


@pytest.mark.parametrize("orig_sr", [8000, 11025, 22050, 44100, 48000, 16000])
def test_stream_resampler_is_bit_identical_to_whole(orig_sr: int) -> None:
    rng = np.random.default_rng(orig_sr)
    y = rng.standard_normal(orig_sr * 5 + 37) * 0.1
    whole = audio.resample(y, orig_sr, 16000)
    for max_size in (50, 5000, 100_000):
        rs = audio.StreamResampler(orig_sr, 16000)
        got = np.concatenate([rs.push(p) for p in _pieces(y, rng, max_size)] + [rs.finish()])
        np.testing.assert_array_equal(got, whole)


def test_stream_resampler_short_and_empty_inputs() -> None:
    for n in (0, 1, 7, 440):
        y = np.linspace(-0.5, 0.5, n)
        rs = audio.StreamResampler(44100, 16000)
        got = np.concatenate([rs.push(y), rs.finish()])
        np.testing.assert_array_equal(got, audio.resample(y, 44100, 16000))
    with pytest.raises(InvalidParameterError):
        audio.StreamResampler(0, 16000)


def test_open_stream_and_iter_blocks_match_whole_file(tmp_path) -> None:
    rng = np.random.default_rng(0)
    x = np.clip(rng.standard_normal((22050 * 23 + 5, 2)) * 0.2, -1, 1)
    path = tmp_path / "stereo.flac"
    sf.write(path, x, 22050, subtype="PCM_24")
    y, sr, _, channels = audio.read_input(path, None, min_sr=1, purpose="t")
    st = audio.open_stream(path, None, min_sr=1, purpose="t", block_frames=3001)
    assert (st.sr, st.channels, st.frames) == (sr, channels, len(y)) == (22050, 2, len(x))
    blocks = list(st.blocks)
    assert max(len(b) for b in blocks) <= 3001
    np.testing.assert_array_equal(np.concatenate(blocks), y)
    whole16 = audio.resample(y, sr, 16000)
    got = list(audio.iter_blocks(path, sr=16000, block_s=6.0, overlap_s=1.5))
    assert [b.start for b in got[:3]] == [0, 72000, 144000]
    for b in got:
        np.testing.assert_array_equal(b.y, whole16[b.start: b.start + len(b.y)])
    assert got[-1].start + len(got[-1].y) == len(whole16)


def test_open_stream_errors(tmp_path) -> None:
    with pytest.raises(AudioReadError, match="no such file"):
        audio.open_stream(tmp_path / "missing.wav", None, min_sr=1, purpose="t")
    (tmp_path / "junk.wav").write_bytes(b"RIFF\x00\x00not audio at all")
    with pytest.raises(AudioReadError, match="cannot decode"):
        audio.open_stream(tmp_path / "junk.wav", None, min_sr=1, purpose="t")
    sf.write(tmp_path / "low.wav", np.zeros(100), 2000)
    with pytest.raises(InvalidAudioError, match="too low"):
        audio.open_stream(tmp_path / "low.wav", None, min_sr=4000, purpose="spoof scoring")


def test_streaming_energies_equal_whole_signal() -> None:
    rng = np.random.default_rng(3)
    for n in (100, 320, 16000 * 25 + 77, 16000 * 61):
        y = rng.standard_normal(n) * np.repeat(rng.random(n // 1600 + 1), 1600)[:n]
        whole = vad.frame_energies_db(y, 16000)
        st = vad.StreamingEnergies(16000)
        for p in _pieces(y, rng, 40_000):
            st.push(p)
        np.testing.assert_array_equal(st.finish(), whole)
    act = vad.speech_activity(y, 16000)
    np.testing.assert_array_equal(vad.decide_speech(whole).mask, act.mask)


@pytest.mark.parametrize("n", [1, 500, 64000, 64001, 96000, 160000, 16000 * 31 + 3, 16000 * 95])
def test_chunk_assembler_matches_whole_signal_grid(n: int) -> None:
    rng = np.random.default_rng(n)
    grid = WindowGrid.from_seconds(16000, 4.0, 2.0, 10.0)
    assert grid.windows_per_chunk == 4
    y = rng.standard_normal(n)
    whole = grid.chunks(y)
    asm = ChunkAssembler(grid)
    streamed = [c for p in _pieces(y, rng, 30_000) for c in asm.push(p)] + list(asm.finish())
    assert [(c.start, c.windows, c.index) for c in streamed] == [(c.start, c.windows, c.index) for c in whole]
    absolute = [(c.start + a, c.start + b) for c in whole for a, b in c.windows]
    assert absolute == grid.windows(n)
    for c in whole:
        np.testing.assert_array_equal(c.audio, y[c.start: c.start + len(c.audio)])
        assert len(c.audio) <= grid.max_chunk
        assert c.windows[0][0] == 0 and c.windows[-1][1] == len(c.audio)


def test_detector_file_equals_array_and_blocks(tmp_path, speech) -> None:
    """A file scored block by block gives exactly what the same samples give as an array."""
    from voiceguard.detect.detector import Detector

    y, sr = np.asarray(speech), 16000
    long = np.concatenate([y] * int(np.ceil(75 * sr / len(y))))[: 75 * sr]
    path = tmp_path / "long.wav"
    sf.write(path, long, sr, subtype="FLOAT")
    det = Detector("fast")
    a = det.score(path).to_dict()
    b = det.score_mono(sf.read(path)[0], sr, name=str(path)).to_dict()
    assert a == b
    assert a["segments"][-1]["end_s"] == pytest.approx(75.0)
    starts = [s["start_s"] for s in a["segments"]]
    assert starts[:3] == [0.0, 2.0, 4.0] and starts[-1] == pytest.approx(71.0)
