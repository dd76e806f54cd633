"""The ``voiceguard`` command line: assembles the commands of every part, runs one.

Each part defines its own commands beside its code (``add_parsers(sub, commands)`` in its
``cli`` module); this module only puts them in one parser, in the order ``--help`` lists
them, and hands the lower parts the hooks to the parts above them (:class:`Commands`: the
report writer behind ``--report DIR``), so no part imports one above it.

==============================  ======================================================
commands                        module
==============================  ======================================================
score                           :mod:`voiceguard.detect.cli`
stream                          :mod:`voiceguard.detect.stream_cli`
enroll, verify, speakers        :mod:`voiceguard.voiceprint.cli`
report                          :mod:`voiceguard.report.cli`
register, provenance, registry  :mod:`voiceguard.provenance.cli`
serve                           :mod:`voiceguard.service.cli`
batch                           :mod:`voiceguard.batch.cli`
features                        :mod:`voiceguard.features.cli`
train                           :mod:`voiceguard.training.cli`
evaluate                        :mod:`voiceguard.evaluation.cli`
==============================  ======================================================

Exit codes are defined once, in :mod:`voiceguard.exit_codes` (printed by ``--help``): a
spoof found wins over errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from voiceguard import exit_codes
from voiceguard._version import __version__
from voiceguard.console import Commands, HelpFormatter, positive_int
from voiceguard.errors import VoiceguardError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The ``voiceguard`` parser with every part's commands."""
    from voiceguard.batch import cli as batch_cli
    from voiceguard.detect import cli as detect_cli
    from voiceguard.detect import stream_cli
    from voiceguard.evaluation import cli as evaluation_cli
    from voiceguard.features import cli as features_cli
    from voiceguard.provenance import cli as provenance_cli
    from voiceguard.report import cli as report_cli
    from voiceguard.service import cli as service_cli
    from voiceguard.training import cli as training_cli
    from voiceguard.voiceprint import cli as voiceprint_cli

    parser = argparse.ArgumentParser(prog="voiceguard", description="Detect cloned and synthetic speech, offline.",
                                     epilog=exit_codes.HELP, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"voiceguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = Commands(report_folder=report_cli.ReportFolder)
    detect_cli.add_parsers(sub, commands)
    stream_cli.add_parsers(sub, commands)
    training_cli.add_parsers(sub, commands)
    evaluation_cli.add_parsers(sub, commands)
    features_cli.add_parsers(sub, commands)
    voiceprint_cli.add_parsers(sub, commands)
    service_cli.add_parsers(sub, commands)
    report_cli.add_parsers(sub, commands)
    provenance_cli.add_parsers(sub, commands)
    batch_cli.add_parser(sub, positive_int=positive_int, epilog=exit_codes.HELP, formatter_class=HelpFormatter)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code (:mod:`voiceguard.exit_codes`).

    An error the user can act on is one line on stderr (``voiceguard: error: ...``); its
    cause stays chained on the exception (``raise ... from exc``) for code and logs.
    """
    from voiceguard.threads import prefer_passive_waiting

    prefer_passive_waiting()  # before torch loads: idle OpenMP threads sleep (voiceguard.threads)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return exit_codes.ERROR
    try:
        return args.func(args)
    except VoiceguardError as exc:
        print(f"voiceguard: error: {exc}", file=sys.stderr)
        return exit_codes.ERROR
    except KeyboardInterrupt:
        print("voiceguard: interrupted", file=sys.stderr)
        return exit_codes.INTERRUPTED
    except BrokenPipeError:  # output piped into head & co: stop quietly, and never claim a finding
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return exit_codes.BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
