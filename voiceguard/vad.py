"""Deprecated: moved to :mod:`voiceguard.audio.vad`."""

import warnings

from voiceguard.audio.vad import *  # noqa: F403
from voiceguard.audio.vad import __all__  # noqa: F401

warnings.warn("voiceguard.vad moved to voiceguard.audio.vad; the old path will be removed",
              DeprecationWarning, stacklevel=2)
