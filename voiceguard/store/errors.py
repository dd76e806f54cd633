"""Errors of the voiceprint store."""

from __future__ import annotations

from voiceguard.errors import VoiceguardError


class VoiceprintStoreError(VoiceguardError, RuntimeError):
    """The voiceprint database cannot be used (corrupt, foreign, locked, wrong key...)."""


class UnknownSpeakerError(VoiceguardError, LookupError):
    """No voiceprint is enrolled under that name.

    The message (for the command line) names the database and the enrolled speakers; a
    service answering strangers uses :attr:`name` only.

    Attributes
    ----------
    name : str or None
        The name that was asked for.
    """

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name

    def __str__(self) -> str:  # LookupError would quote the message like a KeyError
        return str(self.args[0]) if self.args else ""


class SpeakerExistsError(VoiceguardError, ValueError):
    """A speaker of that name is already enrolled (use replace or add).

    The message names no command-line flag (it reaches HTTP clients too); front ends add
    their own way of saying replace/add.

    Attributes
    ----------
    name : str or None
    reason : str
        ``'exists'`` (enroll with replace or add) or ``'encoder'`` (add refused: the stored
        clips come from another encoder; only replace works).
    """

    def __init__(self, message: str, name: str | None = None, reason: str = "exists") -> None:
        super().__init__(message)
        self.name = name
        self.reason = reason


class ExportFormatError(VoiceguardError, ValueError):
    """A voiceprint export file that cannot be imported (not JSON, wrong format, bad values)."""
