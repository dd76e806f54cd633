"""``python -m voiceguard.data``: build training corpora and inspect manifests."""

import sys

from voiceguard.data.build import main

sys.exit(main())
