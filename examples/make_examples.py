"""Regenerate the bundled example clips (needs ../shared and the data extras; not run by tests).

    python examples/make_examples.py

- bonafide_librispeech_1898.flac: 6 s of LibriSpeech 1898-145702-0000 (speaker 1898, a
  held-out test speaker of the shipped model), CC BY 4.0.
- spoof_world_copy.flac, spoof_griffinlim_copy.flac: copy-synthesis of that clip with the
  project's WORLD and Griffin-Lim (mel) vocoders (voiceguard.synthesis.vocoders), fixed seeds.
- spoof_espeak.flac: a sentence spoken by eSpeak NG (voiceguard.data.tts).
"""

from pathlib import Path

import numpy as np
import soundfile as sf

from voiceguard.audio import load_mono
from voiceguard.data import tts, vocoders

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "shared/data/speech/resemblyzer_librispeech/libri_1898/1898-145702-0000.flac"
SR = 16000


def main() -> None:
    y, sr = load_mono(SOURCE, sr=SR)
    y = y[int(0.3 * SR): int(6.3 * SR)]
    sf.write(HERE / "bonafide_librispeech_1898.flac", y, SR, subtype="PCM_16")
    world = vocoders.world_vocoder(y, SR, np.random.default_rng(1))
    sf.write(HERE / "spoof_world_copy.flac", world, SR, subtype="PCM_16")
    gl = vocoders.griffin_lim_mel(y, SR, np.random.default_rng(2))
    sf.write(HERE / "spoof_griffinlim_copy.flac", gl, SR, subtype="PCM_16")
    engine = tts.EspeakEngine()
    voice = engine.voices()[0]
    speech, tts_sr, _ = engine.synthesize(
        "Hello, this is your bank calling about a recent payment on your account.",
        voice, np.random.default_rng(3))
    from voiceguard.audio import resample

    sf.write(HERE / "spoof_espeak.flac", resample(speech, tts_sr, SR), SR, subtype="PCM_16")


if __name__ == "__main__":
    main()
