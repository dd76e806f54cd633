"""Which files are audio, and the audio files a list of files and folders names."""

from __future__ import annotations

import os
from collections.abc import Sequence

from voiceguard.audio.pyav import AV_EXTENSIONS

#: File extensions the commands pick up when given a folder: what libsndfile reads, and the
#: voicemail and phone formats read through PyAV (the ``formats`` extra; without it they
#: are error rows that name the extra, never skipped in silence).
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au") + AV_EXTENSIONS


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files as given; folders replaced by the audio files under them (sorted, recursive)."""
    out: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            found = []
            for root, dirs, files in os.walk(item):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files)
                          if os.path.splitext(f)[1].lower() in AUDIO_EXTENSIONS]
            out.extend(found)
        else:
            out.append(item)
    return out
