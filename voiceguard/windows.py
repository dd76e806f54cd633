"""Deprecated: moved to :mod:`voiceguard.detect.windows`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.windows import *  # noqa: F403

_NEW = "voiceguard.detect.windows"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
