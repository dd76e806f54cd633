"""What every Python fuzz harness shares (see docs/reliability.md, "Fuzzing").

A harness is a module ``tests/fuzz/fuzz_<target>.py`` defining ``one_input(data: bytes)``.
The rule it checks: whatever the bytes, the code under test either returns a result that
satisfies the harness's invariants or raises a :class:`voiceguard.errors.VoiceguardError`
(the family whose messages a user sees). Any other exception, a failed invariant
(``AssertionError``), a crash, a hang or runaway memory is a finding.

``one_input`` never needs atheris: the test-suite replays the committed seed corpus and
regression inputs through it directly (tests/reliability/test_fuzz.py); ``tests/fuzz/run.py`` drives
it with atheris (coverage-guided, libFuzzer underneath).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from voiceguard.errors import VoiceguardError, VoiceguardWarning

FUZZ_DIR = Path(__file__).resolve().parent
CORPUS_DIR = FUZZ_DIR / "corpus"
REGRESSIONS_DIR = FUZZ_DIR / "regressions"

# one scratch folder per process (tmpfs when there is one): harnesses that need a file
# write the input there instead of creating a new temporary file per execution
_SCRATCH = Path(tempfile.mkdtemp(prefix="vg-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))


@contextlib.contextmanager
def expected_errors() -> Iterator[None]:
    """Swallow the errors a user may see (VoiceguardError) and voiceguard's deliberate
    warnings (VoiceguardWarning: a truncated file...); let everything else through, other
    warnings included (run.py and the test-suite make them errors)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=VoiceguardWarning)
        try:
            yield
        except VoiceguardError as exc:
            # a user-facing error needs a message that says something
            assert str(exc).strip(), f"{type(exc).__name__} without a message"


def scratch_file(name: str, data: bytes) -> Path:
    """Write ``data`` to ``name`` in this process's scratch folder and return its path."""
    path = _SCRATCH / name
    path.write_bytes(data)
    return path


def check_audio(y: np.ndarray, *, ndim: int = 1) -> None:
    """Invariants of decoded, mixed-down audio: a non-empty float64 array of the expected rank
    with finite samples (the range is the caller's to check: float files may exceed [-1, 1])."""
    assert isinstance(y, np.ndarray), type(y)
    assert y.dtype == np.float64, y.dtype
    assert y.ndim == ndim, y.shape
    assert y.size > 0
    assert np.isfinite(y).all(), "non-finite samples returned"


class Reader:
    """Structured values drawn from fuzz bytes (a tiny FuzzedDataProvider without atheris)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def left(self) -> int:
        return len(self.data) - self.pos

    def bytes(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += len(out)
        return out

    def rest(self) -> bytes:
        return self.bytes(self.left())

    def int(self, lo: int, hi: int) -> int:
        """Uniform-ish integer in [lo, hi] from up to 4 bytes (lo when exhausted)."""
        span = hi - lo
        if span <= 0:
            return lo
        nbytes = min(4, (span.bit_length() + 7) // 8)
        raw = int.from_bytes(self.bytes(nbytes).ljust(nbytes, b"\0"), "little")
        return lo + raw % (span + 1)

    def pick(self, options):
        return options[self.int(0, len(options) - 1)]

    def bool(self) -> bool:
        return bool(self.int(0, 1))

    def text(self, max_len: int) -> str:
        n = self.int(0, max_len)
        return self.bytes(n).decode("utf-8", "replace")
