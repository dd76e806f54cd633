"""``voiceguard features``: a feature matrix of one file, from the C core."""

from __future__ import annotations

import argparse
from typing import Any

from voiceguard.console import Commands


def features_command(args: argparse.Namespace) -> int:
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


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``features`` to the ``voiceguard`` subcommands."""
    feat = sub.add_parser(
        "features", help="compute LFCC / CQCC / CQT features of an audio file",
        description="Compute a feature matrix [features, frames] of one file with voiceguard's C core, print "
                    "its shape and optionally save it as .npy (numpy.load reads it). Presets follow the "
                    "ASVspoof baselines (see docs/features.md).")
    feat.add_argument("file", help="audio file (WAV, FLAC, OGG, MP3, ...)")
    feat.add_argument("--kind", choices=["lfcc", "cqcc", "cqt", "spectrogram"], default="lfcc",
                      help="what to compute (default lfcc)")
    feat.add_argument("--preset", default=None, help="feature preset (default: the kind's default)")
    feat.add_argument("--sr", type=int, default=None, help="resample to this rate first")
    feat.add_argument("-o", "--output", default=None, help="save the [features, frames] array as .npy")
    feat.set_defaults(func=features_command)

