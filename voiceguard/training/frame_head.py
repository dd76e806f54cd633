"""Train and validate frame-sequence heads (and fine-tuned top encoder layers) on cached frames.

Reads a frame cache (:mod:`voiceguard.training.frames`) and trains
:class:`voiceguard.detect.frame_nets.FrameHead` on the windows of each held-out fold
(:mod:`voiceguard.training.systemfolds`), optionally with trainable copies of the encoder
blocks above the deepest cached layer (:class:`~voiceguard.detect.frame_nets.TunedBlocks`,
initialised from Whisper). Each epoch draws ``epoch_windows`` training windows with
probability proportional to the same per-window weights the pooled heads use (every spoof
system and every bona fide source alike, both classes equal), so one epoch costs the same
whatever the corpus size.

``python -m voiceguard.training.frame_head evaluate FRAMES --scheme system -o R.json [options]``
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = ["FrameConfig", "FrameModel", "train_frame_model", "score_windows", "run_evaluation", "main"]

#: Encoder frames per block (2 s at 20 ms).
BLOCK_FRAMES = 100


@dataclass
class FrameConfig:
    """How a frame model is built and trained."""

    layers: tuple[int, ...] = (2, 3)  # cached (frozen) layers the head reads
    tune: int = 0  # encoder blocks trained above the deepest cached layer (their outputs join the head's input)
    hidden: int = 128
    temporal: str = "conv"
    head: str = "frames"  # 'frames' (FrameHead on the sequence) or 'pooled' (mean/std of each layer, MLP)
    depth: int = 2
    dropout: float = 0.1
    epochs: int = 6
    epoch_windows: int = 16000
    batch_size: int = 64
    lr: float = 1e-3
    tune_lr: float = 3e-5
    weight_decay: float = 1e-2
    seed: int = 0
    balance: str = "system"
    threads: int = 2

    def describe(self) -> str:
        tune = f"+tune{self.tune}" if self.tune else ""
        return f"L{'+'.join(map(str, self.layers))}{tune}-{self.temporal}{self.depth}-h{self.hidden}-e{self.epochs}"


class FrameModel:
    """A frame head with its optional tuned blocks (``torch`` modules kept together)."""

    def __init__(self, cfg: FrameConfig, d_model: int, heads: int, encoder: Any = None) -> None:
        from voiceguard.detect.frame_nets import FrameHead, TunedBlocks

        self.cfg = cfg
        self.tuned = None
        if cfg.tune:
            if encoder is None:
                raise VoiceguardError("fine-tuning needs the Whisper encoder to copy its blocks from")
            self.tuned = TunedBlocks.from_encoder(encoder, max(cfg.layers), cfg.tune)
        n_layers = len(cfg.layers) + cfg.tune
        if cfg.head == "pooled":
            from voiceguard.detect.nets import PooledHead

            self.head = PooledHead(n_layers * 2 * d_model, n_layers=n_layers, hidden=cfg.hidden, dropout=cfg.dropout)
        else:
            self.head = FrameHead(d_model, n_layers, hidden=cfg.hidden, temporal=cfg.temporal, depth=cfg.depth,
                                  dropout=cfg.dropout)

    def modules(self) -> list[Any]:
        return [m for m in (self.tuned, self.head) if m is not None]

    def train(self, mode: bool = True) -> None:
        for m in self.modules():
            m.train(mode)

    def inputs(self, x: Any, mask: Any, blocks: Any) -> Any:
        """Head input ``[B, T, L, d]``: the cached layers, then the tuned blocks' outputs.

        ``blocks``: for each window, how many frames its first block holds (the tuned
        blocks attend within one encoder block, as the encoder does at scoring time).
        """
        import torch

        if self.tuned is None:
            return x
        base = x[:, :, -1, :]  # deepest cached layer feeds the tuned blocks
        b, t, d = base.shape
        pieces, pmask, where = [], [], []
        for i in range(b):
            n = int(mask[i].sum())
            cut = min(int(blocks[i]), n)
            for a, e in ((0, cut), (cut, n)):
                if e > a:
                    seg = base[i, a:e]
                    pad = BLOCK_FRAMES - seg.shape[0]
                    pieces.append(torch.nn.functional.pad(seg, (0, 0, 0, max(0, pad))))
                    m = torch.zeros(max(BLOCK_FRAMES, seg.shape[0]), dtype=torch.bool)
                    m[: e - a] = True
                    pmask.append(m)
                    where.append((i, a, e))
        xb = torch.stack(pieces)
        mb = torch.stack(pmask)
        outs = self.tuned(xb, mb)
        tuned = []
        for o in outs:
            full = torch.zeros(b, t, d, dtype=o.dtype)
            for j, (i, a, e) in enumerate(where):
                full[i, a:e] = o[j, : e - a]
            tuned.append(full)
        return torch.cat([x, torch.stack(tuned, dim=2)], dim=2)

    def __call__(self, x: Any, mask: Any, blocks: Any) -> Any:
        h = self.inputs(x, mask, blocks)
        if self.cfg.head == "pooled":
            return self.head(masked_statistics(h, mask))
        return self.head(h, mask)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore weights written by :meth:`state_dict`."""
        self.head.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("head.")})
        if self.tuned is not None:
            self.tuned.load_state_dict({k[6:]: v for k, v in state.items() if k.startswith("tuned.")})

    def state_dict(self) -> dict[str, Any]:
        out = {f"head.{k}": v for k, v in self.head.state_dict().items()}
        if self.tuned is not None:
            out.update({f"tuned.{k}": v for k, v in self.tuned.state_dict().items()})
        return out


