"""Deprecated: moved to :mod:`voiceguard.store`. Importing it from here works but warns."""

import warnings

from voiceguard.store import *  # noqa: F403

_NEW = "voiceguard.store"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
