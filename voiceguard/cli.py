"""The ``voiceguard`` command line.

Subcommands: ``score`` (detect synthetic speech in files), ``train`` (train a detector
from a manifest), ``evaluate`` (EER tables, DET curves, shortcut audit) and ``features``.
Voiceprints: ``enroll`` (store a speaker's voiceprint), ``verify`` (speaker + spoof check
with one fused decision) and ``speakers`` (list / show / delete / export).
Provenance (:mod:`voiceguard.provenance.cli`): ``register``, ``provenance``, ``registry``.

Visual reports: ``report`` (and ``score --report DIR``), see :mod:`voiceguard.report`.

Exit codes are defined once, in :mod:`voiceguard.exit_codes` (printed by ``--help``): a
spoof found wins over errors. ``voiceguard verify`` counts ``reject_spoof``, ``reject_clone``,
``reject_speaker`` and ``no_speech`` as "not accepted"; ``voiceguard enroll`` exits 2 when a
clip is called spoof (unless ``--allow-spoof``) or fails another check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from voiceguard import __version__, exit_codes
from voiceguard.errors import VoiceguardError, VoiceguardWarning


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (thread and worker counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (1 or more), got {value}")
    return value


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but prints the exit-code table (the epilog) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text == exit_codes.HELP:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _table_width(files: Sequence[str]) -> int:
    """Width of the FILE column: the longest name, so every row stays aligned."""
    return max(4, *(len(f) for f in files))


def _scored(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - (result or exception, warnings)
    """Run ``fn(*args, **kwargs)``; returns (result or VoiceguardError, voiceguard warnings as text)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VoiceguardWarning)
        try:
            res = fn(*args, **kwargs)
        except VoiceguardError as exc:
            res = exc
    notes: list[str] = []
    for w in caught:
        if issubclass(w.category, VoiceguardWarning):
            if str(w.message) not in notes:  # a file read twice warns twice
                notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    for n in notes:
        print(f"voiceguard: warning: {n}", file=sys.stderr)
    return res, notes


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


def _score_rows(det, files: Sequence[str]) -> Iterator[tuple[str, object, list[str]]]:
    for f in files:
        res, notes = _scored(det.score, f)
        yield f, res, notes


def _score_command(args: argparse.Namespace) -> int:
    from voiceguard.detect.detector import Detector

    files = _expand_inputs(args.inputs)
    if not files:
        print("voiceguard: error: no audio files found in the given folders "
              "(looked for .wav .flac .ogg .opus .mp3 .aiff .au)", file=sys.stderr)
        return 2
    det = Detector(args.model, prior=args.prior, threshold=args.threshold, threads=args.threads)
    reports = None
    if args.report is not None:
        from voiceguard.report.cli import ReportFolder

        reports = ReportFolder(args.report)
    out = sys.stdout
    bar = _ProgressBar(len(files), sys.stderr, enabled=False if args.no_progress else None)
    n_err = n_spoof = 0
    width = _table_width(files)
    if args.format == "table":
        out.write(f"{'FILE':<{width}}  {'VERDICT':<9}  {'P(SPOOF)':>8}  {'LLR':>7}  {'DURATION':>8}  {'SPEECH':>6}\n")
    elif args.format == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["file", "verdict", "spoof_probability", "llr", "duration_s", "speech_s",
                         "sample_rate", "channels", "n_segments", "error"])
    for i, (f, res, notes) in enumerate(_score_rows(det, files)):
        bar.close()
        report_path = None
        if reports is not None and not isinstance(res, Exception):
            report_path = _write_report(reports, f, det, res)
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
                row = res.to_dict()
                if notes:
                    row["warnings"] = notes
                if report_path is not None:
                    row["report"] = report_path
                out.write(json.dumps(row) + "\n")
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
    if reports is not None:
        print(f"voiceguard: {len(reports.written)} report{'s' if len(reports.written) != 1 else ''} in "
              f"{reports.folder}", file=sys.stderr)
    return exit_codes.status(n_spoof, n_err)


