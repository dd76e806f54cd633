"""Old module paths keep working, each with a DeprecationWarning that names the new one;
the public paths (voiceguard.score, ScoreResult, VoiceguardError, features, audio,
voiceguard.verify) work without a warning."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings

import pytest

#: old path -> (new path, a name the old path still gives)
MOVED = {
    "voiceguard.scoring": ("voiceguard.detect", "Detector"),
    "voiceguard.backends": ("voiceguard.detect.backends", "load_backend"),
    "voiceguard.windows": ("voiceguard.detect.windows", "WindowGrid"),
    "voiceguard.calibration": ("voiceguard.detect.calibration", "Calibration"),
    "voiceguard.nets": ("voiceguard.detect.nets", "ResNet1D"),
    "voiceguard.stream": ("voiceguard.detect.stream", "StreamScorer"),
    "voiceguard.frontends": ("voiceguard.detect.frontends", None),
    "voiceguard.frontends.whisper": ("voiceguard.detect.frontends.whisper", "load_encoder"),
    "voiceguard.frontends.ct2": ("voiceguard.detect.frontends.ct2", "read_variables"),
    "voiceguard.vad": ("voiceguard.audio.vad", "speech_activity"),
    "voiceguard.speaker": ("voiceguard.voiceprint.encoder", "GE2EEncoder"),
    "voiceguard.voiceprints": ("voiceguard.store", "VoiceprintStore"),
    "voiceguard.audiosocket": ("voiceguard.service.audiosocket", "AudioSocketClient"),
    "voiceguard.train": ("voiceguard.training.resnet", "train"),
    "voiceguard.metrics": ("voiceguard.evaluation.metrics", "eer"),
    "voiceguard.data.vocoders": ("voiceguard.synthesis.vocoders", "VOCODERS"),
    "voiceguard.voiceprint.fusion": ("voiceguard.voiceprint.decision", "fuse"),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_warns_and_still_works(old: str) -> None:
    new, name = MOVED[old]
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        mod = importlib.import_module(old)
    if name is not None:
        assert getattr(mod, name) is getattr(importlib.import_module(new), name)


def test_old_names_of_scoring_and_speaker() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sys.modules.pop("voiceguard.scoring", None)
        sys.modules.pop("voiceguard.speaker", None)
        from voiceguard.scoring import DEFAULT_MODEL, ScoreResult, compute_features, score, shared_detector  # noqa: F401
        from voiceguard.speaker import (  # noqa: F401
            TELEPHONE,
            cosine_similarity,
            default_encoder,
            detect_channel,
            mel_filterbank,
        )


def test_public_paths_need_no_deprecated_module() -> None:
    code = """
import warnings
warnings.simplefilter("error", DeprecationWarning)
import voiceguard
from voiceguard import ScoreResult, VoiceguardError, score
from voiceguard.features import lfcc, cqcc, cqt, linear_spectrogram, as_float_audio
from voiceguard.audio import load_mono, iter_blocks, open_stream, resample
from voiceguard.verify import enroll, verify, Verifier
from voiceguard.detect import Detector, StreamScorer
from voiceguard.cli import main
main(["--version"])
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("voiceguard ")


@pytest.mark.parametrize("module", ["voiceguard", "voiceguard.data", "voiceguard.training.embeddings",
                                    "voiceguard.training.whisper_head", "voiceguard.training.detector_folds",
                                    "voiceguard.training.shortcuts"])
def test_python_dash_m_entry_points_documented_in_readme_and_recipe(module: str) -> None:
    p = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-m", module, "--help"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "usage" in p.stdout.lower()
