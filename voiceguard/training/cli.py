"""``voiceguard train``: the LFCC-ResNet (``--model fast``) from a manifest."""

from __future__ import annotations

import argparse
from typing import Any

from voiceguard.console import Commands, positive_int


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from exc


def train_command(args: argparse.Namespace) -> int:
    from voiceguard.training.resnet import train

    res = train(
        args.manifest, args.out, train_split=args.train_split,
        val_split=args.val_split, epochs=args.epochs, time_budget_s=args.time_budget,
        batch_size=args.batch_size, lr=args.lr, loss=args.loss, crop_s=args.crop,
        spec_augment=not args.no_spec_augment, patience=args.patience, channels=args.channels,
        strides=args.strides, embedding_dim=args.embedding_dim, seed=args.seed, threads=args.threads, jobs=args.jobs,
        cache_dir=args.cache, name=args.name, hold_out_families=args.hold_out_family,
        hold_out_systems=args.hold_out_system,
    )
    print(f"{res.config_path}: validation EER {100 * res.val_eer:.2f} %, {res.n_parameters} parameters, "
          f"{res.epochs} epochs, {res.seconds:.0f} s")
    return 0


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``train`` to the ``voiceguard`` subcommands."""
    tr = sub.add_parser(
        "train", help="train an LFCC-ResNet detector (like --model fast) from a manifest",
        description="Train an LFCC-ResNet spoof detector on the manifest's train split, choose the epoch and "
                    "calibrate the "
                    "scores (LLR) on its val split, and write OUT/model.json (load it with --model OUT). "
                    "Features are cached in OUT/cache. The shipped model's recipe is scripts/recipe.")
    tr.add_argument("manifest", help="manifest.tsv (voiceguard), CSV with path,label, or ASVspoof protocol; "
                                     "relative audio paths resolve against the manifest's folder")
    tr.add_argument("--out", required=True, help="output folder (model.json, weights, cache)")
    tr.add_argument("--name", default=None, help="model name (default lfcc-resnet)")
    tr.add_argument("--train-split", default="train", help="manifest split to train on (default train)")
    tr.add_argument("--val-split", default="val",
                    help="manifest split for epoch selection and calibration (default val)")
    tr.add_argument("--epochs", type=positive_int, default=30, help="maximum training epochs (default 30)")
    tr.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                    help="wall-clock budget for the training epochs")
    tr.add_argument("--batch-size", type=positive_int, default=32, help="clips per training step (default 32)")
    tr.add_argument("--lr", type=float, default=3e-3,
                    help="Adam learning rate, cosine-decayed over the epochs (default 0.003)")
    tr.add_argument("--loss", choices=["bce", "ocsoftmax"], default="bce",
                    help="binary cross-entropy (default) or one-class softmax")
    tr.add_argument("--crop", type=float, default=4.0, metavar="SECONDS",
                    help="training crop length (default 4, the scoring window)")
    tr.add_argument("--no-spec-augment", action="store_true",
                    help="no time and coefficient masking (SpecAugment) of the training crops")
    tr.add_argument("--patience", type=positive_int, default=6,
                    help="stop after this many epochs without a better validation EER (default 6)")
    tr.add_argument("--channels", type=_ints, default=[64, 128, 128], help="ResNet stage widths, e.g. 64,128,128")
    tr.add_argument("--strides", type=_ints, default=[1, 2, 2], help="ResNet stage strides, e.g. 1,2,2")
    tr.add_argument("--embedding-dim", type=positive_int, default=64,
                    help="ResNet embedding size before the output layer (default 64)")
    tr.add_argument("--seed", type=int, default=0, help="random seed (same seed, same model; default 0)")
    tr.add_argument("--threads", type=positive_int, default=None, help="torch threads (torch.set_num_threads)")
    tr.add_argument("--jobs", type=positive_int, default=1, help="processes for feature extraction (default 1)")
    tr.add_argument("--cache", default=None, help="feature cache folder (default OUT/cache)")
    tr.add_argument("--hold-out-family", action="append", default=[], metavar="FAMILY",
                    help="leave this spoof family (manifest 'family' column) out of training; "
                         "repeatable. Validation then measures it as unseen")
    tr.add_argument("--hold-out-system", action="append", default=[], metavar="SYSTEM",
                    help="the same for one synthesizer (manifest 'system' column): leave-one-synthesizer-out")
    tr.set_defaults(func=train_command)

