"""Deprecated: moved to :mod:`voiceguard.detect.frontends.whisper`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.frontends.whisper import *  # noqa: F403

warnings.warn("voiceguard.frontends.whisper moved to voiceguard.detect.frontends.whisper; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
