"""The spoof detector: from a recording to a calibrated verdict.

==================  ====================================================================
module              what
==================  ====================================================================
``detector``        :class:`Detector` (the pipeline), :func:`score`, :func:`shared_detector`
``result``          :class:`ScoreResult`, :class:`Segment`, the verdicts
``model``           model configs (shipped names, files, folders) -> :class:`LoadedModel`
``backends/``       one module per model ``kind`` (resnet, whisper, fusion) and the registry
``frontends/``      what backends read: the Whisper encoder (and its CTranslate2 weights), LFCC
``windows``         analysis windows and their grouping into chunks (one model pass each)
``aggregate``       window scores -> the recording's LLR
``calibration``     raw score -> LLR -> ``spoof_probability``
``nets``            the networks (LFCC-ResNet, the Whisper head)
``stream``          :class:`StreamScorer`: live audio, running and final verdicts
``cli``             ``voiceguard score`` and the detector options every command shares
==================  ====================================================================

``import voiceguard.detect`` stays light: torch and the encoder load with the first model.
"""

from voiceguard.detect.detector import Detector, score, shared_detector
from voiceguard.detect.model import DEFAULT_MODEL, SHIPPED_MODELS, LoadedModel, load_model
from voiceguard.detect.result import BONAFIDE, NO_SPEECH, SPOOF, ScoreResult, Segment

__all__ = [
    "BONAFIDE",
    "DEFAULT_MODEL",
    "NO_SPEECH",
    "SHIPPED_MODELS",
    "SPOOF",
    "Detector",
    "LoadedModel",
    "ScoreResult",
    "Segment",
    "StreamScorer",
    "load_model",
    "score",
    "shared_detector",
]


def __getattr__(name: str):  # StreamScorer on first use (it is not needed to score files)
    if name == "StreamScorer":
        from voiceguard.detect.stream import StreamScorer

        return StreamScorer
    raise AttributeError(f"module 'voiceguard.detect' has no attribute {name!r}")
