"""The ``register``, ``provenance`` and ``registry`` subcommands.

Exit codes of ``voiceguard provenance`` follow :mod:`voiceguard.exit_codes`: 0 when every
input is a registered original or an unaltered copy of one, 1 when any input is altered or
matches nothing (a finding wins over errors: other inputs may have failed), 2 when nothing
was found but an input could not be checked. ``voiceguard registry verify``: 0 when the
export verifies, 1 when it does not.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from voiceguard import exit_codes
from voiceguard.audio.files import expand_inputs
from voiceguard.console import Commands, add_report_option, judging, no_files, open_reports, positive_int
from voiceguard.detect.cli import add_detector_options, detector_from_args
from voiceguard.errors import VoiceguardError
from voiceguard.provenance.c2pa_manifest import NOT_INSTALLED

__all__ = ["add_parsers"]

_DB_HELP = ("database of voiceprints and registered originals (default: $VOICEGUARD_HOME/voiceprints.db, else the "
            "user data folder); the signing key lives beside it")


def _signed_copy_path(src: str, out_dir: str | None) -> Path:
    p = Path(src)
    return Path(out_dir or p.parent) / f"{p.stem}.c2pa{p.suffix}"


def _register_command(args: argparse.Namespace) -> int:
    from voiceguard.provenance.check import register
    from voiceguard.provenance.registry import Registry

    files = expand_inputs(args.inputs)
    if not files:
        return no_files()
    c2pa_args = (args.c2pa_cert, args.c2pa_key)
    if any(c2pa_args) and not all(c2pa_args):
        print("voiceguard: error: C2PA signing needs both --c2pa-cert and --c2pa-key", file=sys.stderr)
        return 2
    n_err = 0
    with Registry(args.db) as reg:
        for f in files:
            try:
                res = register(f, reg, note=args.note)
                if args.c2pa_cert:
                    from voiceguard.provenance import c2pa_manifest

                    o = res.original
                    res.c2pa = c2pa_manifest.sign(
                        f, _signed_copy_path(f, args.c2pa_out), cert_chain=args.c2pa_cert, private_key=args.c2pa_key,
                        source_type=args.c2pa_source_type,
                        registration={"uid": o.uid, "file_sha256": o.file_sha256, "pcm_sha256": o.pcm_sha256,
                                      "registry_key_id": o.key_id, "fingerprint": o.fp_version})
            except VoiceguardError as exc:
                n_err += 1
                if args.format == "jsonl":
                    print(json.dumps({"file": f, "error": str(exc)}))
                else:
                    print(f"{f}: error: {exc}")
                continue
            if args.format == "jsonl":
                print(json.dumps(res.to_dict()))
            else:
                o = res.original
                what = "registered" if res.new else "already registered"
                signed = f", C2PA-signed copy {res.c2pa['file']}" if res.c2pa else ""
                print(f"{f}: {what} as {o.uid} ({o.duration_s:.1f} s, signed by key {o.key_id}){signed}")
            sys.stdout.flush()
    return 2 if n_err else 0


def _fmt_span(s: dict[str, Any]) -> str:
    line = f"  {s['kind']:<9} {s['start_s']:7.2f} - {s['end_s']:.2f} s"
    if s["kind"] in ("removed", "reordered", "replaced"):
        line += f"  (original {s['original_start_s']:.2f}-{s['original_end_s']:.2f} s)"
    elif s["kind"] == "inserted" and s.get("original_start_s") is not None:
        line += f"  (at original {s['original_start_s']:.2f} s)"
    det = s.get("detector")
    if det:
        if "verdict" in det:
            p = det["spoof_probability"]
            line += f"  detector: {det['verdict']}" + ("" if p is None else f", P(spoof) {p:.3f}")
        else:
            line += f"  detector: {det.get('skipped') or det.get('error')}"
    return line


def _provenance_command(args: argparse.Namespace) -> int:
    from voiceguard.provenance.check import check
    from voiceguard.provenance.registry import Registry

    files = expand_inputs(args.inputs)
    if not files:
        return no_files()
    made: list[Any] = []

    def detector() -> Any:  # one detector for all files, loaded when first needed
        if not made:
            made.append(detector_from_args(args))
        return made[0]

    folder = open_reports(args)
    c2pa_opts: Any = False if args.no_c2pa else ({"trust_anchors": args.c2pa_trust} if args.c2pa_trust else True)
    n_err = n_bad = 0
    said_c2pa = False
    out = sys.stdout
    with Registry(args.db, create=False) as reg:
        for f in files:
            try:
                res = check(f, reg, detector=None if args.no_score else detector, c2pa=c2pa_opts)
            except VoiceguardError as exc:
                n_err += 1
                out.write(json.dumps({"file": f, "error": str(exc)}) + "\n" if args.format == "jsonl"
                          else f"{f}: error: {exc}\n")
                continue
            n_bad += not res.unaltered
            if folder is not None:
                print(f"report: {folder.add_provenance(f, detector(), res.to_dict())}", file=sys.stderr)
            if args.format == "jsonl":
                out.write(json.dumps(res.to_dict()) + "\n")
            else:
                d = res.to_dict()
                if res.original is None:
                    out.write(f"{f}: no_match (no registered original)\n")
                else:
                    o = d["original"]
                    sig = "" if res.signature_valid else "  WARNING: its registry signature does not verify"
                    out.write(f"{f}: {res.status}  original {o['name']} ({o['uid'][:12]}), offset "
                              f"{d['offset_s']:+.2f} s, {100 * d['matched_fraction']:.0f} % of the copy matches, "
                              f"{100 * d['original_coverage']:.0f} % of the original present{sig}\n")
                    for s in d["segments"]:
                        out.write(_fmt_span(s) + "\n")
                if d["c2pa"] and str(d["c2pa"].get("error", "")).startswith(NOT_INSTALLED):
                    # the same for every file: said once, on stderr
                    if not said_c2pa:
                        print(f"voiceguard: note: {d['c2pa']['error']}", file=sys.stderr)
                        said_c2pa = True
                elif d["c2pa"]:
                    c = d["c2pa"]
                    out.write(f"  C2PA: {c.get('error') or c['validation_state']}"
                              + ("" if "error" in c else f", hard binding {c['hard_binding']}, signer "
                                 f"{(c.get('signer') or {}).get('common_name')}") + "\n")
            out.flush()
    return exit_codes.status(n_bad, n_err)


def _registry_command(args: argparse.Namespace) -> int:
    from voiceguard.provenance.registry import Registry, verify_export

    if args.action == "verify":
        doc = _read_export(args.target)
        try:
            recs = verify_export(doc, expect_key_id=args.key_id)
        except VoiceguardError as exc:
            print(f"{args.target}: does NOT verify: {exc}")
            return 1
        print(f"{args.target}: verifies: {len(recs)} original(s) signed by key {doc['key_id']}"
              + ("" if args.key_id else " (pass --key-id to check whose key it is)"))
        return 0
    with Registry(args.db, create=args.action in ("import", "key")) as reg:
        if args.action == "list":
            rows = reg.list()
            if args.format == "json":
                print(json.dumps(rows, indent=2))
            elif not rows:
                print(f"no originals registered in {reg.path}")
            else:
                print(f"{'UID':<12}  {'DURATION':>8}  {'REGISTERED':<25}  NAME  NOTE")
                for r in rows:
                    print(f"{r['uid'][:12]}  {r['duration_s']:7.1f}s  {r['registered']:<25}  {r['name']}  {r['note']}")
            return 0
        if args.action == "key":
            print(json.dumps({"key_id": reg.key.key_id, "public_key": reg.key.public_b64,
                              "path": str(reg.key.path)}, indent=2))
            return 0
        if args.action == "delete":
            if not args.target:
                print("voiceguard: error: registry delete needs a UID", file=sys.stderr)
                return 2
            o = reg.get(args.target)
            reg.delete(o.uid)
            print(f"deleted {o.uid} ({o.name}) from {reg.path}")
            return 0
        if args.action == "import":
            n = reg.import_export(_read_export(args.target), expect_key_id=args.key_id)
            print(f"imported {n} original(s) from {args.target} into {reg.path}")
            return 0
        text = json.dumps(reg.export(), indent=1) + "\n"
        if args.output and args.output != "-":
            with open(args.output, "w", encoding="utf-8") as fh:
                fh.write(text)
            print(f"exported {len(reg)} original(s) to {args.output}, signed by key {reg.key.key_id}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0


def _read_export(path: str | None) -> Any:
    from voiceguard.errors import InvalidParameterError

    if not path:
        raise InvalidParameterError("give the export file (JSON written by 'voiceguard registry export')")
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError as exc:
        raise InvalidParameterError(f"cannot read {path} ({exc.strerror})") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidParameterError(f"{path} is not JSON ({exc}); pass a file written by 'voiceguard registry "
                                    "export'") from exc


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``register``, ``provenance`` and ``registry`` to the ``voiceguard`` subcommands."""
    _add_register(sub)
    _add_provenance(sub, commands)
    _add_registry(sub)


