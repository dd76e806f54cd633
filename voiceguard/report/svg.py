"""The timeline figure of one recording as inline SVG.

Three panels share the time axis:

* **waveform** (min/max envelope), with the speech regions as a green strip under it;
* **spectrogram** 0-8 kHz (an embedded PNG, :mod:`.raster`);
* **P(spoof) per window**: each analysis window is a horizontal bar at its probability
  spanning the seconds it covers, its centre a dot, with the verdict threshold dashed.

The seconds covered by windows judged spoof (``spoof_probability >= threshold``) are
shaded red across all three panels, so a spliced synthetic segment stands out where it
is. Elements carry classes and ``data-`` attributes (``win``, ``flag``, ``speech``) so the
figure can be checked.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

from voiceguard.report.evidence import RecordingEvidence
from voiceguard.report.raster import encode_png, palette, png_data_uri

__all__ = ["timeline_svg", "time_ticks", "window_layout", "flagged_ranges", "WIDTH", "HEIGHT"]

WIDTH, HEIGHT = 900, 400
_L, _R = 58, 14  # left margin (tick labels), right margin
_PW = WIDTH - _L - _R
_WAVE = (8, 90)  # (top, height) of each panel
_SPEECH_H = 9  # the speech strip at the bottom of the waveform panel
_LABEL_H = 22  # the band at the top of the waveform panel that holds its label, above the signal
_SPEC = (106, 130)
_PROB = (244, 120)
_PROB_PAD = (24, 6)  # room above p = 1 (the panel label) and below p = 0
_AXIS_Y = _PROB[0] + _PROB[1]

SPOOF_RED = "#dc2626"
BONAFIDE_BLUE = "#2563eb"
SPEECH_GREEN = "#bbf7d0"


def window_layout(ev: RecordingEvidence) -> tuple[float, float]:
    """(window length, hop) in seconds: the detector's, else inferred from the segments.

    Inferred: the most common window length and distance between window starts, rounded
    to 10 ms (the last window is aligned to the end of the recording, so it may differ).
    """
    segs = ev.result.segments if ev.result is not None else []
    if len(segs) == 1:
        return round(segs[0].end_s - segs[0].start_s, 2), 0.0
    lengths = [round(s.end_s - s.start_s, 2) for s in segs]
    diffs = [round(b.start_s - a.start_s, 2) for a, b in zip(segs, segs[1:])]

    def mode(v: list[float]) -> float:
        return max(set(v), key=lambda d: (v.count(d), -d)) if v else 0.0

    return (ev.window_s or mode(lengths)), (ev.hop_s or mode(diffs))


def flagged_ranges(segments: Sequence, threshold: float) -> list[tuple[float, float]]:
    """Merged time ranges of the windows whose ``spoof_probability >= threshold``."""
    out: list[list[float]] = []
    for s in sorted((s for s in segments if s.spoof_probability >= threshold), key=lambda s: s.start_s):
        if out and s.start_s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], s.end_s)
        else:
            out.append([s.start_s, s.end_s])
    return [(a, b) for a, b in out]


def time_ticks(duration_s: float, max_ticks: int = 10) -> tuple[list[float], str]:
    """Tick positions (s) for a time axis of ``duration_s`` and the label format.

    Returns
    -------
    ticks : list of float
    style : str
        ``'s'`` (seconds, e.g. ``12``), ``'s1'`` (one decimal) or ``'m:ss'``.
    """
    steps = (0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200)
    d = max(float(duration_s), 1e-3)
    step = next((s for s in steps if d / s <= max_ticks), steps[-1] * math.ceil(d / (steps[-1] * max_ticks)))
    ticks = [i * step for i in range(int(math.floor(d / step + 1e-9)) + 1)]
    style = "s1" if step < 1 else ("m:ss" if d >= 120 else "s")
    return ticks, style


def _fmt_time(t: float, style: str) -> str:
    if style == "m:ss":
        m, s = divmod(int(round(t)), 60)
        return f"{m}:{s:02d}"
    return f"{t:.1f}" if style == "s1" else f"{t:g}"


def _n(v: float) -> str:
    """A coordinate with two decimals, no trailing zeros."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def timeline_svg(ev: RecordingEvidence) -> str:
    """The figure of one scored recording (see the module docstring).

    Parameters
    ----------
    ev : RecordingEvidence
        With ``result`` set.

    Returns
    -------
    str
        An ``<svg>`` element (viewBox ``WIDTH x HEIGHT``, scales to its container).
    """
    res = ev.result
    dur = max(ev.duration_s, 1e-6)

    def x(t: float) -> float:
        return _L + _PW * min(max(t, 0.0), dur) / dur

    thr = float(res.threshold)
    segs = list(res.segments)
    flagged = [s for s in segs if s.spoof_probability >= thr]
    label = (f"Timeline of {ev.file}: waveform with speech regions, spectrogram, and the probability of "
             f"spoofing of each of {len(segs)} analysis windows; {len(flagged)} above the threshold {thr:g}")
    out = [f'<svg class="timeline" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(label)}" '
           'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" '
           'font-size="11">', f"<title>{html.escape(label)}</title>"]
    out += _waveform_panel(ev, x)
    out += _spectrogram_panel(ev)
    out += _probability_panel(ev, x, thr)
    # -- seconds covered by windows judged spoof, across all panels -----------------------
    for a, b in flagged_ranges(segs, thr):
        out.append(f'<rect class="flag" data-start="{a:.3f}" data-end="{b:.3f}" '
                   f'x="{_n(x(a))}" y="{_WAVE[0]}" width="{_n(x(b) - x(a))}" '
                   f'height="{_AXIS_Y - _WAVE[0]}" fill="{SPOOF_RED}" fill-opacity="0.12" '
                   f'stroke="{SPOOF_RED}" stroke-opacity="0.6" pointer-events="none"/>')
    out += _time_axis(dur, x)
    out.append("</svg>")
    return "".join(out)


