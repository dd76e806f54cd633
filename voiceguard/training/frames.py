"""Whisper-encoder frames of every clip of a corpus, encoded in fixed blocks, computed once.

The frame-sequence detectors (:mod:`voiceguard.training.frame_head`) read the encoder's
frames, not only their pooled statistics, and the fine-tuned ones train the layers above
a frozen one. Both need, for every clip, the frames of a few layers exactly as scoring
computes them. Scoring encodes a recording in **non-overlapping blocks** of ``block_s``
(2 s: 100 encoder frames), each block alone (its own log-mel normalisation and attention),
so that a live call is encoded once, block by block, and gives the very frames the
offline path gives; a 4 s window is two consecutive blocks.

Output folder::

    clips.tsv          the manifest rows, in clip order
    frames_L{k}.npy    [total_frames, d_model] float16 for each stored layer k
    clip_frames.npy    [n_clips + 1] int64: clip c's frames are rows offsets[c]:offsets[c+1]
    index.tsv          one row per window: clip, window, first frame, stop frame (relative
                       to the clip), speech fraction
    pooled.npy         [n_windows, L + 1, 2 * d_model] float16: mean and std of every layer
                       0..L over the window's frames (the frozen-statistics heads)
    meta.json          encoder, geometry, layers, timing

Work is split into resumable parts run in ``jobs`` processes (one torch thread each).

``python -m voiceguard.training.frames MANIFEST OUT [--model base] [--store-layers 2,3]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError, VoiceguardError
from voiceguard.training.embeddings import run_parts, write_index

__all__ = ["block_bounds", "window_blocks", "encode_blocks", "extract", "FrameTable"]

SR = 16000
#: Samples per encoder frame (two 10 ms mel frames).
FRAME_SAMPLES = 320


def block_bounds(n: int, block: int) -> list[tuple[int, int]]:
    """Sample ranges of the non-overlapping encoder blocks of a signal of ``n`` samples.

    Every block is ``block`` samples long but the last, which holds the rest (at least
    one sample).
    """
    if n <= 0:
        return []
    return [(a, min(n, a + block)) for a in range(0, n, block)]


def window_blocks(n_blocks: int, blocks_per_window: int = 2) -> list[tuple[int, int]]:
    """Windows as ranges of consecutive blocks: ``[(k, k + per)]`` for every start block
    ``k``; a signal with fewer blocks than one window is one window of all of them."""
    if n_blocks <= blocks_per_window:
        return [(0, n_blocks)] if n_blocks else []
    return [(k, k + blocks_per_window) for k in range(n_blocks - blocks_per_window + 1)]


def encode_blocks(encoder: Any, y: np.ndarray, layers: Sequence[int], block: int) -> tuple[list[Any], list[int]]:
    """Frames of ``layers`` for a 16 kHz signal encoded block by block.

    Returns
    -------
    states : list of torch.Tensor [shape=(total_frames, d)]
        One per layer, the blocks' frames concatenated.
    block_frames : list of int
        Frames of each block (``ceil(len / 320)``; a block of under 25 ms is padded).
    """
    import torch

    from voiceguard.detect.frontends import whisper

    bounds = block_bounds(len(y), block)
    full = [(a, b) for a, b in bounds if b - a == block]
    parts: list[list[Any]] = [[] for _ in layers]
    counts: list[int] = []
    if full:
        mel = torch.stack([whisper.log_mel(y[a:b]) for a, b in full])
        for i, s in enumerate(encoder.forward(mel, layers)):
            parts[i].append(s.reshape(-1, s.shape[-1]))
        counts += [whisper.n_encoder_frames(block)] * len(full)
    if bounds and bounds[-1][1] - bounds[-1][0] != block:
        a, b = bounds[-1]
        tail = y[a:b]
        if len(tail) < whisper.N_FFT:
            tail = np.pad(tail, (0, whisper.N_FFT - len(tail)))
        for i, s in enumerate(encoder.forward(whisper.log_mel(tail), layers)):
            parts[i].append(s[0])
        counts.append(int(parts[0][-1].shape[0]))
    return [torch.cat(p) for p in parts], counts


def _part_worker(args: tuple[str, list[str], dict[str, Any]]) -> str:
    import torch

    from voiceguard.audio import load_mono
    from voiceguard.audio.vad import speech_activity
    from voiceguard.detect.aggregate import window_speech_fractions
    from voiceguard.detect.frontends import whisper

    part_path, paths, opts = args
    if os.path.exists(part_path):
        return part_path
    torch.set_num_threads(1)
    enc = whisper.load_encoder(opts["model"], n_layers=opts["max_layer"])
    all_layers = list(range(enc.n_layers + 1))
    store = [int(k) for k in opts["store_layers"]]
    block = int(round(opts["block_s"] * SR))
    per = int(opts["blocks_per_window"])
    frames: dict[int, list[np.ndarray]] = {k: [] for k in store}
    n_frames, rows, pooled = [], [], []
    for ci, path in enumerate(paths):
        try:
            y, _ = load_mono(path, sr=SR)
        except VoiceguardError:
            n_frames.append(0)
            continue
        states, counts = encode_blocks(enc, y, all_layers, block)
        starts = np.concatenate([[0], np.cumsum(counts)])
        for k in store:
            frames[k].append(states[k].numpy().astype(np.float16))
        n_frames.append(int(starts[-1]))
        act = speech_activity(y, SR)
        bounds = block_bounds(len(y), block)
        for wi, (b0, b1) in enumerate(window_blocks(len(counts), per)):
            f0, f1 = int(starts[b0]), int(starts[b1])
            fr = window_speech_fractions(act.mask, [(bounds[b0][0], bounds[b1 - 1][1])], SR)[0]
            stats = [torch.cat([s[f0:f1].mean(0), s[f0:f1].std(0, unbiased=False)]) for s in states]
            pooled.append(torch.stack(stats).numpy().astype(np.float16))
            rows.append((ci, wi, f0, f1, float(fr)))
    d = enc.d_model
    out = {f"L{k}": (np.concatenate(frames[k]) if frames[k] else np.zeros((0, d), np.float16)) for k in store}
    tmp = part_path + ".tmp.npz"
    np.savez(tmp, n_frames=np.asarray(n_frames, np.int64), rows=np.asarray(rows, np.float64).reshape(-1, 5),
             pooled=np.stack(pooled) if pooled else np.zeros((0, len(all_layers), 2 * d), np.float16), **out)
    os.replace(tmp, part_path)
    return part_path


def extract(
    manifest: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model: str = "base",
    store_layers: Sequence[int] = (2, 3),
    max_layer: int = 4,
    block_s: float = 2.0,
    blocks_per_window: int = 2,
    jobs: int = 2,
    part_size: int = 100,
    log: Any = print,
) -> Path:
    """Compute (or resume) the frame cache of every clip of ``manifest``.

    Parameters
    ----------
    manifest : path
        Any manifest :func:`voiceguard.data.read_manifest` reads.
    out : path
        Output folder.
    model : str
        Whisper size (``'base'`` or ``'tiny.en'``).
    store_layers : sequence of int
        Layers whose frames are kept (``0`` = stem output, ``k`` = after block ``k``).
    max_layer : int
        Deepest layer computed (pooled statistics are kept for ``0..max_layer``).
    block_s : float
        Encoder block length in seconds.
    blocks_per_window : int
        Blocks per scoring window.
    jobs, part_size : int
        Worker processes; clips per resumable part.
    """
    from voiceguard.data import read_manifest
    from voiceguard.detect.frontends.whisper import WHISPER_MODELS

    spec = WHISPER_MODELS.get(model)
    if spec is None:
        raise InvalidParameterError(f"unknown Whisper model {model!r}; expected one of {sorted(WHISPER_MODELS)}")
    if not 1 <= max_layer <= spec.n_layers or any(not 0 <= k <= max_layer for k in store_layers):
        raise InvalidParameterError(f"layers must lie in 0..{spec.n_layers}; got max_layer={max_layer}, "
                                    f"store_layers={list(store_layers)}")
    out = Path(out)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    m = read_manifest(manifest)
    paths = [str(m.resolve(r)) for r in m]
    opts = {"model": model, "store_layers": list(store_layers), "max_layer": max_layer, "block_s": block_s,
            "blocks_per_window": blocks_per_window}
    tasks = [(str(out / "parts" / f"{i // part_size:05d}.npz"), paths[i: i + part_size], opts)
             for i in range(0, len(paths), part_size)]
    t0 = time.time()
    run_parts(tasks, _part_worker, jobs, log, f"frames: {len(paths)} clips")
    _assemble(out, tasks, part_size, list(store_layers))
    m.write(out / "clips.tsv")
    (out / "meta.json").write_text(json.dumps({
        **opts, "clips": len(paths), "seconds": round(time.time() - t0, 1), "manifest": Path(manifest).name,
    }, indent=1), encoding="utf-8")
    return out


def _assemble(out: Path, tasks: list, part_size: int, store: list[int]) -> None:
    """Concatenate the parts into the memory-mappable arrays (two passes: sizes, then data)."""
    totals, n_windows, shapes = 0, 0, None
    for t in tasks:
        with np.load(t[0]) as z:
            totals += int(z["n_frames"].sum())
            n_windows += len(z["rows"])
            shapes = (z["pooled"].shape[2] // 2, z["pooled"].shape[1:])
    d, pshape = shapes
    arrays = {k: np.lib.format.open_memmap(out / f"frames_L{k}.npy", "w+", np.float16, (totals, d)) for k in store}
    pooled = np.lib.format.open_memmap(out / "pooled.npy", "w+", np.float16, (n_windows, *pshape))
    offsets, rows = [0], []
    f_at = w_at = 0
    for pi, t in enumerate(tasks):
        with np.load(t[0]) as z:
            nf = z["n_frames"]
            for k in store:
                arrays[k][f_at: f_at + int(nf.sum())] = z[f"L{k}"]
            r = z["rows"].copy()
            pooled[w_at: w_at + len(r)] = z["pooled"]
        r[:, 0] += pi * part_size
        rows.append(r)
        offsets += list(f_at + np.cumsum(nf))
        f_at += int(nf.sum())
        w_at += len(r)
    for a in (*arrays.values(), pooled):
        a.flush()
    np.save(out / "clip_frames.npy", np.asarray(offsets, np.int64))
    write_index(out / "index.tsv", np.concatenate(rows) if rows else np.zeros((0, 5)))


class FrameTable:
    """A loaded frame cache (see the module docstring); arrays are memory-mapped."""

    def __init__(self, folder: str | os.PathLike) -> None:
        from voiceguard.data import read_manifest

        folder = Path(folder)
        self.folder = folder
        self.meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.offsets = np.load(folder / "clip_frames.npy")
        self.layers = {int(k): np.load(folder / f"frames_L{k}.npy", mmap_mode="r") for k in self.meta["store_layers"]}
        self.pooled = np.load(folder / "pooled.npy", mmap_mode="r")
        idx = np.loadtxt(folder / "index.tsv", delimiter="\t", skiprows=1, ndmin=2)
        self.clip = idx[:, 0].astype(int)
        self.window = idx[:, 1].astype(int)
        self.frames = idx[:, 2:4].astype(int)  # window's frame range, relative to its clip
        self.speech_fraction = idx[:, 4]
        self.clips = read_manifest(folder / "clips.tsv")

    def window_frames(self, i: int, layer: int) -> np.ndarray:
        """Frames ``[T, d]`` (float16, a view) of window ``i`` in ``layer``."""
        base = self.offsets[self.clip[i]]
        a, b = self.frames[i]
        return self.layers[layer][base + a: base + b]

    def features(self, layers: Sequence[int]) -> np.ndarray:
        """Pooled statistics ``[n_windows, len(layers) * 2d]`` float32 (as the pooled heads read)."""
        return np.ascontiguousarray(self.pooled[:, list(layers), :], dtype=np.float32).reshape(len(self.clip), -1)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voiceguard.training.frames",
                                description="cache Whisper-encoder frames (block-encoded) of every clip of a corpus")
    p.add_argument("manifest", help="corpus manifest.tsv")
    p.add_argument("out", help="output folder (resumable)")
    p.add_argument("--model", default="base", help="Whisper size: base or tiny.en (default base)")
    p.add_argument("--store-layers", default="2,3", help="layers whose frames are kept (default 2,3)")
    p.add_argument("--max-layer", type=int, default=4, help="deepest layer computed (default 4)")
    p.add_argument("--block-s", type=float, default=2.0, help="encoder block length (default 2 s)")
    p.add_argument("--blocks-per-window", type=int, default=2, help="blocks per scoring window (default 2)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--part-size", type=int, default=100, help="clips per resumable part (default 100)")
    args = p.parse_args(argv)
    try:
        extract(args.manifest, args.out, model=args.model,
                store_layers=[int(k) for k in args.store_layers.split(",") if k.strip()],
                max_layer=args.max_layer, block_s=args.block_s, blocks_per_window=args.blocks_per_window,
                jobs=args.jobs, part_size=args.part_size, log=lambda s: print(s, flush=True))
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
