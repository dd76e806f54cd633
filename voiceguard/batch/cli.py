"""``voiceguard batch``: the subcommand, assembled by :func:`voiceguard.cli.build_parser`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from voiceguard.detect.cli import add_detector_options
from voiceguard.errors import InvalidParameterError

__all__ = ["add_parser", "batch_command"]

_DESCRIPTION = (
    "Score many recordings on Ray Data: a local Ray on this machine (--local N CPUs, the default) or a "
    "cluster (--address ray://head:10001 or auto; $RAY_ADDRESS when set, as in a KubeRay RayJob). "
    "INPUT: folders, globs, manifests (.csv/.tsv/.parquet with a 'path' column) or fsspec URLs "
    "(s3://, gs://, file://). Rows are the fields of 'score --format jsonl' plus sha256, written to "
    "OUT in parts (Parquet or JSONL); a rerun skips recordings already in OUT (same path and content) "
    "and counts them in the exit code with their stored verdict. Needs the batch extra "
    "(from the clone: pip install -c constraints.txt -e '.[batch]'). See docs/batch.md."
)


def _storage_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)  # true, 3, {"region_name": "eu-west-1"}...
    except ValueError:
        return key, value


def add_parser(sub: Any, *, positive_int: Any = int, epilog: str | None = None,
               formatter_class: Any = argparse.HelpFormatter) -> None:
    """Add ``batch`` to the ``voiceguard`` subparsers (with the CLI's shared argument type,
    exit-code epilog and help formatter)."""
    ba = sub.add_parser("batch", help="score many recordings on Ray (local folders or object storage)",
                        description=_DESCRIPTION, epilog=epilog, formatter_class=formatter_class)
    ba.add_argument("inputs", nargs="+", metavar="INPUT",
                    help="folder, glob, manifest (.csv/.tsv/.parquet) or URL (s3://, gs://, file://)")
    ba.add_argument("--out", required=True, metavar="DIR", help="output folder or URL (resumed if it holds parts)")
    where = ba.add_mutually_exclusive_group()
    where.add_argument("--address", default=None, metavar="ADDR",
                       help="Ray cluster: ray://head:10001 (Ray Client), auto, or host:6379 "
                            "(default: $RAY_ADDRESS if set, else a local Ray)")
    where.add_argument("--local", type=positive_int, default=None, metavar="N",
                       help="start a local Ray with N CPUs (default: the CPUs this process may use: "
                            "affinity and cgroup quota)")
    ba.add_argument("--workers", type=positive_int, default=None, metavar="N",
                    help="actors, one model each (default: the cluster's CPUs / --threads)")
    ba.add_argument("--threads", type=positive_int, default=1,
                    help="torch threads and Ray CPUs per actor (default 1); rows equal "
                         "'score --threads THREADS' bit for bit")
    add_detector_options(ba, threads=False)
    ba.add_argument("--format", choices=["parquet", "jsonl"], default="parquet", help="part format (default parquet)")
    ba.add_argument("--part-size", type=positive_int, default=None, metavar="N",
                    help="recordings per part (default 64): at most this much work is redone after a crash")
    ba.add_argument("--path-column", default=None, metavar="NAME",
                    help="manifest column of the paths (default: path, file, filename, audio or wav)")
    ba.add_argument("--storage-option", type=_storage_option, action="append", default=[], metavar="KEY=VALUE",
                    help="fsspec option for URLs, repeatable (endpoint_url=http://minio:9000, anon=true, ...)")
    ba.add_argument("--runtime-env", default=None, metavar="JSON",
                    help='Ray runtime environment for the workers, e.g. \'{"pip": ["/opt/voiceguard[batch]"]}\' '
                         '(a path to this project on the workers: the name voiceguard on PyPI is another project)')
    ba.add_argument("--no-progress", action="store_true",
                    help="no Ray progress bars, and none of Ray's own log lines but its errors")
    ba.set_defaults(func=batch_command)


def batch_command(args: argparse.Namespace) -> int:
    """Run ``voiceguard batch``; returns the exit code."""
    from voiceguard.batch.cluster import ray_session, require_ray
    from voiceguard.batch.pipeline import DEFAULT_PART_SIZE, execute, plan

    require_ray()
    runtime_env = None
    if args.runtime_env:
        try:
            runtime_env = json.loads(args.runtime_env)
        except ValueError as exc:
            raise InvalidParameterError(f"--runtime-env is not valid JSON ({exc})") from exc
    # every usage error (inputs, settings, output folder) is reported before Ray starts
    todo = plan(args.inputs, args.out, fmt=args.format, model=args.model, prior=args.prior,
                threshold=args.threshold, threads=args.threads, workers=args.workers,
                part_size=args.part_size or DEFAULT_PART_SIZE, path_column=args.path_column,
                storage_options=dict(args.storage_option))
    with ray_session(address=args.address, local=args.local, runtime_env=runtime_env, quiet=args.no_progress):
        summary = execute(todo, progress=not args.no_progress)
    for msg in summary.errors:
        print(f"voiceguard: {msg}", file=sys.stderr)
    if summary.failed > len(summary.errors):
        print(f"voiceguard: ... and {summary.failed - len(summary.errors)} more errors (the rows with 'error' in "
              f"{args.out})", file=sys.stderr)
    print(f"{summary.describe()} -> {args.out}")
    return summary.exit_code
