"""What every command of the ``voiceguard`` command line shares: argument types, the help
formatter that prints the exit-code table, the progress bar, collecting a file's warnings,
the table layout, and the hooks through which a command reaches a part above it.

It sits in the bottom layer, so every part's ``cli`` module can use it. The commands
themselves live beside their parts (``voiceguard/detect/cli.py``, ...); ``voiceguard.cli``
only assembles them.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from voiceguard import exit_codes
from voiceguard.errors import VoiceguardError, VoiceguardWarning

__all__ = [
    "Commands",
    "HelpFormatter",
    "ProgressBar",
    "add_report_option",
    "judging",
    "open_reports",
    "say_reports",
    "fmt",
    "no_files",
    "positive_int",
    "collecting_warnings",
    "FileProgress",
    "run_collecting_warnings",
    "table_width",
]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (thread and worker counts)."""
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from exc
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer (1 or more), got {value}")
    return value


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but prints the exit-code table (the epilog) as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text == exit_codes.HELP:
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class FileProgress:
    """Progress within one long recording (``Detector.score(progress=...)``) on stderr.

    On a terminal one line is rewritten in place (recordings of a minute or more); with
    ``lines=True`` (``--progress``, for logs and pipes) a line is printed at every tenth of
    each stage. Silent otherwise.
    """

    def __init__(self, stream: TextIO, *, enabled: bool | None = None, lines: bool = False,
                 min_total_s: float = 60.0) -> None:
        self.stream = stream
        isatty = getattr(stream, "isatty", lambda: False)()
        self.live = isatty and enabled is not False and not lines
        self.lines = lines
        self.min_total_s = min_total_s
        self.file = ""
        self._step: dict[str, int] = {}
        self._shown = False

    def for_file(self, file: str) -> Any:
        """The ``progress`` callback for ``file`` (None when nothing would be shown)."""
        if not (self.live or self.lines):
            return None
        self.file, self._step, self._shown = file, {}, False
        return self

    def __call__(self, stage: str, done_s: float, total_s: float | None) -> None:
        if total_s is not None and total_s < self.min_total_s and not self.lines:
            return
        frac = min(1.0, done_s / total_s) if total_s else None
        where = f"{_clock(done_s)} of {_clock(total_s)}" if total_s else _clock(done_s)
        text = f"{stage} {100 * frac:3.0f} % ({where})" if frac is not None else f"{stage} {where}"
        if self.lines:
            tenth = int(10 * frac) if frac is not None else int(done_s // 600)
            if self._step.get(stage) == tenth:
                return
            self._step[stage] = tenth
            self.stream.write(f"voiceguard: progress: {self.file}: {text}\n")
        else:
            self.stream.write(f"\r{self.file[-40:]}: {text}".ljust(90)[:90])
            self._shown = True
        self.stream.flush()

    def close(self) -> None:
        """Clear the live line of the last file."""
        if self._shown:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()
            self._shown = False


def judging(sub: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A subcommand that judges recordings: its help ends with the exit-code table."""
    return sub.add_parser(name, epilog=exit_codes.HELP, formatter_class=HelpFormatter, **kwargs)


@dataclass(frozen=True)
class Commands:
    """What ``voiceguard.cli`` hands each part's ``add_parsers``: the hooks to parts above it.

    Attributes
    ----------
    report_folder : callable, optional
        ``report_folder(path)`` -> a writer of one HTML report per recording
        (:class:`voiceguard.report.cli.ReportFolder`); ``None`` when the report part is not
        assembled. Lower parts (``score``, ``verify``, ``provenance``) reach the report part
        only through it, so none of them imports a part above it.
    """

    report_folder: Callable[[str], Any] | None = None


def add_report_option(parser: argparse.ArgumentParser, commands: Commands) -> None:
    """``--report DIR`` (when the report part is assembled)."""
    if commands.report_folder is None:
        return
    parser.add_argument("--report", metavar="DIR", default=None,
                        help="also write a visual HTML report per recording into DIR (NAME.html: verdict, "
                             "timeline of the per-window spoof probability, spectrogram, speech regions)")
    parser.set_defaults(report_folder=commands.report_folder)


def open_reports(args: argparse.Namespace) -> Any:
    """The report writer of ``--report DIR``, or None."""
    folder = getattr(args, "report", None)
    return None if folder is None else args.report_folder(folder)


def say_reports(reports: Any) -> None:
    """The closing line of a ``--report DIR`` run, on stderr."""
    if reports is not None:
        n = len(reports.written)
        print(f"voiceguard: {n} report{'s' if n != 1 else ''} in {reports.folder}", file=sys.stderr)


def no_files(what: str = "audio files") -> int:
    """Say that the inputs held no audio files; returns the exit code."""
    # the list of voiceguard.audio.files, which expanded the folders (a part above this one)
    exts = getattr(sys.modules.get("voiceguard.audio.files"), "AUDIO_EXTENSIONS", ())
    print(f"voiceguard: error: no {what} found in the given folders"
          + (f" (looked for {' '.join(exts)})" if exts else ""), file=sys.stderr)
    return exit_codes.ERROR


def table_width(files: Sequence[str]) -> int:
    """Width of the FILE column: the longest name, so every row stays aligned."""
    return max(4, *(len(f) for f in files))


def fmt(x: float | None, spec: str) -> str:
    """A number for a table cell; ``-`` for None."""
    return "-" if x is None else format(x, spec)


def collecting_warnings(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Run ``fn(*args, **kwargs)``; returns (its result, the text of the voiceguard warnings
    it gave, each once). Other warnings are issued again; exceptions propagate. What
    ``score --format jsonl``, ``POST /v1/score`` and batch rows report as ``warnings``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", VoiceguardWarning)
        res = fn(*args, **kwargs)
    notes: list[str] = []
    for w in caught:
        if issubclass(w.category, VoiceguardWarning):
            if str(w.message) not in notes:  # a file read twice warns twice
                notes.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return res, notes


def run_collecting_warnings(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Run ``fn(*args, **kwargs)``; returns (result or the VoiceguardError it raised, its
    voiceguard warnings as text, each also printed once on stderr)."""

    def guarded() -> Any:
        try:
            return fn(*args, **kwargs)
        except VoiceguardError as exc:
            return exc

    res, notes = collecting_warnings(guarded)
    for n in notes:
        print(f"voiceguard: warning: {n}", file=sys.stderr)
    return res, notes


class ProgressBar:
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
        filled = int(width * done / max(1, total))
        text = f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[-40:]:<40}"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * 90 + "\r")
            self.stream.flush()