def _add_register(sub: Any) -> None:
    rg = judging(
        sub, "register", help="register original recordings (fingerprint + exact hash, signed)",
        description="Store a robust acoustic fingerprint and the exact SHA-256 of each recording (never the audio) "
                    "in the database, signed with the local Ed25519 key; optionally write a C2PA-signed copy. Exit "
                    "code 0: all registered (or already registered); 2: any error.")
    rg.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="audio files or folders (recursive)")
    rg.add_argument("--note", default="", help="free text kept (and signed) with each original")
    rg.add_argument("--db", default=None, help=_DB_HELP)
    rg.add_argument("--format", choices=["table", "jsonl"], default="table")
    rg.add_argument("--c2pa-cert", metavar="PEM", default=None,
                    help="also write a C2PA-signed copy (WAV, FLAC, MP3): certificate chain, signer first")
    rg.add_argument("--c2pa-key", metavar="PEM", default=None, help="private key of --c2pa-cert")
    rg.add_argument("--c2pa-out", metavar="DIR", default=None,
                    help="folder for the signed copies NAME.c2pa.EXT (default: beside each original)")
    rg.add_argument("--c2pa-source-type", default="digitalCapture",
                    help="IPTC digital source type of the C2PA 'created' action (default digitalCapture)")
    rg.set_defaults(func=_register_command)


