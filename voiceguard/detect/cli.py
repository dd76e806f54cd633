"""``voiceguard score``, and the detector options that ``score``, ``verify``, ``enroll``,
``report``, ``provenance`` and ``batch`` share (defined once, here)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from voiceguard import exit_codes
from voiceguard.audio.files import expand_inputs
from voiceguard.console import (
    Commands,
    FileProgress,
    ProgressBar,
    add_report_option,
    fmt,
    judging,
    no_files,
    open_reports,
    positive_int,
    run_collecting_warnings,
    say_reports,
    table_width,
)
from voiceguard.errors import VoiceguardError

__all__ = ["add_detector_options", "add_parsers", "detector_from_args", "say_unscreened", "threshold_help"]


def threshold_help() -> str:
    """What ``--threshold`` defaults to, read from the shipped models' configs."""
    from voiceguard.detect.model import shipped_config

    try:
        default, fast = shipped_config("default"), shipped_config("fast")
    except VoiceguardError:  # a broken installation: the help still works, the scoring will say why
        return "verdict threshold on spoof_probability (default: the model's own threshold)"
    return (f"verdict threshold on spoof_probability: spoof when >= it (default: the model's own; the shipped "
            f"default model {default.get('threshold', 0.5):g}, --model fast {fast.get('threshold', 0.5):g})")


def add_detector_options(parser: argparse.ArgumentParser, *, threads: bool = True,
                         model_help: str = "detector") -> None:
    """``--model``, ``--threshold``, ``--prior`` (and ``--threads``): one definition for
    every command that runs the detector."""
    parser.add_argument("--model", default=None,
                        help=f"{model_help}: a shipped model (default, fast), a model config JSON or a training "
                             "folder (default: the shipped default model)")
    parser.add_argument("--threshold", type=float, default=None, help=threshold_help())
    parser.add_argument("--prior", type=float, default=None,
                        help="prior probability of bona fide speech used for spoof_probability (default: the "
                             "model's, 0.5)")
    if threads:
        parser.add_argument("--threads", type=positive_int, default=None,
                            help="most CPU threads to keep busy, a positive integer (default: the CPUs this "
                                 "process may use: affinity and cgroup quota; 1 = one thread)")


def detector_from_args(args: argparse.Namespace) -> Any:
    """The Detector the options of :func:`add_detector_options` ask for."""
    from voiceguard.detect.detector import Detector

    return Detector(args.model, prior=args.prior, threshold=args.threshold, threads=getattr(args, "threads", None))


def _header(out: Any, fmt_: str, width: int) -> Any:
    if fmt_ == "table":
        out.write(f"{'FILE':<{width}}  {'VERDICT':<9}  {'P(SPOOF)':>8}  {'LLR':>7}  {'DURATION':>8}  {'SPEECH':>6}\n")
        return None
    if fmt_ == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["file", "verdict", "spoof_probability", "llr", "duration_s", "speech_s",
                         "sample_rate", "channels", "n_segments", "error", "content"])
        return writer
    return None


def _error_row(out: Any, fmt_: str, writer: Any, f: str, msg: str, width: int) -> None:
    if fmt_ == "jsonl":
        out.write(json.dumps({"file": f, "error": msg}) + "\n")
    elif fmt_ == "csv":
        writer.writerow([f, "error", "", "", "", "", "", "", "", msg, ""])
    else:
        out.write(f"{f:<{width}}  {'error':<9}  {msg}\n")


def _result_row(out: Any, fmt_: str, writer: Any, f: str, res: Any, width: int, extra: dict[str, Any]) -> None:
    if fmt_ == "jsonl":
        out.write(json.dumps({**res.to_dict(), **extra}) + "\n")
    elif fmt_ == "csv":
        writer.writerow([f, res.verdict, "" if res.spoof_probability is None else f"{res.spoof_probability:.6f}",
                         "" if res.llr is None else f"{res.llr:.4f}", f"{res.duration_s:.3f}", f"{res.speech_s:.2f}",
                         res.sample_rate, res.channels, len(res.segments), "", res.content])
    else:
        out.write(f"{f:<{width}}  {res.verdict:<9}  {fmt(res.spoof_probability, '8.3f')}  "
                  f"{fmt(res.llr, '7.2f')}  {res.duration_s:7.1f}s  {res.speech_s:5.1f}s\n")


def _score_rows(det: Any, files: Sequence[str], within: Any) -> Iterator[tuple[str, Any, list[str]]]:
    for f in files:
        res, notes = run_collecting_warnings(det.score, f, progress=within.for_file(f))
        within.close()
        yield f, res, notes


def score_command(args: argparse.Namespace) -> int:
    """Run ``voiceguard score``; exit code as :mod:`voiceguard.exit_codes` says."""
    files = expand_inputs(args.inputs)
    if not files:
        return no_files()
    det = detector_from_args(args)
    reports = open_reports(args)
    out = sys.stdout
    bar = ProgressBar(len(files), sys.stderr, enabled=False if args.no_progress else None)
    within = FileProgress(sys.stderr, enabled=False if args.no_progress else None, lines=args.progress)
    n_err = n_spoof = n_unscreened = 0
    width = table_width(files)
    writer = _header(out, args.format, width)
    for i, (f, res, notes) in enumerate(_score_rows(det, files, within)):
        bar.close()
        if isinstance(res, Exception):
            n_err += 1
            _error_row(out, args.format, writer, f, str(res), width)
        else:
            n_spoof += res.is_spoof
            n_unscreened += say_unscreened(f, res)
            extra: dict[str, Any] = {"warnings": notes} if notes else {}
            if reports is not None:
                path = reports.add_score(f, det, res)
                if path is not None:
                    extra["report"] = path
            _result_row(out, args.format, writer, f, res, width, extra)
        out.flush()
        bar.update(i + 1, label=f)
    bar.close()
    if args.format == "table" and len(files) > 1:
        out.write(f"{len(files)} files: {n_spoof} spoof, {n_unscreened} not screened (sound without speech), "
                  f"{n_err} error{'s' if n_err != 1 else ''} "
                  f"(threshold {det.threshold:g} on P(spoof), prior P(bona fide) {det.prior:g})\n")
    say_reports(reports)
    return exit_codes.status(n_spoof, n_err, n_unscreened)


def say_unscreened(file: str, res: Any) -> bool:
    """Say on stderr that a recording holds sound but no speech the detector found (it was
    not screened: exit code 3); returns whether it does."""
    if not getattr(res, "unscreened", False):
        return False
    print(f"voiceguard: warning: {file}: holds sound but no speech was found in it ({res.speech_s:.1f} s; content "
          "non_speech): it was not screened, which is not a pass (exit code 3)", file=sys.stderr)
    return True


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``score`` to the ``voiceguard`` subcommands."""
    sc = judging(sub, "score", help="score audio files for synthetic / cloned speech",
                 description="Score recordings of any length, rate and channel count. A file that cannot be read "
                             "gets an error row and the batch goes on.")
    sc.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER",
                    help="audio files (WAV, FLAC, OGG, MP3...) or folders searched recursively")
    sc.add_argument("--format", choices=["table", "jsonl", "csv"], default="table",
                    help="output format (default: a readable table)")
    add_detector_options(sc, model_help="detector")
    sc.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    sc.add_argument("--progress", action="store_true",
                    help="progress within each file as lines on stderr, also when it is not a terminal (a line per "
                         "tenth of each pass; a terminal shows it in place for recordings of a minute or more)")
    add_report_option(sc, commands)
    sc.set_defaults(func=score_command)
