"""Deprecated: moved to :mod:`voiceguard.synthesis.vocoders`. Importing it from here works but warns."""

import warnings

from voiceguard.synthesis.vocoders import *  # noqa: F403

warnings.warn("voiceguard.data.vocoders moved to voiceguard.synthesis.vocoders; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