def _add_provenance(sub: Any, commands: Commands) -> None:
    pv = judging(
        sub, "provenance", help="find the registered original of recordings and what was changed",
        description="Match each recording against the registered originals: which original, time offset, share "
                    "matching, and the inserted, replaced or removed segments (each non-matching segment scored "
                    "by the detector); reads and validates a C2PA manifest when the file has one. Exit code 0: "
                    "every input is an unaltered original or copy; 1: any input altered or unmatched (even if "
                    "others could not be checked); 2: nothing found but errors.")
    pv.add_argument("inputs", nargs="+", metavar="FILE_OR_FOLDER", help="audio files or folders (recursive)")
    pv.add_argument("--db", default=None, help=_DB_HELP)
    pv.add_argument("--format", choices=["table", "jsonl"], default="table")
    add_detector_options(pv, threads=False, model_help="detector of the non-matching segments")
    pv.add_argument("--no-score", action="store_true", help="do not run the detector on non-matching segments")
    pv.add_argument("--threads", type=positive_int, default=None,
                    help="torch threads while the detector runs, a positive integer (default: torch's choice)")
    pv.add_argument("--c2pa-trust", metavar="PEM", default=None, help="CA certificates trusted as C2PA signers")
    pv.add_argument("--no-c2pa", action="store_true", help="do not read C2PA manifests")
    add_report_option(pv, commands)
    pv.set_defaults(func=_provenance_command)


def _add_registry(sub: Any) -> None:
    rs = judging(
        sub, "registry", help="list, export, verify, import or delete registered originals",
        description="'export' writes every original with its fingerprint and signatures as JSON signed as a "
                    "whole; 'verify FILE' checks such an export anywhere (exit 0: verifies, 1: does not); "
                    "'import FILE' adds a verified export's originals; 'key' shows the signing key's id.")
    rs.add_argument("action", choices=["list", "export", "verify", "import", "delete", "key"])
    rs.add_argument("target", nargs="?", default=None, help="export file (verify, import) or UID (delete)")
    rs.add_argument("--db", default=None, help=_DB_HELP)
    rs.add_argument("--format", choices=["table", "json"], default="table", help="list format")
    rs.add_argument("-o", "--output", default=None, help="export: write to this file instead of stdout")
    rs.add_argument("--key-id", default=None, help="verify/import: the exporter's published key id")
    rs.set_defaults(func=_registry_command)
