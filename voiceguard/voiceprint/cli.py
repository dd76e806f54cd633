"""``voiceguard enroll``, ``verify`` and ``speakers``."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from voiceguard import exit_codes
from voiceguard.audio.files import expand_inputs
from voiceguard.console import (
    Commands,
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
from voiceguard.detect.cli import add_detector_options, detector_from_args

__all__ = ["add_parsers"]

_DB_HELP = ("voiceprint database (default: $VOICEGUARD_HOME/voiceprints.db, else the user data folder); "
            "set VOICEGUARD_DB_KEY to encrypt/decrypt embeddings")


def _enroll_command(args: argparse.Namespace) -> int:
    from voiceguard.voiceprint import enroll
    from voiceguard.voiceprint.encoder import default_encoder

    files = expand_inputs(args.clips)
    if not files:
        return no_files()
    from voiceguard.store import SpeakerExistsError

    det = detector_from_args(args)
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
        _print_enrollment(rep)
    return 0


def _print_enrollment(rep: Any) -> None:
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


def _verify_command(args: argparse.Namespace) -> int:
    from voiceguard.voiceprint import Verifier

    files = expand_inputs(args.inputs)
    if not files:
        return no_files()
    from voiceguard.store import VoiceprintStore

    store = VoiceprintStore(args.db, create=False)
    try:
        with Verifier(store, detector=args.model, speaker_threshold=args.speaker_threshold,
                      threshold=args.threshold, prior=args.prior, threads=args.threads,
                      clone_threshold=args.clone_threshold, clone_check=not args.no_clone_check) as ver:
            ver.voiceprint(args.name)  # unknown speaker: fail before any scoring
            return _verify_rows(args, ver, files)
    finally:
        store.close()


_VERIFY_CSV = ["file", "speaker", "decision", "speaker_llr", "speaker_similarity", "spoof_llr", "spoof_probability",
               "condition", "single_voice", "duration_s", "speech_s", "sample_rate", "channels", "clone_llr",
               "clone_check", "error"]


def _verify_header(out: Any, fmt_: str, width: int) -> Any:
    if fmt_ == "table":
        out.write(f"{'FILE':<{width}}  {'DECISION':<14}  {'SPK_LLR':>7}  {'SIM':>6}  {'SPOOF_LLR':>9}  "
                  f"{'P(SPOOF)':>8}  {'CLONE_LLR':>9}  {'CONDITION':<11}  {'SPEECH':>6}\n")
    elif fmt_ == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_VERIFY_CSV)
        return writer
    return None


def _verify_error_row(out: Any, fmt_: str, writer: Any, f: str, speaker: str, msg: str, width: int) -> None:
    if fmt_ == "jsonl":
        out.write(json.dumps({"file": f, "speaker": speaker, "error": msg}) + "\n")
    elif writer is not None:
        writer.writerow([f, speaker, "error"] + [""] * 12 + [msg])
    else:
        out.write(f"{f:<{width}}  {'error':<14}  {msg}\n")


def _r(x: float | None, digits: int) -> str:
    return "" if x is None else f"{x:.{digits}f}"


def _clone_cell(res: Any) -> str:
    """The CLONE_LLR cell: the score when the clone check ran, else why it did not
    (``telephone``: it cannot run on 8 kHz audio)."""
    return fmt(res.clone_llr, "9.2f") if res.clone_check == "ran" else res.clone_check


def _verify_row(out: Any, fmt_: str, writer: Any, f: str, res: Any, width: int) -> None:
    if fmt_ == "jsonl":
        out.write(json.dumps(res.to_dict()) + "\n")
    elif writer is not None:
        writer.writerow([f, res.speaker, res.decision, _r(res.speaker_llr, 4), _r(res.speaker_similarity, 5),
                         _r(res.spoof_llr, 4), _r(res.spoof_probability, 6), res.condition,
                         "" if res.single_voice is None else res.single_voice, f"{res.duration_s:.3f}",
                         f"{res.speech_s:.2f}", res.sample_rate, res.channels, _r(res.clone_llr, 4),
                         res.clone_check, ""])
    else:
        note = "  (several voices?)" if res.single_voice is False else ""
        out.write(f"{f:<{width}}  {res.decision:<14}  {fmt(res.speaker_llr, '7.2f')}  "
                  f"{fmt(res.speaker_similarity, '6.3f')}  {fmt(res.spoof_llr, '9.2f')}  "
                  f"{fmt(res.spoof_probability, '8.3f')}  {_clone_cell(res):>9}  {res.condition:<11}  "
                  f"{res.speech_s:5.1f}s{note}\n")


def _verify_rows(args: argparse.Namespace, ver: Any, files: Sequence[str]) -> int:
    out = sys.stdout
    bar = ProgressBar(len(files), sys.stderr, enabled=False if args.no_progress else None)
    n_err = n_rej = 0
    width = table_width(files)
    reports = open_reports(args)
    writer = _verify_header(out, args.format, width)
    for i, f in enumerate(files):
        if reports is None:
            res, notes = run_collecting_warnings(ver.verify, args.name, f)
        else:  # the report needs the detector's per-window result too: one decode, same decision
            res, notes = reports.verify(f, ver, args.name)
        bar.close()
        if isinstance(res, Exception):
            n_err += 1
            _verify_error_row(out, args.format, writer, f, args.name, str(res), width)
        else:
            res.warnings[:0] = [n for n in notes if n not in res.warnings]
            n_rej += not res.accepted
            _verify_row(out, args.format, writer, f, res, width)
        out.flush()
        bar.update(i + 1, label=f)
    bar.close()
    if args.format == "table" and len(files) > 1:
        out.write(f"{len(files)} files against {args.name!r}: {len(files) - n_rej - n_err} accepted, {n_rej} not "
                  f"accepted, {n_err} error{'s' if n_err != 1 else ''} (speaker threshold "
                  f"{ver.speaker_threshold:g} LLR; spoof when P(spoof) >= {ver.detector.threshold:g})\n")
    say_reports(reports)
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
        raise ExportFormatError(f"cannot read {args.names[0]} ({exc.strerror})") from exc
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


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``enroll``, ``verify`` and ``speakers`` to the ``voiceguard`` subcommands."""
    _add_enroll(sub)
    _add_verify(sub, commands)
    _add_speakers(sub)


