"""The ``voiceguard`` command line.

Subcommands: ``score`` (detect synthetic speech in files), ``train`` (train a detector
from a manifest), ``evaluate`` (EER tables, DET curves, shortcut audit) and ``features``.

Exit codes of ``voiceguard score``: 0 when every input is bona fide (or has no speech),
1 when any input is judged spoofed, 2 when any input could not be scored (errors win over
spoofs) or the command line is wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

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


# --------------------------------------------------------------------------------------
# score
# --------------------------------------------------------------------------------------


def _expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files as given; folders replaced by the audio files under them (sorted, recursive)."""
    from voiceguard.audio import AUDIO_EXTENSIONS

    out: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            found = []
            for root, dirs, files in os.walk(item):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files)
                          if os.path.splitext(f)[1].lower() in AUDIO_EXTENSIONS]
            out.extend(found)
        else:
            out.append(item)
    return out


class _ProgressBar:
    """A one-line progress bar on a terminal stream; silent when the stream is not a tty."""

    def __init__(self, total: int, stream: TextIO, enabled: bool | None = None) -> None:
        self.total = total
        self.stream = stream
        isatty = getattr(stream, "isatty", lambda: False)()
        self.enabled = (isatty and total > 1) if enabled is None else enabled
        self.done = 0

    def update(self, done: int, total: int | None = None, label: str = "") -> None:
        if not self.enabled:
            return
        total = total or self.total
        width = 28
        fill = int(width * done / max(1, total))
        text = f"\r[{'#' * fill}{'.' * (width - fill)}] {done}/{total} {label[-40:]:<40}"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _score_rows(det, files: Sequence[str]) -> Iterator[tuple[str, object]]:
    for f in files:
        try:
            yield f, det.score(f)
        except VoiceguardError as exc:
            yield f, exc


def _score_command(args: argparse.Namespace) -> int:
    from voiceguard.scoring import Detector

    files = _expand_inputs(args.inputs)
    if not files:
        print("voiceguard: error: no audio files found in the given folders "
              "(looked for .wav .flac .ogg .opus .mp3 .aiff .au)", file=sys.stderr)
        return 2
    det = Detector(args.model, prior=args.prior, threshold=args.threshold, threads=args.threads)
    out = sys.stdout
    bar = _ProgressBar(len(files), sys.stderr, enabled=False if args.no_progress else None)
    n_err = n_spoof = 0
    width = min(60, max(4, *(len(f) for f in files)))
    if args.format == "table":
        out.write(f"{'FILE':<{width}}  {'VERDICT':<9}  {'P(SPOOF)':>8}  {'LLR':>7}  {'DURATION':>8}  {'SPEECH':>6}\n")
    elif args.format == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["file", "verdict", "spoof_probability", "llr", "duration_s", "speech_s",
                         "sample_rate", "channels", "n_segments", "error"])
    for i, (f, res) in enumerate(_score_rows(det, files)):
        bar.close()
        if isinstance(res, Exception):
            n_err += 1
            msg = str(res)
            if args.format == "jsonl":
                out.write(json.dumps({"file": f, "error": msg}) + "\n")
            elif args.format == "csv":
                writer.writerow([f, "error", "", "", "", "", "", "", "", msg])
            else:
                out.write(f"{f:<{width}}  {'error':<9}  {msg}\n")
        else:
            n_spoof += res.is_spoof
            if args.format == "jsonl":
                out.write(json.dumps(res.to_dict()) + "\n")
            elif args.format == "csv":
                writer.writerow([f, res.verdict,
                                 "" if res.spoof_probability is None else f"{res.spoof_probability:.6f}",
                                 "" if res.llr is None else f"{res.llr:.4f}",
                                 f"{res.duration_s:.3f}", f"{res.speech_s:.2f}", res.sample_rate,
                                 res.channels, len(res.segments), ""])
            else:
                out.write(f"{f:<{width}}  {res.verdict:<9}  {_fmt(res.spoof_probability, '8.3f')}  "
                          f"{_fmt(res.llr, '7.2f')}  {res.duration_s:7.1f}s  {res.speech_s:5.1f}s\n")
        out.flush()
        bar.update(i + 1, label=f)
    bar.close()
    if args.format == "table" and len(files) > 1:
        out.write(f"{len(files)} files: {n_spoof} spoof, {n_err} error{'s' if n_err != 1 else ''} "
                  f"(threshold {det.threshold:g} on P(spoof), prior P(bona fide) {det.prior:g})\n")
    return 2 if n_err else (1 if n_spoof else 0)


# --------------------------------------------------------------------------------------
# train / evaluate
# --------------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _train_command(args: argparse.Namespace) -> int:
    from voiceguard.train import train

    res = train(
        args.manifest, args.out, features=args.features, model=args.model, train_split=args.train_split,
        val_split=args.val_split, epochs=args.epochs, time_budget_s=args.time_budget,
        batch_size=args.batch_size, lr=args.lr, loss=args.loss, crop_s=args.crop,
        spec_augment=not args.no_spec_augment, patience=args.patience, channels=args.channels,
        strides=args.strides, embedding_dim=args.embedding_dim, gmm_components=args.gmm_components,
        gmm_iterations=args.gmm_iterations, seed=args.seed, threads=args.threads, jobs=args.jobs,
        cache_dir=args.cache, name=args.name, hold_out_families=args.hold_out_family,
    )
    print(f"{res.config_path}: validation EER {100 * res.val_eer:.2f} %, {res.n_parameters} parameters, "
          f"{res.epochs} epochs, {res.seconds:.0f} s")
    return 0


