"""Enrollment refuses the same audio given more than once (issue 23, item 13), and its
messages name the command-line option first (item 15)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard.cli import main
from voiceguard.verify import EnrollmentError, SpoofedEnrollmentError, enroll

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def fast():
    from voiceguard.detect.detector import Detector

    return Detector("fast", threshold=1.0)  # calls nothing spoof: these tests are not about the gate


@pytest.fixture()
def clip(tmp_path: Path, speech) -> Path:
    path = tmp_path / "alice_1.wav"
    sf.write(path, np.concatenate([speech, np.zeros(4000), speech]), 16000)
    return path


def test_the_same_file_three_times_is_refused(clip: Path, fast, tmp_path: Path) -> None:
    with pytest.raises(EnrollmentError, match="alice_1.wav and alice_1.wav.*the same audio"):
        enroll("alice", [clip, clip, clip], store=tmp_path / "vp.db", detector=fast, clone_check=False)
    copy = tmp_path / "alice_2.flac"  # the same samples under another name and format
    y, sr = sf.read(clip)
    sf.write(copy, y, sr)
    with pytest.raises(EnrollmentError, match="alice_1.wav and alice_2.flac"):
        enroll("alice", [clip, copy], store=tmp_path / "vp.db", detector=fast, clone_check=False)


def test_cli_refuses_duplicates(clip: Path, tmp_path: Path, capsys) -> None:
    shutil.copy(clip, tmp_path / "again.wav")
    rc = main(["enroll", "alice", str(clip), str(tmp_path / "again.wav"), "--db", str(tmp_path / "vp.db"),
               "--model", "fast", "--threshold", "1.0", "--no-clone-check"])
    err = capsys.readouterr().err
    assert rc == 2 and "the same audio given more than once" in err and "Traceback" not in err


def test_spoof_refusal_names_the_option_first(clip: Path, tmp_path: Path) -> None:
    from voiceguard.detect.detector import Detector

    strict = Detector("fast", threshold=0.0)  # calls everything spoof
    with pytest.raises(SpoofedEnrollmentError) as err:
        enroll("alice", [clip], store=tmp_path / "vp.db", detector=strict, clone_check=False)
    msg = str(err.value)
    assert "--allow-spoof (Python: allow_spoof=True" in msg and "pass allow_spoof" not in msg
