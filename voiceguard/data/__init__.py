"""Offline, reproducible training data for voiceguard.

One command builds the corpus (see :mod:`voiceguard.data.build`)::

    python -m voiceguard.data build --out work-data/corpus --jobs 2 --seed 0

Modules
-------
manifest
    Clip rows and manifests; readers for CSV/TSV, the shared corpora and ASVspoof
    2019/2021 protocols.
vocoders
    Copy-synthesis spoofs (WORLD, Griffin-Lim mel/linear, LPC, MLSA).
tts
    Offline TTS engines (espeak-ng, flite, festival, piper) and built-in sentences.
channel
    The randomised recording/transmission channel applied to both classes (rooms, EQ,
    noise, G.711, MP3/Opus, level, silence).
splits
    Speaker-disjoint splits, held-out sources, leave-one-system/family-out folds.
synthetic
    A tiny synthetic bona fide corpus for tests.
build
    The corpus builder and the ``python -m voiceguard.data`` command line.

The heavy optional dependencies (librosa, pyworld, pysptk, TTS programs) are imported only
where used; install them with ``scripts/install-data-deps.sh``.
"""

from voiceguard.data.manifest import (
    BONAFIDE,
    SPOOF,
    ClipRow,
    Manifest,
    ManifestError,
    read_asvspoof_protocol,
    read_corpus_manifest,
    read_manifest,
    read_table,
    write_manifest,
)

__all__ = [
    "BONAFIDE",
    "SPOOF",
    "ClipRow",
    "Manifest",
    "ManifestError",
    "read_asvspoof_protocol",
    "read_corpus_manifest",
    "read_manifest",
    "read_table",
    "write_manifest",
]
