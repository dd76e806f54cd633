"""Fuzz target ``audio_file``: bytes as an audio file through decode, mix-down and resampling.

The path every recording takes: :func:`voiceguard.audio.load` (libsndfile through
soundfile: WAV/RF64/W64, FLAC, OGG Vorbis/Opus, MP3, AIFF, AU, CAF, ...),
:func:`voiceguard.audio.read_input` (mix-down, validation) and
:func:`voiceguard.audio.resample` to the detector's 16 kHz, and, where the block pipeline
exists, :func:`voiceguard.audio.open_stream` (blocks of any size) and
:func:`voiceguard.audio.iter_blocks`, whose blocks must equal slices of the whole-file
result exactly.

Input: byte 0 picks the file extension (libsndfile mostly sniffs the content, but a few
formats are chosen by name), the rest is the file.
"""

from __future__ import annotations

import numpy as np
import soundfile  # imported lazily by voiceguard; here so that run.py instruments it
from _harness import check_audio, expected_errors, scratch_file
from fuzz_audio_array import _check_resampled

from voiceguard import audio

EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".au", ".opus", ".caf", ".w64", ".bin")

#: libsndfile 1.2.2 decodes MP3 read in blocks to samples up to 9e-8 (one float32 ulp) away
#: from the same file read at once, and at some block sizes (1000, 4096, 8192 frames; not
#: 16384 or the pipeline's 65536) to glitches of up to 0.17 at a few points (measured on a
#: 30 s file; docs/reliability.md). MP3 is therefore checked at the pipeline's block size,
#: within this tolerance; every other format at random block sizes, exactly.
_MPEG_TOLERANCE = 1e-6

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
        # the block pipeline (bounded memory for any length) must give exactly the same samples
        mpeg = soundfile.info(str(path)).format == "MP3"
        block_frames = 1 << 16 if mpeg else 1 + (data[-1] * 37) % 3000
        stream = audio.open_stream(path, None, min_sr=8000, purpose="fuzzing", block_frames=block_frames)
        assert (stream.sr, stream.channels) == (sr, channels)
        blocks = np.concatenate(list(stream.blocks))
        if mpeg:  # libsndfile's MPEG decoder: ~1 float32 ulp apart (see _MPEG_TOLERANCE)
            np.testing.assert_allclose(blocks, y, rtol=0, atol=_MPEG_TOLERANCE)
        else:
            np.testing.assert_array_equal(blocks, y)
        if len(y) <= _MAX_RESAMPLE and not mpeg:
            whole = audio.resample(y, sr, 16000)
            _check_blocks(audio.iter_blocks, path, whole)


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
