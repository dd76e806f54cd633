"""Enrollment, verification, fusion and the enroll / verify / speakers command line."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard.audio import resample
from voiceguard.cli import main
from voiceguard.store import UnknownSpeakerError, VoiceprintStore
from voiceguard.verify import (
    ACCEPT,
    CLEAN_CLEAN,
    CLEAN_PHONE,
    NO_SPEECH,
    REJECT_SPEAKER,
    REJECT_SPOOF,
    EnrollmentError,
    SpeakerCalibration,
    Verifier,
    enroll,
    fuse,
    spoof_llr_threshold,
)

REQUIRED_KEYS = {"file", "speaker", "decision", "clone_check", "speaker_llr", "speaker_similarity", "spoof_llr",
                 "spoof_probability", "condition", "single_voice", "duration_s", "speech_s"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: These tests are about enrollment and verification mechanics, not the enrollment spoof gate
#: (tests/voiceprint/test_voiceprint_security.py): the LibriSpeech test clips are enrolled with a detector
#: whose verdict threshold of 1.0 calls nothing spoof, and without the (slower) clone check.
LENIENT = ["--threshold", "1.0", "--no-clone-check"]


@pytest.fixture(scope="module")
def lenient():
    from voiceguard.detect.detector import Detector

    return Detector(threshold=1.0)


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory, speech, speech_b) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("clips")
    out = {}
    # enrollment: the clip with a little gain change and 0.25 s pauses, repeated to get >= 3 s
    out["enroll"] = d / "enroll.wav"
    pause = np.zeros(4000)
    sf.write(out["enroll"], np.concatenate([speech, pause, 0.8 * speech[::-1][::-1]]), 16000)
    out["same_8k"] = d / "same_8k.wav"
    sf.write(out["same_8k"], resample(speech, 16000, 8000), 8000, subtype="PCM_16")
    out["same_wb"] = d / "same_wb.flac"
    sf.write(out["same_wb"], 0.7 * speech, 16000)
    out["other"] = d / "other.wav"
    sf.write(out["other"], np.concatenate([speech_b, speech_b]), 16000)
    out["silence"] = d / "silence.wav"
    sf.write(out["silence"], np.zeros(32000), 16000)
    out["stereo"] = d / "stereo.wav"
    sf.write(out["stereo"], np.stack([speech, speech], axis=1), 16000)
    return out


def test_fuse_rule() -> None:
    assert fuse(None, 1.0) == (NO_SPEECH, None)
    assert fuse(2.0, 3.0) == (ACCEPT, 2.0)
    assert fuse(2.0, -1.0)[0] == REJECT_SPOOF  # a spoof is rejected however good the voice match
    assert fuse(-2.0, -1.0)[0] == REJECT_SPOOF  # reasons in order: spoof before speaker
    assert fuse(-0.5, 5.0) == (REJECT_SPEAKER, -0.5)
    assert fuse(1.0, 5.0, speaker_threshold=2.0)[0] == REJECT_SPEAKER
    assert fuse(1.0, 5.0, spoof_verdict="no_speech")[0] == NO_SPEECH
    assert fuse(1.0, 5.0, spoof_verdict="spoof")[0] == REJECT_SPOOF


def test_spoof_llr_threshold_matches_detector_rule() -> None:
    from voiceguard.detect.calibration import spoof_probability

    for thr, prior in ((0.5, 0.5), (0.9, 0.5), (0.3, 0.8)):
        t = spoof_llr_threshold(thr, prior)
        assert spoof_probability(t - 1e-6, prior) >= thr > spoof_probability(t + 1e-6, prior)
    assert spoof_llr_threshold(0.5, 0.5) == 0.0


def test_shipped_calibration() -> None:
    cal = SpeakerCalibration.load()
    assert cal.encoder == "ge2e-resemblyzer"
    for cond in (CLEAN_CLEAN, CLEAN_PHONE):
        assert cal.conditions[cond].scale > 0
        # a high cosine is strong target evidence, a typical non-target cosine strong counter-evidence
        # (S-normalised conditions: a score 5 cohort deviations up / at the cohort mean)
        hi, lo = (0.95, 0.45) if cond not in cal.snorm else (5.0, 0.0)
        assert cal.llr(hi, cond) > 2 and cal.llr(lo, cond) < -2
    assert CLEAN_PHONE in cal.snorm and cal.cohort[CLEAN_PHONE].shape[1] == 256
    assert cal.clone is not None and cal.clone.scale > 0
    assert cal.info["fitted_on"]["n_speakers"] >= 100


def test_bad_calibration_file(tmp_path: Path) -> None:
    from voiceguard.errors import ModelError

    p = tmp_path / "cal.json"
    p.write_text(json.dumps({"format": "voiceguard-speaker-calibration", "conditions": {}}))
    with pytest.raises(ModelError, match="clean-clean"):
        SpeakerCalibration.load(p)
    p.write_text("{")
    with pytest.raises(ModelError, match="not a valid speaker calibration"):
        SpeakerCalibration.load(p)


def test_enroll_quality_checks(clips, lenient, tmp_path: Path, speech, speech_b) -> None:
    db = tmp_path / "vp.db"
    with pytest.raises(EnrollmentError, match="at least 3 s"):
        enroll("alice", [clips["same_wb"]], store=db, detector=lenient, clone_check=False)
    with pytest.raises(EnrollmentError, match="at least 3 s"):
        enroll("alice", [clips["silence"]], store=db, detector=lenient, clone_check=False)
    # clips of two different people disagree: refused unless forced
    with pytest.raises(EnrollmentError, match="disagrees"):
        enroll("mix", [(np.concatenate([speech, speech]), 16000), (np.concatenate([speech_b, speech_b]), 16000)],
               store=db, detector=lenient, clone_check=False)
    rep = enroll("mix", [(np.concatenate([speech, speech]), 16000), (np.concatenate([speech_b, speech_b]), 16000)],
                 store=db, force=True, detector=lenient, clone_check=False)
    assert rep.warnings and all("disagrees" in c["flags"] for c in rep.clips)
    rep = enroll("alice", [clips["enroll"], clips["stereo"]], store=db, min_speech_s=2.0, detector=lenient,
                 clone_check=False)
    assert rep.voiceprint.n_clips == 2 and rep.voiceprint.channel == "wideband"
    assert all(not c["flags"] for c in rep.clips)
    with VoiceprintStore(db) as st:
        assert st.names() == ["alice", "mix"]


def test_verify_decisions(clips, lenient, tmp_path: Path) -> None:
    db = tmp_path / "vp.db"
    enroll("alice", [clips["enroll"]], store=db, detector=lenient, clone_check=False)
    with Verifier(db) as v:
        r = v.verify("alice", clips["same_wb"])
        assert r.condition == CLEAN_CLEAN and r.channel == "wideband"
        assert r.speaker_similarity > 0.9 and r.speaker_llr > 0
        assert r.decision in (ACCEPT, REJECT_SPOOF)
        assert (r.decision == REJECT_SPOOF) == (r.spoof_verdict == "spoof")
        d = r.to_dict()
        assert REQUIRED_KEYS <= set(d) and d["speaker"] == "alice"
        json.dumps(d)
        r8 = v.verify("alice", clips["same_8k"])
        assert r8.condition == CLEAN_PHONE and r8.channel == "telephone" and r8.sample_rate == 8000
        assert r8.speaker_llr > 0
        ro = v.verify("alice", clips["other"])
        assert ro.speaker_llr < 0
        assert ro.decision in (REJECT_SPEAKER, REJECT_SPOOF)
        rs = v.verify("alice", clips["silence"])
        assert rs.decision == NO_SPEECH and rs.speaker_llr is None
        y, sr = sf.read(clips["same_wb"])
        ra = v.verify("alice", y, sr)
        assert ra.file is None and math.isclose(ra.speaker_llr, r.speaker_llr, rel_tol=1e-6)
        with pytest.raises(UnknownSpeakerError, match="no speaker named 'bob'"):
            v.verify("bob", clips["same_wb"])


def test_spoof_gate_uses_detector_at_run_time(clips, lenient, tmp_path: Path) -> None:
    """With a detector threshold of 0 every recording is a spoof; of 1, none is."""
    from voiceguard.detect.detector import Detector

    db = tmp_path / "vp.db"
    enroll("alice", [clips["enroll"]], store=db, detector=lenient, clone_check=False)
    with Verifier(db, detector=Detector(threshold=0.0)) as v:
        assert v.verify("alice", clips["same_wb"]).decision == REJECT_SPOOF
    with Verifier(db, detector=Detector(threshold=1.0)) as v:
        assert v.verify("alice", clips["same_wb"]).decision == ACCEPT
        assert v.verify("alice", clips["other"]).decision == REJECT_SPEAKER


def test_telephone_enrollment(clips, lenient, tmp_path: Path, speech) -> None:
    db = tmp_path / "vp.db"
    y8 = resample(np.concatenate([speech, speech]), 16000, 8000)
    rep = enroll("tel", [(y8, 8000)], store=db, detector=lenient, clone_check=False)
    assert rep.voiceprint.channel == "telephone"
    with Verifier(db) as v:
        r = v.verify("tel", clips["same_wb"])  # wideband test against a telephone voiceprint
        assert r.condition == CLEAN_PHONE and r.enrolled_channel == "telephone" and r.speaker_llr > 0


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_cli_enroll_verify_speakers(clips, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "cli.db")
    rc, out, err = _run(["verify", "alice", str(clips["same_wb"]), "--db", db], capsys)
    assert rc == 2 and "no voiceprint database" in err
    rc, out, err = _run(["enroll", "alice", str(clips["enroll"]), "--db", db, *LENIENT], capsys)
    assert rc == 0, err
    assert "enrolled 'alice'" in out
    rc, out, err = _run(["enroll", "alice", str(clips["enroll"]), "--db", db, *LENIENT], capsys)
    assert rc == 2 and "--replace" in err
    rc, out, err = _run(["enroll", "shorty", str(clips["same_wb"]), "--db", db, *LENIENT], capsys)
    assert rc == 2 and "at least 3 s" in err

    files = [str(clips[k]) for k in ("same_wb", "same_8k", "other", "silence")]
    rc, out, err = _run(["verify", "alice", *files, str(tmp_path / "missing.wav"), "--db", db, "--format", "jsonl",
                         "--no-progress"], capsys)
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 1  # a recording not accepted wins over the missing file (voiceguard.exit_codes)
    assert REQUIRED_KEYS <= set(rows[0])
    assert rows[2]["speaker_llr"] < 0 and rows[3]["decision"] == "no_speech"
    assert "error" in rows[4] and "no such file" in rows[4]["error"]

    rc, out, err = _run(["verify", "alice", str(clips["other"]), "--db", db, "--format", "csv"], capsys)
    assert rc == 1
    row = list(csv.DictReader(io.StringIO(out)))[0]
    assert row["decision"] in ("reject_speaker", "reject_spoof") and row["speaker"] == "alice"
    assert row["clone_check"] in ("ran", "telephone", "not_built", "off", "no_speech")
    assert list(row)[-1] == "error" and row["error"] == ""

    rc, out, err = _run(["verify", "alice", str(clips["same_wb"]), "--db", db, "--threshold", "1.0"], capsys)
    assert rc == 0 and "accept" in out
    rc, out, err = _run(["verify", "alice", str(clips["same_wb"]), str(tmp_path / "missing.wav"), "--db", db,
                         "--threshold", "1.0"], capsys)
    assert rc == 2  # errors only: every recording that could be scored was accepted

    rc, out, err = _run(["verify", "nobody", str(clips["same_wb"]), "--db", db], capsys)
    assert rc == 2 and "no speaker named 'nobody'" in err and "enrolled: alice" in err

    rc, out, err = _run(["speakers", "list", "--db", db], capsys)
    assert rc == 0 and "alice" in out
    rc, out, err = _run(["speakers", "list", "--db", db, "--format", "json"], capsys)
    assert json.loads(out)[0]["name"] == "alice"
    rc, out, err = _run(["speakers", "show", "alice", "--db", db], capsys)
    assert rc == 0 and json.loads(out)["n_clips"] == 1 and "embedding" not in json.loads(out)
    exp = tmp_path / "export.json"
    rc, out, err = _run(["speakers", "export", "--db", db, "-o", str(exp)], capsys)
    assert rc == 0 and (exp.stat().st_mode & 0o777) == 0o600
    assert len(json.loads(exp.read_text())["speakers"][0]["embedding"]) == 256
    rc, out, err = _run(["speakers", "delete", "alice", "--db", db], capsys)
    assert rc == 0 and "deleted" in out
    rc, out, err = _run(["speakers", "delete", "alice", "--db", db], capsys)
    assert rc == 2 and "no speaker named 'alice'" in err
    rc, out, err = _run(["speakers", "list", "--db", db], capsys)
    assert "no speakers enrolled" in out


def test_cli_default_db_under_voiceguard_home(clips, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run(["enroll", "carol", str(clips["enroll"]), *LENIENT], capsys)
    assert rc == 0, err
    assert (tmp_path / "home" / "voiceprints.db").is_file()
    rc, out, err = _run(["verify", "carol", str(clips["same_wb"].parent), "--format", "jsonl", "--no-progress"],
                        capsys)
    assert rc in (1, 2)  # the folder holds other speakers and silence
    assert len(out.splitlines()) == 6