def _waveform_panel(ev: RecordingEvidence, x: Any) -> list[str]:
    """The waveform envelope with the speech regions as a green strip."""
    top, h = _WAVE
    out = [f'<rect x="{_L}" y="{top}" width="{_PW}" height="{h}" fill="#f8fafc" stroke="#cbd5e1"/>']
    sy = top + h - _SPEECH_H
    for s, e in ev.speech:
        out.append(f'<rect class="speech" data-start="{s:.2f}" data-end="{e:.2f}" x="{_n(x(s))}" y="{sy}" '
                   f'width="{_n(max(0.5, x(e) - x(s)))}" height="{_SPEECH_H}" fill="{SPEECH_GREEN}"/>')
    env = ev.envelope
    if env.shape[1]:
        band = h - _SPEECH_H - _LABEL_H  # the signal keeps clear of the label
        mid, half = top + _LABEL_H + band / 2, band / 2 - 2
        cols = env.shape[1]
        xs = [_L + _PW * (i + 0.5) / cols for i in range(cols)]
        upper = " L".join(f"{_n(xs[i])} {_n(mid - env[1, i] * half)}" for i in range(cols))
        lower = " L".join(f"{_n(xs[i])} {_n(mid - env[0, i] * half + 0.4)}" for i in reversed(range(cols)))
        out.append(f'<path class="wave" d="M{upper} L{lower} Z" fill="#334155" stroke="#334155" '
                   'stroke-width="0.6"/>')
    out.append(_panel_label(top, "waveform \u00b7 green strip: speech"))
    return out


def _spectrogram_panel(ev: RecordingEvidence) -> list[str]:
    """The spectrogram as an embedded PNG, with its kHz axis."""
    top, h = _SPEC
    out = []
    if ev.spectrogram.size:
        uri = png_data_uri(encode_png(ev.spectrogram, palette()))
        out.append(f'<image class="spectrogram" x="{_L}" y="{top}" width="{_PW}" height="{h}" '
                   f'preserveAspectRatio="none" href="{uri}"/>')
    out.append(f'<rect x="{_L}" y="{top}" width="{_PW}" height="{h}" fill="none" stroke="#cbd5e1"/>')
    fmax_k = ev.spec_fmax / 1000.0
    for k in range(0, int(fmax_k) + 1, 2):
        yk = top + h - h * k / fmax_k
        out.append(f'<text x="{_L - 6}" y="{_n(yk + 4)}" text-anchor="end" fill="#475569">{k}</text>')
    out.append(f'<text class="axis-title" x="14" y="{top + h / 2}" transform="rotate(-90 14 {top + h / 2})" '
               'text-anchor="middle" fill="#475569">kHz</text>')
    out.append(_panel_label(top, f"spectrogram 0\u2013{fmax_k:g} kHz", dark=True))
    return out


