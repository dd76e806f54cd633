"""Spectral features for spoofing countermeasures: LFCC, CQCC and their spectrograms.

Every function takes a mono signal ``y`` and its sample rate ``sr``, validates both, and
calls the C core (``csrc/``) with the GIL released, so several threads extract features in
parallel. Results are float32 arrays of shape ``[n_features, n_frames]``. The exact
definitions, formula by formula, are in ``docs/features.md``.

Presets reproduce published front ends; keyword overrides build other variants::

    >>> lfcc(y, sr=16000)                               # ASVspoof 2019 LFCC, 60 x T
    >>> lfcc(y, sr=16000, preset="asvspoof2021")        # ASVspoof 2021 LFCC, 60 x T
    >>> cqcc(y, sr=16000)                               # Todisco et al. CQCC, 60 x T
    >>> lfcc(y, sr=16000, n_filters=40, n_coeffs=30, deltas=False)
"""

from voiceguard.audio.convert import as_float_audio
from voiceguard.features.extract import cqcc, cqt, lfcc, linear_spectrogram
from voiceguard.features.mel import mel_filterbank
from voiceguard.features.presets import CQCC_PRESETS, LFCC_PRESETS, resolve_params

__all__ = [
    "LFCC_PRESETS",
    "CQCC_PRESETS",
    "lfcc",
    "linear_spectrogram",
    "cqt",
    "cqcc",
    "resolve_params",
    "as_float_audio",
    "mel_filterbank",
]
