"""Deprecated: moved to :mod:`voiceguard.detect`. Importing it from here works but warns."""

import warnings

from voiceguard.detect import *  # noqa: F403
from voiceguard.detect.aggregate import aggregate_llr, used_segments, window_speech_fractions  # noqa: F401
from voiceguard.detect.frontends.lfcc import compute_features  # noqa: F401
from voiceguard.detect.model import DEFAULT_CHUNK_S, DEFAULT_SCORING  # noqa: F401

_NEW = "voiceguard.detect"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
