"""Deprecated: moved to :mod:`voiceguard.voiceprint.decision`. Importing it from here works but warns."""

import warnings

from voiceguard.voiceprint.decision import *  # noqa: F403

_NEW = "voiceguard.voiceprint.decision"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