def _probability_panel(ev: RecordingEvidence, x: Any, thr: float) -> list[str]:
    """The spoof probability of every window where it lies in time, and the threshold."""
    segs = list(ev.result.segments)
    top, h = _PROB

    def yp(p: float) -> float:
        return top + h - _PROB_PAD[1] - (h - sum(_PROB_PAD)) * p

    out = [f'<rect x="{_L}" y="{top}" width="{_PW}" height="{h}" fill="#ffffff" stroke="#cbd5e1"/>']
    for p in (0.0, 0.5, 1.0):
        out.append(f'<line x1="{_L}" x2="{_L + _PW}" y1="{_n(yp(p))}" y2="{_n(yp(p))}" stroke="#e2e8f0"/>')
        out.append(f'<text x="{_L - 6}" y="{_n(yp(p) + 4)}" text-anchor="end" fill="#475569">{p:g}</text>')
    out.append(f'<text class="axis-title" x="14" y="{top + h / 2}" transform="rotate(-90 14 {top + h / 2})" '
               'text-anchor="middle" fill="#475569">P(spoof)</text>')
    out.append(f'<line class="threshold" x1="{_L}" x2="{_L + _PW}" y1="{_n(yp(thr))}" y2="{_n(yp(thr))}" '
               f'stroke="{SPOOF_RED}" stroke-dasharray="5 4" stroke-width="1"/>')
    out.append(f'<text x="{_L + _PW - 4}" y="{_n(yp(thr) - 4)}" text-anchor="end" fill="{SPOOF_RED}">'
               f'threshold {thr:g}</text>')
    if not segs:
        out.append(f'<text x="{_L + _PW / 2}" y="{top + h / 2 + 4}" text-anchor="middle" fill="#475569">'
                   "not scored: too little speech</text>")
        out.append(_panel_label(top, "P(spoof) per window"))
        return out
    win, _ = window_layout(ev)
    centres = [((s.start_s + s.end_s) / 2, s.spoof_probability) for s in segs if s.used]
    if len(centres) > 1:
        pts = " ".join(f"{_n(x(t))},{_n(yp(p))}" for t, p in centres)
        out.append(f'<polyline points="{pts}" fill="none" stroke="#64748b" stroke-width="1"/>')
    for s in segs:
        p = s.spoof_probability
        colour = SPOOF_RED if p >= thr else BONAFIDE_BLUE
        tip = (f"{s.start_s:.1f}\u2013{s.end_s:.1f} s: P(spoof) {p:.3f}, LLR {s.llr:+.2f}, "
               f"{100 * s.speech_fraction:.0f} % speech" + ("" if s.used else " (not used: too little speech)"))
        tc = (s.start_s + s.end_s) / 2
        out.append(f'<g class="win" data-start="{s.start_s:.3f}" data-end="{s.end_s:.3f}" data-p="{p:.6f}" '
                   f'data-used="{str(s.used).lower()}"><title>{html.escape(tip)}</title>'
                   f'<line x1="{_n(x(s.start_s))}" x2="{_n(x(s.end_s))}" y1="{_n(yp(p))}" y2="{_n(yp(p))}" '
                   f'stroke="{colour}" stroke-width="3" stroke-opacity="{0.55 if s.used else 0.25}"/>'
                   f'<circle cx="{_n(x(tc))}" cy="{_n(yp(p))}" r="3.5" fill="{colour if s.used else "#fff"}" '
                   f'stroke="{colour}"/></g>')
    what = "the whole recording (one window)" if len(segs) == 1 else f"each {win:g} s window"
    out.append(_panel_label(top, f"P(spoof) of {what} \u00b7 bar: the seconds it covers"))
    return out


def _time_axis(dur: float, x: Any) -> list[str]:
    """Ticks and the unit of the time axis under the panels."""
    out = []
    ticks, style = time_ticks(dur)
    for t in ticks:
        xt = x(t)
        out.append(f'<line x1="{_n(xt)}" x2="{_n(xt)}" y1="{_AXIS_Y}" y2="{_AXIS_Y + 5}" stroke="#475569"/>')
        out.append(f'<text x="{_n(xt)}" y="{_AXIS_Y + 18}" text-anchor="middle" fill="#334155">'
                   f"{_fmt_time(t, style)}</text>")
    unit = "time (m:ss)" if style == "m:ss" else "time (s)"
    out.append(f'<text x="{_L + _PW / 2}" y="{HEIGHT - 4}" text-anchor="middle" fill="#334155">{unit}</text>')
    return out


def _panel_label(top: float, text: str, dark: bool = False) -> str:
    # a halo (the text's own stroke, painted under it) instead of a box: readable over the
    # spectrogram at any font size (the page draws the figure's text larger on a phone)
    fg, bg = ("#f8fafc", "#0f172a") if dark else ("#0f172a", "#ffffff")
    return (f'<g class="panel-label"><text x="{_L + 6}" y="{top + 15}" fill="{fg}" stroke="{bg}" '
            f'stroke-width="3" stroke-opacity="0.85" paint-order="stroke" stroke-linejoin="round">'
            f"{html.escape(text)}</text></g>")
