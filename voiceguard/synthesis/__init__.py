"""Speech synthesis voiceguard makes itself: DSP copy-synthesis vocoders.

The per-speaker clone check (:mod:`voiceguard.voiceprint.clone_check`) copies enrollment
clips through them at run time, and the training-data builder (:mod:`voiceguard.data`)
makes its copy-synthesis spoofs with the same functions.
"""

from voiceguard.synthesis.vocoders import VOCODERS, VocoderFailedError, VocoderUnavailableError, available_vocoders

__all__ = ["VOCODERS", "VocoderFailedError", "VocoderUnavailableError", "available_vocoders"]
