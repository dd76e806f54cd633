"""Measuring detectors: error rates, DET curves and the ``voiceguard evaluate`` report.

Not part of the runtime: it imports the detector, never the reverse.
"""

from voiceguard.evaluation.run import VARIANTS, band_of, evaluate, loudness_normalise

__all__ = ["VARIANTS", "band_of", "evaluate", "loudness_normalise"]
