"""Enrollment as a security boundary, the per-speaker clone check, and long recordings in
bounded memory (voiceguard.voiceprint)."""

from __future__ import annotations

import json
import sqlite3
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard.cli import main
from voiceguard.store import SCHEMA_VERSION, VoiceprintStore
from voiceguard.voiceprint import SpoofedEnrollmentError, Verifier, detector_version, enroll

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GENUINE = EXAMPLES / "bonafide_librispeech_1898.flac"  # LibriSpeech, 6 s
TTS = EXAMPLES / "spoof_espeak.flac"  # eSpeak NG text-to-speech
GL_COPY = EXAMPLES / "spoof_griffinlim_copy.flac"  # Griffin-Lim copy of GENUINE


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def detector():
    from voiceguard.detect.detector import Detector

    return Detector(threads=1)


def test_tts_clip_cannot_be_enrolled_without_override(tmp_path: Path, capsys, detector) -> None:
    db = str(tmp_path / "vp.db")
    assert detector.score(TTS).verdict == "spoof"  # the premise: the shipped detector calls it spoof
    rc = main(["enroll", "mallory", str(TTS), "--db", db, "--min-speech", "2", "--no-clone-check"])
    err = capsys.readouterr().err
    assert rc == 2
    line = err.strip()
    assert "\n" not in line and "Traceback" not in err
    assert "spoof_espeak.flac" in line and "spoof_probability" in line and "--allow-spoof" in line
    assert f"LLR {detector.score(TTS).llr:+.2f}" in line  # the clip's own score
    with VoiceprintStore(db) as st:
        assert "mallory" not in st
    # the library call refuses it the same way
    with pytest.raises(SpoofedEnrollmentError, match="spoof_espeak.flac"):
        enroll("mallory", [TTS], store=db, detector=detector, min_speech_s=2.0, clone_check=False)
    # a deliberate override enrolls it and is recorded with the clip in the store
    rc = main(["enroll", "mallory", str(TTS), "--db", db, "--min-speech", "2", "--no-clone-check", "--allow-spoof",
               "--format", "json"])
    out = capsys.readouterr().out
    assert rc == 0 and json.loads(out)["spoof_override"] is True
    with VoiceprintStore(db) as st:
        clip = st.get("mallory").clips[0]
    assert clip.spoof_override is True and clip.spoof_verdict == "spoof" and clip.spoof_llr < 0
    assert clip.checked_by == detector_version(detector)


def test_genuine_enrollment_records_detector_and_builds_clone_check(tmp_path: Path, detector) -> None:
    db = tmp_path / "vp.db"
    rep = enroll("reader", [GENUINE], store=db, detector=detector)
    assert rep.clone_check and rep.checked_by == detector_version(detector)
    vp = rep.voiceprint
    assert vp.clips[0].spoof_verdict == "bonafide" and vp.clips[0].spoof_override is False
    assert vp.info()["checked_by"] == [detector_version(detector)] and vp.info()["clone_check"] is True
    with Verifier(db, detector=detector) as v:
        g = v.verify("reader", GENUINE)
        c = v.verify("reader", GL_COPY)
        # the model was trained on this clip and Griffin-Lim copies of it: the copy must score lower
        assert g.clone_llr is not None and c.clone_llr is not None and c.clone_llr < g.clone_llr
        assert v.verify("reader", GENUINE).to_dict()["clone_llr"] == g.to_dict()["clone_llr"]  # deterministic
        # telephone audio: the wideband clone model is not applied (it rejected genuine calls)
        from voiceguard.audio import resample

        y, sr = sf.read(GENUINE)
        t = v.verify_mono("reader", resample(np.asarray(y, np.float64), sr, 8000), 8000)
        assert t.condition == "clean-phone" and t.clone_llr is None and t.decision != "reject_clone"
        assert any("clone check skipped" in w for w in t.warnings)
        # the decision says the clone check did not run on the call, not only the warnings
        assert t.clone_check == "telephone" and t.to_dict()["clone_check"] == "telephone"
        assert g.clone_check == "ran" and c.clone_check == "ran"
    with Verifier(db, detector=detector, clone_check=False) as v:
        off = v.verify("reader", GENUINE)
        assert off.clone_llr is None and off.clone_check == "off"
    # the clone model is stored encrypted like the embeddings, and deleted with the speaker
    with VoiceprintStore(db) as st:
        assert st.export(["reader"])["speakers"][0]["clone_models"]
        st.delete("reader")
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM clone_models").fetchone()[0] == 0
    con.close()


