"""Deprecated: moved to :mod:`voiceguard.service.audiosocket`. Importing it from here works but warns."""

import warnings

from voiceguard.service.audiosocket import *  # noqa: F403

_NEW = "voiceguard.service.audiosocket"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
