"""What a fraud engineer's files met in decoding (issue 23): float files holding integer-range
samples (item 4), a decoder's chatter and misleading messages (item 11), and voicemail
formats libsndfile does not read (item 12)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard import audio
from voiceguard.audio import pyav
from voiceguard.audio.files import expand_inputs
from voiceguard.cli import main
from voiceguard.errors import AudioReadError, InvalidAudioError

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "tests" / "assets"
SPEECH = ASSETS / "librispeech_118-121721-0000_3s.flac"
MP3 = ASSETS / "librispeech_1034-121119-0000_5s_32kbps.mp3"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- item 4: float audio out of range ----------------------------------------------------


def test_float_file_with_int16_range_samples_is_refused(tmp_path: Path, capsys) -> None:
    y, sr = audio.load_mono(SPEECH)
    bad = tmp_path / "export.wav"
    sf.write(bad, y * 32768, sr, subtype="FLOAT")  # speech x 32768: the export mistake
    with pytest.raises(AudioReadError, match=r"far outside \[-1, 1\].*divide by 32768"):
        audio.load_mono(bad)
    with pytest.raises(AudioReadError, match="far outside"):
        list(audio.open_stream(bad, None, min_sr=8000, purpose="spoof scoring").blocks)
    rc = main(["score", "--model", "fast", "--format", "jsonl", str(bad)])
    row = json.loads(capsys.readouterr().out)
    assert rc == 2 and "far outside [-1, 1]" in row["error"] and "verdict" not in row
    fine = tmp_path / "fine.wav"
    sf.write(fine, y / np.abs(y).max() * 1.2, sr, subtype="FLOAT")  # overs a little: still audio
    assert audio.load_mono(fine)[0].max() > 1.0


def test_float_array_out_of_range_is_refused() -> None:
    from voiceguard.detect.detector import Detector

    y, sr = audio.load_mono(SPEECH)
    with pytest.raises(InvalidAudioError, match="far outside"):
        Detector("fast").score(y * 32768.0, sr)
    ints = (y * 32767).astype(np.int16)  # integer PCM is scaled by its dtype: fine
    assert Detector("fast").score(ints, sr).verdict in ("bonafide", "spoof")


# -- item 11: messages -------------------------------------------------------------------


def test_mp3_decoder_chatter_stays_off_stderr() -> None:
    code = ("from voiceguard.audio import open_stream, load_mono\n"
            f"s = open_stream({str(MP3)!r}, None, min_sr=8000, purpose='x')\n"
            "n = sum(len(b) for b in s.blocks)\n"
            f"y, sr = load_mono({str(MP3)!r})\n"
            "import sys; print('visible', file=sys.stderr); print(n, len(y))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "libmpg123" not in p.stderr and "part2_3_length" not in p.stderr
    assert "visible" in p.stderr  # what else goes to stderr still gets there
    n, m = map(int, p.stdout.split())
    assert n == m > 100000


def test_filter_keeps_other_lines(capfd) -> None:
    from voiceguard.audio.quiet import c_stderr_filtered

    with c_stderr_filtered():
        os.write(2, b"[src/libmpg123/layer3.c:INT123_do_layer3():1774] error: part2_3_length (832) too large\n")
        os.write(2, b"Note: Illegal Audio-MPEG-Header 0x00000000 at offset 19996.\n")
        os.write(2, b"something else\n")
    err = capfd.readouterr().err
    assert err == "something else\n"


def test_random_bytes_fifo_and_folder_say_what_they_are(tmp_path: Path) -> None:
    junk = tmp_path / "voicemail.mp3"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    with pytest.raises(AudioReadError) as err:
        audio.load_mono(junk)
    assert "possibly a pipe" not in str(err.value) and "not an audio format" in str(err.value)
    fifo = tmp_path / "live.pcm"
    os.mkfifo(fifo)
    with pytest.raises(AudioReadError, match="not a regular file.*voiceguard stream"):
        audio.load_mono(fifo)
    with pytest.raises(AudioReadError, match="is a folder"):
        audio.load_mono(tmp_path)
    with pytest.raises(AudioReadError, match="no such file"):
        audio.load_mono(tmp_path / "missing.wav")


def test_features_of_a_folder_says_so(tmp_path: Path, capsys) -> None:
    assert main(["features", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err


def test_headerless_hints_match_the_extension(tmp_path: Path) -> None:
    gsm = tmp_path / "call.gsm"
    gsm.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(AudioReadError, match="no audio header") as err:  # libsndfile would guess GSM 6.10
        audio.load_mono(gsm)
    assert "sox -t gsm -r 8000 call.gsm out.wav" in str(err.value) and "-t ul" not in str(err.value)


# -- item 12: voicemail formats ------------------------------------------------------------


def _encode(y: np.ndarray, sr: int, path: Path, codec: str, fmt: str) -> Path:
    import av

    with av.open(str(path), "w", format=fmt) as out:
        st = out.add_stream(codec, rate=sr)
        st.layout = "mono"
        frame = av.AudioFrame.from_ndarray((np.clip(y, -1, 1) * 32767).astype(np.int16).reshape(1, -1),
                                           format="s16", layout="mono")
        frame.sample_rate = sr
        rs = av.AudioResampler(format=st.codec_context.format.name, layout="mono", rate=sr)
        for f in [*rs.resample(frame), *rs.resample(None), None]:
            for packet in st.encode(f):
                out.mux(packet)
    return path


@pytest.mark.skipif(not pyav.available(), reason="needs the formats extra (PyAV)")
def test_m4a_and_amr_are_decoded(tmp_path: Path, capsys) -> None:
    y16, _ = audio.load_mono(SPEECH, 16000)
    y8, _ = audio.load_mono(SPEECH, 8000)
    m4a = _encode(y16, 16000, tmp_path / "voicemail.m4a", "aac", "ipod")
    amr = _encode(y8, 8000, tmp_path / "voicemail.amr", "libopencore_amrnb", "amr")
    assert sorted(expand_inputs([str(tmp_path)])) == sorted([str(m4a), str(amr)])  # not skipped in folders
    for path, sr in ((m4a, 16000), (amr, 8000)):
        y, got = audio.load_mono(path)
        assert got == sr and abs(len(y) - 3 * sr) < 0.1 * sr
        assert np.corrcoef(np.abs(y[: len(y8)]).cumsum(), np.abs((y16 if sr == 16000 else y8)[: len(y8)]).cumsum())[0, 1] > 0.9
    rc = main(["score", "--model", "fast", "--format", "jsonl", str(tmp_path)])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc in (0, 1) and [r["verdict"] in ("bonafide", "spoof") for r in rows] == [True, True]
    assert {r["sample_rate"] for r in rows} == {8000, 16000}


def test_without_pyav_the_error_names_the_extra(tmp_path: Path, monkeypatch) -> None:
    m4a = tmp_path / "voicemail.m4a"
    m4a.write_bytes(b"\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00" + bytes(200))
    monkeypatch.setattr(pyav, "available", lambda: False)
    with pytest.raises(AudioReadError, match=r"formats extra.*\[formats\]'.*ffmpeg -i voicemail.m4a"):
        audio.load_mono(m4a)
    assert expand_inputs([str(tmp_path)]) == [str(m4a)]  # a folder's .m4a is an error row, not skipped
