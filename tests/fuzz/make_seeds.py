"""Write the seed corpora of the fuzz harnesses (``tests/fuzz/corpus/<target>/``).

Small valid inputs, one per format or layout a harness should start from; deterministic,
so re-running this script reproduces the committed files byte for byte (except the
SQLite database seed, whose store id and dates are new each time)::

    python tests/fuzz/make_seeds.py [TARGET ...]

The C targets' seeds (fft, lfcc, cqcc) are raw parameter bytes followed by int16 samples,
as their harnesses (tests/fuzz/c/) read them.
"""

from __future__ import annotations

import io
import json
import struct
import sys
import tempfile
import uuid
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
CORPUS = HERE / "corpus"
ROOT = HERE.parents[1]
SPEECH = ROOT / "tests" / "assets" / "librispeech_118-121721-0000_3s.flac"


def _tone(n: int, sr: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(n)
    return np.stack([y * (0.5 + 0.5 * c) for c in range(channels)], axis=1) if channels > 1 else y


def _sound(y: np.ndarray, sr: int, fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def audio_files() -> dict[str, bytes]:
    from fuzz_audio_file import EXTENSIONS

    def ext(e: str) -> bytes:
        return bytes([EXTENSIONS.index(e)])

    speech, sr = sf.read(str(SPEECH), dtype="float64")
    short = speech[4000:4000 + 1600]  # 0.1 s of speech at 16 kHz
    return {
        "pcm16_8k.wav": ext(".wav") + _sound(_tone(400, 8000), 8000, "WAV", "PCM_16"),
        "speech_16k.flac": ext(".flac") + _sound(short, 16000, "FLAC", "PCM_16"),
        "float_stereo_48k.wav": ext(".wav") + _sound(_tone(480, 48000, 2), 48000, "WAV", "FLOAT"),
        "pcm24_44k.aiff": ext(".aiff") + _sound(_tone(441, 44100), 44100, "AIFF", "PCM_24"),
        "ulaw_8k.wav": ext(".wav") + _sound(_tone(400, 8000), 8000, "WAV", "ULAW"),
        "alaw_8k.au": ext(".au") + _sound(_tone(400, 8000), 8000, "AU", "ALAW"),
        "u8_6ch_22k.wav": ext(".wav") + _sound(_tone(220, 22050, 6), 22050, "WAV", "PCM_U8"),
        "vorbis_16k.ogg": ext(".ogg") + _sound(short, 16000, "OGG", "VORBIS"),
        "opus_48k.opus": ext(".opus") + _sound(_tone(960, 48000), 48000, "OGG", "OPUS"),
        "mp3_16k.mp3": ext(".mp3") + _sound(_tone(1152, 16000), 16000, "MP3", "MPEG_LAYER_III"),
        "pcm32_12k.caf": ext(".caf") + _sound(_tone(240, 12000), 12000, "CAF", "PCM_32"),
        "double_8k.w64": ext(".w64") + _sound(_tone(160, 8000), 8000, "W64", "DOUBLE"),
        "low_rate_4k.wav": ext(".wav") + _sound(_tone(100, 4000), 4000, "WAV", "PCM_16"),
        "empty_data.wav": ext(".wav") + _sound(np.zeros(0), 8000, "WAV", "PCM_16"),
    }


def audio_arrays() -> dict[str, bytes]:
    from fuzz_audio_array import DTYPES, RATES

    def seed(dtype: str, layout: int, channels: int, rate, samples: np.ndarray) -> bytes:
        return bytes([DTYPES.index(dtype), layout, channels - 1, [repr(r) for r in RATES].index(repr(rate))]) + \
            samples.astype(np.dtype(dtype)).tobytes()

    y = _tone(320, 8000)
    return {
        "int16_mono_8k": seed("<i2", 0, 1, 8000, np.round(y * 20000)),
        "float32_stereo_44k": seed("<f4", 1, 2, 44100, _tone(441, 44100, 2).ravel()),
        "float64_chfirst_48k": seed("<f8", 2, 2, 48000, _tone(480, 48000, 2).T.ravel()),
        "uint8_12k": seed("u1", 0, 1, 12000, np.round(y * 100 + 128)),
        "int32_3ch_16k": seed("<i4", 1, 3, 16000, np.round(_tone(160, 16000, 3).ravel() * 2 ** 30)),
        "float16_odd_rate": seed("<f2", 0, 1, 8000.5, y),
        "nan_rate": seed("<f4", 0, 1, float("nan"), y),
    }


def _asock(kind: int, payload: bytes = b"") -> bytes:
    return struct.pack("!BH", kind, len(payload)) + payload


def audiosocket_streams() -> dict[str, bytes]:
    u = uuid.UUID("4f1c2c5e-3a51-4d55-9f3b-2c7b9c1d7e10").bytes
    pcm = (np.round(_tone(160, 8000) * 8000)).astype("<i2").tobytes()  # 20 ms at 8 kHz
    return {
        "call_8k_hangup": b"\x00" + _asock(1, u) + _asock(0x10, pcm) * 30 + _asock(3, b"5") + _asock(0),
        "call_16k_close": b"\x00" + _asock(1, u) + _asock(0x12, pcm * 2) * 30,
        "error_frame": b"\x00" + _asock(1, u) + _asock(0x10, pcm) + _asock(0xFF, b"\x02"),
        "no_uuid": b"\x00" + _asock(0x10, pcm),
        "small_limit": b"\x01" + _asock(1, u) + _asock(0x10, pcm) + _asock(0),
        "rate_change": b"\x00" + _asock(1, u) + _asock(0x10, pcm) + _asock(0x16, pcm),
        "cut_short": b"\x00" + _asock(1, u) + _asock(0x10, pcm)[:100],
    }


def http_uploads() -> dict[str, bytes]:
    from fuzz_http_upload import FILENAMES, MEDIA_TYPES

    def seed(mode: int, ctype: str, filename: str, body: bytes) -> bytes:
        return bytes([mode, 1, MEDIA_TYPES.index(ctype), 1, FILENAMES.index(filename)]) + body

    wav = _sound(_tone(800, 8000), 8000, "WAV", "PCM_16")
    flac = _sound(_tone(1600, 16000), 16000, "FLAC", "PCM_16")
    from voiceguard.audio.g711 import alaw_encode, mulaw_encode

    mu = mulaw_encode(_tone(800, 8000)).astype(np.uint8).tobytes()
    al = alaw_encode(_tone(800, 8000)).astype(np.uint8).tobytes()

    def multipart(boundary: str, files: list[tuple[str, str, bytes]]) -> bytes:
        out = b""
        for name, ctype, data in files:
            out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n"
                    f"Content-Type: {ctype}\r\n\r\n").encode() + data + b"\r\n"
        return out + f"--{boundary}--\r\n".encode()

    mp_ctype = "multipart/form-data; boundary=vgboundary"
    return {
        "decode_wav": seed(0, "audio/wav", "clip.wav", wav),
        "decode_flac": seed(0, "audio/flac", "clip.wav", flac),
        "decode_ulaw": seed(0, "audio/basic", "noext", mu),
        "decode_alaw_rate": seed(0, "audio/PCMA;rate=8000", "noext", al),
        "decode_octet_ul": seed(0, "application/octet-stream", "call.ul", mu),
        "app_raw_wav": seed(1, "audio/wav", "clip.wav", wav),
        "app_raw_wav_length": seed(3, "audio/wav", "clip.wav", wav),
        "app_multipart": seed(1, mp_ctype, "clip.wav", multipart("vgboundary", [("clip.wav", "audio/wav", wav)])),
        "app_multipart_ulaw": seed(1, mp_ctype, "clip.wav",
                                   multipart("vgboundary", [("call.ul", "application/octet-stream", mu)])),
        "app_multipart_two": seed(1, mp_ctype, "clip.wav", multipart("vgboundary", [
            ("a.wav", "audio/wav", wav), ("b.flac", "audio/flac", flac)])),
        "app_text": seed(1, "text/plain", "noext", b"hello"),
    }


def manifests() -> dict[str, bytes]:
    table = ("path\tlabel\tspeaker\tsource\tdomain\tlanguage\tsystem\tfamily\tcondition\tchain\tsplit\tgroup\t"
             "duration_s\tlicence\tnote\n"
             "a/one.flac\tbonafide\tspk1\tlibri\tread\ten\t-\tbonafide\twideband\t-\ttrain\tg1\t3.000\tCC-BY-4.0\tx\n"
             "a/two.flac\tspoof\tspk1\tlibri\tread\ten\tvoc-world\tdsp-vocoder\ttel-8k-ulaw\tworld+ulaw\tval\tg1\t"
             "2.500\tCC-BY-4.0\t-\n")
    csv_text = "file,class,speaker_id,duration\nclips/a.wav,real,s1,1.5\nclips/b.wav,fake,s2,\n"
    corpus = "path\tlabel\tsource\tspeaker\tduration_s\tlicense\na.flac\tbonafide\tlibri\t\t3.0\tCC-BY-4.0\n"
    p2019 = "LA_0079 LA_T_1138215 - - bonafide\nLA_0079 LA_T_1271820 - A01 spoof\n"
    p2021 = ("LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval\n"
             "LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -\n"
             "LA_0031 LA_E_5932896 ulaw sin_tx bonafide bonafide notrim eval\n")
    return {
        "read_manifest_tsv": b"\x00" + table.encode(),
        "read_manifest_csv": b"\x01" + csv_text.encode(),
        "read_manifest_protocol": b"\x02" + p2019.encode(),
        "corpus_manifest": b"\x03" + corpus.encode(),
        "read_table_comma": b"\x04" + ("# comment\n" + csv_text).encode("utf-8-sig"),
        "asvspoof_2021": b"\x05" + p2021.encode(),
    }


def voiceprint_seeds() -> dict[str, bytes]:
    from voiceguard.store import ClipRecord, VoiceprintStore

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "seed.db"
        with VoiceprintStore(db, key=b"") as st:
            for name, n_clips in (("alice", 2), ("bob", 1)):
                clips = [ClipRecord(f"{name}{k}.wav", rng.standard_normal(8).astype(np.float32),
                                    rng.standard_normal(8).astype(np.float32), 4.0, 4.5, 16000,
                                    "wideband" if k == 0 else "telephone") for k in range(n_clips)]
                st.save(name, "test-encoder", clips, quality={"flagged": []})
            export = st.export()
            st.checkpoint()
        for sp in export["speakers"]:
            sp["created"] = sp["updated"] = "2025-01-01T00:00:00+00:00"
        export["exported"] = "2025-01-01T00:00:00+00:00"
        db_bytes = db.read_bytes()
    text = json.dumps(export, indent=1).encode()
    return {"export_two_speakers.json": b"\x00" + text, "export_empty.json": b"\x00" + json.dumps(
        {**export, "speakers": []}).encode(), "store.db": b"\x01" + db_bytes, "not_sqlite.db": b"\x01hello"}


def _pcm(n: int, seed: int = 0) -> bytes:
    return np.round(_tone(n, 16000, seed=seed) * 20000).astype("<i2").tobytes()


def c_fft() -> dict[str, bytes]:
    # u16 n-1, u8 flags, then int16 samples
    return {f"n{n}": struct.pack("<HB", n - 1, 0) + _pcm(n) for n in (1, 2, 7, 64, 97, 100, 512, 1009)}


def c_lfcc() -> dict[str, bytes]:
    # see tests/fuzz/c/fuzz_lfcc.c for the layout
    def p(win, hop, nfft_extra, window, periodic, pre, nf, nc, deltas, width, sr_code, fmin_pm, fmax_pm):
        return struct.pack("<HHHBBBHHBBBHH", win, hop, nfft_extra, window, periodic, pre, nf, nc, deltas, width,
                           sr_code, fmin_pm, fmax_pm)

    return {
        "asvspoof2019": p(320, 160, 192, 0, 0, 97, 20, 20, 1, 1, 1, 0, 1000) + _pcm(3200),
        "hann_nopow2": p(400, 100, 0, 1, 1, 0, 30, 13, 0, 2, 0, 20, 900) + _pcm(2000),
        "rect_tiny": p(1, 1, 0, 2, 0, 0, 1, 1, 1, 1, 2, 0, 1000) + _pcm(16),
    }


def c_cqcc() -> dict[str, bytes]:
    # see tests/fuzz/c/fuzz_cqcc.c for the layout
    def p(hop, fmin_dhz, n_bins, bpo, bw_pct, d, nc, deltas, width, sr_code):
        return struct.pack("<HHHBBBBBBB", hop, fmin_dhz, n_bins, bpo, bw_pct, d, nc, deltas, width, sr_code)

    return {
        "todisco_like": p(160, 625, 72, 12, 100, 16, 19, 1, 1, 0) + _pcm(4000),
        "one_bin": p(64, 1000, 1, 1, 100, 1, 0, 0, 0, 0) + _pcm(500),
    }


GENERATORS = {
    "audio_file": audio_files, "audio_array": audio_arrays, "audiosocket": audiosocket_streams,
    "http_upload": http_uploads, "manifest": manifests, "voiceprints": voiceprint_seeds,
    "fft": c_fft, "lfcc": c_lfcc, "cqcc": c_cqcc,
}


def main(argv: list[str]) -> int:
    for target in argv or list(GENERATORS):
        folder = CORPUS / target
        folder.mkdir(parents=True, exist_ok=True)
        seeds = GENERATORS[target]()
        for name, data in seeds.items():
            (folder / name).write_bytes(data)
        print(f"{target}: {len(seeds)} seeds, {sum(map(len, seeds.values()))} bytes -> {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
