"""voiceguard: offline detection of cloned and synthetic speech.

Fast LFCC/CQCC features (:mod:`voiceguard.features`), a calibrated spoof detector and
speaker voiceprints. The command-line tool is ``voiceguard`` (see ``voiceguard --help``).
"""

from voiceguard.errors import VoiceguardError

__version__ = "0.1.0"

__all__ = ["VoiceguardError", "__version__"]
