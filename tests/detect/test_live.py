"""Live scoring in the model's geometry: running window scores are the final ones, the final
result is what offline scoring gives, and threads and batches change nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voiceguard.audio import load_mono
from voiceguard.detect.live import LiveStream

pytestmark = pytest.mark.usefixtures("one_torch_thread")

ROOT = Path(__file__).resolve().parents[2]
CLIPS = [ROOT / "examples" / "bonafide_librispeech_1898.flac", ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac",
         ROOT / "examples" / "spoof_espeak.flac"]


@pytest.fixture(scope="module")
def chunk_detector():
    from voiceguard.detect import Detector

    return Detector("default")


@pytest.fixture(scope="module")
def block_detector(block_test_model):
    """The shipped head read in the block geometry (tests/conftest.py): a test model whose
    scores differ from the shipped ones, for the geometry only."""
    from voiceguard.detect import Detector

    return Detector(block_test_model)


def _call(sr: int, repeat: int = 2) -> np.ndarray:
    y = np.concatenate([load_mono(p, sr)[0] for p in CLIPS] * repeat)
    return (np.clip(y, -1, 1) * 32767).round().astype(np.int16)


def _offline(det, pcm: np.ndarray, sr: int, threads: int | None = None):
    from voiceguard.detect import Detector

    if threads is not None:
        det = Detector(det.model, threads=threads)
    return det.score_mono(pcm / 32768.0, sr)


def _stream(det, pcm: np.ndarray, sr: int, rng, **kw) -> tuple[list, object]:
    s = LiveStream(det, sr=sr, **kw)
    states, i = [], 0
    while i < len(pcm):
        k = int(rng.integers(1, 2 * sr // 50))
        if s.push(pcm[i: i + k].tobytes()):
            states += s.run_inline()
        i += k
    s.model.encode(s.close_input())
    return states, s.final()


@pytest.mark.parametrize("sr", [8000, 16000])
def test_running_windows_are_the_final_windows_and_final_is_offline(block_detector, rng, sr) -> None:
    pcm = _call(sr)
    states, final = _stream(block_detector, pcm, sr, rng)
    offline = _offline(block_detector, pcm, sr)
    assert final.result.to_dict() == offline.to_dict()  # identical, not close
    segs = offline.segments
    running = [s.window for s in states]
    assert len(running) == len(segs) - 1  # the last window needs the last (partial) block
    for w, seg in zip(running, segs):
        assert (w["start_s"], w["llr"]) == (round(seg.start_s, 3), round(seg.llr, 4))
    assert [s.duration_s for s in states] == [2.0 * (k + 2) for k in range(len(states))]
    # the first verdict is due when the first window's 4 s are in
    assert states[0].duration_s == 4.0 and states[0].verdict in ("bonafide", "spoof")


@pytest.mark.parametrize("which", ["block", "chunk"])
def test_threads_do_not_change_offline_results(block_detector, chunk_detector, which) -> None:
    """Threaded (chunks or blocks over 3 workers, or torch's intra-op threads for one piece)
    equals single-threaded, bit for bit."""
    det = block_detector if which == "block" else chunk_detector
    pcm = np.tile(_call(8000, repeat=1), 2)  # 40 s: several chunks and block batches
    one = _offline(det, pcm, 8000, threads=1)
    assert _offline(det, pcm, 8000, threads=3).to_dict() == one.to_dict()
    short = pcm[: 6 * 8000]  # one piece: intra-op threads
    assert _offline(det, short, 8000, threads=3).to_dict() == _offline(det, short, 8000, threads=1).to_dict()


def test_short_and_silent_calls(block_detector, rng) -> None:
    pcm = _call(8000, repeat=1)[: 3 * 8000]  # under one window: one window of 2 blocks
    states, final = _stream(block_detector, pcm, 8000, rng)
    assert states == [] and len(final.result.segments) == 1
    assert final.result.to_dict() == _offline(block_detector, pcm, 8000).to_dict()
    states, final = _stream(block_detector, np.zeros(6 * 8000, np.int16), 8000, rng)
    assert final.verdict == "no_speech"
    assert all(s.verdict == "pending" for s in states)


def test_chunk_model_live_windows_and_exact_final(chunk_detector, rng) -> None:
    """Today's 10 s-chunk model: live windows on the 2 s grid, each encoded alone; the final
    is the whole call scored at once (identical to scoring it offline)."""
    pcm = _call(8000, repeat=1)
    states, final = _stream(chunk_detector, pcm, 8000, rng)
    assert final.result.to_dict() == chunk_detector.score_mono(pcm / 32768.0, 8000).to_dict()
    assert [s.window["start_s"] for s in states] == [2.0 * k for k in range(len(states))]
    assert all(s.window["end_s"] - s.window["start_s"] == 4.0 for s in states)
