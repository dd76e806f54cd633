"""The report as a fraud engineer read it (issue 23, item 16): the summary says when windows
are judged spoof whatever the recording's verdict, nothing scrolls sideways on a phone, the
waveform's label keeps off the signal, and ``--speaker`` shows the clone check."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from voiceguard import audio
from voiceguard.detect.detector import Detector
from voiceguard.report import svg
from voiceguard.report.browser import find_chromium, render
from voiceguard.report.evidence import analyse
from voiceguard.report.html import _speaker, render_html

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def evidence(tmp_path_factory: pytest.TempPathFactory):
    """The spliced clip scored by the fast model, with the recording's verdict set to spoof
    and to bona fide (what a recording-level rule may say of a partial spoof)."""
    real, _ = audio.load_mono(EXAMPLES / "bonafide_librispeech_1898.flac", 16000)
    fake, _ = audio.load_mono(EXAMPLES / "spoof_espeak.flac", 16000)
    path = tmp_path_factory.mktemp("splice") / "a_call_recorded_with_a_rather_long_file_name_at_the_centre.wav"
    sf.write(path, np.concatenate([real, fake, real, real]), 16000, subtype="PCM_16")
    det = Detector("fast")
    res = det.score(path)
    flagged = [s for s in res.segments if s.spoof_probability >= res.threshold]
    assert flagged and len(flagged) < len(res.segments)
    # whatever the recording-level rule says: spoof, or bona fide despite the flagged windows
    caught = dataclasses.replace(res, verdict="spoof", spoof_probability=0.8, llr=-1.4)
    passed = dataclasses.replace(res, verdict="bonafide", spoof_probability=0.2, llr=1.4)
    return analyse(path, det, result=caught), analyse(path, det, result=passed), len(flagged), len(res.segments)


def _summary_row(html: str, n: int = 1) -> str:
    return re.findall(r"<tr><td class=\"num\">\d+</td>.*?</tr>", html, flags=re.S)[n - 1]


def test_summary_marks_flagged_windows_of_a_recording_judged_bona_fide(evidence) -> None:
    spoof_ev, passed_ev, n_flag, n_win = evidence
    row = _summary_row(render_html([passed_ev]))
    assert "chip bonafide" in row and f"{n_flag} of {n_win} windows spoof" in row
    assert 'data-flagged="' in row
    row = _summary_row(render_html([spoof_ev]))  # a spoof verdict already says it
    assert "chip spoof" in row and "windows spoof" not in row


def test_waveform_label_keeps_off_the_signal(evidence) -> None:
    fig = svg.timeline_svg(evidence[0])
    path = re.search(r'<path class="wave" d="([^"]+)"', fig).group(1)
    ys = [float(v) for v in re.findall(r"[\d.]+ ([\d.]+)", path)]
    label_bottom = svg._WAVE[0] + svg._LABEL_H
    assert min(ys) >= label_bottom
    label = re.search(r'<g class="panel-label"><text x="[\d.]+" y="([\d.]+)"[^>]*>waveform', fig)
    assert float(label.group(1)) < label_bottom


def test_speaker_section_shows_the_clone_check() -> None:
    v = SimpleNamespace(speaker="alice", decision="reject_clone", speaker_similarity=0.81, speaker_llr=3.2,
                        speaker_threshold=0.0, condition="clean-clean", channel="wideband",
                        enrolled_channel="wideband", spoof_llr=1.1, spoof_verdict="bonafide",
                        spoof_threshold_llr=-0.8, fused_score=-0.4, single_voice=True, clone_llr=-0.4,
                        clone_threshold=0.0)
    html = _speaker(SimpleNamespace(verification=v))
    assert "clone LLR -0.40" in html and "reject_clone below 0" in html and "Rejected as a clone" in html
    html = _speaker(SimpleNamespace(verification=SimpleNamespace(**{**vars(v), "clone_llr": None,
                                                                    "decision": "accept"})))
    assert "clone check" in html and "not run" in html


def test_nothing_scrolls_sideways_on_a_phone(evidence, tmp_path: Path) -> None:
    if find_chromium() is None:
        pytest.skip("chromium is not installed (see tests/report/test_report.py)")
    page = tmp_path / "r.html"
    page.write_text(render_html([evidence[1], evidence[0]]), encoding="utf-8")
    probe = ("(() => [...document.querySelectorAll('.figure, table.summary')].map(b => {"
             " const box = b.classList.contains('figure') ? b : b.parentElement;"
             " return [box.scrollWidth, box.clientWidth]; }))()")
    r = render(page, width=390, height=844, mobile=True, evaluate=probe)
    assert r.errors == [] and len(r.info) == 3
    for scroll, client in r.info:
        assert scroll <= client + 1  # the summary and each figure fit the phone's width


def test_a_recording_with_sound_but_no_speech_is_said_not_screened(tmp_path: Path) -> None:
    tone = tmp_path / "tone.wav"
    sf.write(tone, 0.3 * np.sin(np.arange(3 * 16000) * 0.2), 16000, subtype="PCM_16")
    ev = analyse(tone, Detector("fast"))
    assert ev.result.content == "non_speech"
    assert "not screened" in render_html([ev])
