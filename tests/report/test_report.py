"""The visual report: ``voiceguard report``, ``score --report DIR``, ``verify --report DIR``.

The report is checked as data (the figure's windows, flags and speech regions, the words
that explain the numbers), as a file (self-contained, nothing fetched) and in a real
headless Chromium (it renders, logs no console error, requests nothing, fits a phone, and
its screenshot is not blank).
"""

from __future__ import annotations

import io
import json
import re
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard import audio
from voiceguard.cli import main
from voiceguard.detect.detector import Detector
from voiceguard.report.browser import find_chromium, render

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BONAFIDE = EXAMPLES / "bonafide_librispeech_1898.flac"
ESPEAK = EXAMPLES / "spoof_espeak.flac"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def spliced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float, float]:
    """Real speech, an eSpeak sentence spliced in, real speech again: (file, fake start, fake end)."""
    real, _ = audio.load_mono(BONAFIDE, 16000)
    fake, _ = audio.load_mono(ESPEAK, 16000)
    path = tmp_path_factory.mktemp("splice") / "spliced_call.wav"
    sf.write(path, np.concatenate([real, fake, real]), 16000, subtype="PCM_16")
    return path, len(real) / 16000, (len(real) + len(fake)) / 16000


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, spliced) -> dict:
    """One report over the spliced clip, the real example, the eSpeak clip and an unreadable file."""
    d = tmp_path_factory.mktemp("report")
    corrupt = d / "broken.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    out = d / "report.html"
    rc = main(["report", str(spliced[0]), str(BONAFIDE), str(ESPEAK), str(corrupt), "-o", str(out),
               "--threads", "1"])
    return {"rc": rc, "path": out, "html": out.read_text(encoding="utf-8"), "dir": d}


def _cards(html: str) -> list[str]:
    return re.findall(r"<article .*?</article>", html, flags=re.S)


def _windows(card: str) -> list[tuple[float, float, float]]:
    return [(float(a), float(b), float(p)) for a, b, p in
            re.findall(r'<g class="win" data-start="([\d.]+)" data-end="([\d.]+)" data-p="([\d.]+)"', card)]


def _flags(card: str) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in re.findall(r'<rect class="flag" data-start="([\d.]+)" '
                                                        r'data-end="([\d.]+)"', card)]


def test_report_is_one_self_contained_file_that_explains_itself(report) -> None:
    html = report["html"]
    assert report["rc"] == 1  # a spoof found wins over the unreadable file
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    # nothing to fetch: no scripts, stylesheets, fonts or remote images; the only URL is the SVG namespace
    assert not re.search(r"<script|<link|<iframe|@import|url\(", html, flags=re.I)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}
    assert re.findall(r'href="(?!#|data:image/png;base64,)', html) == []
    spliced_card, real_card, espeak_card, broken_card = _cards(html)
    for card in (spliced_card, real_card, espeak_card):
        assert "natural-log likelihood ratio" in card and "prior P(bona fide)" in card
        assert "threshold" in card and "P(spoof) =" in card
        assert "Model <b>lfcc-resnet</b>" in card or "Model <b>" in card
        assert "version" in card
        assert card.count('<svg class="timeline"') == 1 and card.count("data:image/png;base64,") == 1
        assert len(re.findall(r'<rect class="speech"', card)) >= (1 if card is espeak_card else 2)  # from voiceguard.audio.vad
    assert "could not be scored" in broken_card and "broken.wav" in broken_card
    assert "Judged spoof" in espeak_card and 'chip spoof' in espeak_card
    # the spliced clip's 3.9 s of eSpeak in 15.9 s do not move the recording's mean LLR past the
    # default threshold; its windows show where they are (next test)
    assert "Judged bona fide" in real_card or "chip bonafide" in real_card


