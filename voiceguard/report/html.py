"""The report as one self-contained HTML file.

Everything is inline: the CSS, the SVG figures and the spectrograms (base64 PNG). There is
no JavaScript and nothing is fetched, so the file opens offline, can be mailed or
attached to a case, and renders the same anywhere. The layout is one column that
narrows to a phone's width; a figure wider than the screen scrolls inside its own box.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Sequence

from voiceguard.report.evidence import RecordingEvidence
from voiceguard.report.svg import flagged_ranges, timeline_svg, window_layout

__all__ = ["render_html", "write_html", "llr_words", "flagged_windows"]

_CSS = """
:root { color-scheme: light; --red: #b91c1c; --blue: #1d4ed8; --grey: #475569; --line: #e2e8f0; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #0f172a; background: #f1f5f9; }
main { max-width: 980px; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.5rem; margin: 0.2em 0; }
h2 { font-size: 1.15rem; margin: 0 0 0.4em; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 1em 0 0.3em; }
p { margin: 0.4em 0; }
.sub { color: var(--grey); margin-top: 0; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px;
        margin: 14px 0; }
.card.spoof, .card.rejected { border-left: 6px solid var(--red); }
.card.bonafide, .card.accepted { border-left: 6px solid var(--blue); }
.card.error, .card.no_speech { border-left: 6px solid #94a3b8; }
.chip { display: inline-block; padding: 0.05em 0.6em; border-radius: 999px; font-weight: 600;
        font-size: 0.9em; white-space: nowrap; }
.chip.spoof, .chip.rejected { background: #fee2e2; color: var(--red); }
.chip.bonafide, .chip.accepted { background: #dbeafe; color: var(--blue); }
.chip.no_speech, .chip.error { background: #e2e8f0; color: #334155; }
.flagged { display: block; color: var(--red); font-size: 0.85em; font-weight: 600; margin-top: 2px; }
.verdict { font-size: 1.2rem; font-weight: 600; }
.numbers { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 0.5em 0; }
.numbers div { min-width: 7em; }
.numbers b { display: block; font-size: 1.25rem; }
.numbers span { color: var(--grey); font-size: 0.85rem; }
.figure { overflow-x: auto; margin: 0.6em 0; border: 1px solid var(--line); border-radius: 6px; }
.figure svg { display: block; width: 100%; min-width: 560px; height: auto; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.file { overflow-wrap: anywhere; }
details summary { cursor: pointer; color: var(--blue); margin: 0.4em 0; }
.warn { background: #fef9c3; border-radius: 6px; padding: 6px 10px; }
.err { background: #f1f5f9; border-radius: 6px; padding: 6px 10px; font-family: ui-monospace, monospace;
       overflow-wrap: anywhere; }
.meaning { color: #1e293b; }
footer { color: var(--grey); font-size: 0.85rem; margin: 24px 0 8px; }
@media (max-width: 600px) {
  body { font-size: 15px; }
  main { padding: 8px; }
  .card { padding: 10px; }
  .numbers b { font-size: 1.1rem; }
  table.summary td:first-child, table.summary th:first-child { display: none; }
  table.summary td.dur, table.summary th.dur { display: none; }
  /* the figure fits the screen (no sideways scrolling); its labels are drawn larger */
  .figure svg { min-width: 0; }
  .figure svg text { font-size: 26px; }
  .figure svg text.axis-title { display: none; }
}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(p: float) -> str:
    v = 100.0 * p
    if 0 < v < 0.1:
        return "&lt; 0.1 %"
    if 99.9 < v < 100:
        return "&gt; 99.9 %"
    return f"{v:.1f}".removesuffix(".0") + " %"


def llr_words(llr: float, favoured: str, other: str) -> str:
    """``'e^2.30 &asymp; 10 times more likely under A than under B'`` for an LLR of A over B."""
    a, b = (favoured, other) if llr >= 0 else (other, favoured)
    ratio = math.exp(min(abs(llr), 700.0))
    if ratio >= 10000:
        times = "more than 10&#8239;000 times"
    elif ratio >= 100:
        times = f"about {ratio:,.0f} times".replace(",", "&#8239;")
    elif ratio >= 1.05:
        times = f"about {ratio:.1f} times"
    else:
        return f"about equally likely under {favoured} and under {other} (no evidence either way)"
    return f"{times} more likely under {a} than under {b}"


def _state(ev: RecordingEvidence) -> tuple[str, str]:
    """(css class, short label) of a recording."""
    if ev.error is not None:
        return "error", "error"
    if ev.verification is not None:
        d = ev.verification.decision
        if d == "no_speech":
            return "no_speech", "no speech"
        return ("accepted", "accept") if d == "accept" else ("rejected", d.replace("_", " "))
    v = ev.result.verdict
    return v, {"bonafide": "bona fide", "spoof": "spoof", "no_speech": "no speech"}.get(v, v)


def flagged_windows(ev: RecordingEvidence) -> tuple[int, int]:
    """(windows judged spoof on their own, windows): the red shading of the figure, shown in
    the summary whatever the recording's verdict (a rule that judges the recording as a
    whole, such as the mean LLR, can call bona fide a call with a spliced synthetic part)."""
    if ev.result is None:
        return 0, 0
    segs = ev.result.segments
    return sum(s.spoof_probability >= ev.result.threshold for s in segs), len(segs)


def _summary(evs: Sequence[RecordingEvidence]) -> str:
    speaker = any(ev.verification is not None for ev in evs)
    head = "<tr><th>#</th><th>recording</th><th>" + ("decision" if speaker else "verdict") + \
           '</th><th class="num">P(spoof)</th><th class="num dur">duration</th></tr>'
    rows = []
    for i, ev in enumerate(evs, 1):
        cls, label = _state(ev)
        p = "" if ev.result is None or ev.result.spoof_probability is None else _pct(ev.result.spoof_probability)
        dur = "" if ev.error is not None else f"{ev.duration_s:.1f} s"
        n_flag, n_win = flagged_windows(ev)
        # said where the verdict is not spoof (a recording-level rule may pass a call with a
        # synthetic passage); for a spoof verdict the chip already says it
        flag = (f'<span class="flagged" data-flagged="{n_flag}">&#9888; {n_flag} of {n_win} window'
                f'{"s" if n_win != 1 else ""} spoof</span>' if n_flag and cls not in ("spoof", "rejected") else "")
        rows.append(f'<tr><td class="num">{i}</td><td class="file"><a href="#rec-{i}">{_e(ev.file)}</a></td>'
                    f'<td><span class="chip {cls}">{_e(label)}</span>{flag}</td><td class="num">{p}</td>'
                    f'<td class="num dur">{dur}</td></tr>')
    return f'<div class="scroll"><table class="summary">{head}{"".join(rows)}</table></div>'


def _meaning(ev: RecordingEvidence) -> str:
    res = ev.result
    prior, thr = res.prior, res.threshold
    if res.verdict == "no_speech":
        unscreened = ("" if getattr(res, "content", "") != "non_speech" else
                      " The recording does hold sound (noise, music, a tone, or speech the detector could not "
                      "find), so it was <b>not screened</b>: this is not a pass (exit code 3); listen to it.")
        return (f'<p class="meaning">Only {res.speech_s:.1f} s of speech was found in {ev.duration_s:.1f} s, too '
                "little to judge: voiceguard gives no score rather than guess. Send a recording with more "
                f"speech.{unscreened}</p>")
    p, llr = res.spoof_probability, res.llr
    side = "at or above" if p >= thr else "below"
    verdict = "spoof" if p >= thr else "bona fide"
    used = [s for s in res.segments if s.used]
    win, hop = window_layout(ev)
    parts = [
        f"<p class=\"meaning\"><b>P(spoof) = {_pct(p)}</b> is the detector's calibrated probability that this "
        f"recording is synthetic or cloned speech, assuming beforehand a {_pct(prior)} chance that a "
        f"recording is real (the prior P(bona fide), <code>--prior</code>). It is {side} the threshold of "
        f"{_pct(thr)} (<code>--threshold</code>), so the verdict is <b>{verdict}</b>.</p>",
        f"<p class=\"meaning\"><b>LLR = {llr:+.2f}</b> is the natural-log likelihood ratio of real over "
        f"synthetic speech: the audio is {llr_words(llr, 'real speech', 'synthetic speech')}. Positive "
        "values favour real speech, negative ones synthetic speech. With another prior &pi;, "
        "P(spoof) = 1 / (1 + e<sup>LLR</sup> &middot; &pi; / (1 &minus; &pi;)).</p>",
        (f"<p class=\"meaning\">The recording is analysed in {win:g} s windows every {hop:g} s; its LLR is "
         f"the mean LLR of the {len(used)} of {len(res.segments)} windows that hold enough speech. The figure "
         "shows each window's own P(spoof) where it lies in time."
         if len(res.segments) > 1 else
         "<p class=\"meaning\">The recording is shorter than one analysis window, so it is scored as one "
         "window."),
    ]
    ranges = flagged_ranges(res.segments, thr)
    if ranges:
        where = ", ".join(f"{a:.1f}\u2013{b:.1f} s" for a, b in ranges)
        parts.append(f" Windows judged spoof (shaded red): <b>{_e(where)}</b>.</p>")
    else:
        parts.append(" No window is above the threshold.</p>")
    return "".join(parts)


def _numbers(ev: RecordingEvidence) -> str:
    res = ev.result
    cells = []
    if res.spoof_probability is not None:
        cells.append(("P(spoof)", _pct(res.spoof_probability)))
        cells.append(("LLR (real vs synthetic)", f"{res.llr:+.2f}"))
    cells.append(("duration", f"{ev.duration_s:.1f} s"))
    cells.append(("speech", f"{res.speech_s:.1f} s"))
    ch = "mono" if res.channels == 1 else f"{res.channels} channels"
    cells.append(("audio", f"{res.sample_rate} Hz, {ch}"))
    return '<div class="numbers">' + "".join(f"<div><b>{v}</b><span>{_e(k)}</span></div>" for k, v in cells) + \
        "</div>"


def _speaker(ev: RecordingEvidence) -> str:
    v = ev.verification
    if v is None:
        return ""
    who = _e(v.speaker)
    headline = {
        "accept": f"Accepted: the voice matches {who}'s voiceprint and the detector found real speech.",
        "reject_spoof": "Rejected as spoof: the detector judged the audio synthetic or cloned, so the voice match "
                        "does not count (a clone is made to match).",
        "reject_speaker": f"Rejected: the voice does not match {who}'s voiceprint.",
        "reject_clone": f"Rejected as a clone: the voice resembles a vocoded copy of {who} more than {who}'s real "
                        "voice (the per-speaker clone check).",
        "no_speech": "No decision: too little speech to compare voices or judge the audio.",
    }.get(v.decision, _e(v.decision))
    rows = [("decision", f"<b>{_e(v.decision)}</b>"), ("claimed speaker", who)]
    if v.speaker_similarity is not None:
        rows.append(("voice similarity (cosine with the voiceprint)", f"{v.speaker_similarity:.3f}"))
    if v.speaker_llr is not None:
        rows.append(("speaker LLR (this speaker vs another)",
                     f"{v.speaker_llr:+.2f} (accepted when &ge; {v.speaker_threshold:g}): the voice is "
                     f"{llr_words(v.speaker_llr, _e(v.speaker) + '’s voice', 'another voice')}"))
    rows.append(("calibration condition", f"{_e(v.condition)} (recording {_e(v.channel)}, voiceprint "
                                          f"{_e(v.enrolled_channel)})"))
    if v.spoof_llr is not None:
        rows.append(("spoof gate", f"detector LLR {v.spoof_llr:+.2f}, verdict {_e(v.spoof_verdict)} (spoof when "
                                   f"LLR &le; {v.spoof_threshold_llr:+.2f})"))
    if v.clone_llr is not None:
        rows.append(("clone check", f"clone LLR {v.clone_llr:+.2f} (real {_e(v.speaker)} over a vocoded copy; "
                                    f"reject_clone below {v.clone_threshold:g})"))
    else:
        rows.append(("clone check", "not run (the voiceprint has no clone model, or it was switched off)"))
    if v.fused_score is not None:
        rows.append(("fused score", f"{v.fused_score:+.2f} (the weaker of the two margins; accept when &ge; 0)"))
    if v.single_voice is False:
        rows.append(("voices", "the recording seems to hold more than one voice"))
    body = "".join(f"<tr><th>{k}</th><td>{val}</td></tr>" for k, val in rows)
    return (f'<h3>Voiceprint evidence</h3><p>{headline}</p><div class="scroll"><table class="speaker">{body}'
            "</table></div>")


def _windows_table(ev: RecordingEvidence) -> str:
    segs = ev.result.segments
    if not segs:
        return ""
    rows = "".join(
        f'<tr><td class="num">{s.start_s:.1f}\u2013{s.end_s:.1f} s</td><td class="num">{_pct(s.spoof_probability)}'
        f'</td><td class="num">{s.llr:+.2f}</td><td class="num">{100 * s.speech_fraction:.0f} %</td>'
        f"<td>{'yes' if s.used else 'no'}</td></tr>" for s in segs)
    what = "the window" if len(segs) == 1 else f"the {len(segs)} windows"
    return (f"<details><summary>Scores of {what}</summary><div class=\"scroll\"><table>"
            '<tr><th class="num">window</th><th class="num">P(spoof)</th><th class="num">LLR</th>'
            f'<th class="num">speech</th><th>in the mean</th></tr>{rows}</table></div></details>')


def _card(i: int, ev: RecordingEvidence) -> str:
    cls, label = _state(ev)
    head = f'<h2><span class="chip {cls}">{_e(label)}</span> {_e(ev.file)}</h2>'
    if ev.error is not None:
        return (f'<article class="card error" id="rec-{i}">{head}<p>This recording could not be scored:</p>'
                f'<p class="err">{_e(ev.error)}</p></article>')
    res = ev.result
    verdict = {"spoof": "Judged spoof: synthetic or cloned speech",
               "bonafide": "Judged bona fide: no evidence of synthetic speech in the recording as a whole",
               "no_speech": "No verdict: too little speech"}.get(res.verdict, res.verdict)
    n_flag, n_win = flagged_windows(ev)
    if res.verdict != "spoof" and n_flag:
        # a short synthetic passage in a long real recording barely moves the mean LLR
        verdict += (f", but {n_flag} of its {n_win} windows are judged spoof on their own "
                    "(shaded red below): listen to them")
    warn = "".join(f'<p class="warn">&#9888; {_e(w)}</p>' for w in ev.warnings)
    model = (f'<p class="sub">Model <b>{_e(ev.model)}</b>, version {_e(ev.model_version)}; prior P(bona fide) '
             f"{res.prior:g}, threshold {res.threshold:g} on P(spoof).</p>")
    return (f'<article class="card {cls}" id="rec-{i}">{head}<p class="verdict">{_e(verdict)}</p>{warn}'
            f'{_numbers(ev)}{_meaning(ev)}<div class="figure">{timeline_svg(ev)}</div>{_speaker(ev)}'
            f"{_provenance(ev)}{_windows_table(ev)}{model}</article>")


def _provenance(ev: RecordingEvidence) -> str:
    if ev.provenance is None:
        return ""
    from voiceguard.provenance.timeline import section_html

    return section_html(ev.provenance)


def render_html(evidence: Sequence[RecordingEvidence], *, title: str = "voiceguard report") -> str:
    """The report page for one or more recordings.

    Parameters
    ----------
    evidence : sequence of RecordingEvidence
    title : str

    Returns
    -------
    str
        A complete HTML document (UTF-8), with no external resource.
    """
    from voiceguard._version import __version__

    evs = list(evidence)
    n_flag = sum(ev.flagged for ev in evs)
    n_err = sum(ev.error is not None for ev in evs)
    speaker = any(ev.verification is not None for ev in evs)
    what = "not accepted" if speaker else "judged spoof"
    models = sorted({f"{ev.model} (version {ev.model_version})" for ev in evs if ev.model})
    intro = (f'<p class="sub">{len(evs)} recording{"s" if len(evs) != 1 else ""}: {n_flag} {what}, {n_err} '
             f'could not be scored. Model: {_e(", ".join(models) or "-")}.</p>')
    howto = (
        '<section class="card"><h3>How to read this report</h3>'
        "<p>voiceguard's detector scores each recording in overlapping windows and calibrates every score as a "
        "likelihood ratio (LLR) of real over synthetic speech. The red shading marks the windows whose own "
        "probability of spoofing reaches the threshold: in a recording with a synthetic passage spliced into "
        "real speech, that is where the passage is. Green marks the speech the voice activity detector "
        "found; silence is not scored.</p>"
        "<p>A verdict is evidence, not proof: the model has measured error rates and known blind spots "
        "(synthesizer families it never saw). Read the model card (<code>models/MODEL_CARD.md</code>) before "
        "acting on a verdict.</p></section>")
    cards = "".join(_card(i, ev) for i, ev in enumerate(evs, 1))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="voiceguard ' + _e(__version__) + '">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_e(title)}</h1>{intro}{_summary(evs)}{cards}{howto}"
        f"<footer>Made offline by voiceguard {_e(__version__)}: this file holds no playable audio and loads nothing "
        "from the network.</footer></main></body></html>\n")


def write_html(path: str | os.PathLike, evidence: Sequence[RecordingEvidence], **kwargs: object) -> str:
    """Write :func:`render_html` to ``path`` (atomically); returns the path as a string."""
    text = render_html(evidence, **kwargs)  # type: ignore[arg-type]
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
