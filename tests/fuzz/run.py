"""Run one Python fuzz harness under atheris (coverage-guided; libFuzzer underneath).

Usage (``scripts/fuzz`` is the front end)::

    python tests/fuzz/run.py TARGET [libFuzzer flags and corpus folders ...]
    python tests/fuzz/run.py TARGET --replay FILE_OR_FOLDER ...   # no atheris needed

``TARGET`` names ``tests/fuzz/fuzz_<TARGET>.py``. With ``--replay`` each file is run once
through the harness and the first failure is re-raised with its file name (how a crash
input is debugged and how the test-suite replays the corpus).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

#: Python harnesses, in the order scripts/fuzz runs them.
TARGETS = ("audio_file", "audio_array", "audiosocket", "http_upload", "manifest", "voiceprints")

#: Packages whose Python code is instrumented for coverage feedback, beyond voiceguard: the
#: parsers that run on a stranger's bytes before voiceguard sees them (libsndfile, numpy and
#: SQLite are native code atheris cannot see into; libsndfile and SQLite are fuzzed upstream).
INSTRUMENT = {
    "audio_file": ("soundfile",),
    "http_upload": ("soundfile", "python_multipart", "multipart", "starlette.formparsers"),
}


def load(target: str):
    """The harness module of ``target``."""
    if target not in TARGETS:
        raise SystemExit(f"unknown Python fuzz target {target!r}; targets: {', '.join(TARGETS)}")
    return importlib.import_module(f"fuzz_{target}")


def replay(target: str, paths: list[str]) -> int:
    """Run every file under ``paths`` through the harness once; returns the count."""
    mod = load(target)
    files = []
    for p in map(Path, paths):
        files += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for f in files:
        try:
            mod.one_input(f.read_bytes())
        except BaseException as exc:
            raise AssertionError(f"{target}: input {f} fails: {type(exc).__name__}: {exc}") from exc
    return len(files)


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        raise SystemExit(__doc__)
    target = argv[1]
    if len(argv) > 2 and argv[2] == "--replay":
        n = replay(target, argv[3:])
        print(f"{target}: {n} inputs replayed, no failure")
        return 0
    import warnings

    import atheris

    warnings.simplefilter("error")  # as in the test-suite: a warning reaching a user is a finding

    with atheris.instrument_imports(include=["voiceguard", *INSTRUMENT.get(target, ())]):
        mod = load(target)
        warm = getattr(mod, "warm_up", None)
        if warm is not None:
            warm()  # import lazily-loaded voiceguard modules under instrumentation
    atheris.Setup([argv[0], *argv[2:]], mod.one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
