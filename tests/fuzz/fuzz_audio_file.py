"""Fuzz target ``audio_file``: bytes as an audio file through decode, mix-down and resampling.

The path every recording takes: :func:`voiceguard.audio.load` (libsndfile through
soundfile: WAV/RF64/W64, FLAC, OGG Vorbis/Opus, MP3, AIFF, AU, CAF, ...),
:func:`voiceguard.audio.read_input` (mix-down, validation) and
:func:`voiceguard.audio.resample` to the detector's 16 kHz, and, where the block pipeline
exists, :func:`voiceguard.audio.iter_blocks`, whose blocks must equal slices of the
whole-file result.

Input: byte 0 picks the file extension (libsndfile mostly sniffs the content, but a few
formats are chosen by name), the rest is the file.
"""

from __future__ import annotations

import numpy as np
import soundfile  # noqa: F401 - imported lazily by voiceguard; here so that run.py instruments it

from voiceguard import audio
from _harness import check_audio, expected_errors, scratch_file
from fuzz_audio_array import _check_resampled

EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".au", ".opus", ".caf", ".w64", ".bin")

#: Decoded lengths above this are not resampled in the harness (kept fast); the decode
#: itself, and its memory, is still exercised.
_MAX_RESAMPLE = 2_000_000


def one_input(data: bytes) -> None:
    if not data:
        return
    ext = EXTENSIONS[data[0] % len(EXTENSIONS)]
    path = scratch_file("input" + ext, data[1:])
    with expected_errors():
        y, sr = audio.load(path)
        assert isinstance(sr, int) and sr > 0, sr
        assert y.ndim in (1, 2) and y.size > 0, y.shape
    with expected_errors():
        y, sr, name, channels = audio.read_input(path, None, min_sr=8000, purpose="fuzzing")
        check_audio(y)
        assert sr >= 8000 and channels >= 1 and name == str(path)
        if len(y) <= _MAX_RESAMPLE:
            out = audio.resample(y, sr, 16000)
            check_audio(out)
            _check_resampled(y, sr, out)
        iter_blocks = getattr(audio, "iter_blocks", None)
        if iter_blocks is not None and len(y) <= _MAX_RESAMPLE:
            whole = audio.resample(y, sr, 16000)
            _check_blocks(iter_blocks, path, whole)


def _check_blocks(iter_blocks, path, whole: np.ndarray) -> None:
    """Every block of the block pipeline equals the same slice of the whole-file decode."""
    covered = 0
    for block in iter_blocks(path, sr=16000, block_s=1.0, overlap_s=0.25):
        start, samples = _start_and_samples(block)
        assert 0 <= start <= covered, (start, covered)
        np.testing.assert_array_equal(samples, whole[start:start + len(samples)])
        covered = max(covered, start + len(samples))
    assert covered == len(whole), (covered, len(whole))


def _start_and_samples(block):
    if isinstance(block, tuple):
        a, b = block
        return (a, b) if np.isscalar(a) else (b, a)
    return int(block.start), np.asarray(block.y if hasattr(block, "y") else block.samples)