def masked_statistics(x: Any, mask: Any) -> Any:
    """Mean and standard deviation over real frames of each layer: ``[B, T, L, d] -> [B, L * 2d]``
    in the order the pooled heads read (``mean_0, std_0, mean_1, std_1, ...``)."""
    import torch

    m = mask.to(x.dtype)[:, :, None, None]
    n = m.sum(1).clamp_min(1.0)
    mean = (x * m).sum(1) / n
    var = (((x - mean[:, None]) ** 2) * m).sum(1) / n
    stats = torch.stack([mean, torch.sqrt(var.clamp_min(0.0))], dim=2)  # [B, L, 2, d]
    return stats.reshape(x.shape[0], -1)


class _Batches:
    """Windows of a frame cache as padded float32 tensors ``[B, T, L, d]`` with masks."""

    def __init__(self, table: Any, layers: Sequence[int]) -> None:
        self.table = table
        self.layers = list(layers)
        self.t_max = int(np.max(table.frames[:, 1] - table.frames[:, 0])) if len(table.clip) else 1

    def get(self, idx: np.ndarray) -> tuple[Any, Any, Any]:
        import torch

        t = self.table
        lens = t.frames[idx, 1] - t.frames[idx, 0]
        tm = int(lens.max())
        d = t.layers[self.layers[0]].shape[1]
        x = np.zeros((len(idx), tm, len(self.layers), d), np.float32)
        for j, i in enumerate(idx):
            for li, k in enumerate(self.layers):
                x[j, : lens[j], li] = t.window_frames(int(i), k)
        mask = np.arange(tm)[None, :] < lens[:, None]
        # frames of the window's first block: windows start on a block boundary
        first = np.minimum(lens, BLOCK_FRAMES - (t.frames[idx, 0] % BLOCK_FRAMES))
        return torch.from_numpy(x), torch.from_numpy(mask), first


def _used_windows(table: Any) -> np.ndarray:
    from voiceguard.training.whisper_head import _used_windows as used

    return used(table)


