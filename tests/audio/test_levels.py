"""Quiet audio does not evade screening (issue 23, item 2): speech detection does not depend
on the recording's level while its samples still hold the signal, and a recording that
holds sound but no speech is reported as such (``content: non_speech``, exit code 3), not
as a pass."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard import exit_codes
from voiceguard.audio import load_mono
from voiceguard.audio.vad import speech_activity
from voiceguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
ESPEAK = ROOT / "examples" / "spoof_espeak.flac"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _at_peak(y: np.ndarray, dbfs: float) -> np.ndarray:
    return y / np.abs(y).max() * 10 ** (dbfs / 20)


@pytest.mark.parametrize("dbfs", [-40, -53, -70, -80])
def test_speech_found_whatever_the_level(speech, dbfs: float) -> None:
    loud = speech_activity(_at_peak(speech, -3), 16000)
    quiet = speech_activity(_at_peak(speech, dbfs), 16000)
    assert loud.speech_s > 2.0 and quiet.speech_s > 1.0 and quiet.audible
    if dbfs >= -53:  # its noise floor still above the -100 dBFS limit: the very same decisions
        assert np.array_equal(quiet.mask, loud.mask)


def test_rounding_noise_is_not_speech(rng) -> None:
    dither = np.round(rng.uniform(-1, 1, 3 * 16000)) / 32768  # a 16-bit file of dither only
    act = speech_activity(dither, 16000)
    assert act.speech_s == 0 and not act.audible
    assert not speech_activity(np.zeros(16000), 16000).audible


@pytest.mark.parametrize("dbfs", [-53, -70])
def test_quiet_espeak_in_a_16_bit_file_is_caught(tmp_path: Path, dbfs: float, capsys) -> None:
    """eSpeak at peak -53 dBFS was no_speech and exit 0 before (the issue's example)."""
    y, sr = load_mono(ESPEAK)
    path = tmp_path / f"espeak_{-dbfs}dB.wav"
    sf.write(path, _at_peak(y, dbfs), sr, subtype="PCM_16")
    rc = main(["score", "--model", "fast", "--format", "jsonl", str(path)])
    row = json.loads(capsys.readouterr().out)
    assert row["verdict"] == "spoof" and row["content"] == "speech" and rc == exit_codes.FOUND


def test_sound_without_speech_is_not_a_pass(tmp_path: Path, rng, capsys) -> None:
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(3 * 16000) / 16000)
    hum = tmp_path / "tone.wav"
    sf.write(hum, tone, 16000, subtype="PCM_16")
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(3 * 16000), 16000, subtype="PCM_16")
    rc = main(["score", "--model", "fast", "--format", "jsonl", str(hum)])
    cap = capsys.readouterr()
    row = json.loads(cap.out)
    assert row["verdict"] == "no_speech" and row["content"] == "non_speech"
    assert rc == exit_codes.UNSCREENED == 3 and "not screened" in cap.err and "tone.wav" in cap.err
    rc = main(["score", "--model", "fast", "--format", "jsonl", str(silent)])
    row = json.loads(capsys.readouterr().out)
    assert row["verdict"] == "no_speech" and row["content"] == "silence" and rc == exit_codes.OK
    # a spoof found and an error both win over a recording that was not screened
    assert exit_codes.status(1, 0, 5) == 1 and exit_codes.status(0, 1, 5) == 2 and exit_codes.status(0, 0, 5) == 3
    assert "3    nothing judged spoof" in exit_codes.HELP and "do not treat it as a pass" in exit_codes.HELP
