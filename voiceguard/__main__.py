"""``python -m voiceguard`` is the ``voiceguard`` command."""

import sys

from voiceguard.cli import main

sys.exit(main())
