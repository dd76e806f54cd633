"""The ``voiceguard`` command line."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from voiceguard import __version__
from voiceguard.errors import VoiceguardError


def _features_command(args: argparse.Namespace) -> int:
    import numpy as np

    from voiceguard import audio, features

    y, sr = audio.load_mono(args.file, sr=args.sr)
    fn = {"lfcc": features.lfcc, "cqcc": features.cqcc, "cqt": features.cqt,
          "spectrogram": features.linear_spectrogram}[args.kind]
    kwargs = {} if args.preset is None else {"preset": args.preset}
    feats = fn(y, sr, **kwargs)
    if args.output:
        np.save(args.output, feats)
    print(f"{args.file}: {args.kind} {feats.shape[0]} x {feats.shape[1]} frames at {sr} Hz"
          + (f" -> {args.output}" if args.output else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceguard",
        description="Detect cloned and synthetic speech, offline.",
    )
    parser.add_argument("--version", action="version", version=f"voiceguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    feat = sub.add_parser("features", help="compute LFCC / CQCC / CQT features of an audio file")
    feat.add_argument("file", help="audio file (WAV, FLAC, OGG, MP3, ...)")
    feat.add_argument("--kind", choices=["lfcc", "cqcc", "cqt", "spectrogram"], default="lfcc")
    feat.add_argument("--preset", default=None, help="feature preset (default: the kind's default)")
    feat.add_argument("--sr", type=int, default=None, help="resample to this rate first")
    feat.add_argument("-o", "--output", default=None, help="save the [features, frames] array as .npy")
    feat.set_defaults(func=_features_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except VoiceguardError as exc:
        print(f"voiceguard: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