def _write_report(reports, f: str, det, res, **kw) -> str | None:  # noqa: ANN001
    """Add one recording to a ``--report DIR`` folder; a failure is a warning, not a lost score."""
    from voiceguard.report.evidence import analyse

    try:
        return reports.add(analyse(f, det, result=res, **kw))
    except VoiceguardError as exc:
        print(f"voiceguard: warning: no report for {f}: {exc}", file=sys.stderr)
        return None


# --------------------------------------------------------------------------------------
# train / evaluate
# --------------------------------------------------------------------------------------


def _ints(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _train_command(args: argparse.Namespace) -> int:
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


def _evaluate_command(args: argparse.Namespace) -> int:
    from voiceguard.evaluation.run import evaluate

    models = args.model or [None]
    if None in models:
        from importlib import resources

        from voiceguard.detect.model import DEFAULT_MODEL

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
    if report["errors"]:
        print(f"voiceguard: error: {report['errors_summary']}", file=sys.stderr)
    return exit_codes.ERROR if report["errors"] else exit_codes.OK



# --------------------------------------------------------------------------------------
# voiceprints: enroll / verify / speakers
# --------------------------------------------------------------------------------------


def _enroll_command(args: argparse.Namespace) -> int:
    from voiceguard.verify import enroll
    from voiceguard.voiceprint.encoder import default_encoder

    files = _expand_inputs(args.clips)
    if not files:
        print("voiceguard: error: no audio files found in the given folders", file=sys.stderr)
        return 2
    from voiceguard.detect.detector import Detector
    from voiceguard.store import SpeakerExistsError

    det = Detector(args.model, threshold=args.threshold, prior=args.prior, threads=args.threads)
    try:
        rep = enroll(args.name, files, store=args.db, encoder=default_encoder(args.threads), detector=det,
                     min_speech_s=args.min_speech, replace=args.replace, add=args.add, force=args.force,
                     allow_spoof=args.allow_spoof, clone_check=not args.no_clone_check)
    except SpeakerExistsError as exc:
        how = ("re-enroll it with --replace" if exc.reason == "encoder" else
               "use --replace to re-enroll it from these clips, or --add to add them")
        print(f"voiceguard: error: {str(exc).rsplit(': ', 1)[0]}; {how}", file=sys.stderr)
        return exit_codes.ERROR
    if args.format == "json":
        print(json.dumps(rep.to_dict(), indent=2))
    else:
        vp = rep.voiceprint
        print(f"enrolled {vp.name!r}: {vp.n_clips} clip{'s' if vp.n_clips != 1 else ''}, {vp.speech_s:.1f} s of "
              f"speech, channel {vp.channel}, checked by {rep.checked_by}, clone check "
              f"{'built' if rep.clone_check else 'not built'} -> {rep.db}")
        for c in rep.clips:
            sim = "" if c.get("similarity") is None else f"  similarity with the voiceprint {c['similarity']:.3f}"
            if c.get("similarity_vs_others") is not None:
                sim += f" (with the other clips {c['similarity_vs_others']:.3f})"
            flags = f"  FLAGGED: {', '.join(c['flags'])}" if c["flags"] else ""
            sp = "" if c.get("spoof_probability") is None else f", P(spoof) {c['spoof_probability']:.3f}"
            print(f"  {c['source']}: {c['speech_s']:.1f} s speech, {c['channel']}{sp}{sim}{flags}")
        for w in rep.warnings:
            print(f"warning: {w}", file=sys.stderr)
    return 0


def _verify_command(args: argparse.Namespace) -> int:
    from voiceguard.verify import NO_SPEECH, Verifier

    files = _expand_inputs(args.inputs)
    if not files:
        print("voiceguard: error: no audio files found in the given folders "
              "(looked for .wav .flac .ogg .opus .mp3 .aiff .au)", file=sys.stderr)
        return 2
    from voiceguard.store import VoiceprintStore

    store = VoiceprintStore(args.db, create=False)
    try:
        with Verifier(store, detector=args.model, speaker_threshold=args.speaker_threshold,
                      threshold=args.threshold, prior=args.prior, threads=args.threads,
                      clone_threshold=args.clone_threshold, clone_check=not args.no_clone_check) as ver:
            ver.voiceprint(args.name)  # unknown speaker: fail before any scoring
            return _verify_rows(args, ver, files, NO_SPEECH)
    finally:
        store.close()


def _verify_rows(args: argparse.Namespace, ver, files: Sequence[str], no_speech: str) -> int:
    out = sys.stdout
    bar = _ProgressBar(len(files), sys.stderr, enabled=False if args.no_progress else None)
    n_err = n_rej = 0
    width = _table_width(files)
    writer = None
    reports = None
    if args.report is not None:
        from voiceguard.report.cli import ReportFolder

        reports = ReportFolder(args.report)
    if args.format == "table":
        out.write(f"{'FILE':<{width}}  {'DECISION':<14}  {'SPK_LLR':>7}  {'SIM':>6}  {'SPOOF_LLR':>9}  "
                  f"{'P(SPOOF)':>8}  {'CLONE_LLR':>9}  {'CONDITION':<11}  {'SPEECH':>6}\n")
    elif args.format == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["file", "speaker", "decision", "speaker_llr", "speaker_similarity", "spoof_llr",
                         "spoof_probability", "condition", "single_voice", "duration_s", "speech_s",
                         "sample_rate", "channels", "clone_llr", "error"])
    for i, f in enumerate(files):
        if reports is None:
            res, notes = _scored(ver.verify, args.name, f)
        else:  # the report needs the detector's per-window result too: one decode, same decision
            from voiceguard.report.evidence import analyse

            ev, notes = _scored(analyse, f, ver.detector, verifier=ver, speaker=args.name)
            res = ev if isinstance(ev, Exception) else ev.verification
            if not isinstance(ev, Exception):
                notes = [w for w in ev.warnings if w not in res.warnings]  # the file's own (truncation)
                for n in notes:
                    print(f"voiceguard: warning: {n}", file=sys.stderr)
                reports.add(ev)
        if not isinstance(res, Exception):
            res.warnings[:0] = [n for n in notes if n not in res.warnings]
        bar.close()
        if isinstance(res, Exception):
            n_err += 1
            msg = str(res)
            if args.format == "jsonl":
                out.write(json.dumps({"file": f, "speaker": args.name, "error": msg}) + "\n")
            elif writer is not None:
                writer.writerow([f, args.name, "error"] + [""] * 11 + [msg])
            else:
                out.write(f"{f:<{width}}  {'error':<14}  {msg}\n")
        else:
            n_rej += not res.accepted
            if args.format == "jsonl":
                out.write(json.dumps(res.to_dict()) + "\n")
            elif writer is not None:
                writer.writerow([f, res.speaker, res.decision,
                                 "" if res.speaker_llr is None else f"{res.speaker_llr:.4f}",
                                 "" if res.speaker_similarity is None else f"{res.speaker_similarity:.5f}",
                                 "" if res.spoof_llr is None else f"{res.spoof_llr:.4f}",
                                 "" if res.spoof_probability is None else f"{res.spoof_probability:.6f}",
                                 res.condition, "" if res.single_voice is None else res.single_voice,
                                 f"{res.duration_s:.3f}", f"{res.speech_s:.2f}", res.sample_rate, res.channels,
                                 "" if res.clone_llr is None else f"{res.clone_llr:.4f}", ""])
            else:
                note = "  (several voices?)" if res.single_voice is False else ""
                out.write(f"{f:<{width}}  {res.decision:<14}  {_fmt(res.speaker_llr, '7.2f')}  "
                          f"{_fmt(res.speaker_similarity, '6.3f')}  {_fmt(res.spoof_llr, '9.2f')}  "
                          f"{_fmt(res.spoof_probability, '8.3f')}  {_fmt(res.clone_llr, '9.2f')}  {res.condition:<11}  "
                          f"{res.speech_s:5.1f}s{note}\n")
        out.flush()
        bar.update(i + 1, label=f)
    bar.close()
    if args.format == "table" and len(files) > 1:
        out.write(f"{len(files)} files against {args.name!r}: {len(files) - n_rej - n_err} accepted, {n_rej} not "
                  f"accepted, {n_err} error{'s' if n_err != 1 else ''} (speaker threshold "
                  f"{ver.speaker_threshold:g} LLR; spoof when P(spoof) >= {ver.detector.threshold:g})\n")
    if reports is not None:
        print(f"voiceguard: {len(reports.written)} report{'s' if len(reports.written) != 1 else ''} in "
              f"{reports.folder}", file=sys.stderr)
    return exit_codes.status(n_rej, n_err)