def _evaluate_command(args: argparse.Namespace) -> int:
    from voiceguard.evaluation import evaluate

    models = args.model or [None]
    if None in models:
        from importlib import resources

        from voiceguard.scoring import DEFAULT_MODEL

        with resources.as_file(resources.files("voiceguard.models") / DEFAULT_MODEL) as p:
            models = [str(p) if m is None else m for m in models]
    bar = _ProgressBar(2, sys.stderr, enabled=False if args.no_progress else None)

    def progress(done: int, total: int) -> None:
        bar.update(done, total)

    report = evaluate(models, args.manifest, args.out, split=args.split, audit=args.audit,
                      threads=args.threads, progress=progress)
    bar.close()
    with open(os.path.join(args.out, "tables.md"), encoding="utf-8") as fh:
        sys.stdout.write(fh.read())
    print(f"report: {os.path.join(args.out, 'report.json')}  DET: {os.path.join(args.out, 'det.png')}  "
          f"({report['n_scored']} clips scored, {len(report['errors'])} errors)")
    return 2 if report["errors"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceguard",
        description="Detect cloned and synthetic speech, offline.",
    )
    parser.add_argument("--version", action="version", version=f"voiceguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sc = sub.add_parser(
        "score", help="score audio files for synthetic / cloned speech",
        description="Score recordings of any length, rate and channel count. Exit code 0: all "
                    "bona fide (or no speech); 1: any spoof; 2: any file could not be scored.",
    )
    sc.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER",
                    help="audio files (WAV, FLAC, OGG, MP3...) or folders searched recursively")
    sc.add_argument("--format", choices=["table", "jsonl", "csv"], default="table",
                    help="output format (default: a readable table)")
    sc.add_argument("--threshold", type=float, default=None,
                    help="verdict threshold on spoof_probability (default 0.5: spoof when >= 0.5)")
    sc.add_argument("--prior", type=float, default=None,
                    help="prior probability of bona fide speech used for spoof_probability (default 0.5)")
    sc.add_argument("--model", default=None, help="model config JSON (default: the shipped detector)")
    sc.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    sc.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    sc.set_defaults(func=_score_command)

    tr = sub.add_parser("train", help="train a detector (ResNet or GMM) from a manifest")
    tr.add_argument("manifest", help="manifest.tsv (voiceguard), CSV with path,label, or ASVspoof protocol")
    tr.add_argument("--out", required=True, help="output folder (model.json, weights, cache)")
    tr.add_argument("--features", choices=["lfcc", "cqcc"], default="lfcc")
    tr.add_argument("--model", choices=["resnet", "gmm"], default="resnet")
    tr.add_argument("--name", default=None, help="model name (default FEATURES-MODEL)")
    tr.add_argument("--train-split", default="train")
    tr.add_argument("--val-split", default="val")
    tr.add_argument("--epochs", type=int, default=30)
    tr.add_argument("--time-budget", type=float, default=None, metavar="SECONDS",
                    help="wall-clock budget for the training epochs")
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--lr", type=float, default=3e-3)
    tr.add_argument("--loss", choices=["bce", "ocsoftmax"], default="bce")
    tr.add_argument("--crop", type=float, default=4.0, metavar="SECONDS", help="training crop length")
    tr.add_argument("--no-spec-augment", action="store_true")
    tr.add_argument("--patience", type=int, default=6)
    tr.add_argument("--channels", type=_ints, default=[64, 128, 128], help="ResNet stage widths, e.g. 64,128,128")
    tr.add_argument("--strides", type=_ints, default=[1, 2, 2], help="ResNet stage strides, e.g. 1,2,2")
    tr.add_argument("--embedding-dim", type=int, default=64)
    tr.add_argument("--gmm-components", type=int, default=64)
    tr.add_argument("--gmm-iterations", type=int, default=20)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    tr.add_argument("--jobs", type=int, default=1, help="processes for feature extraction")
    tr.add_argument("--cache", default=None, help="feature cache folder (default OUT/cache)")
    tr.add_argument("--hold-out-family", action="append", default=[], metavar="FAMILY",
                    help="leave this spoof family (manifest 'family' column) out of training; "
                         "repeatable. Validation then measures it as unseen")
    tr.set_defaults(func=_train_command)

    ev = sub.add_parser("evaluate", help="EER tables, DET curves and shortcut audit on a manifest")
    ev.add_argument("manifest", help="manifest of labelled clips")
    ev.add_argument("--model", action="append", default=None,
                    help="model config or training folder; repeat to compare (default: the shipped one)")
    ev.add_argument("--out", required=True, help="output folder for report.json, det.png, scores.tsv")
    ev.add_argument("--split", default=None, help="evaluate only this split (e.g. val, test)")
    ev.add_argument("--audit", action="store_true",
                    help="also score with silence trimmed and with loudness normalised")
    ev.add_argument("--threads", type=int, default=None)
    ev.add_argument("--no-progress", action="store_true")
    ev.set_defaults(func=_evaluate_command)

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
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help/--version
        return int(exc.code or 0)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except VoiceguardError as exc:
        print(f"voiceguard: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("voiceguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into head & co: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
