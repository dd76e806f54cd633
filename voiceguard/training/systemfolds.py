"""Held-out folds by system cluster, by groups of repositories, by family; and breakdowns.

:mod:`voiceguard.training.heldout` holds out one demo repository or one family at a time.
With 57 repositories that copy baselines from each other, a repository held out still
shares systems with the training pages (VALL-E is on a dozen of them). The question a
detector must answer is about **systems** it never saw, so the main scheme here holds out
**system clusters** (:class:`voiceguard.data.systems.SystemClusters`) wherever they appear:

* ``system``: the clusters of the demo spoofs are dealt into ``k`` folds balanced by
  (capped) spoof minutes; a fold trains on everything but its clusters' spoofs, on every
  page and in voiceguard's own corpus (a held-out VITS cluster takes the Piper voices out
  too), and tests its clusters' demo spoofs;
* ``repos``: the repositories are dealt into ``k`` folds; a fold tests its repositories'
  spoofs and real recordings, and trains on the other repositories;
* ``family``: one fold per family (tts, vc, vocoder, codec).

In every scheme the bona fide trials are the same: voiceguard's held-out speakers and
recording domains (splits ``val``, ``test``, ``xdomain``) and **half of every page's real
recordings** (by source file), which no fold ever trains on. The other half is trained on
in every fold, so every language and recording domain of the pages is on both sides.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError

__all__ = ["system_label", "clip_clusters", "deal", "eval_bonafide", "scheme_folds", "breakdown", "SCHEMES"]

HELDOUT_BONAFIDE_SPLITS = ("val", "test", "xdomain")
SCHEMES = ("system", "repos", "family", "none")
#: Minutes of one system label that count when folds are balanced (Tortoise alone has 108).
_CAP_MIN = 8.0


def system_label(system: str) -> str:
    """The page's own system label of a corpus system id (the corpus writes demo systems as
    ``<repo>|<label>``, so that two pages' alike-named models stay apart)."""
    return str(system).split("|", 1)[-1]


def clip_clusters(info: Any) -> np.ndarray:
    """System cluster of every clip (``'-'`` for bona fide clips)."""
    from voiceguard.data.systems import SystemClusters

    labels = sorted({system_label(s) for s, lab in zip(info.system, info.label) if lab == 0})
    sc = SystemClusters(labels)
    return np.asarray([sc.cluster(system_label(s)) if lab == 0 else "-" for s, lab in zip(info.system, info.label)],
                      dtype=object)


def _stable_unit(key: str, salt: str = "") -> float:
    return int(hashlib.sha256((salt + key).encode()).hexdigest()[:12], 16) / 16 ** 12


def deal(weights: Mapping[str, float], k: int, *, salt: str = "folds") -> dict[str, int]:
    """Deal keys into ``k`` folds of about equal total weight (heaviest first, each to the
    lightest fold; ties broken by a stable hash), deterministically."""
    if k < 1:
        raise InvalidParameterError(f"k must be >= 1, got {k}")
    load = np.zeros(k)
    out = {}
    for key in sorted(weights, key=lambda x: (-weights[x], _stable_unit(x, salt))):
        f = int(np.argmin(load + 1e-9 * np.arange(k)))
        out[key] = f
        load[f] += weights[key]
    return out


def eval_bonafide(info: Any) -> np.ndarray:
    """The half of the pages' real recordings (by source file) that no fold trains on."""
    files = np.asarray([g.rsplit("-", 1)[0] for g in info.group], dtype=object)
    half = np.asarray([_stable_unit(str(f), "bona") < 0.5 for f in files], bool)
    return (info.split == "demo") & (info.label == 1) & half


def _capped_minutes(info: Any, sel: np.ndarray, key: np.ndarray, duration: np.ndarray) -> dict[str, float]:
    per_label: dict[tuple[str, str], float] = defaultdict(float)
    for i in np.flatnonzero(sel):
        per_label[(str(key[i]), str(info.system[i]))] += duration[i] / 60.0
    out: dict[str, float] = defaultdict(float)
    for (k, _), m in per_label.items():
        out[k] += min(m, _CAP_MIN)
    return dict(out)


