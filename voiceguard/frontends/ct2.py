"""Deprecated: moved to :mod:`voiceguard.detect.frontends.ct2`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.frontends.ct2 import *  # noqa: F403

_NEW = "voiceguard.detect.frontends.ct2"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
