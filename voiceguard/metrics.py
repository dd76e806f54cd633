"""Deprecated: moved to :mod:`voiceguard.evaluation.metrics`. Importing it from here works but warns."""

import warnings

from voiceguard.evaluation.metrics import *  # noqa: F403

warnings.warn("voiceguard.metrics moved to voiceguard.evaluation.metrics; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
