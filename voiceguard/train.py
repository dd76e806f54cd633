"""Deprecated: moved to :mod:`voiceguard.training.resnet`. Importing it from here works but warns."""

import warnings

from voiceguard.training.resnet import *  # noqa: F403

_NEW = "voiceguard.training.resnet"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
