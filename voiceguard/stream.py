"""Deprecated: moved to :mod:`voiceguard.detect.stream`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.stream import *  # noqa: F403

warnings.warn("voiceguard.stream moved to voiceguard.detect.stream; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
