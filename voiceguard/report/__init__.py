"""Visual reports: where in a recording the detector heard synthetic speech.

``voiceguard report clip.wav [more ...] -o report.html`` (and ``score --report DIR``,
``verify --report DIR``) write one self-contained HTML file: per recording the verdict,
the calibrated probability and LLR with their meaning in words, a timeline (waveform with
speech regions, spectrogram, the probability of spoofing of every analysis window), the
model and its version, and with a speaker the voiceprint evidence.

Modules, one job each: :mod:`.evidence` gathers the data through the public
:class:`~voiceguard.detect.Detector` / :class:`~voiceguard.verify.Verifier` API;
:mod:`.raster` (colour map, PNG encoder) and :mod:`.svg` draw the figure without a
plotting library; :mod:`.html` lays out the page; :mod:`.png` draws the figure as a PNG
file with matplotlib (optional extra ``report``); :mod:`.cli` is the command-line glue;
:mod:`.browser` renders a report in headless Chromium (tests, README screenshot).
"""

from __future__ import annotations

from voiceguard.report.evidence import RecordingEvidence, analyse, failed
from voiceguard.report.html import render_html, write_html

__all__ = ["RecordingEvidence", "analyse", "failed", "render_html", "write_html", "write_png"]


def write_png(path, ev):  # re-exported lazily: matplotlib is optional
    """See :func:`voiceguard.report.png.write_png`."""
    from voiceguard.report.png import write_png as _write_png

    return _write_png(path, ev)
