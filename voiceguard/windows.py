"""Deprecated: moved to :mod:`voiceguard.detect.windows`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.windows import *  # noqa: F403

warnings.warn("voiceguard.windows moved to voiceguard.detect.windows; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
