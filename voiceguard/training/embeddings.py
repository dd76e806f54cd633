"""Pooled Whisper-encoder embeddings of every window of a corpus, computed once and cached.

Training and choosing a head on a frozen encoder needs the encoder's output for every
training window, many times over (heads, layers, held-out folds). This module computes
them once, with exactly the windows and chunks that scoring uses
(:class:`voiceguard.detect.windows.WindowGrid`, :class:`voiceguard.detect.backends.whisper.WhisperBackend`):
for each clip of a manifest, each window's mean and standard deviation over its frames,
for **every** layer ``0..L`` of the encoder (``0`` = stem output), stored as float16.

Output folder::

    index.tsv        one row per window: clip, window, start, stop (samples), speech fraction
    pooled.npy       [n_windows, L + 1, 2 * d_model] float16
    clips.tsv        the manifest rows, in clip order
    meta.json        encoder, geometry, timing

The work is split into parts of ``part_size`` clips run in ``jobs`` processes (one torch
thread each); finished parts are kept, so an interrupted run resumes.

``python -m voiceguard.training.embeddings MANIFEST OUT [--model base] [--jobs 2]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = ["extract", "load", "EmbeddingTable"]

WINDOW_S, HOP_S, CHUNK_S = 4.0, 2.0, 10.0


def _part_worker(args: tuple[str, list[str], str, str, dict]) -> str:
    import torch

    from voiceguard.audio import load_mono
    from voiceguard.audio.vad import speech_activity
    from voiceguard.detect.aggregate import window_speech_fractions
    from voiceguard.detect.backends.whisper import encode_chunk, pool_windows
    from voiceguard.detect.frontends import whisper
    from voiceguard.detect.windows import WindowGrid

    part_path, paths, model, max_layer, geom = args
    if os.path.exists(part_path):
        return part_path
    torch.set_num_threads(1)
    enc = whisper.load_encoder(model, n_layers=max_layer)
    layers = list(range(enc.n_layers + 1))
    grid = WindowGrid.from_seconds(16000, geom["window_s"], geom["hop_s"], geom["chunk_s"])
    rows, feats = [], []
    for ci, path in enumerate(paths):
        try:
            y, _ = load_mono(path, sr=16000)
        except VoiceguardError:
            continue
        act = speech_activity(y, 16000)
        for ch in grid.chunks(y):
            pooled = pool_windows(encode_chunk(enc, ch.audio, layers), ch.windows)
            absolute = [(ch.start + a, ch.start + b) for a, b in ch.windows]
            fr = window_speech_fractions(act.mask, absolute, 16000)
            for wi in range(len(ch.windows)):
                feats.append(pooled[wi].reshape(len(layers), -1).astype(np.float16))
                rows.append((ci, ch.index + wi, absolute[wi][0], absolute[wi][1], float(fr[wi])))
    arr = np.stack(feats) if feats else np.zeros((0, len(layers), 2 * enc.d_model), np.float16)
    tmp = part_path + ".tmp.npz"
    np.savez(tmp, pooled=arr, rows=np.asarray(rows, np.float64).reshape(-1, 5))
    os.replace(tmp, part_path)
    return part_path


def extract(
    manifest: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model: str = "base",
    jobs: int = 2,
    part_size: int = 200,
    window_s: float = WINDOW_S,
    hop_s: float = HOP_S,
    chunk_s: float = CHUNK_S,
    max_layer: int | None = None,
    log: Any = print,
) -> Path:
    """Compute (or resume) the pooled embeddings of every window of ``manifest``.

    Parameters
    ----------
    manifest : path
        Any manifest :func:`voiceguard.data.read_manifest` reads.
    out : path
        Output folder.
    model : str
        Whisper size (``'base'`` or ``'tiny.en'``).
    jobs : int
        Worker processes (one torch thread each).
    part_size : int
        Clips per resumable part.
    window_s, hop_s, chunk_s : float
        Scoring geometry (must match the detector that will use the head).
    max_layer : int, optional
        Deepest layer kept (default: all); deeper blocks are not run.

    Returns
    -------
    Path
        The output folder.
    """
    from voiceguard.data import read_manifest
    from voiceguard.detect.frontends.whisper import WHISPER_MODELS

    if model not in WHISPER_MODELS:
        raise InvalidParameterError(f"unknown Whisper model {model!r}; expected one of {sorted(WHISPER_MODELS)}")
    out = Path(out)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    m = read_manifest(manifest)
    paths = [str(m.resolve(r)) for r in m]
    geom = {"window_s": window_s, "hop_s": hop_s, "chunk_s": chunk_s}
    tasks = [(str(out / "parts" / f"{i // part_size:05d}.npz"), paths[i: i + part_size], model, max_layer, geom)
             for i in range(0, len(paths), part_size)]
    t0 = time.time()
    run_parts(tasks, _part_worker, jobs, log, f"embeddings: {len(paths)} clips")
    pooled, rows = [], []
    for pi, t in enumerate(tasks):
        with np.load(t[0]) as z:
            pooled.append(z["pooled"])
            r = z["rows"].copy()
        r[:, 0] += pi * part_size
        rows.append(r)
    arr = np.concatenate(pooled)
    np.save(out / "pooled.npy", arr)
    write_index(out / "index.tsv", np.concatenate(rows))
    m.write(out / "clips.tsv")
    (out / "meta.json").write_text(json.dumps({
        "model": model, "layers": int(arr.shape[1]), "dim": int(arr.shape[2]), **geom,
        "clips": len(paths), "windows": int(arr.shape[0]), "seconds": round(time.time() - t0, 1),
        "manifest": Path(manifest).name,
    }, indent=1), encoding="utf-8")
    return out


def run_parts(tasks: Sequence[tuple], worker: Any, jobs: int, log: Any, what: str) -> None:
    """Compute the resumable parts not yet on disk (``task[0]`` is a part's path), in ``jobs``
    spawned worker processes (one torch thread each) or in this process."""
    t0 = time.time()
    todo = [t for t in tasks if not os.path.exists(t[0])]
    log(f"{what} in {len(tasks)} parts, {len(todo)} to compute, {jobs} jobs")
    if jobs <= 1:
        for i, t in enumerate(todo):
            worker(t)
            log(f"  part {i + 1}/{len(todo)} {time.time() - t0:.0f} s")
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(jobs) as pool:
        for i, _ in enumerate(pool.imap_unordered(worker, todo)):
            log(f"  part {i + 1}/{len(todo)} {time.time() - t0:.0f} s")


def write_index(path: Path, idx: np.ndarray) -> None:
    """The per-window index of a cache: clip, window, start and stop sample, speech fraction."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(["clip", "window", "start", "stop", "speech_fraction"])
        for c, k, a, b, fr in idx:
            w.writerow([int(c), int(k), int(a), int(b), f"{fr:.4f}"])


class EmbeddingTable:
    """A loaded embedding folder: ``pooled [n_windows, L + 1, 2d]`` and per-window metadata."""

    def __init__(self, folder: str | os.PathLike, *, mmap: bool = True) -> None:
        from voiceguard.data import read_manifest

        folder = Path(folder)
        self.folder = folder
        self.meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.pooled = np.load(folder / "pooled.npy", mmap_mode="r" if mmap else None)
        idx = np.loadtxt(folder / "index.tsv", delimiter="\t", skiprows=1, ndmin=2)
        self.clip = idx[:, 0].astype(int)
        self.window = idx[:, 1].astype(int)
        self.bounds = idx[:, 2:4].astype(int)
        self.speech_fraction = idx[:, 4]
        self.clips = read_manifest(folder / "clips.tsv")

    def features(self, layers: Sequence[int]) -> np.ndarray:
        """``[n_windows, len(layers) * 2d]`` float32 for the chosen layers."""
        return np.ascontiguousarray(self.pooled[:, list(layers), :], dtype=np.float32).reshape(len(self.clip), -1)


def load(folder: str | os.PathLike) -> EmbeddingTable:
    """Open an embedding folder written by :func:`extract`."""
    return EmbeddingTable(folder)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voiceguard.training.embeddings",
                                description="cache pooled Whisper-encoder embeddings of every window of a corpus")
    p.add_argument("manifest", help="corpus manifest.tsv (or any manifest voiceguard reads)")
    p.add_argument("out", help="output folder (resumable)")
    p.add_argument("--model", default="base", help="Whisper size: base or tiny.en (default base)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--part-size", type=int, default=200, help="clips per resumable part (default 200)")
    p.add_argument("--max-layer", type=int, help="deepest encoder layer kept (default: all)")
    args = p.parse_args(argv)
    try:
        extract(args.manifest, args.out, model=args.model, jobs=args.jobs, part_size=args.part_size,
                max_layer=args.max_layer, log=lambda s: print(s, flush=True))
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