def test_spliced_synthetic_segment_stands_out(report, spliced) -> None:
    _, fake_start, fake_end = spliced
    card = _cards(report["html"])[0]
    wins = _windows(card)
    assert len(wins) >= 6

    def overlap(a: float, b: float) -> float:
        return max(0.0, min(b, fake_end) - max(a, fake_start))

    # windows at least half synthetic (the encoder pools a whole 4 s window: one with 1 s of
    # eSpeak in it is mostly real speech) against windows with no synthetic speech at all
    over = [p for a, b, p in wins if overlap(a, b) >= 1.95]
    clean = [p for a, b, p in wins if overlap(a, b) == 0.0]
    assert over and clean
    threshold = Detector().threshold
    assert min(over) > max(clean) and max(over) >= threshold > max(clean)
    # the red shading lies over the fake passage, and only around it
    flags = _flags(card)
    assert flags, "no window of the spliced clip was flagged"
    assert all(overlap(a, b) > 0 for a, b in flags)
    assert sum(overlap(a, b) for a, b in flags) >= 0.9 * (fake_end - fake_start)
    assert "Windows judged spoof (shaded red)" in card
    # a bona fide verdict over a recording with flagged windows says so where the verdict is
    assert ('<span class="chip spoof">' in card) != ("windows are judged spoof on their own" in card)
    assert "judged spoof on their own" not in _cards(report["html"])[1]  # the real example


def test_report_renders_in_headless_chromium(report) -> None:
    if find_chromium() is None:
        pytest.skip("chromium is not installed (scripts/test installs Debian's chromium with apt-get when it "
                    "runs as root; install it, or set $CHROMIUM to a Chrome/Chromium binary)")
    from PIL import Image

    probe = ("(() => { const f = [...document.querySelectorAll('svg.timeline')].map(s => s.getBoundingClientRect());"
             " return {figures: f.map(r => [r.x, r.y, r.width, r.height]),"
             " images: [...document.querySelectorAll('svg image')].length,"
             " scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,"
             " fontPx: parseFloat(getComputedStyle(document.querySelector('p.meaning')).fontSize)}; })()")
    desk = render(report["path"], width=1000, height=800, evaluate=probe)
    assert desk.errors == [] and desk.requests == []
    assert len(desk.info["figures"]) == 3 and desk.info["images"] == 3
    img = Image.open(io.BytesIO(desk.screenshot)).convert("RGB")
    a = np.asarray(img, dtype=np.float64)
    assert a.shape[1] == 1000 and a.shape[0] > 1500  # the whole page
    assert a.std() > 20  # not blank
    x, y, w, h = (int(v) for v in desk.info["figures"][0])
    fig = a[y:y + h, x:x + w]
    assert w > 800 and h > 300 and fig.std() > 30  # the first timeline figure drew something
    assert len(np.unique(fig.reshape(-1, 3)[::7], axis=0)) > 200  # a spectrogram, not a flat box

    phone = render(report["path"], width=390, height=844, mobile=True, evaluate=probe)
    assert phone.errors == [] and phone.requests == []
    assert phone.info["scrollWidth"] <= phone.info["innerWidth"]  # no sideways page scrolling on a phone
    assert phone.info["fontPx"] >= 14


def test_browser_check_sees_console_errors_and_requests(tmp_path: Path) -> None:
    """The Chromium checks above can fail: a page that errs and fetches is caught."""
    if find_chromium() is None:
        pytest.skip("chromium is not installed (see test_report_renders_in_headless_chromium)")
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><body><p>x</p><img src="http://192.0.2.1/x.png">'
                   '<script>console.error("boom"); undefinedFunction();</script></body></html>')
    r = render(bad, width=400, height=300)
    assert any("boom" in e for e in r.errors) and any("undefinedFunction" in e for e in r.errors)
    assert r.requests == ["http://192.0.2.1/x.png"]


def test_png_figures_and_missing_extra(report, spliced, monkeypatch, capsys) -> None:
    out = report["dir"] / "figs.html"
    rc = main(["report", str(spliced[0]), "-o", str(out), "--png", "--threads", "1"])
    cap = capsys.readouterr()
    png = report["dir"] / "figs-1-spliced_call.png"
    expected = 1 if Detector().score(spliced[0]).verdict == "spoof" else 0
    assert rc == expected and str(png) in cap.out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    assert w > 600 and h > 300
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)  # as if the 'report' extra were not installed
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    rc = main(["report", str(spliced[0]), "-o", str(out), "--png"])
    err = capsys.readouterr().err
    assert rc == 2 and "-e '" in err and "[report]'" in err and "Traceback" not in err
    assert "'voiceguard[report]'" not in err  # the unrelated 'voiceguard' on PyPI (issue 23)


