"""Deprecated: moved to :mod:`voiceguard.evaluation.metrics`. Importing it from here works but warns."""

import warnings

from voiceguard.evaluation.metrics import *  # noqa: F403

_NEW = "voiceguard.evaluation.metrics"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
