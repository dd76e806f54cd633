"""Command-line glue: ``voiceguard report``, and :class:`ReportFolder`, the writer behind the
``--report DIR`` option of ``score``, ``verify`` and ``provenance`` (handed to those commands
by :mod:`voiceguard.cli`, so the parts below the report never import it)."""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from voiceguard import exit_codes
from voiceguard.audio.files import expand_inputs
from voiceguard.console import Commands, judging, no_files, run_collecting_warnings
from voiceguard.detect.cli import add_detector_options, detector_from_args, say_unscreened
from voiceguard.errors import VoiceguardError
from voiceguard.report.evidence import RecordingEvidence, analyse, failed

__all__ = ["add_parsers", "report_command", "ReportFolder"]


def _safe_stem(path: str) -> str:
    stem = Path(path).stem or "recording"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem)[:80]


class ReportFolder:
    """Writes one report per recording into a folder (``--report DIR``).

    File names are the recordings' names with ``.html`` (``-2``, ``-3``... when two
    recordings share a name), in the order the recordings come.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VoiceguardError(f"cannot create the report folder {self.folder} ({exc.strerror})") from exc
        self._used: set[str] = set()
        self.written: list[str] = []

    def _name(self, file: str) -> Path:
        stem = _safe_stem(file)
        name, k = stem, 1
        while name.lower() in self._used:
            k += 1
            name = f"{stem}-{k}"
        self._used.add(name.lower())
        return self.folder / f"{name}.html"

    def add(self, ev: RecordingEvidence) -> str:
        """Write the report of one recording; returns its path."""
        from voiceguard.report.html import write_html

        path = write_html(self._name(ev.file), [ev], title=f"voiceguard report: {os.path.basename(ev.file)}")
        self.written.append(path)
        return path

    def add_score(self, file: str, detector: Any, result: Any) -> str | None:
        """The report of a scored recording (``score --report``); a failure is a warning on
        stderr and None, never a lost score."""
        try:
            return self.add(analyse(file, detector, result=result))
        except VoiceguardError as exc:
            print(f"voiceguard: warning: no report for {file}: {exc}", file=sys.stderr)
            return None

    def verify(self, file: str, verifier: Any, speaker: str) -> tuple[Any, list[str]]:
        """Verify ``file`` as ``verify --report`` does (one decode for the decision and the
        report) and write its report; returns (VerifyResult or the error, the file's warnings)."""
        ev, notes = run_collecting_warnings(analyse, file, verifier.detector, verifier=verifier, speaker=speaker)
        if isinstance(ev, Exception):
            return ev, notes
        res = ev.verification
        notes = [w for w in ev.warnings if w not in res.warnings]  # the file's own (truncation)
        for n in notes:
            print(f"voiceguard: warning: {n}", file=sys.stderr)
        self.add(ev)
        return res, notes

    def add_provenance(self, file: str, detector: Any, provenance: dict[str, Any]) -> str:
        """The report of a provenance check: the detector's timeline and the provenance one."""
        ev = analyse(file, detector)
        ev.provenance = provenance
        return self.add(ev)


def add_parsers(sub: Any, commands: Commands) -> None:
    """The ``report`` subcommand."""
    rp = judging(
        sub, "report", help="visual HTML report: where in each recording the detector heard synthetic speech",
        description="Score recordings and write one self-contained HTML report (no network, images embedded, "
                    "readable on a phone): per recording the verdict and calibrated probability with their "
                    "meaning in words, the waveform with speech regions, a spectrogram, the spoof probability "
                    "of every analysis window over time (a spliced synthetic passage stands out in red), the "
                    "model and its version; with --speaker, the voiceprint evidence and fused decision.")
    rp.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="audio files or folders (recursive)")
    rp.add_argument("-o", "--output", default="report.html", metavar="FILE",
                    help="the HTML file to write (default: report.html)")
    rp.add_argument("--png", action="store_true",
                    help="also write each recording's figure as a PNG beside the HTML (FILE-1-NAME.png, ...); "
                         "needs the report extra (matplotlib)")
    rp.add_argument("--title", default="voiceguard report", help="title of the report page")
    rp.add_argument("--speaker", metavar="NAME", default=None,
                    help="also verify every recording against this enrolled speaker (as voiceguard verify)")
    rp.add_argument("--db", default=None, help="voiceprint database for --speaker (default: the default store)")
    rp.add_argument("--speaker-threshold", type=float, default=None, metavar="LLR",
                    help="with --speaker: accept when speaker_llr >= this (default 0)")
    add_detector_options(rp)
    rp.set_defaults(func=report_command)