def _normalisation(table: Any, windows: np.ndarray, layers: Sequence[int], rng: np.random.Generator,
                   n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    pick = rng.choice(windows, size=min(n, len(windows)), replace=False)
    stats_m, stats_s = [], []
    for k in layers:
        frames = np.concatenate([np.asarray(table.window_frames(int(i), k), np.float32) for i in pick])
        stats_m.append(frames.mean(0))
        stats_s.append(frames.std(0))
    return np.stack(stats_m), np.stack(stats_s)


def _set_frame_normalisation(model: FrameModel, table: Any, batches: Any, win: np.ndarray, cfg: FrameConfig,
                             rng: np.random.Generator) -> None:
    import torch

    mean, std = _normalisation(table, win, cfg.layers, rng)
    if cfg.tune:
        # statistics of the tuned layers: their (initial) outputs on a sample of windows
        with torch.no_grad():
            x, mask, first = batches.get(rng.choice(win, size=min(64, len(win)), replace=False))
            sel = model.inputs(x, mask, first)[:, :, len(cfg.layers):][mask]
            mean = np.concatenate([mean, sel.mean(0).numpy()])
            std = np.concatenate([std, sel.std(0).numpy()])
    model.head.set_normalisation(mean, std)


def train_frame_model(table: Any, info: Any, train_clips: np.ndarray, cfg: FrameConfig, *,
                      encoder: Any = None, log: Callable[[str], None] | None = None) -> FrameModel:
    """Train a :class:`FrameModel` on the used windows of ``train_clips``."""
    import torch
    from torch.nn import functional as F

    from voiceguard.training.heldout import _window_weights

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    used = _used_windows(table)
    win = np.flatnonzero(used & train_clips[table.clip])
    w = _window_weights(info, table.clip, train_clips, cfg.balance)[win]
    p = w / w.sum()
    d = table.layers[cfg.layers[0]].shape[1]
    heads = 8 if d == 512 else 6
    model = FrameModel(cfg, d, heads, encoder)
    batches = _Batches(table, cfg.layers)
    if cfg.head == "pooled":
        with torch.no_grad():
            x, mask, first = batches.get(rng.choice(win, size=min(256, len(win)), replace=False))
            st = masked_statistics(model.inputs(x, mask, first), mask).numpy()
        model.head.set_normalisation(st.mean(0), st.std(0))
    else:
        _set_frame_normalisation(model, table, batches, win, cfg, rng)
    groups = [{"params": list(model.head.parameters()), "lr": cfg.lr}]

    if model.tuned is not None:
        groups.append({"params": list(model.tuned.parameters()), "lr": cfg.tune_lr})
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    steps_per_epoch = int(np.ceil(cfg.epoch_windows / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups],
                                                total_steps=max(1, cfg.epochs * steps_per_epoch), pct_start=0.1)
    labels = info.label[table.clip].astype(np.float32)
    model.train(True)
    t0 = time.time()
    for ep in range(cfg.epochs):
        draw = rng.choice(win, size=cfg.epoch_windows, replace=True, p=p)
        total = 0.0
        for s in range(steps_per_epoch):
            idx = draw[s * cfg.batch_size: (s + 1) * cfg.batch_size]
            if not len(idx):
                break
            x, mask, first = batches.get(idx)
            y = torch.from_numpy(labels[idx])
            loss = F.binary_cross_entropy_with_logits(model(x, mask, first), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        if log:
            log(f"    epoch {ep + 1}/{cfg.epochs} loss {total / cfg.epoch_windows:.4f} [{time.time() - t0:.0f} s]")
    model.train(False)
    return model


def score_windows(model: FrameModel, table: Any, windows: np.ndarray, *, batch_size: int = 128) -> np.ndarray:
    """Raw scores of the given windows."""
    import torch

    batches = _Batches(table, model.cfg.layers)
    out = np.empty(len(windows))
    with torch.inference_mode():
        for i in range(0, len(windows), batch_size):
            idx = windows[i: i + batch_size]
            x, mask, first = batches.get(idx)
            out[i: i + len(idx)] = model(x, mask, first).double().numpy()
    return out


def _clip_means(table: Any, windows: np.ndarray, scores: np.ndarray, clips: np.ndarray) -> np.ndarray:
    from voiceguard.detect.aggregate import used_segments

    out = np.full(len(clips), np.nan)
    pos = {int(c): j for j, c in enumerate(clips)}
    order = np.argsort(table.clip[windows], kind="stable")
    w_sorted = windows[order]
    s_sorted = scores[order]
    c_sorted = table.clip[w_sorted]
    starts = np.flatnonzero(np.r_[True, c_sorted[1:] != c_sorted[:-1]])
    ends = np.r_[starts[1:], len(c_sorted)]
    for a, b in zip(starts, ends):
        used = used_segments(table.speech_fraction[w_sorted[a:b]], 0.25)
        out[pos[int(c_sorted[a])]] = float(np.mean(s_sorted[a:b][used]))
    return out


def _encoder_for(table: Any, cfg: FrameConfig) -> Any:
    if not cfg.tune:
        return None
    from voiceguard.detect.frontends.whisper import load_encoder

    return load_encoder(str(table.meta["model"]), n_layers=max(cfg.layers) + cfg.tune)


def run_evaluation(frames: str | Path, cfg: FrameConfig, scheme: str, *, log: Callable[[str], None] = print,
                   folds_only: Sequence[str] | None = None, save_models: str | Path | None = None) -> dict[str, Any]:
    """Train one frame model per held-out fold, score its test clips (and their windows).

    ``save_models``: a folder where each fold's weights are kept (``FOLD.pt``), to score
    other held-out material (spliced recordings, verification trials) with the model
    that never saw it.
    """
    import torch

    from voiceguard.training.frames import FrameTable
    from voiceguard.training.heldout import clip_info, folds, summarise_folds

    torch.set_num_threads(cfg.threads)
    table = FrameTable(frames)
    info = clip_info(table.clips)
    encoder = _encoder_for(table, cfg)
    res: dict[str, Any] = {"config": dataclasses.asdict(cfg), "scheme": scheme, "folds": {}, "kind": "frames"}
    t0 = time.time()
    every = np.arange(len(table.clip))
    for name, train, test in folds(info, scheme):
        if folds_only and name not in folds_only:
            continue
        log(f"  fold {name}: {int(train.sum())} training clips, {int(test.sum())} test clips")
        model = train_frame_model(table, info, train, cfg, encoder=encoder, log=log)
        if save_models is not None:
            Path(save_models).mkdir(parents=True, exist_ok=True)
            torch.save(model.state_dict(), Path(save_models) / f"{name}.pt")
        clips = np.flatnonzero(test)
        wins = every[np.isin(table.clip, clips)]
        ws = score_windows(model, table, wins)
        res["folds"][name] = {"clips": clips.tolist(), "scores": _clip_means(table, wins, ws, clips).tolist(),
                              "windows": wins.tolist(), "window_scores": ws.tolist()}
    res["seconds"] = round(time.time() - t0, 1)
    res["summary"] = summarise_folds(res, info)
    res["frames"] = table.meta
    pct = {k: "-" if v is None else f"{v:.1%}" for k, v in res["summary"]["pooled"].items()}
    log(f"{cfg.describe()} {scheme}: pooled {pct['all']} (16k {pct['16k']}, tel {pct['tel']}), worst "
        f"{res['summary']['worst']['fold']} {res['summary']['worst']['eer']:.1%} [{res['seconds']:.0f} s]")
    return res


def export_model(frames: str | Path, evaluation: dict[str, Any], out: str | Path, *, name: str,
                 false_alarm_rate: float = 0.05, log: Callable[[str], None] = print) -> Path:
    """Train the evaluated configuration on every training clip and write a detector config.

    The calibration is fitted on the evaluation's pooled out-of-fold clip scores (every
    trial scored by a model that never saw its system), and the default threshold flags
    ``false_alarm_rate`` of its held-out bona fide trials.
    """
    import torch

    from voiceguard.training.frames import FrameTable
    from voiceguard.training.heldout import clip_info, folds
    from voiceguard.training.whisper_head import decision_fields, digest_fields

    conf = dict(evaluation["config"])
    cfg = FrameConfig(**{**conf, "layers": tuple(conf["layers"])})
    if cfg.head != "frames":
        raise InvalidParameterError(f"export writes frame-sequence models; this evaluation's head is {cfg.head!r}: "
                                    "export pooled heads with python -m voiceguard.training.whisper_head export")
    torch.set_num_threads(cfg.threads)
    table = FrameTable(frames)
    info = clip_info(table.clips)
    (_, train_clips, _), = folds(info, "none")
    t0 = time.time()
    model = train_frame_model(table, info, train_clips, cfg, encoder=_encoder_for(table, cfg), log=log)
    seconds = time.time() - t0
    decision = decision_fields(evaluation, info.label, false_alarm_rate)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / f"{name}.pt")
    meta = table.meta
    n_params = int(sum(p.numel() for m in model.modules() for p in m.parameters()))
    config = {
        "format": "voiceguard-detector",
        "version": 2,
        "name": name,
        "kind": "whisper",
        "weights": f"{name}.pt",
        **digest_fields(out / f"{name}.pt", meta["model"]),
        "sr": 16000,
        "frontend": {"kind": "whisper", "model": meta["model"], "layers": list(cfg.layers), "block_s": meta["block_s"]},
        "head": {"kind": "frames", "d_model": int(model.head.d_model), "n_layers": int(model.head.n_layers),
                 "hidden": cfg.hidden, "temporal": cfg.temporal, "depth": cfg.depth, "dropout": cfg.dropout},
        **({"tuned": {"first": max(cfg.layers), "n": cfg.tune}} if cfg.tune else {}),
        "n_parameters": n_params,
        "scoring": {"blocks_per_window": meta["blocks_per_window"], "min_speech_fraction": 0.25, "min_speech_s": 0.5,
                    "aggregate": "mean_llr"},
        **decision,
        "training": {
            "frames": {k: v for k, v in meta.items() if k != "seconds"},
            "model": dataclasses.asdict(cfg),
            "n_train_clips": int(train_clips.sum()),
            "seconds": round(seconds, 1),
            "heldout": {"scheme": evaluation["scheme"], "summary": evaluation["summary"]},
        },
    }
    (out / f"{name}.json").write_text(json.dumps(config, indent=1, default=float) + "\n", encoding="utf-8")
    cal = decision["calibration"]
    log(f"wrote {out / (name + '.json')} ({n_params} parameters, calibration scale {cal['scale']:.3f} "
        f"offset {cal['offset']:.3f}, threshold {decision['threshold']:.4f})")
    return out / f"{name}.json"


def _config_from_args(args: argparse.Namespace) -> FrameConfig:
    return FrameConfig(layers=tuple(int(x) for x in args.layers.split(",")), tune=args.tune, hidden=args.hidden,
                       temporal=args.temporal, head=args.head, depth=args.depth, dropout=args.dropout,
                       epochs=args.epochs,
                       epoch_windows=args.epoch_windows, batch_size=args.batch_size, lr=args.lr,
                       tune_lr=args.tune_lr, weight_decay=args.weight_decay, seed=args.seed, balance=args.balance,
                       threads=args.threads)


def add_config_arguments(p: argparse.ArgumentParser) -> None:
    d = FrameConfig()
    p.add_argument("--layers", default="2,3", help="cached encoder layers the head reads (default 2,3)")
    p.add_argument("--tune", type=int, default=0, help="encoder blocks fine-tuned above the deepest layer (default 0)")
    p.add_argument("--hidden", type=int, default=d.hidden)
    p.add_argument("--temporal", default=d.temporal, choices=["none", "conv", "transformer"])
    p.add_argument("--head", default=d.head, choices=["frames", "pooled"], help="head on the frames (default frames)")
    p.add_argument("--depth", type=int, default=d.depth)
    p.add_argument("--dropout", type=float, default=d.dropout)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--epoch-windows", type=int, default=d.epoch_windows)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--tune-lr", type=float, default=d.tune_lr)
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--balance", default=d.balance, choices=["system", "family", "none"])
    p.add_argument("--threads", type=int, default=d.threads, help="torch threads (default 2)")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voiceguard.training.frame_head",
                                description="held-out evaluation of frame-sequence heads on cached encoder frames")
    sub = p.add_subparsers(dest="cmd", required=True)
    ev = sub.add_parser("evaluate", help="train one model per held-out fold and report EERs")
    ev.add_argument("frames", help="frame cache (python -m voiceguard.training.frames)")
    ev.add_argument("--scheme", default="system", choices=["system", "repos", "family", "repo"])
    ev.add_argument("--folds", help="comma-separated fold names to run (default all)")
    ev.add_argument("-o", "--output", required=True, help="result JSON")
    ev.add_argument("--save-models", help="folder to keep each fold's weights in")
    add_config_arguments(ev)
    ex = sub.add_parser("export", help="train an evaluated configuration on everything, calibrate, write a model")
    ex.add_argument("frames")
    ex.add_argument("--from", dest="source", required=True, help="an evaluation result JSON (its out-of-fold scores)")
    ex.add_argument("--out", required=True, help="output folder")
    ex.add_argument("--name", required=True, help="model name (file stem)")
    ex.add_argument("--false-alarm-rate", type=float, default=0.05)
    args = p.parse_args(argv)
    log = lambda s: print(s, flush=True)
    try:
        if args.cmd == "export":
            export_model(args.frames, json.loads(Path(args.source).read_text(encoding="utf-8")), args.out,
                         name=args.name, false_alarm_rate=args.false_alarm_rate, log=log)
            return 0
        res = run_evaluation(args.frames, _config_from_args(args), args.scheme, log=log,
                             folds_only=args.folds.split(",") if args.folds else None, save_models=args.save_models)
        Path(args.output).write_text(json.dumps(res, default=float) + "\n", encoding="utf-8")
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
