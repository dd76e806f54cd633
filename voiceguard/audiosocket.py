"""Deprecated: moved to :mod:`voiceguard.service.audiosocket`. Importing it from here works but warns.

``python -m voiceguard.audiosocket HOST:PORT clip.wav`` still runs the AudioSocket client
(now ``python -m voiceguard.service.audiosocket``), saying where it moved.
"""

import sys
import warnings

from voiceguard.service.audiosocket import *  # noqa: F403
from voiceguard.service.audiosocket import _main

_NEW = "voiceguard.service.audiosocket"

if __name__ == "__main__":
    print(f"voiceguard: note: the AudioSocket client moved: python -m {_NEW} (this path will be removed)",
          file=sys.stderr)
    raise SystemExit(_main())

warnings.warn(f"{__name__} moved to {_NEW}; import it from there (this path will be removed)",
              DeprecationWarning, stacklevel=2)
