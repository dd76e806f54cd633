"""The voiceguard exception family.

Every error that voiceguard raises on purpose is a :class:`VoiceguardError`. Errors about
bad arguments also derive from :class:`ValueError`, so code that already catches
``ValueError`` keeps working.
"""

from __future__ import annotations


class VoiceguardError(Exception):
    """Base class of every error voiceguard raises on purpose."""


class InvalidAudioError(VoiceguardError, ValueError):
    """The audio array cannot be analysed as given (shape, dtype, values)."""


class InputTooShortError(InvalidAudioError):
    """The signal is shorter than the analysis needs (one frame, one window...)."""


class NonFiniteAudioError(InvalidAudioError):
    """The signal contains NaN or infinite samples."""


class InvalidParameterError(VoiceguardError, ValueError):
    """A parameter (preset name, size, frequency, sample rate...) is out of range."""


class SampleRateError(InvalidParameterError):
    """The sample rate is invalid or inconsistent with the requested frequencies."""


class AudioReadError(VoiceguardError, OSError):
    """An audio file could not be read or decoded."""


class FeatureComputationError(VoiceguardError, RuntimeError):
    """The C feature core reported a failure that input validation did not anticipate."""


class ModelError(VoiceguardError, RuntimeError):
    """A model file is missing, corrupt or incompatible."""


class MissingExtraError(VoiceguardError):
    """A feature needs an optional dependency that is not installed; the message names the
    extra to install (:func:`voiceguard._version.install_hint`)."""


class VoiceguardWarning(UserWarning):
    """Base class of the warnings voiceguard issues (the result is usable, with a caveat)."""


class TruncatedAudioWarning(VoiceguardWarning):
    """An audio file holds less audio than its header announces; what is present is used."""


__all__ = [
    "VoiceguardError",
    "VoiceguardWarning",
    "TruncatedAudioWarning",
    "InvalidAudioError",
    "InputTooShortError",
    "NonFiniteAudioError",
    "InvalidParameterError",
    "SampleRateError",
    "AudioReadError",
    "FeatureComputationError",
    "ModelError",
    "MissingExtraError",
]
