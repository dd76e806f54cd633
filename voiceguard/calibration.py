"""Deprecated: moved to :mod:`voiceguard.detect.calibration`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.calibration import *  # noqa: F403

warnings.warn("voiceguard.calibration moved to voiceguard.detect.calibration; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
