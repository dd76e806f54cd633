"""Property-based tests (hypothesis) of what voiceguard promises for any input:

* the AudioSocket reader returns the same frames however the byte stream is split into
  TCP reads;
* streaming (``StreamScorer``, chunks of any sizes and types) ends with exactly the result
  of scoring the whole recording at once;
* scoring works at any sample rate and channel count, and a file gives the result of the
  same samples passed as an array;
* a voiceprint export reads back, imports and exports again to the same voiceprints.

Examples are derandomized (the same on every run) and kept few where each one scores audio.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from voiceguard.service import audiosocket as asock

DATA = Path(__file__).resolve().parents[1] / "assets"
SPEECH = DATA / "librispeech_118-121721-0000_3s.flac"

#: Cheap properties: many examples. Costly ones (each example scores audio): a few.
CHEAP = settings(derandomize=True, deadline=None, database=None, max_examples=150)
COSTLY = settings(derandomize=True, deadline=None, database=None, max_examples=6,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- AudioSocket: frame splits --------------------------------------------------------------

frames = st.lists(
    st.tuples(st.sampled_from([asock.KIND_UUID, asock.KIND_DTMF, 0x10, 0x12, 0x16, asock.KIND_ERROR]),
              st.binary(max_size=400)),
    min_size=1, max_size=12)


async def _read_all(reader: asyncio.StreamReader) -> list[asock.Frame]:
    out = []
    while (f := await asock.read_frame(reader, max_payload=1000, idle_timeout=5, read_timeout=5)) is not None:
        out.append(f)
    return out


@CHEAP
@given(frames=frames, cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30))
def test_audiosocket_frames_survive_any_split(frames, cuts):
    stream = b"".join(asock.encode_frame(k, p) for k, p in frames)
    bounds = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})

    async def run():
        reader = asyncio.StreamReader()
        task = asyncio.ensure_future(_read_all(reader))
        for a, b in zip(bounds, bounds[1:]):
            reader.feed_data(stream[a:b])
            await asyncio.sleep(0)  # let the reader run between TCP segments
        reader.feed_eof()
        return await task

    got = asyncio.run(run())
    assert [(f.kind, f.payload) for f in got] == [(k, bytes(p)) for k, p in frames]


@CHEAP
@given(frames=frames, cut=st.integers(min_value=1, max_value=10_000))
def test_audiosocket_stream_cut_short_is_a_protocol_error(frames, cut):
    stream = b"".join(asock.encode_frame(k, p) for k, p in frames)
    ends = {0}
    for _k, p in frames:
        ends.add(max(ends) + 3 + len(p))
    cut = cut % len(stream)
    if cut in ends:
        return

    async def run():
        reader = asyncio.StreamReader()
        reader.feed_data(stream[:cut])
        reader.feed_eof()
        return await _read_all(reader)

    with pytest.raises(asock.ProtocolError, match="closed in the middle of a frame"):
        asyncio.run(run())


# -- streaming vs whole-recording scoring ---------------------------------------------------


@pytest.fixture(scope="module")
def detector():
    from voiceguard.detect.detector import Detector

    return Detector()


@pytest.fixture(scope="module")
def call_pcm() -> np.ndarray:
    from voiceguard.audio import load_mono

    y, _ = load_mono(SPEECH, 8000)
    y = np.concatenate([y, y[::-1]])  # 6 s of speech at 8 kHz
    return (np.clip(y, -1, 1) * 32767).astype(np.int16)


@COSTLY
# found by this test: int16 chunks after a float chunk were stored unscaled and the float
# audio before them scaled down a second time (the call then scored as silence)
@example(sizes=[4000], kinds=["bytes", "float32"])
@given(sizes=st.lists(st.integers(min_value=1, max_value=12_000), min_size=1, max_size=40),
       kinds=st.lists(st.sampled_from(["bytes", "int16", "float32"]), min_size=1, max_size=5))
def test_stream_final_equals_whole_recording(detector, call_pcm, sizes, kinds):
    """Chunks of any sizes, as int16 bytes, int16 arrays or float32 arrays (mixed within a
    call), end with the result of scoring the whole recording."""
    from voiceguard.detect.stream import StreamScorer

    s = StreamScorer(detector, sr=8000)
    i = k = 0
    while i < len(call_pcm):
        chunk = call_pcm[i:i + sizes[k % len(sizes)]]
        kind = kinds[k % len(kinds)]
        s.feed(chunk.tobytes() if kind == "bytes" else chunk if kind == "int16"
               else chunk.astype(np.float32) / np.float32(32768))
        i += len(chunk)
        k += 1
    final = s.finish()
    assert final.result.to_dict() == detector.score(call_pcm, sr=8000).to_dict()


# -- any sample rate and channel count ------------------------------------------------------


@pytest.fixture(scope="module")
def speech16() -> np.ndarray:
    y, sr = sf.read(str(SPEECH), dtype="float64")
    assert sr == 16000
    return y


@COSTLY
@given(sr=st.one_of(st.sampled_from([8000, 11025, 22050, 44100, 48000, 96000]), st.integers(8000, 96000)),
       channels=st.integers(1, 8), layout=st.sampled_from(["frames_first", "channels_first"]))
def test_any_rate_and_channel_count(detector, speech16, tmp_path_factory, sr, channels, layout):
    from voiceguard.audio import resample

    mono = resample(speech16, 16000, sr)
    gains = np.linspace(1.0, 0.4, channels)
    multi = (mono[:, None] * gains[None, :]).astype(np.float32)  # [n, channels]
    arr = multi if layout == "frames_first" or channels == 1 else multi.T
    res = detector.score(arr if channels > 1 else multi[:, 0], sr=sr)
    d = res.to_dict()
    assert d["sample_rate"] == sr and d["channels"] == channels
    assert abs(d["duration_s"] - len(mono) / sr) < 1e-9
    assert d["verdict"] in ("bonafide", "spoof", "no_speech")
    if d["verdict"] != "no_speech":
        assert 0.0 <= d["spoof_probability"] <= 1.0 and np.isfinite(d["llr"])
        assert res.segments[-1].end_s == pytest.approx(d["duration_s"], abs=0.02)
    # a file holding the same samples gives the same result (decode + mix-down + resample)
    path = tmp_path_factory.mktemp("rates") / "clip.wav"
    sf.write(str(path), multi, sr, subtype="FLOAT")
    from_file = detector.score(path).to_dict()
    assert {**from_file, "file": None} == {**d, "file": None}


# -- voiceprint export / import -------------------------------------------------------------

finite = st.floats(min_value=-10, max_value=10, allow_nan=False, width=32).filter(lambda v: abs(v) > 1e-3)


@st.composite
def voiceprint_sets(draw):
    from voiceguard.store import ClipRecord

    names = draw(st.lists(st.text(st.characters(categories=["L", "N", "P", "S"], max_codepoint=0x2FF), min_size=1, max_size=20),
                          min_size=1, max_size=4, unique_by=lambda n: n.strip()))
    dim = draw(st.integers(1, 16))
    out = []
    for n in names:
        clips = [ClipRecord(draw(st.text(max_size=30)), np.array(draw(st.lists(finite, min_size=dim, max_size=dim)),
                                                                   np.float32),
                            np.array(draw(st.lists(finite, min_size=dim, max_size=dim)), np.float32),
                            draw(st.floats(0, 1e4)), draw(st.floats(0, 1e5)), draw(st.integers(1, 192000)),
                            draw(st.sampled_from(["wideband", "telephone"])))
                 for _ in range(draw(st.integers(1, 3)))]
        out.append((n, clips))
    return out


@settings(derandomize=True, deadline=None, database=None, max_examples=40,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=voiceprint_sets())
def test_export_import_roundtrip(tmp_path, sets):
    import json

    from voiceguard.store import VoiceprintStore, read_export

    src = tmp_path / "src.db"
    dst = tmp_path / "dst.db"
    for p in (src, dst):
        for suffix in ("", "-wal", "-shm"):
            p.with_name(p.name + suffix).unlink(missing_ok=True)
    with VoiceprintStore(src, key=b"") as a:
        for name, clips in sets:
            a.save(name, "enc", clips)
        text = json.dumps(a.export())
        before = {n: a.get(n) for n in a.names()}
    with VoiceprintStore(dst, key=b"") as b:
        b.import_voiceprints(read_export(io.BytesIO(text.encode()).getvalue()))
        assert b.names() == sorted(before)
        for n, vp in before.items():
            got = b.get(n)
            assert (got.channel, got.encoder, got.n_clips) == (vp.channel, vp.encoder, vp.n_clips)
            np.testing.assert_allclose(got.embedding, vp.embedding, atol=2e-6)
            for x, y in zip(got.clips, vp.clips):
                np.testing.assert_allclose(x.embedding, y.embedding, rtol=1e-6, atol=1e-6)
                assert (x.source, x.sample_rate, x.channel) == (y.source, y.sample_rate, y.channel)
