"""Memory that does not grow with what a stranger sends (docs/reliability.md, "Bounded memory").

Compressed audio expands: 10 minutes of FLAC silence are a few tens of KB, 2 hours 180 KB,
so an upload's byte limit does not bound the decoded samples. The HTTP API refuses a
recording above ``max_upload_duration_s`` from its header, before decoding a sample.
Peak RSS against input length for whole commands is measured by benchmarks/memory.py
(never asserted on here).
"""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from voiceguard.service.http_api import UploadError, decode_upload


def _silent_flac(seconds: int, sr: int = 8000, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", samplerate=sr, channels=channels, format="FLAC", subtype="PCM_16") as f:
        block = np.zeros((sr * 10, channels), np.int16)
        for _ in range(seconds // 10):
            f.write(block)
    return buf.getvalue()


def test_compressed_upload_above_the_duration_limit_is_refused_before_decoding():
    data = _silent_flac(600)  # 10 min: 4.8 M samples, 38 MB as float64
    assert len(data) < 100_000
    tracemalloc.start()
    try:
        with pytest.raises(UploadError, match="600 s of audio, above the 60 s limit") as info:
            decode_upload(data, "audio/flac", max_duration_s=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.status == 413
    assert peak < 5_000_000  # nothing of the 38 MB was allocated


def test_headerless_g711_above_the_limit_is_refused():
    with pytest.raises(UploadError, match="above the 1 s limit"):
        decode_upload(b"\xff" * 8001, "audio/basic", max_duration_s=1)


def test_blockwise_decode_equals_the_whole_file_decode():
    rng = np.random.default_rng(5)
    y = rng.uniform(-0.5, 0.5, (150_000, 3))
    buf = io.BytesIO()
    sf.write(buf, y, 16000, format="FLAC", subtype="PCM_24")
    got, sr, ch = decode_upload(buf.getvalue(), "audio/flac", max_duration_s=3600)
    whole, _ = sf.read(io.BytesIO(buf.getvalue()), dtype="float64")
    assert (sr, ch) == (16000, 3)
    np.testing.assert_array_equal(got, whole.mean(axis=1))
