"""``voiceguard evaluate``: EER tables, DET curves and the shortcut audit of models on a manifest."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from voiceguard import exit_codes
from voiceguard.console import Commands, ProgressBar, positive_int


def evaluate_command(args: argparse.Namespace) -> int:
    from voiceguard.evaluation.run import evaluate

    models = args.model or [None]
    if None in models:
        from importlib import resources

        from voiceguard.detect.model import DEFAULT_MODEL, shipped_files

        with resources.as_file(shipped_files() / DEFAULT_MODEL) as p:
            models = [str(p) if m is None else m for m in models]
    bar = ProgressBar(2, sys.stderr, enabled=False if args.no_progress else None)

    def progress(done: int, total: int) -> None:
        bar.update(done, total)

    report = evaluate(models, args.manifest, args.out, split=args.split, audit=args.audit,
                      threads=args.threads, progress=progress)
    bar.close()
    with open(os.path.join(args.out, "tables.md"), encoding="utf-8") as fh:
        sys.stdout.write(fh.read())
    det = os.path.join(args.out, "det.png") if report.get("det_plots") else "not drawn (no matplotlib)"
    print(f"report: {os.path.join(args.out, 'report.json')}  DET: {det}  "
          f"({report['n_scored']} clips scored, {len(report['errors'])} errors)")
    if report["errors"]:
        print(f"voiceguard: error: {report['errors_summary']}", file=sys.stderr)
    return exit_codes.ERROR if report["errors"] else exit_codes.OK


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``evaluate`` to the ``voiceguard`` subcommands."""
    ev = sub.add_parser(
        "evaluate", help="EER tables, DET curves and shortcut audit on a manifest",
        description="Score every clip of a labelled manifest with one or more models and write EER, minDCF "
                    "and Cllr tables (pooled, per synthesizer, per channel), DET curves (det.png) and the "
                    "scores (scores.tsv) into OUT. --audit rescoring with silence trimmed and loudness "
                    "normalised shows whether a model relies on such shortcuts. Relative audio paths in the "
                    "manifest resolve against the manifest's folder. Exit code 0, or 2 when any clip could not "
                    "be scored (the first errors are shown).")
    ev.add_argument("manifest", help="manifest of labelled clips (relative paths: against its folder)")
    ev.add_argument("--model", action="append", default=None,
                    help="model config or training folder; repeat to compare (default: the shipped one)")
    ev.add_argument("--out", required=True, help="output folder for report.json, det.png, scores.tsv")
    ev.add_argument("--split", default=None, help="evaluate only this split (e.g. val, test)")
    ev.add_argument("--audit", action="store_true",
                    help="also score with silence trimmed and with loudness normalised")
    ev.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    ev.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    ev.set_defaults(func=evaluate_command)

