"""Deprecated: moved to :mod:`voiceguard.detect.nets`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.nets import *  # noqa: F403

warnings.warn("voiceguard.nets moved to voiceguard.detect.nets; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
