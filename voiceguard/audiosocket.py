"""Deprecated: moved to :mod:`voiceguard.service.audiosocket`. Importing it from here works but warns."""

import warnings

from voiceguard.service.audiosocket import *  # noqa: F403

warnings.warn("voiceguard.audiosocket moved to voiceguard.service.audiosocket; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
