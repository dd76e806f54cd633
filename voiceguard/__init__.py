"""voiceguard: offline detection of cloned and synthetic speech.

Fast LFCC/CQCC features (:mod:`voiceguard.features`), a calibrated spoof detector
(:func:`score`, :class:`voiceguard.detect.Detector`) and speaker voiceprints. The
command-line tool is ``voiceguard`` (see ``voiceguard --help``).

``import voiceguard`` stays light: the detector (and torch) load on first use of
:func:`score`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from voiceguard._version import __version__
from voiceguard.errors import VoiceguardError

if TYPE_CHECKING:  # pragma: no cover
    from voiceguard.detect.result import ScoreResult


__all__ = ["VoiceguardError", "__version__", "score", "ScoreResult"]


def score(audio: Any, sr: int | None = None, **kwargs: Any) -> ScoreResult:
    """Score one recording for synthetic or cloned speech with the shipped detector.

    Parameters
    ----------
    audio : str, os.PathLike or np.ndarray
        A file (WAV, FLAC, OGG, MP3...; any rate, any channel count) or samples
        (``[n]``, ``[n, channels]`` or ``[channels, n]``).
    sr : int, optional
        Sample rate of an array (required for arrays).
    **kwargs
        ``model``, ``prior``, ``threshold``: see :func:`voiceguard.detect.score`.

    Returns
    -------
    voiceguard.detect.ScoreResult
        ``verdict`` ('bonafide', 'spoof' or 'no_speech'), calibrated ``spoof_probability``
        and ``llr`` (natural log, bona fide over spoof), ``duration_s`` and per-window
        ``segments``.
    """
    from voiceguard.detect.detector import score as _score

    return _score(audio, sr, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "ScoreResult":
        from voiceguard.detect.result import ScoreResult

        return ScoreResult
    raise AttributeError(f"module 'voiceguard' has no attribute {name!r}")