def scheme_folds(info: Any, scheme: str, *, k: int = 8, duration: np.ndarray | None = None,
                 clusters: np.ndarray | None = None) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Folds ``(name, train_mask, test_mask)`` over clips (see the module docstring).

    Parameters
    ----------
    info : voiceguard.training.heldout.ClipInfo
    scheme : {'system', 'repos', 'family', 'none'}
        ``'none'``: one fold training on everything (the shipped model) that tests the
        held-out bona fide only.
    k : int
        Folds of the ``system`` and ``repos`` schemes.
    duration : np.ndarray [shape=(n_clips,)], optional
        Clip durations in seconds (for balancing; default: every clip 4 s).
    clusters : np.ndarray, optional
        :func:`clip_clusters` of ``info`` (computed when not given).
    """
    if scheme not in SCHEMES:
        raise InvalidParameterError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    dur = np.full(len(info), 4.0) if duration is None else np.asarray(duration, float)
    demo = info.split == "demo"
    spoof = info.label == 0
    ev_bona = eval_bonafide(info)
    bona_trials = (np.isin(info.split, HELDOUT_BONAFIDE_SPLITS) & (info.label == 1)) | ev_bona
    trainable = (info.split == "train") | (demo & ~ev_bona)
    if scheme == "none":
        return [("all", trainable, bona_trials)]
    out = []
    if scheme == "system":
        cl = clip_clusters(info) if clusters is None else clusters
        assign = deal(_capped_minutes(info, demo & spoof, cl, dur), k, salt="system")
        for f in range(k):
            held = [c for c, j in assign.items() if j == f]
            hs = spoof & np.isin(cl, held)
            out.append((f"system-{f}", trainable & ~hs, bona_trials | (hs & demo)))
    elif scheme == "repos":
        assign = deal(_capped_minutes(info, demo & spoof, info.repo, dur), k, salt="repos")
        for f in range(k):
            held = demo & np.isin(info.repo, [r for r, j in assign.items() if j == f])
            out.append((f"repos-{f}", trainable & ~held, bona_trials | (held & ~ev_bona)))
    else:  # family
        for fam in sorted(set(info.family[demo & spoof])):
            hs = demo & spoof & (info.family == fam)
            out.append((fam, trainable & ~hs, bona_trials | hs))
    return out


def breakdown(res: dict[str, Any], info: Any, key: np.ndarray, *, bands: tuple[str, ...] = ("all", "16k", "tel"),
              min_spoof: int = 6) -> dict[str, dict[str, Any]]:
    """EER of each group's spoof trials against the bona fide trials of the same fold.

    Parameters
    ----------
    res : dict
        :func:`voiceguard.training.heldout.evaluate_folds` output.
    key : np.ndarray [shape=(n_clips,)]
        Group of every clip (cluster, repository, family, language...); spoof trials are
        grouped by it.
    min_spoof : int
        Groups with fewer spoof trials are left out.

    Returns
    -------
    dict
        ``{group: {'n_spoof', 'fold', band: eer}}``.
    """
    from voiceguard.evaluation.metrics import eer

    out: dict[str, dict[str, Any]] = {}
    for fold, f in res["folds"].items():
        clips, scores = np.asarray(f["clips"], int), np.asarray(f["scores"], float)
        ok = np.isfinite(scores)
        clips, scores = clips[ok], scores[ok]
        lab, band = info.label[clips], info.band[clips]
        for g in sorted(set(key[clips[lab == 0]])):
            sel_s = (lab == 0) & (key[clips] == g)
            if sel_s.sum() < min_spoof:
                continue
            row: dict[str, Any] = {"n_spoof": int(sel_s.sum()), "fold": fold}
            for b in bands:
                bsel = np.ones(len(clips), bool) if b == "all" else band == b
                bona, sp = scores[(lab == 1) & bsel], scores[sel_s & bsel]
                row[b] = float(eer(bona, sp)) if len(bona) and len(sp) else None
            out[str(g)] = row
    return out
