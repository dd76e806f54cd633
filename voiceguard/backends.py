"""Deprecated: moved to :mod:`voiceguard.detect.backends`. Importing it from here works but warns."""

import warnings

from voiceguard.detect.backends import *  # noqa: F403
from voiceguard.detect.backends.fusion import FusionBackend  # noqa: F401
from voiceguard.detect.backends.resnet import FeatureBackend  # noqa: F401
from voiceguard.detect.backends.whisper import WhisperBackend, encode_chunk, pool_windows  # noqa: F401
from voiceguard.detect.frontends.lfcc import feature_windows  # noqa: F401

_NEW = "voiceguard.detect.backends"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
