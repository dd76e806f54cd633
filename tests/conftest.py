"""Shared fixtures of the voiceguard test-suite.

* ``rng``: a seeded ``numpy.random.Generator`` (seed 1234), fresh for each test.
* ``speech``, ``speech_b``: real LibriSpeech speech (CC BY 4.0, see tests/data/ATTRIBUTION.md)
  as float64 in [-1, 1) at 16 kHz; ``speech_int16`` is the first clip's raw 16-bit samples.
* ``noise``: 3 s of seeded white Gaussian noise at 16 kHz (float64, std 0.1).
* ``features``: the ``voiceguard.features`` module, imported lazily so that the suite still
  collects while the extension is not built (tests using it then error, they do not skip).
* ``ref``: the numpy reference, ``tests/reference/features_ref.py``.

Warnings are errors: the project's pytest configuration sets ``filterwarnings = ["error"]``;
until that configuration exists, :func:`pytest_configure` below installs the same filter.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

TESTS_DIR = Path(__file__).resolve().parent
DATA_DIR = TESTS_DIR / "data"
REFERENCE_DIR = TESTS_DIR / "reference"

# The reference is a plain module, not part of the package: make it importable as
# ``features_ref`` whatever pytest's import mode is.
if str(REFERENCE_DIR) not in sys.path:
    sys.path.insert(0, str(REFERENCE_DIR))

SPEECH_A = DATA_DIR / "librispeech_118-121721-0000_3s.flac"
SPEECH_B = DATA_DIR / "librispeech_1034-121119-0000_2.5s.flac"
SR = 16000


def pytest_configure(config):
    # Warnings are errors.  The project config (pyproject.toml) is meant to carry
    # ``filterwarnings = ["error"]``; if it carries no filter at all yet, install it here.
    # (Only when empty, so that explicit ``ignore`` entries added there keep precedence.)
    if not config.getini("filterwarnings"):
        config.addinivalue_line("filterwarnings", "error")


def _read_int16(path: Path) -> np.ndarray:
    import soundfile as sf

    y, sr = sf.read(str(path), dtype="int16", always_2d=False)
    assert sr == SR, f"{path.name}: expected {SR} Hz, found {sr}"
    assert y.ndim == 1
    return y


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def speech_int16() -> np.ndarray:
    """First speech clip (3.0 s), raw int16 samples (read-only)."""
    y = _read_int16(SPEECH_A)
    y.setflags(write=False)
    return y


@pytest.fixture(scope="session")
def speech(speech_int16) -> np.ndarray:
    """First speech clip (3.0 s, 16 kHz) as float64 = int16 / 32768 (read-only)."""
    y = speech_int16.astype(np.float64) / 32768.0
    y.setflags(write=False)
    return y


@pytest.fixture(scope="session")
def speech_b() -> np.ndarray:
    """Second speech clip (2.5 s, 16 kHz, another speaker) as float64 (read-only)."""
    y = _read_int16(SPEECH_B).astype(np.float64) / 32768.0
    y.setflags(write=False)
    return y


@pytest.fixture(scope="session")
def noise() -> np.ndarray:
    """3 s of white Gaussian noise (std 0.1) at 16 kHz, float64, seeded (read-only)."""
    y = 0.1 * np.random.default_rng(4321).standard_normal(3 * SR)
    y.setflags(write=False)
    return y


@pytest.fixture(scope="session")
def features():
    """``voiceguard.features``, imported lazily: collection works without the extension,
    and every test that needs it errors (not skips) while it cannot be imported."""
    from voiceguard import features as mod

    return mod


@pytest.fixture(scope="session")
def ref():
    import features_ref

    return features_ref


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests: the small networks gain nothing from more,
    and on a loaded machine spinning OpenMP workers slow them down by orders of magnitude.
    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
