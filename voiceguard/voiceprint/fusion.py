"""Deprecated: moved to :mod:`voiceguard.voiceprint.decision`. Importing it from here works but warns."""

import warnings

from voiceguard.voiceprint.decision import *  # noqa: F403

warnings.warn("voiceguard.voiceprint.fusion moved to voiceguard.voiceprint.decision; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