def _import_speakers(args: argparse.Namespace) -> int:
    from voiceguard.store import ExportFormatError, VoiceprintStore, read_export

    if len(args.names) != 1:
        print("voiceguard: error: speakers import needs one FILE (written by 'voiceguard speakers export')",
              file=sys.stderr)
        return 2
    try:
        with open(args.names[0], "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise ExportFormatError(f"cannot read {args.names[0]} ({exc.strerror})") from None
    voiceprints = read_export(data)
    with VoiceprintStore(args.db) as store:
        names = store.import_voiceprints(voiceprints, replace=args.replace)
        print(f"imported {len(names)} speaker(s) into {store.path}: {', '.join(names) or '-'}")
    return 0


def _speakers_command(args: argparse.Namespace) -> int:
    from voiceguard.store import VoiceprintStore

    if args.action == "import":
        return _import_speakers(args)
    with VoiceprintStore(args.db, create=False) as store:
        if args.action == "list":
            rows = store.list()
            if args.format == "json":
                print(json.dumps(rows, indent=2))
            elif not rows:
                print(f"no speakers enrolled in {store.path}")
            else:
                w = max(4, *(len(r["name"]) for r in rows))
                print(f"{'NAME':<{w}}  {'CLIPS':>5}  {'SPEECH':>7}  {'CHANNEL':<9}  UPDATED")
                for r in rows:
                    print(f"{r['name']:<{w}}  {r['n_clips']:>5}  {r['speech_s']:6.1f}s  {r['channel']:<9}  "
                          f"{r['updated']}")
            return 0
        if args.action == "show":
            if not args.names:
                print("voiceguard: error: speakers show needs a NAME", file=sys.stderr)
                return 2
            for n in args.names:
                print(json.dumps(store.get(n).info(), indent=2))
            return 0
        if args.action == "delete":
            if not args.names:
                print("voiceguard: error: speakers delete needs a NAME", file=sys.stderr)
                return 2
            for n in args.names:
                store.delete(n)
                print(f"deleted {n!r} and all its embeddings from {store.path}")
            return 0
        data = store.export(args.names or None)
        text = json.dumps(data, indent=2) + "\n"
        if args.output and args.output != "-":
            fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            print(f"exported {len(data['speakers'])} speaker(s) to {args.output} (biometric data: keep it private)",
                  file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0


def _add_voiceprint_parsers(sub) -> None:
    db_help = ("voiceprint database (default: $VOICEGUARD_HOME/voiceprints.db, else the user data folder); "
               "set VOICEGUARD_DB_KEY to encrypt/decrypt embeddings")
    en = sub.add_parser(
        "enroll", help="enroll a speaker's voiceprint from one or more clips",
        description="Score every clip with the spoof detector (a clip called spoof is refused unless "
                    "--allow-spoof), embed the clips (at least 3 s of speech each), check that they agree and hold "
                    "one voice, build the per-speaker clone check from them and copies of them, and store the "
                    "mean embedding and the clone model (never the audio). Exit code 0: enrolled; 2: error or "
                    "failed check.")
    en.add_argument("name", help="speaker name")
    en.add_argument("clips", nargs="+", metavar="CLIP", help="audio files or folders of one speaker")
    en.add_argument("--db", default=None, help=db_help)
    mode = en.add_mutually_exclusive_group()
    mode.add_argument("--replace", action="store_true", help="re-enroll an existing speaker from these clips only")
    mode.add_argument("--add", action="store_true", help="add these clips to an existing speaker")
    en.add_argument("--min-speech", type=float, default=3.0, metavar="SECONDS",
                    help="minimum speech per clip after voice activity detection (default 3)")
    en.add_argument("--force", action="store_true", help="enroll despite disagreeing or multi-voice clips")
    en.add_argument("--allow-spoof", action="store_true",
                    help="enroll clips the spoof detector calls synthetic (a deliberate override, recorded in the "
                         "store with each such clip)")
    en.add_argument("--no-clone-check", action="store_true",
                    help="do not build the per-speaker clone check (faster enrollment; verify then skips it)")
    en.add_argument("--model", default=None, help="detector config JSON (default: the shipped detector)")
    en.add_argument("--threshold", type=float, default=None,
                    help="spoof verdict threshold on spoof_probability (default: the detector's, 0.5)")
    en.add_argument("--prior", type=float, default=None,
                    help="prior probability of bona fide speech for spoof_probability (default 0.5)")
    en.add_argument("--format", choices=["table", "json"], default="table")
    en.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    en.set_defaults(func=_enroll_command)

    ve = sub.add_parser(
        "verify", help="verify recordings against an enrolled speaker, with the spoof detector",
        description="Speaker score (calibrated per channel), spoof score and one decision per recording: "
                    "accept, reject_spoof, reject_speaker or no_speech.",
        epilog=exit_codes.HELP, formatter_class=HelpFormatter)
    ve.add_argument("name", help="enrolled speaker")
    ve.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="audio files or folders (recursive)")
    ve.add_argument("--db", default=None, help=db_help)
    ve.add_argument("--format", choices=["table", "jsonl", "csv"], default="table")
    ve.add_argument("--speaker-threshold", type=float, default=None, metavar="LLR",
                    help="accept the speaker when speaker_llr >= this (default 0: equal priors and costs)")
    ve.add_argument("--threshold", type=float, default=None,
                    help="spoof verdict threshold on spoof_probability (default: the detector's, 0.5)")
    ve.add_argument("--prior", type=float, default=None,
                    help="prior probability of bona fide speech for spoof_probability (default 0.5)")
    ve.add_argument("--model", default=None, help="detector config JSON (default: the shipped detector)")
    ve.add_argument("--clone-threshold", type=float, default=0.0, metavar="LLR",
                    help="reject as a clone when the per-speaker clone check's clone_llr is below this (default 0)")
    ve.add_argument("--no-clone-check", action="store_true", help="ignore the voiceprint's clone check")
    ve.add_argument("--threads", type=positive_int, default=None, help="torch threads")
    ve.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    from voiceguard.report.cli import add_report_option

    add_report_option(ve)
    ve.set_defaults(func=_verify_command)

    sp = sub.add_parser("speakers", help="list, show, delete, export or import enrolled voiceprints",
                        description="Manage the voiceprint database. 'delete' removes every embedding of the "
                                    "speaker for good; 'export' writes them as JSON (biometric data); 'import "
                                    "FILE' stores the speakers of such a file.")
    sp.add_argument("action", choices=["list", "show", "delete", "export", "import"])
    sp.add_argument("names", nargs="*", metavar="NAME",
                    help="speaker(s) (show, delete; export: default all); import: the export file")
    sp.add_argument("--replace", action="store_true", help="import: overwrite speakers already enrolled")
    sp.add_argument("--db", default=None, help=db_help)
    sp.add_argument("--format", choices=["table", "json"], default="table", help="list format")
    sp.add_argument("-o", "--output", default=None, help="export: write to this file (mode 0600) instead of stdout")
    sp.set_defaults(func=_speakers_command)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voiceguard",
        description="Detect cloned and synthetic speech, offline.",
        epilog=exit_codes.HELP, formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"voiceguard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sc = sub.add_parser(
        "score", help="score audio files for synthetic / cloned speech",
        description="Score recordings of any length, rate and channel count. A file that cannot be read "
                    "gets an error row and the batch goes on.",
        epilog=exit_codes.HELP, formatter_class=HelpFormatter,
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
    sc.add_argument("--threads", type=positive_int, default=None,
                    help="torch threads, a positive integer (default: torch's choice)")
    sc.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    from voiceguard.report.cli import add_report_option

    add_report_option(sc)
    sc.set_defaults(func=_score_command)

    tr = sub.add_parser(
        "train", help="train an LFCC-ResNet detector (like --model fast) from a manifest",
        description="Train an LFCC-ResNet spoof detector on the manifest's train split, choose the epoch and calibrate the "
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
    tr.set_defaults(func=_train_command)

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
    ev.set_defaults(func=_evaluate_command)

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
    feat.set_defaults(func=_features_command)

    _add_voiceprint_parsers(sub)
    _add_serve_parser(sub)
    from voiceguard.report.cli import add_report_parser

    add_report_parser(sub, positive_int=positive_int, epilog=exit_codes.HELP, formatter_class=HelpFormatter)
    from voiceguard.provenance.cli import add_parsers as _add_provenance_parsers  # register, provenance, registry

    _add_provenance_parsers(sub)
    # batch scoring on Ray (voiceguard[batch]): its own module, imports nothing heavy
    from voiceguard.batch.cli import add_parser as add_batch_parser

    add_batch_parser(sub, positive_int=positive_int, epilog=exit_codes.HELP, formatter_class=HelpFormatter)
    return parser


def _serve_command(args: argparse.Namespace) -> int:
    from voiceguard.service import load_config, missing_modules, run_service

    cfg = load_config(args.config, http=args.http, audiosocket=args.audiosocket, model=args.model, db=args.db,
                      workers=args.workers, webhook_url=args.webhook, log_path=args.log,
                      max_concurrent_calls=args.max_calls)
    missing = missing_modules(cfg)
    if missing:
        print(f"voiceguard: error: voiceguard serve needs the 'serve' extra, which is not installed (missing: "
              f"{', '.join(missing)}): pip install 'voiceguard[serve]'", file=sys.stderr)
        return exit_codes.ERROR
    return run_service(cfg)


def _add_serve_parser(sub) -> None:
    sv = sub.add_parser(
        "serve", help="run the call-centre service (Asterisk AudioSocket and/or HTTP API)",
        description="One process, one model in memory: live calls over Asterisk AudioSocket, and an HTTP API "
                    "(score, verify, enroll, call state). Every HTTP endpoint but /healthz needs "
                    "'Authorization: Bearer $VOICEGUARD_TOKEN'; without a token only loopback addresses are "
                    "allowed. The HTTP API and webhooks need the serve extra: pip install 'voiceguard[serve]'. "
                    "See docs/service.md.")
    sv.add_argument("--audiosocket", metavar="HOST:PORT", default=None, help="AudioSocket listener")
    sv.add_argument("--http", metavar="HOST:PORT", default=None, help="HTTP API listener")
    sv.add_argument("--config", metavar="FILE", default=None, help="TOML config file (see docs/service.md)")
    sv.add_argument("--model", default=None, help="detector config (default: the shipped model)")
    sv.add_argument("--db", default=None, help="voiceprint database (default: the default store)")
    sv.add_argument("--workers", type=positive_int, default=None, help="scoring threads (default: CPU count)")
    sv.add_argument("--webhook", metavar="URL", default=None, help="POST call events here")
    sv.add_argument("--log", metavar="FILE", default=None, help="append call events to this JSON Lines file")
    sv.add_argument("--max-calls", type=positive_int, default=None, help="maximum concurrent calls (default 100)")
    sv.set_defaults(func=_serve_command)


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
