"""Shared fixtures of the voiceguard test-suite.

* ``rng``: a seeded ``numpy.random.Generator`` (seed 1234), fresh for each test.
* ``speech``, ``speech_b``: real LibriSpeech speech (CC BY 4.0, see tests/assets/ATTRIBUTION.md)
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
DATA_DIR = TESTS_DIR / "assets"
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


# --------------------------------------------------------------------------------------
# A tiny labelled corpus (training and the train / evaluate commands)
# --------------------------------------------------------------------------------------


def _speechlike(rng: np.random.Generator, sr: int, dur: float, f0: float) -> np.ndarray:
    """A speech-like utterance: voiced syllables with pauses (synthetic.py when present)."""
    try:
        from voiceguard.data.synthetic import synth_utterance

        return np.asarray(synth_utterance(sr, rng, f0_mean=f0, duration_s=dur), np.float64)
    except ImportError:  # pragma: no cover - the data package is part of the tree
        t = np.arange(int(dur * sr)) / sr
        env = np.clip(np.sin(2 * np.pi * 3.0 * t), 0, None) ** 2
        y = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 20))
        return 0.3 * env * y / np.abs(y).max()


def _random_phase(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A crude 'vocoder': keep the STFT magnitude, draw a random phase, overlap-add."""
    from scipy.signal import istft, stft

    _, _, z = stft(y, nperseg=512, noverlap=384)
    z = np.abs(z) * np.exp(2j * np.pi * rng.random(z.shape))
    _, out = istft(z, nperseg=512, noverlap=384)
    out = out[: len(y)]
    return np.pad(out, (0, len(y) - len(out)))


def _telephone(y: np.ndarray, sr: int) -> np.ndarray:
    from scipy.signal import butter, resample_poly, sosfilt

    z = sosfilt(butter(4, [300, 3400], "bandpass", fs=sr, output="sos"), y)
    return resample_poly(resample_poly(z, 1, 2), 2, 1)[: len(y)]


def _make_toy_corpus(
    out: Path, *, n_speakers: int = 8, utts: int = 4, seed: int = 0, dur: tuple[float, float] = (2.0, 4.5)
) -> Path:
    """Write FLAC files and a manifest.tsv: bona fide speech-like clips and two spoof systems.

    Both classes get the same channel (noise floor, random level, half of them telephone
    band), speakers are split train/val/test (speaker-disjoint). Returns the manifest path.
    """
    import soundfile as sf

    from voiceguard.data.manifest import ClipRow, Manifest, write_manifest

    sr = 16000
    rng = np.random.default_rng(seed)
    rows = []
    splits = ["train"] * (n_speakers - 4) + ["val", "val", "test", "test"]
    for s in range(n_speakers):
        spk = f"spk{s:02d}"
        f0 = rng.uniform(90, 220)
        for u in range(utts):
            y = _speechlike(rng, sr, rng.uniform(*dur), f0)
            variants = [("bonafide", "-", "bonafide", y), ("spoof", "rand-phase", "dsp-vocoder", _random_phase(y, rng))]
            # a second "system" so per-system tables have more than one row
            smooth = np.convolve(_random_phase(y, rng), np.ones(3) / 3, mode="same")
            variants.append(("spoof", "rand-phase-lp", "dsp-vocoder", smooth))
            for label, system, family, x in variants:
                tel = rng.random() < 0.5
                x = _telephone(x, sr) if tel else x
                x = x + 10 ** (-60 / 20) * rng.standard_normal(len(x))
                x = x / (np.abs(x).max() + 1e-9) * 10 ** (rng.uniform(-12, -3) / 20)
                rel = f"{label}/{spk}_{u}_{system}.flac"
                (out / label).mkdir(parents=True, exist_ok=True)
                sf.write(out / rel, x.astype(np.float32), sr, subtype="PCM_16")
                rows.append(ClipRow(path=str(out / rel), label=label, speaker=spk, source="toy",
                                    system=system, family=family,
                                    condition="tel-8k-pcm" if tel else "wideband",
                                    split=splits[s], duration_s=len(x) / sr))
    path = out / "manifest.tsv"
    write_manifest(Manifest(rows, out), path)
    return path


@pytest.fixture(scope="session")
def make_toy_corpus():
    """``make_toy_corpus(out, n_speakers=8, utts=4, seed=0)`` -> manifest path (see the function)."""
    return _make_toy_corpus


def write_block_test_model(folder: Path) -> Path:
    """A block-geometry config reading the shipped default head's weights (2 s blocks,
    windows of 2): TEST ONLY, its scores differ from the shipped model's and are not
    validated. Returns the config's path (``benchmarks/block_test_model.py`` writes the same)."""
    import json
    import shutil
    from importlib import resources

    models = resources.files("voiceguard.models")
    cfg = json.loads((models / "detector.json").read_text(encoding="utf-8"))
    cfg["name"] = "whisper-base-blocks-test"
    cfg["frontend"] = {**cfg["frontend"], "block_s": 2.0}
    cfg["head"] = {"kind": "pooled", **cfg["head"]}
    cfg["scoring"] = {k: v for k, v in cfg["scoring"].items() if k != "chunk_s"} | {"blocks_per_window": 2}
    cfg.pop("training", None)
    folder.mkdir(parents=True, exist_ok=True)
    with resources.as_file(models / cfg["weights"]) as w:
        shutil.copy(w, folder / cfg["weights"])
    (folder / "detector.json").write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    return folder / "detector.json"


@pytest.fixture(scope="session")
def block_test_model(tmp_path_factory) -> Path:
    """Path of :func:`write_block_test_model`'s config (one per test session)."""
    return write_block_test_model(tmp_path_factory.mktemp("block_model"))
