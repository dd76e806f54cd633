"""Deprecated: moved to :mod:`voiceguard.detect.frontends`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.frontends import *  # noqa: F403

warnings.warn("voiceguard.frontends moved to voiceguard.detect.frontends; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