def _png_path(output: str, i: int, file: str) -> str:
    base = os.path.splitext(output)[0]
    return f"{base}-{i}-{_safe_stem(file)}.png"


def report_command(args: argparse.Namespace) -> int:
    """Run ``voiceguard report``; exit code as :mod:`voiceguard.exit_codes` says."""
    from voiceguard.report.html import write_html

    files = expand_inputs(args.inputs)
    if not files:
        return no_files()
    out_dir = os.path.dirname(os.path.abspath(args.output))
    if not os.path.isdir(out_dir):
        print(f"voiceguard: error: the folder of {args.output} does not exist", file=sys.stderr)
        return exit_codes.ERROR
    if args.png:
        from voiceguard.report.png import _matplotlib

        _matplotlib()  # fail before any scoring when the extra is missing
    verifier = store = None
    if args.speaker is not None:
        from voiceguard.store import VoiceprintStore
        from voiceguard.voiceprint import Verifier

        store = VoiceprintStore(args.db, create=False)  # as verify: no database is an error, not a new one
        try:
            verifier = Verifier(store, detector=args.model, speaker_threshold=args.speaker_threshold,
                                threshold=args.threshold, prior=args.prior, threads=args.threads)
        except BaseException:
            store.close()
            raise
        detector = verifier.detector
    else:
        detector = detector_from_args(args)
    try:
        if verifier is not None:
            verifier.voiceprint(args.speaker)  # an unknown speaker fails before any scoring
        evidence = _gather(files, detector, verifier, args.speaker)
    finally:
        if store is not None:
            store.close()
    path = write_html(args.output, evidence, title=args.title)
    n_flag = sum(ev.flagged for ev in evidence)
    n_err = sum(ev.error is not None for ev in evidence)
    n_unscreened = sum(verifier is None and ev.result is not None and ev.result.unscreened for ev in evidence)
    what = "not accepted" if verifier is not None else "spoof"
    unscreened = f"{n_unscreened} not screened (sound without speech), " if n_unscreened else ""
    print(f"report: {path} ({len(evidence)} recording{'s' if len(evidence) != 1 else ''}: {n_flag} {what}, "
          f"{unscreened}{n_err} error{'s' if n_err != 1 else ''})")
    if args.png:
        from voiceguard.report.png import write_png

        for i, ev in enumerate(evidence, 1):
            if ev.result is not None:
                print(f"figure: {write_png(_png_path(args.output, i, ev.file), ev)}")
    return exit_codes.status(n_flag, n_err, n_unscreened)


def _gather(files: Sequence[str], detector: Any, verifier: Any, speaker: str | None) -> list[RecordingEvidence]:
    out = []
    for f in files:
        try:
            out.append(analyse(f, detector, verifier=verifier, speaker=speaker))
        except VoiceguardError as exc:
            out.append(failed(f, str(exc), detector))
            # which file and why, not only a count in the closing line (the page shows it too)
            msg = str(exc)
            print(f"voiceguard: error: {msg if msg.startswith(f) else f'{f}: {msg}'}", file=sys.stderr)
        for w in out[-1].warnings:
            print(f"voiceguard: warning: {w}", file=sys.stderr)
        if verifier is None and out[-1].result is not None:
            say_unscreened(f, out[-1].result)
    return out
