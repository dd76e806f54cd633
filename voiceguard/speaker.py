"""Deprecated: moved to :mod:`voiceguard.voiceprint.encoder`. Importing it from here works but warns."""

import warnings

from voiceguard.features.mel import mel_filterbank  # noqa: F401
from voiceguard.voiceprint.channel import *  # noqa: F403
from voiceguard.voiceprint.embedding import *  # noqa: F403
from voiceguard.voiceprint.encoder import *  # noqa: F403

_NEW = "voiceguard.voiceprint.encoder"
warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
