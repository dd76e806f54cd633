"""Deprecated: moved to :mod:`voiceguard.synthesis.vocoders`. Importing it from here works but warns."""

import warnings

from voiceguard.synthesis.vocoders import *  # noqa: F403

_NEW = "voiceguard.synthesis.vocoders"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