def test_schema_1_store_is_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE speakers (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, encoder TEXT NOT NULL,
            dim INTEGER NOT NULL, channel TEXT NOT NULL, n_clips INTEGER NOT NULL, speech_s REAL NOT NULL,
            created TEXT NOT NULL, updated TEXT NOT NULL, embedding BLOB NOT NULL,
            telephone_embedding BLOB NOT NULL, quality TEXT NOT NULL);
        CREATE TABLE clips (id INTEGER PRIMARY KEY, speaker_id INTEGER NOT NULL REFERENCES speakers(id)
            ON DELETE CASCADE, position INTEGER NOT NULL, source TEXT NOT NULL, speech_s REAL NOT NULL,
            duration_s REAL NOT NULL, sample_rate INTEGER NOT NULL, channel TEXT NOT NULL, similarity REAL,
            embedding BLOB NOT NULL, telephone_embedding BLOB NOT NULL);
        INSERT INTO meta VALUES ('format', 'voiceguard-voiceprints'), ('schema', '1'), ('store_id', 'abc'),
            ('created', 'x'), ('encryption', 'none');
    """)
    v = np.ones(4, "<f4").tobytes()
    con.execute("INSERT INTO speakers VALUES (1, 'old', 'enc', 4, 'wideband', 1, 3.0, 'c', 'u', ?, ?, '{}')", (v, v))
    con.execute("INSERT INTO clips VALUES (1, 1, 0, 'a.wav', 3.0, 3.0, 16000, 'wideband', 1.0, ?, ?)", (v, v))
    con.commit()
    con.close()
    with VoiceprintStore(db) as st:
        vp = st.get("old")
        assert vp.clips[0].checked_by is None and vp.clone_models == []
    con = sqlite3.connect(db)
    assert con.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == str(SCHEMA_VERSION)
    con.close()


# --------------------------------------------------------------------------------------
# long recordings
# --------------------------------------------------------------------------------------


def _long_file(path: Path, minutes: float, speech: np.ndarray, speech_b: np.ndarray) -> Path:
    """A long recording of one reader: the clip, pauses and a little noise, written in pieces."""
    rng = np.random.default_rng(7)
    unit = np.concatenate([speech, np.zeros(8000), 0.7 * speech, np.zeros(4000)])
    n = int(minutes * 60 * 16000)
    with sf.SoundFile(path, "w", 16000, 1, subtype="PCM_16") as fh:
        done = 0
        while done < n:
            k = min(unit.size, n - done)
            fh.write(unit[:k] + 0.003 * rng.standard_normal(k))
            done += k
    return path


def test_blocks_match_whole_signal(speech) -> None:
    """One block is exactly the whole-signal path; several blocks agree closely with it."""
    from voiceguard.voiceprint.encoder import default_encoder
    from voiceguard.voiceprint.longaudio import open_blocks

    enc = default_encoder(1)
    y = np.tile(np.concatenate([speech, np.zeros(4000)]), 40)  # 130 s
    whole = enc.embed(y, 16000)
    blocks = open_blocks(y, 16000, block_s=30.0)
    assert len(list(blocks)) == 4  # 30 + 30 + 30 + 40 (the 10 s tail joins the last block)
    parts = enc.embed_blocks(blocks, 16000)
    assert float(whole.vector @ parts.vector) > 0.999
    assert abs(parts.speech_s - whole.speech_s) < 0.02 * whole.speech_s
    one = enc.embed_blocks(open_blocks(y[:48000], 16000), 16000)
    assert np.array_equal(one.vector, enc.embed(y[:48000], 16000).vector)


def test_verify_memory_is_bounded_on_long_files(tmp_path: Path, speech, speech_b, detector) -> None:
    """Peak Python-heap memory (numpy included) of verify on a 6-minute file stays within
    1.5x that of a 1.5-minute file: nothing holds the whole recording (a whole-file decode of
    6 minutes alone is 4x that of 1.5)."""
    db = tmp_path / "vp.db"
    enroll("reader", [GENUINE], store=db, detector=detector, clone_check=False)
    short = _long_file(tmp_path / "short.flac", 1.5, speech, speech_b)
    long = _long_file(tmp_path / "long.flac", 6, speech, speech_b)
    peaks = {}
    with Verifier(db, detector=detector) as v:
        v.verify("reader", GENUINE)  # warm caches
        for name, f in (("short", short), ("long", long)):
            tracemalloc.start()
            r = v.verify("reader", f)
            peaks[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            assert r.speech_s > 0.5 * r.duration_s
    assert peaks["long"] <= 1.5 * peaks["short"], peaks


def test_clone_check_state_names_why_the_check_did_not_run() -> None:
    from voiceguard.voiceprint.verify import CLONE_CHECK_STATES, clone_check_state

    assert clone_check_state(True, True, True, "clean-clean") == "ran"
    assert clone_check_state(True, True, True, "clean-phone") == "telephone"
    assert clone_check_state(True, False, True, "clean-clean") == "not_built"
    assert clone_check_state(False, True, True, "clean-clean") == "off"
    assert clone_check_state(True, True, False, "clean-clean") == "no_speech"
    states = {clone_check_state(e, m, s, c) for e in (True, False) for m in (True, False) for s in (True, False)
              for c in ("clean-clean", "clean-phone")}
    assert states == set(CLONE_CHECK_STATES)
