"""The provenance timeline as a report section (HTML with an inline SVG strip).

:func:`section_html` draws the copy's time axis with its matching stretches (blue, labelled
with the original times they come from) and its non-matching ones (red: inserted or
replaced audio, with the detector's probability; a red tick: removed audio), followed by a
table of the non-matching segments. It takes the JSON of
:meth:`voiceguard.provenance.check.ProvenanceResult.to_dict`, so the ``voiceguard report``
page (:mod:`voiceguard.report.html`) shows it for recordings checked with ``voiceguard
provenance --report DIR``.
"""

from __future__ import annotations

import html
from typing import Any

__all__ = ["section_html", "timeline_svg"]

WIDTH, HEIGHT = 960, 86
_L, _R = 56, 16
_PW = WIDTH - _L - _R
MATCH_BLUE = "#2563eb"
CHANGE_RED = "#dc2626"
_WORDS = {"identical": "Identical to a registered original (same bytes)",
          "same_audio": "The same audio as a registered original (same samples)",
          "match": "A copy of a registered original, nothing inserted, replaced or removed",
          "altered": "A copy of a registered original, with changes",
          "no_match": "Matches no registered original"}


def _n(v: float) -> str:
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def timeline_svg(prov: dict[str, Any]) -> str:
    """An ``<svg>`` strip of the copy's timeline (``prov``: ``ProvenanceResult.to_dict()``)."""
    dur = max(float(prov["duration_s"]), 1e-6)

    def x(t: float) -> float:
        return _L + _PW * min(max(float(t), 0.0), dur) / dur

    label = f"Provenance timeline of {prov.get('file') or 'the recording'}: {prov['status']}"
    out = [f'<svg class="provenance" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{html.escape(label)}" '
           'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="11">',
           f"<title>{html.escape(label)}</title>",
           f'<rect x="{_L}" y="10" width="{_PW}" height="34" fill="#f1f5f9" stroke="#cbd5e1"/>']
    for s in prov.get("timeline", []):
        a, b, kind = s["start_s"], s["end_s"], s["kind"]
        if kind == "match":
            tip = (f"{a:.2f}-{b:.2f} s matches the original at {s['original_start_s']:.2f}-"
                   f"{s['original_end_s']:.2f} s")
            fill = MATCH_BLUE
        elif kind in ("removed", "reordered"):
            tip = f"at {a:.2f} s: original {s['original_start_s']:.2f}-{s['original_end_s']:.2f} s {kind}"
            out.append(f'<g class="span {kind}" data-start="{a:.3f}" data-end="{b:.3f}"><title>{html.escape(tip)}'
                       f'</title><line x1="{_n(x(a))}" x2="{_n(x(a))}" y1="4" y2="50" stroke="{CHANGE_RED}" '
                       'stroke-width="3"/></g>')
            continue
        else:
            det = s.get("detector") or {}
            p = det.get("spoof_probability")
            tip = f"{a:.2f}-{b:.2f} s {kind}" + ("" if p is None else f", detector P(spoof) {p:.3f}")
            fill = CHANGE_RED
        out.append(f'<g class="span {kind}" data-start="{a:.3f}" data-end="{b:.3f}"><title>{html.escape(tip)}'
                   f'</title><rect x="{_n(x(a))}" y="10" width="{_n(max(0.5, x(b) - x(a)))}" height="34" '
                   f'fill="{fill}" fill-opacity="{0.55 if kind == "match" else 0.8}"/></g>')
    step = next(s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800) if dur / s <= 10)
    t = 0.0
    while t <= dur + 1e-9:
        out.append(f'<line x1="{_n(x(t))}" x2="{_n(x(t))}" y1="44" y2="49" stroke="#475569"/>'
                   f'<text x="{_n(x(t))}" y="62" text-anchor="middle" fill="#334155">{t:g}</text>')
        t += step
    out.append(f'<text x="{_L + _PW / 2}" y="80" text-anchor="middle" fill="#334155">time in this recording (s) '
               '&#183; blue: from the original &#183; red: not from it</text></svg>')
    return "".join(out)


def section_html(prov: dict[str, Any]) -> str:
    """The report section: headline, the strip, the table of non-matching segments."""
    e = html.escape
    o = prov.get("original")
    head = _WORDS.get(prov["status"], prov["status"])
    if o is None:
        return f'<h3>Provenance</h3><p>{e(head)}.</p>'
    sig = "" if o.get("signature_valid") else " <b>Its registry record does not verify.</b>"
    text = (f"{e(head)}: <b>{e(o['name'])}</b> (registered {e(o['registered'])}"
            f"{', ' + e(o['note']) if o.get('note') else ''}). Offset {prov['offset_s']:+.2f} s; "
            f"{100 * prov['matched_fraction']:.0f} % of this recording matches; "
            f"{100 * prov['original_coverage']:.0f} % of the original is present.{sig}")
    rows = []
    for s in prov.get("segments", []):
        det = s.get("detector") or {}
        p = det.get("spoof_probability")
        score = (f"{det.get('verdict')}, P(spoof) {p:.3f}" if p is not None
                 else e(det.get("skipped") or det.get("error") or "-"))
        rows.append(f'<tr><td>{e(s["kind"])}</td><td class="num">{s["start_s"]:.2f}&#8211;{s["end_s"]:.2f} s</td>'
                    f'<td class="num">{s["original_start_s"]:.2f}&#8211;{s["original_end_s"]:.2f} s</td>'
                    f"<td>{score}</td></tr>")
    table = ("" if not rows else '<div class="scroll"><table><tr><th>change</th><th class="num">here</th>'
             f'<th class="num">in the original</th><th>detector on that span</th></tr>{"".join(rows)}</table></div>')
    c2pa = prov.get("c2pa")
    c2 = ""
    if c2pa and "error" not in c2pa:
        c2 = (f"<p>C2PA manifest: {e(str(c2pa.get('validation_state')))}, hard binding "
              f"{e(str(c2pa.get('hard_binding')))}, signer {e(str((c2pa.get('signer') or {}).get('common_name')))}."
              "</p>")
    return (f'<h3>Provenance</h3><p>{text}</p><div class="figure">{timeline_svg(prov)}</div>{table}{c2}')
