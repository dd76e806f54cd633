"""Deprecated: moved to :mod:`voiceguard.detect.frontends.ct2`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.frontends.ct2 import *  # noqa: F403

warnings.warn("voiceguard.frontends.ct2 moved to voiceguard.detect.frontends.ct2; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
