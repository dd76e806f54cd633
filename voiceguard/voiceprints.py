"""Deprecated: moved to :mod:`voiceguard.store`. Importing it from here works but warns."""

import warnings

from voiceguard.store import *  # noqa: F403

warnings.warn("voiceguard.voiceprints moved to voiceguard.store; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
