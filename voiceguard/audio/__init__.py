"""Audio in: decoding files, one resampler, mixing down, G.711, voice activity.

Everything voiceguard reads goes through this part, whatever reads it (the detector, the
voiceprints, provenance, the service, the training corpus):

==================  ====================================================================
module              what
==================  ====================================================================
``decode``          files: checks, decoding, block streams (bounded memory), ``load_mono``
``resample``        the one polyphase resampler (whole arrays and streams, bit-identical)
``convert``         arrays: validated float samples, channels mixed down
``files``           audio file extensions, expanding folders into audio files
``g711``            mu-law / A-law encode and decode
``vad``             energy-based speech activity
==================  ====================================================================
"""

from voiceguard.audio.convert import as_float_audio, to_mono, to_mono_array
from voiceguard.audio.decode import (
    MAX_SR,
    AudioBlock,
    AudioStream,
    PathLike,
    check_file,
    iter_blocks,
    load,
    load_mono,
    open_stream,
    read_input,
)
from voiceguard.audio.files import AUDIO_EXTENSIONS, expand_inputs
from voiceguard.audio.resample import StreamResampler, resample, resampled_blocks

__all__ = [
    "AUDIO_EXTENSIONS",
    "MAX_SR",
    "AudioBlock",
    "AudioStream",
    "PathLike",
    "StreamResampler",
    "as_float_audio",
    "check_file",
    "expand_inputs",
    "iter_blocks",
    "load",
    "load_mono",
    "open_stream",
    "read_input",
    "resample",
    "resampled_blocks",
    "to_mono",
    "to_mono_array",
]
