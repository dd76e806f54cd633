"""``voiceguard serve``: the call-centre service's command."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from voiceguard import exit_codes
from voiceguard._version import install_hint
from voiceguard.console import Commands, positive_int


def serve_command(args: argparse.Namespace) -> int:
    from voiceguard.service import load_config, missing_modules, run_service

    cfg = load_config(args.config, http=args.http, audiosocket=args.audiosocket, model=args.model, db=args.db,
                      workers=args.workers, webhook_url=args.webhook, log_path=args.log,
                      max_concurrent_calls=args.max_calls)
    missing = missing_modules(cfg)
    if missing:
        print(f"voiceguard: error: voiceguard serve needs the 'serve' extra, which is not installed (missing: "
              f"{', '.join(missing)}): {install_hint('serve')}", file=sys.stderr)
        return exit_codes.ERROR
    return run_service(cfg)


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``serve`` to the ``voiceguard`` subcommands."""
    sv = sub.add_parser(
        "serve", help="run the call-centre service (Asterisk AudioSocket and/or HTTP API)",
        description="One process, one model in memory: live calls over Asterisk AudioSocket, and an HTTP API "
                    "(score, verify, enroll, call state). Every HTTP endpoint but /healthz needs "
                    "'Authorization: Bearer $VOICEGUARD_TOKEN'; without a token only loopback addresses are "
                    "allowed. The HTTP API and webhooks need the serve extra (from the clone: pip install -c "
                    "constraints.txt -e '.[serve]'). See docs/service.md.")
    sv.add_argument("--audiosocket", metavar="HOST:PORT", default=None, help="AudioSocket listener")
    sv.add_argument("--http", metavar="HOST:PORT", default=None, help="HTTP API listener")
    sv.add_argument("--config", metavar="FILE", default=None, help="TOML config file (see docs/service.md)")
    sv.add_argument("--model", default=None, help="detector config (default: the shipped model)")
    sv.add_argument("--db", default=None, help="voiceprint database (default: the default store)")
    sv.add_argument("--workers", type=positive_int, default=None, help="scoring threads (default: CPU count)")
    sv.add_argument("--webhook", metavar="URL", default=None, help="POST call events here")
    sv.add_argument("--log", metavar="FILE", default=None, help="append call events to this JSON Lines file")
    sv.add_argument("--max-calls", type=positive_int, default=None, help="maximum concurrent calls (default 100)")
    sv.set_defaults(func=serve_command)
