"""Deprecated: moved to :mod:`voiceguard.training.resnet`. Importing it from here works but warns."""

import warnings

from voiceguard.training.resnet import *  # noqa: F403

warnings.warn("voiceguard.train moved to voiceguard.training.resnet; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
