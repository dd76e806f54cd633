"""The timeline figure of one recording as a PNG file (``voiceguard report --png``).

The same three panels as the HTML figure (:mod:`.svg`), drawn with matplotlib's
object-oriented API (no pyplot, no global state, the Agg canvas). matplotlib is an
optional dependency: the ``report`` extra (in the clone: ``pip install -c constraints.txt
-e '.[report]'``). The HTML report needs nothing.
"""

from __future__ import annotations

import os

import numpy as np

from voiceguard._version import install_hint
from voiceguard.errors import MissingExtraError
from voiceguard.report.evidence import RecordingEvidence
from voiceguard.report.raster import palette
from voiceguard.report.svg import BONAFIDE_BLUE, SPEECH_GREEN, SPOOF_RED, flagged_ranges

__all__ = ["write_png"]

def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingExtraError(
            f"--png needs matplotlib, which is not installed: {install_hint('report')} "
            "(the HTML report needs nothing more)") from exc
    return Figure, FigureCanvasAgg, ListedColormap


def write_png(path: str | os.PathLike, ev: RecordingEvidence, *, dpi: int = 110) -> str:
    """Draw the figure of one scored recording into a PNG file.

    Parameters
    ----------
    path : str or os.PathLike
    ev : RecordingEvidence
        With ``result`` set.
    dpi : int

    Returns
    -------
    str
        The path written.

    Raises
    ------
    MissingExtraError
        matplotlib is not installed.
    """
    Figure, FigureCanvasAgg, ListedColormap = _matplotlib()
    res = ev.result
    dur = max(ev.duration_s, 1e-6)
    thr = float(res.threshold)
    fig = Figure(figsize=(9.0, 5.2), dpi=dpi)
    FigureCanvasAgg(fig)
    axw, axs, axp = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [1.0, 1.5, 1.2]})
    label = {"spoof": "spoof", "bonafide": "bona fide", "no_speech": "no speech"}.get(res.verdict, res.verdict)
    title = f"{os.path.basename(ev.file)}: {label}"
    if res.spoof_probability is not None:
        title += f", P(spoof) {res.spoof_probability:.3f}, LLR {res.llr:+.2f}"
    if ev.verification is not None:
        title += f"; {ev.verification.speaker}: {ev.verification.decision}"
    fig.suptitle(title, fontsize=10)

    for s, e in ev.speech:  # a strip under the waveform, as in the HTML figure
        axw.axvspan(s, e, ymin=0.0, ymax=0.1, color=SPEECH_GREEN, lw=0)
    env = ev.envelope
    if env.shape[1]:
        t = (np.arange(env.shape[1]) + 0.5) * dur / env.shape[1]
        axw.fill_between(t, env[0], env[1], color="#334155", lw=0.5)
    axw.set_ylim(-1.3, 1.05)
    axw.set_yticks([])
    axw.set_ylabel("wave", fontsize=8)

    cmap = ListedColormap(palette() / 255.0)
    axs.imshow(ev.spectrogram, aspect="auto", cmap=cmap, vmin=0, vmax=255, interpolation="bilinear",
               extent=(0.0, dur, 0.0, ev.spec_fmax / 1000.0))
    axs.set_ylabel("kHz", fontsize=8)

    axp.axhline(thr, color=SPOOF_RED, ls="--", lw=1)
    for s in res.segments:
        p = s.spoof_probability
        colour = SPOOF_RED if p >= thr else BONAFIDE_BLUE
        axp.plot([s.start_s, s.end_s], [p, p], color=colour, lw=3, alpha=0.55 if s.used else 0.25,
                 solid_capstyle="butt")
        axp.plot([(s.start_s + s.end_s) / 2], [p], "o", ms=4, color=colour, mfc=colour if s.used else "white")
    for a, b in flagged_ranges(res.segments, thr):
        for ax in (axw, axs, axp):
            ax.axvspan(a, b, color=SPOOF_RED, alpha=0.12, lw=0)
    if not res.segments:
        axp.text(dur / 2, 0.5, "not scored: too little speech", ha="center", va="center", fontsize=9)
    axp.set_ylim(-0.03, 1.03)
    axp.set_yticks([0, 0.5, 1])
    axp.set_ylabel("P(spoof)", fontsize=8)
    axp.set_xlim(0, dur)
    axp.set_xlabel("time (s)", fontsize=8)
    for ax in (axw, axs, axp):
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    path = os.fspath(path)
    fig.savefig(path, format="png", metadata={"Software": None})
    return path
