"""Speaker enrollment and spoof-aware speaker verification (kept import path).

The implementation lives in :mod:`voiceguard.voiceprint` (fusion, enrollment,
verification, the per-speaker clone check, block-wise long audio); this module re-exports
its public API so that ``from voiceguard.voiceprint import Verifier, enroll`` keeps working.
"""

from voiceguard.voiceprint import *  # noqa: F403
from voiceguard.voiceprint import __all__  # noqa: F401
