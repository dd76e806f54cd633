"""``voiceguard stream``: score live audio arriving as raw PCM (a microphone, an RTP tap).

Any source that can write raw samples to a pipe works without Asterisk: ``arecord`` /
``parec`` / ``ffmpeg`` for a microphone, ``ffmpeg`` reading an SDP file for an RTP stream
mirrored off a SIP trunk (G.711 decoded by ffmpeg, or sent here as ``--encoding ulaw``).
Every ``--update`` seconds of audio one JSON line with the running state
(:class:`voiceguard.detect.stream.StreamState`) goes to stdout; at the end of the input
(or Ctrl-C) the final line holds the whole recording's result, identical to ``voiceguard
score`` of the same audio. Exit codes as ``score``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, BinaryIO

import numpy as np

from voiceguard import exit_codes
from voiceguard.console import Commands, judging

__all__ = ["ENCODINGS", "add_parsers", "stream_command", "read_pcm"]

#: ``--encoding``: bytes per sample and how to decode them.
ENCODINGS = {"s16le": 2, "f32le": 4, "ulaw": 1, "alaw": 1}


def read_pcm(fh: BinaryIO, encoding: str, channels: int, block_bytes: int) -> Any:
    """Blocks of mono float samples from a raw PCM byte stream (channels averaged).

    Reads as the bytes come (``read1`` when the stream has it), so a live pipe is scored
    as it arrives; a trailing partial frame is dropped.
    """
    from voiceguard.audio.g711 import alaw_decode, mulaw_decode

    width = ENCODINGS[encoding] * channels
    pending = b""
    read = getattr(fh, "read1", fh.read)
    while True:
        data = read(block_bytes)
        if not data:
            return
        pending += data
        usable = len(pending) - len(pending) % width
        if not usable:
            continue
        raw, pending = pending[:usable], pending[usable:]
        if encoding == "s16le":
            y = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
        elif encoding == "f32le":
            y = np.frombuffer(raw, "<f4").astype(np.float64)
        else:
            codes = np.frombuffer(raw, np.uint8)
            y = (mulaw_decode if encoding == "ulaw" else alaw_decode)(codes).astype(np.float64) / 32768.0
        yield y.reshape(-1, channels).mean(axis=1) if channels > 1 else y


def stream_command(args: argparse.Namespace) -> int:
    """Run ``voiceguard stream``; exit code as :mod:`voiceguard.exit_codes` says."""
    from voiceguard.detect.cli import detector_from_args, say_unscreened
    from voiceguard.detect.stream import StreamScorer

    det = detector_from_args(args)
    scorer = StreamScorer(det, sr=args.rate, update_s=args.update)
    src = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")  # closed below
    out = sys.stdout
    name = "stdin" if args.input == "-" else args.input
    try:
        for y in read_pcm(src, args.encoding, args.channels, 4096):
            for state in scorer.feed(y):
                if not args.final_only:
                    out.write(json.dumps(state.to_dict()) + "\n")
                    out.flush()
    except KeyboardInterrupt:
        pass  # the call ended here: judge what arrived
    finally:
        if src is not sys.stdin.buffer:
            src.close()
    final = scorer.finish()
    out.write(json.dumps(final.to_dict()) + "\n")
    out.flush()
    res = final.result
    unscreened = res is not None and say_unscreened(name, res)
    return exit_codes.status(int(final.verdict == "spoof"), 0, int(unscreened))


def add_parsers(sub: Any, commands: Commands) -> None:
    """Add ``stream`` to the ``voiceguard`` subcommands."""
    from voiceguard.detect.cli import add_detector_options

    st = judging(sub, "stream", help="score live audio arriving as raw PCM (microphone, RTP tap)",
                 description="Read raw PCM from stdin (or a file or FIFO) as it arrives and print one JSON line per "
                             "update with the running verdict (pending until 3 s of speech), then the final result "
                             "of the whole audio at the end of the input or on Ctrl-C. For example: arecord -q -f "
                             "S16_LE -r 16000 -c 1 -t raw | voiceguard stream --rate 16000. See docs/service.md.")
    st.add_argument("input", nargs="?", default="-", help="raw PCM source (default -: stdin)")
    st.add_argument("--rate", type=int, default=8000, help="sample rate of the PCM (default 8000)")
    st.add_argument("--encoding", choices=sorted(ENCODINGS), default="s16le",
                    help="sample encoding (default s16le: signed 16-bit little-endian; ulaw/alaw: G.711)")
    st.add_argument("--channels", type=int, default=1, choices=(1, 2), help="interleaved channels (mixed down)")
    st.add_argument("--update", type=float, default=1.0, metavar="SECONDS",
                    help="audio between two running results (default 1)")
    st.add_argument("--final-only", action="store_true", help="print only the final result")
    add_detector_options(st)
    st.set_defaults(func=stream_command)
