"""Held-out-system validation on real synthesizer outputs, for heads on cached embeddings.

The question a detector must answer is about systems it never saw. This module builds
that validation from a corpus holding real system outputs (split ``demo``, with a
``repo`` column: :mod:`voiceguard.data.demos`) beside voiceguard's own corpus
(``train``/``val``/``test``/``xdomain``):

* **leave-one-repository-out** (``scheme='repo'``): for each demo repository R, train on
  voiceguard's training split plus every other repository (both classes), test R's
  synthetic clips against bona fide speech the model never saw: R's own real recordings
  and the ``val``/``test`` (held-out speakers) and ``xdomain`` (held-out recording
  domains) bona fide clips of the corpus;
* **leave-one-family-out** (``scheme='family'``): the same with a whole family (``tts``,
  ``vc``, ``vocoder``, ``codec``) held out across all repositories; half of each
  repository's real recordings (by file) are kept out of training as bona fide trials,
  so that the studio corpora the demo pages use are on both sides of the test.

A trial is a clip; its score is the mean of its windows' scores over the windows with
speech (as :mod:`voiceguard.detect` aggregates). Results are reported per fold, per
band (``16k``: the wideband channel; ``tel``: the telephone channel), pooled over folds
and for the worst fold.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError
from voiceguard.evaluation.metrics import eer

__all__ = ["ClipInfo", "clip_info", "folds", "HeadConfig", "train_head", "clip_scores", "evaluate_folds",
           "summarise_folds"]

HELDOUT_BONAFIDE_SPLITS = ("val", "test", "xdomain")


@dataclass
class ClipInfo:
    """Per-clip arrays of an embedding table (index = clip number)."""

    label: np.ndarray  # 1 bona fide, 0 spoof
    split: np.ndarray
    family: np.ndarray
    system: np.ndarray
    repo: np.ndarray  # '-' outside the demo split
    band: np.ndarray  # '16k' or 'tel'
    group: np.ndarray
    source: np.ndarray
    duration: np.ndarray | None = None  # seconds
    language: np.ndarray | None = None  # language code, '-' when unknown

    def __len__(self) -> int:
        return len(self.label)


def clip_info(clips: Any) -> ClipInfo:
    """:class:`ClipInfo` of a manifest (the embedding table's ``clips``)."""
    def col(f: Callable[[Any], str]) -> np.ndarray:
        return np.asarray([f(r) for r in clips], dtype=object)

    return ClipInfo(
        label=np.asarray([r.label == "bonafide" for r in clips], int),
        split=col(lambda r: r.split), family=col(lambda r: r.family), system=col(lambda r: r.system),
        repo=col(lambda r: r.extra.get("repo", "-")),
        band=col(lambda r: "tel" if r.condition.startswith("tel") else "16k"),
        group=col(lambda r: r.group), source=col(lambda r: r.source),
        duration=np.asarray([float(r.duration_s or 0.0) for r in clips]),
        language=col(lambda r: r.language or "-"),
    )


def _stable_half(keys: np.ndarray) -> np.ndarray:
    import hashlib

    return np.asarray([int(hashlib.sha256(str(k).encode()).hexdigest()[:8], 16) % 2 for k in keys], bool)


def folds(info: ClipInfo, scheme: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Held-out folds: ``(name, train_mask, test_mask)`` over clips.

    Parameters
    ----------
    info : ClipInfo
    scheme : {'repo', 'family', 'none', 'system', 'repos'}
        ``'none'`` is one fold training on everything (the shipped model) and testing on
        the held-out bona fide only; ``'system'`` and ``'repos'`` are the folds of
        :func:`voiceguard.training.systemfolds.scheme_folds` (system clusters, groups of
        repositories).
    """
    if scheme in ("system", "repos"):
        from voiceguard.training.systemfolds import scheme_folds

        return scheme_folds(info, scheme, duration=info.duration)
    demo = info.split == "demo"
    corpus_train = info.split == "train"
    heldout_bona = np.isin(info.split, HELDOUT_BONAFIDE_SPLITS) & (info.label == 1)
    out = []
    if scheme == "repo":
        for repo in sorted(set(info.repo[demo])):
            r = demo & (info.repo == repo)
            if not np.any(r & (info.label == 0)):
                continue
            out.append((repo, corpus_train | (demo & ~r), heldout_bona | r))
    elif scheme == "family":
        # group = the source file's segment id; its prefix names the file, so both channel
        # versions and every segment of a file fall on the same side
        files = np.asarray([g.rsplit("-", 1)[0] for g in info.group], dtype=object)
        eval_bona = demo & (info.label == 1) & _stable_half(files)
        for fam in sorted(set(info.family[demo & (info.label == 0)])):
            f = demo & (info.family == fam) & (info.label == 0)
            train = corpus_train | (demo & ~f & ~eval_bona)
            out.append((fam, train, heldout_bona | eval_bona | f))
    elif scheme == "none":
        out.append(("all", corpus_train | demo, heldout_bona))
    else:
        raise InvalidParameterError(f"scheme must be 'repo', 'family', 'none', 'system' or 'repos', got {scheme!r}")
    return out


@dataclass
class HeadConfig:
    """How a head is trained (see :class:`voiceguard.detect.nets.PooledHead`)."""

    layers: tuple[int, ...] = (3,)
    mix: str = "concat"
    hidden: int = 0
    dropout: float = 0.1
    epochs: int = 12  # MLP: epochs of AdamW; linear: L-BFGS iterations / 25
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-2
    seed: int = 0
    balance: str = "system"  # 'system', 'family' or 'none' (see _window_weights)
    exclude_families: tuple[str, ...] = ()  # spoof families never trained on (an ablation)
    bona_balance: str = ""  # bona fide weighting when it differs from ``balance``: 'source' or 'none'

    def describe(self) -> str:
        kind = "linear" if not self.hidden else f"mlp{self.hidden}"
        return f"L{'+'.join(map(str, self.layers))}-{self.mix}-{kind}-e{self.epochs}"


def _window_weights(info: ClipInfo, clip_of_window: np.ndarray, train_clips: np.ndarray, balance: str,
                    bona_balance: str = "") -> np.ndarray:
    """Per-window training weights: every clip counts once; ``balance='system'``: every
    spoof system and every bona fide source alike; ``'family'``: every spoof family alike,
    then every system within it; ``'none'``: every clip alike. Both classes carry the same
    total weight."""
    n_win = np.bincount(clip_of_window, minlength=len(info)).astype(float)
    w_clip = np.zeros(len(info))
    for lab in (0, 1):
        sel = train_clips & (info.label == lab)
        if not np.any(sel):
            continue
        idx = np.flatnonzero(sel)
        mode = bona_balance if (lab == 1 and bona_balance) else balance
        if mode == "none":
            w = np.ones(len(idx))
        else:
            keys = (info.system if lab == 0 else info.source)[idx].astype(str)
            _, inv = np.unique(keys, return_inverse=True)
            w = 1.0 / np.bincount(inv)[inv]
            if mode == "family" and lab == 0:
                fam = info.family[idx].astype(str)
                _, finv = np.unique(fam, return_inverse=True)
                # each family's systems share one family's worth of weight
                per_family = np.bincount(finv, weights=w)
                w = w / per_family[finv]
        w_clip[idx] = w / w.sum()
    return w_clip[clip_of_window] / np.maximum(n_win[clip_of_window], 1)


def train_head(X: np.ndarray, clip_of_window: np.ndarray, info: ClipInfo, train_clips: np.ndarray,
               cfg: HeadConfig, *, n_layer_inputs: int, log: Callable[[str], None] | None = None) -> Any:
    """Fit a :class:`voiceguard.detect.nets.PooledHead` on the windows of ``train_clips``.

    Parameters
    ----------
    X : np.ndarray [shape=(n_windows, D)], float32
        Pooled features of the chosen layers.
    clip_of_window : np.ndarray [shape=(n_windows,)], int
    info : ClipInfo
    train_clips : np.ndarray [shape=(n_clips,)], bool
    cfg : HeadConfig
    n_layer_inputs : int
        How many layers ``X`` holds side by side.

    Returns
    -------
    PooledHead (eval mode)
    """
    import torch
    from torch.nn import functional as F

    from voiceguard.detect.nets import PooledHead

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    if cfg.exclude_families:
        train_clips = train_clips & ~((info.label == 0) & np.isin(info.family, list(cfg.exclude_families)))
    win = np.flatnonzero(train_clips[clip_of_window])
    w = _window_weights(info, clip_of_window, train_clips, cfg.balance, cfg.bona_balance)[win]
    w = w / w.mean()
    Xt = torch.from_numpy(np.ascontiguousarray(X[win], np.float32))
    yt = torch.from_numpy(info.label[clip_of_window[win]].astype(np.float32))
    wt = torch.from_numpy(w.astype(np.float32))
    head = PooledHead(X.shape[1], n_layers=n_layer_inputs, mix=cfg.mix, hidden=cfg.hidden, dropout=cfg.dropout)
    mean = np.average(X[win], axis=0, weights=w)
    std = np.sqrt(np.average((X[win] - mean) ** 2, axis=0, weights=w))
    head.set_normalisation(mean, std)
    if not cfg.hidden:
        # logistic regression: full-batch L-BFGS on the weighted cross-entropy with an L2
        # penalty (exact and fast; minibatches only add noise to a convex problem)
        head.net[0].p = 0.0
        opt = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=cfg.epochs * 25, history_size=20,
                                line_search_fn="strong_wolfe", tolerance_grad=1e-6, tolerance_change=1e-9)
        params = [p for p in head.parameters()]

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = (F.binary_cross_entropy_with_logits(head(Xt), yt, reduction="none") * wt).mean()
            loss = loss + cfg.weight_decay * 0.5 * sum((p ** 2).sum() for p in params if p.dim() > 1)
            loss.backward()
            return loss

        head.train()
        opt.step(closure)
        head.eval()
        return head
    opt = torch.optim.AdamW(head.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(win)
    steps = cfg.epochs * int(np.ceil(n / cfg.batch_size))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=max(1, steps), pct_start=0.1)
    head.train()
    for ep in range(cfg.epochs):
        order = rng.permutation(n)
        total = 0.0
        for i in range(0, n, cfg.batch_size):
            b = torch.from_numpy(order[i: i + cfg.batch_size])
            loss = (F.binary_cross_entropy_with_logits(head(Xt[b]), yt[b], reduction="none") * wt[b]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(b)
        if log:
            log(f"    epoch {ep + 1}/{cfg.epochs} loss {total / n:.4f}")
    head.eval()
    return head


def clip_scores(head: Any, X: np.ndarray, clip_of_window: np.ndarray, speech_fraction: np.ndarray,
                clips: np.ndarray, *, min_fraction: float = 0.25) -> np.ndarray:
    """Clip raw scores (mean over speech windows, as scoring aggregates) of ``clips`` (indices)."""
    import torch

    from voiceguard.detect.aggregate import used_segments

    sel = np.flatnonzero(np.isin(clip_of_window, clips))
    with torch.inference_mode():
        raw = np.concatenate([head(torch.from_numpy(np.ascontiguousarray(X[sel[i:i + 4096]], np.float32))).numpy()
                              for i in range(0, len(sel), 4096)]) if len(sel) else np.zeros(0)
    out = np.full(len(clips), np.nan)
    pos = {c: i for i, c in enumerate(clips)}
    by_clip: dict[int, list[int]] = defaultdict(list)
    for j, c in enumerate(clip_of_window[sel]):
        by_clip[int(c)].append(j)
    for c, js in by_clip.items():
        used = used_segments(speech_fraction[sel][js], min_fraction)
        out[pos[c]] = float(np.mean(raw[js][used]))
    return out


def evaluate_folds(X: np.ndarray, clip_of_window: np.ndarray, speech_fraction: np.ndarray, info: ClipInfo,
                   cfg: HeadConfig, scheme: str, *, n_layer_inputs: int,
                   log: Callable[[str], None] = print, save_models: Any = None) -> dict[str, Any]:
    """Train one head per fold and score its held-out trials (each fold's head kept as
    ``save_models/FOLD.pt`` when a folder is given).

    Returns
    -------
    dict
        ``{'config', 'scheme', 'folds': {name: {'clips': [...], 'scores': [...]}}, 'seconds'}``
        (clip indices and raw scores of each fold's test trials).
    """
    t0 = time.time()
    res: dict[str, Any] = {"config": dataclasses.asdict(cfg), "scheme": scheme, "folds": {}}
    for name, train, test in folds(info, scheme):
        head = train_head(X, clip_of_window, info, train, cfg, n_layer_inputs=n_layer_inputs)
        if save_models is not None:
            import torch

            Path(save_models).mkdir(parents=True, exist_ok=True)
            torch.save(head.state_dict(), Path(save_models) / f"{name}.pt")
        clips = np.flatnonzero(test)
        s = clip_scores(head, X, clip_of_window, speech_fraction, clips)
        res["folds"][name] = {"clips": clips.tolist(), "scores": s.tolist()}
    res["seconds"] = round(time.time() - t0, 1)
    return res


def summarise_folds(res: dict[str, Any], info: ClipInfo) -> dict[str, Any]:
    """EERs of an :func:`evaluate_folds` result: per fold and band, pooled, worst, mean.

    Returns
    -------
    dict
        ``{'per_fold': {name: {'all', '16k', 'tel', 'n_spoof'}}, 'pooled': {...}, 'worst':
        {'fold', 'eer'}, 'mean': float}`` (EERs as fractions).
    """
    per_fold, pooled_b, pooled_s = {}, defaultdict(list), defaultdict(list)
    for name, f in res["folds"].items():
        clips, scores = np.asarray(f["clips"], int), np.asarray(f["scores"], float)
        ok = np.isfinite(scores)
        clips, scores = clips[ok], scores[ok]
        lab, band = info.label[clips], info.band[clips]
        row: dict[str, Any] = {"n_spoof": int((lab == 0).sum()), "n_bonafide": int((lab == 1).sum())}
        for b in ("all", "16k", "tel"):
            sel = np.ones(len(clips), bool) if b == "all" else band == b
            bona, spoof = scores[sel & (lab == 1)], scores[sel & (lab == 0)]
            row[b] = float(eer(bona, spoof)) if len(bona) and len(spoof) else None
            pooled_b[b].append(bona)
            pooled_s[b].append(spoof)
        per_fold[name] = row
    pooled = {}
    for b in ("all", "16k", "tel"):
        bona, spoof = np.concatenate(pooled_b[b]), np.concatenate(pooled_s[b])
        pooled[b] = float(eer(bona, spoof)) if len(bona) and len(spoof) else None
    valid = {k: v["all"] for k, v in per_fold.items() if v["all"] is not None}
    worst = max(valid, key=valid.get)
    return {"per_fold": per_fold, "pooled": pooled, "worst": {"fold": worst, "eer": valid[worst]},
            "mean": float(np.mean(list(valid.values())))}


def pooled_scores(res: dict[str, Any], label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The finite out-of-fold scores of every fold of a result, pooled: ``(bona fide, spoof)``.

    Every trial was scored by a model that never saw its held-out group, so these are what
    calibration, thresholds and operating points are fitted on. ``label`` is
    :attr:`ClipInfo.label` (1 bona fide, 0 spoof) of the corpus the result scores.
    """
    bona, spoof = [], []
    for f in res["folds"].values():
        c, s = np.asarray(f["clips"], int), np.asarray(f["scores"], float)
        ok = np.isfinite(s)
        bona.append(s[ok & (label[c] == 1)])
        spoof.append(s[ok & (label[c] == 0)])
    return np.concatenate(bona), np.concatenate(spoof)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=1, default=float)
