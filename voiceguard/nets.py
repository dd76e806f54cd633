"""Deprecated: moved to :mod:`voiceguard.detect.nets`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.nets import *  # noqa: F403

_NEW = "voiceguard.detect.nets"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