def _add_enroll(sub: Any) -> None:
    db_help = _DB_HELP
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
    add_detector_options(en, model_help="detector that checks every clip")
    en.add_argument("--format", choices=["table", "json"], default="table")
    en.set_defaults(func=_enroll_command)


def _add_verify(sub: Any, commands: Commands) -> None:
    db_help = _DB_HELP
    ve = judging(
        sub, "verify", help="verify recordings against an enrolled speaker, with the spoof detector",
        description="Speaker score (calibrated per channel), spoof score and one decision per recording: "
                    "accept, reject_spoof, reject_clone, reject_speaker or no_speech. The per-speaker clone check does "
                    "not run on telephone (8 kHz) audio: there clone_check says 'telephone' and an accept rests "
                    "on the voiceprint and the detector alone.")
    ve.add_argument("name", help="enrolled speaker")
    ve.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="audio files or folders (recursive)")
    ve.add_argument("--db", default=None, help=db_help)
    ve.add_argument("--format", choices=["table", "jsonl", "csv"], default="table")
    ve.add_argument("--speaker-threshold", type=float, default=None, metavar="LLR",
                    help="accept the speaker when speaker_llr >= this (default 0: equal priors and costs)")
    add_detector_options(ve, threads=False)
    ve.add_argument("--clone-threshold", type=float, default=0.0, metavar="LLR",
                    help="reject as a clone when the per-speaker clone check's clone_llr is below this (default 0)")
    ve.add_argument("--no-clone-check", action="store_true", help="ignore the voiceprint's clone check")
    ve.add_argument("--threads", type=positive_int, default=None,
                    help="torch threads while the models run, a positive integer (default: torch's choice)")
    ve.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_report_option(ve, commands)
    ve.set_defaults(func=_verify_command)


def _add_speakers(sub: Any) -> None:
    db_help = _DB_HELP
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