def test_score_report_dir_writes_one_per_file(tmp_path: Path, spliced, capsys) -> None:
    other = tmp_path / "a" / "spliced_call.wav"  # same name in another folder: no overwrite
    other.parent.mkdir()
    other.write_bytes(spliced[0].read_bytes())
    rc = main(["score", str(spliced[0]), str(other), str(BONAFIDE), "--format", "jsonl", "--threads", "1",
               "--report", str(tmp_path / "reports")])
    cap = capsys.readouterr()
    rows = [json.loads(line) for line in cap.out.splitlines()]
    names = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert names == ["bonafide_librispeech_1898.html", "spliced_call-2.html", "spliced_call.html"]
    assert [Path(r["report"]).name for r in rows] == ["spliced_call.html", "spliced_call-2.html",
                                                      "bonafide_librispeech_1898.html"]
    assert rc == (1 if any(r["verdict"] == "spoof" for r in rows) else 0)
    page = (tmp_path / "reports" / "spliced_call.html").read_text()
    assert page.count('<svg class="timeline"') == 1 and f"{rows[0]['spoof_probability'] * 100:.1f}" in page
    assert "3 reports in" in cap.err


def test_verify_report_shows_voiceprint_evidence(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    db = str(tmp_path / "vp.db")
    assert main(["enroll", "reader", str(BONAFIDE), "--db", db, "--threads", "1"]) == 0
    capsys.readouterr()
    out = tmp_path / "v.html"
    rc = main(["report", str(BONAFIDE), str(ESPEAK), "--speaker", "reader", "--db", db, "-o", str(out),
               "--threads", "1"])
    html = out.read_text()
    assert "report: " in capsys.readouterr().out
    assert rc == 1  # at least the eSpeak clip is not accepted as the reader
    real, fake = _cards(html)
    assert "Voiceprint evidence" in real and "voice similarity" in real and "speaker LLR" in real
    assert "<b>accept</b>" in real and "Accepted" in real
    assert "Voiceprint evidence" in fake and "<b>accept</b>" not in fake
    # verify --report gives the same decisions as plain verify, plus one page per file
    rc2 = main(["verify", "reader", str(BONAFIDE), str(ESPEAK), "--db", db, "--format", "jsonl",
                "--report", str(tmp_path / "vr"), "--threads", "1"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rc2 == rc and rows[0]["decision"] == "accept" and rows[1]["decision"] != "accept"
    assert sorted(p.name for p in (tmp_path / "vr").iterdir()) == ["bonafide_librispeech_1898.html",
                                                                  "spoof_espeak.html"]
    assert "Voiceprint evidence" in (tmp_path / "vr" / "spoof_espeak.html").read_text()


def test_png_encoder_round_trips() -> None:
    from PIL import Image

    from voiceguard.report.raster import encode_png, palette

    rng = np.random.default_rng(3)
    idx = rng.integers(0, 256, (37, 53)).astype(np.uint8)
    pal = palette()
    img = Image.open(io.BytesIO(encode_png(idx, pal)))
    assert img.mode == "P" and img.size == (53, 37)
    assert np.array_equal(np.asarray(img), idx)
    assert np.array_equal(np.asarray(img.convert("RGB")), pal[idx])
    # brighter for louder: the spectrogram reads in grey too
    lum = pal @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(lum) > 0)
    png = encode_png(idx, pal)
    assert zlib.crc32(png[12:29]) & 0xFFFFFFFF == struct.unpack(">I", png[29:33])[0]  # IHDR CRC


def test_figure_data_helpers() -> None:
    from voiceguard.report.evidence import envelope, spectrogram_image
    from voiceguard.report.svg import time_ticks

    t = np.arange(16000 * 30) / 16000
    y = np.sin(2 * np.pi * 1000 * t)  # 30 s of a 1 kHz tone
    env = envelope(y)
    assert env.shape == (2, 800) and env[0].min() < -0.99 and env[1].max() > 0.99
    img, fmax = spectrogram_image(y, 16000)
    assert img.shape == (128, 800) and img.dtype == np.uint8 and fmax == 8000
    # 128 rows of 62.5 Hz, row 0 the top (8 kHz): 1 kHz is the 17th row from the bottom
    assert np.argmax(img.mean(axis=1)) == 127 - 16
    assert envelope(np.array([0.5])).shape == (2, 1)
    assert spectrogram_image(np.zeros(10), 16000)[0].shape == (128, 1)
    assert time_ticks(6.0) == ([0, 1, 2, 3, 4, 5, 6], "s")
    ticks, style = time_ticks(1800.0)
    assert style == "m:ss" and len(ticks) <= 11 and ticks[1] == 300
