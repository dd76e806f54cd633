"""Training the LFCC-ResNet detector (``--model fast``) from a manifest.

Layout of an output folder (SpeechBrain-style: weights with their config beside them)::

    OUT/
      cache/<kind>-<preset>-<sr>/<hash>.npz   features [F, T] + VAD mask [T] per clip
      model.json        config: features, architecture, scoring, calibration, training log
      model.pt          ResNet state_dict
      val_scores.tsv    per-clip validation scores the calibration was fitted on
      train.log         one line per epoch

Recipe (ResNet):

* every clip is decoded, mixed down, resampled to 16 kHz, featurised once and cached;
* each epoch draws one random crop of ``crop_s`` seconds per training clip (short clips
  are tiled), classes weighted to balance, SpecAugment-like time and coefficient masks on
  the per-window-normalised features;
* Adam with cosine learning-rate decay; fixed seeds (numpy, torch, crops, masks);
  ``torch.set_num_threads(threads)``;
* after every epoch the validation clips are scored exactly as
  :class:`voiceguard.detect.Detector` scores recordings (sliding windows, speech-segment
  mean); training stops early when the validation EER has not improved for
  ``patience`` epochs, or when the wall-clock budget ``time_budget_s`` would be exceeded;
  the best epoch's weights are kept;
* the calibration (:mod:`voiceguard.detect.calibration`) is fitted on the validation scores.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.detect.aggregate import used_segments
from voiceguard.detect.calibration import DEFAULT_PRIOR, DEFAULT_THRESHOLD, Calibration, fit_calibration
from voiceguard.detect.frontends.lfcc import compute_features
from voiceguard.detect.model import DEFAULT_SCORING
from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = ["LFCC_FEATURES", "CachedClip", "load_features", "train", "TrainResult"]

#: The front end of the LFCC-ResNet (the ``features`` entry of its config).
LFCC_FEATURES = {"kind": "lfcc", "preset": "asvspoof2019", "sr": 16000, "hop_s": 0.01, "n_features": 60}

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class CachedClip:
    """Features of one manifest row.

    Attributes
    ----------
    feats : np.ndarray [shape=(F, T)], float32
    speech : np.ndarray [shape=(T,)], bool
    label : int
        1 = bona fide, 0 = spoof.
    row : ClipRow
    """

    feats: np.ndarray
    speech: np.ndarray
    label: int
    row: Any


def _cache_key(path: Path, fcfg: dict) -> str:
    st = path.stat()
    h = hashlib.sha1(
        f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{json.dumps(fcfg, sort_keys=True)}".encode()
    )
    return h.hexdigest()[:20]


def _featurise(args: tuple[str, dict, str]) -> tuple[str, str | None]:
    """Worker: compute and store one clip's features; returns (cache file, error)."""
    from voiceguard import audio
    from voiceguard.audio.vad import speech_activity

    src, fcfg, dst = args
    if os.path.exists(dst):
        return dst, None
    try:
        y, sr = audio.load_mono(src, sr=fcfg["sr"])
        feats = compute_features(y, sr, fcfg)
        act = speech_activity(y, sr)
        mask = np.zeros(feats.shape[1], bool)
        n = min(len(act.mask), feats.shape[1])
        mask[:n] = act.mask[:n]
        # a per-process temporary name: parallel trainings may share one cache folder
        tmp = f"{dst}.{os.getpid()}.tmp.npz"
        np.savez(tmp, feats=feats.astype(np.float32), speech=mask)
        os.replace(tmp, dst)
        return dst, None
    except VoiceguardError as exc:
        return dst, str(exc)


def load_features(
    manifest: Any,
    cache_dir: str | os.PathLike,
    feature_config: dict,
    *,
    jobs: int = 1,
    log: Log = _stderr,
) -> list[CachedClip]:
    """Features of every manifest row, computed once and cached as ``.npz``.

    Parameters
    ----------
    manifest : voiceguard.data.manifest.Manifest
    cache_dir : str or os.PathLike
        Folder of the cache files (one per clip and feature configuration).
    feature_config : dict
        :data:`LFCC_FEATURES` (or another LFCC configuration).
    jobs : int
        Worker processes for the clips not cached yet.
    log : callable
        Progress messages.

    Returns
    -------
    list of CachedClip
        In manifest order; unreadable clips are skipped with a message, clips with no
        feature frames too.
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    tasks = []
    for row in manifest:
        src = manifest.resolve(row)
        if not src.is_file():
            raise InvalidParameterError(
                f"{src}: audio file listed in the manifest does not exist; rebuild the corpus "
                "or fix the manifest's paths"
            )
        tasks.append((str(src), feature_config, str(cache / f"{_cache_key(src, feature_config)}.npz")))
    todo = [t for t in tasks if not os.path.exists(t[2])]
    t0 = time.perf_counter()
    errors: dict[str, str] = {}
    if todo:
        log(f"features: computing {feature_config['kind']} for {len(todo)} of {len(tasks)} clips "
            f"({jobs} process{'es' if jobs > 1 else ''})")
        if jobs > 1:
            import multiprocessing as mp

            with mp.get_context("spawn").Pool(jobs) as pool:
                results = pool.map(_featurise, todo, chunksize=8)
        else:
            results = [_featurise(t) for t in todo]
        errors = {dst: err for dst, err in results if err}
        log(f"features: done in {time.perf_counter() - t0:.1f} s")
    out = []
    for row, (src, _, dst) in zip(manifest, tasks):
        if dst in errors:
            log(f"features: skipped {src}: {errors[dst]}")
            continue
        with np.load(dst) as z:
            feats, speech = z["feats"], z["speech"]
        if feats.shape[1] == 0:
            log(f"features: skipped {src}: too short for one frame")
            continue
        out.append(CachedClip(feats, speech, 1 if row.label == "bonafide" else 0, row))
    return out


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes
    ----------
    config_path : Path
        The model's ``model.json``.
    val_eer : float
        Validation EER of the kept model (per clip, aggregated as the Detector does).
    n_parameters : int
    epochs : int
        Epochs run (0 for the GMM).
    seconds : float
        Wall-clock training time including feature extraction.
    """

    config_path: Path
    val_eer: float
    n_parameters: int
    epochs: int
    seconds: float


def _clip_scores(
    clips: Sequence[CachedClip],
    score_windows: Callable[[list[np.ndarray]], np.ndarray],
    scoring: dict,
    hop_s: float,
) -> np.ndarray:
    """Per-clip raw scores, aggregated exactly as the Detector does."""
    win = int(round(scoring["window_s"] / hop_s))
    hop = int(round(scoring["hop_s"] / hop_s))
    all_windows, spans, fracs = [], [], []
    for c in clips:
        b = window_bounds(c.feats.shape[1], win, hop)
        spans.append((len(all_windows), len(all_windows) + len(b)))
        all_windows.extend(c.feats[:, s:e] for s, e in b)
        fracs.append(speech_fractions(c.speech, b))
    raw = score_windows(all_windows)
    return np.array([
        aggregate_raw(raw[s:e], used_segments(f, scoring["min_speech_fraction"]))
        for (s, e), f in zip(spans, fracs)
    ])


def _eer_and_dprime(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    from voiceguard.evaluation.metrics import eer

    b, s = scores[labels == 1], scores[labels == 0]
    d = (b.mean() - s.mean()) / math.sqrt(0.5 * (b.var() + s.var()) + 1e-12)
    return eer(b, s), float(d)


def _split(manifest: Any, split: str, what: str) -> Any:
    m = manifest.filter(split=split)
    labels = {r.label for r in m}
    if len(m) == 0 or labels != {"bonafide", "spoof"}:
        raise InvalidParameterError(
            f"the manifest's {what} split {split!r} needs clips of both classes, got {len(m)} clips "
            f"with labels {sorted(labels)}; splits present: {manifest.values('split')}"
        )
    return m


def train(
    manifest: Any,
    out_dir: str | os.PathLike,
    *,
    train_split: str = "train",
    val_split: str = "val",
    epochs: int = 30,
    time_budget_s: float | None = None,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    loss: str = "bce",
    crop_s: float = 4.0,
    spec_augment: bool = True,
    patience: int = 6,
    channels: Sequence[int] = (64, 128, 128),
    strides: Sequence[int] = (1, 2, 2),
    embedding_dim: int = 64,
    seed: int = 0,
    threads: int | None = None,
    jobs: int = 1,
    cache_dir: str | os.PathLike | None = None,
    name: str | None = None,
    hold_out_families: Sequence[str] = (),
    hold_out_systems: Sequence[str] = (),
    log: Log = _stderr,
) -> TrainResult:
    """Train an LFCC-ResNet on a manifest's train split, select and calibrate on its val split.

    Parameters
    ----------
    manifest : Manifest or str or os.PathLike
        A :class:`voiceguard.data.manifest.Manifest` or a manifest file.
    out_dir : str or os.PathLike
        Output folder (created); see the module docstring for its layout.
    train_split, val_split : str
        Values of the manifest's ``split`` column used for training and validation.
    hold_out_families : sequence of str
        Spoof families (the manifest's ``family`` column) removed from the training and
        validation splits, so that neither training nor epoch selection nor calibration sees
        them; scoring their clips later measures a family the model never saw
        (leave-one-family-out).
    hold_out_systems : sequence of str
        The same for single synthesizers (the ``system`` column): leave-one-synthesizer-out.
    epochs : int
        Maximum epochs.
    time_budget_s : float, optional
        Wall-clock budget for the training epochs (feature extraction excluded); no
        epoch is started that would probably end past it.
    batch_size, lr, weight_decay : int, float, float
        Optimiser settings (Adam, cosine decay over ``epochs``).
    loss : {'bce', 'ocsoftmax'}
        Binary cross-entropy on a linear head, or one-class softmax.
    crop_s : float
        Training crop length in seconds.
    spec_augment : bool
        Time and coefficient masking during training.
    patience : int
        Epochs without validation-EER improvement before stopping.
    channels, strides, embedding_dim :
        ResNet architecture (:class:`voiceguard.detect.nets.ResNet1D`).
    seed : int
        Seed of every random choice.
    threads : int, optional
        ``torch.set_num_threads``; default: leave torch's setting.
    jobs : int
        Processes for feature extraction.
    cache_dir : str or os.PathLike, optional
        Feature cache root (default ``out_dir/cache``); share it between models trained
        on the same features.
    name : str, optional
        Model name stored in the config (default ``'lfcc-resnet'``).
    log : callable
        Receives progress lines (default: stderr).

    Returns
    -------
    TrainResult
    """
    from voiceguard.data.manifest import Manifest, read_manifest

    t_start = time.perf_counter()
    if loss not in ("bce", "ocsoftmax"):
        raise InvalidParameterError(f"loss must be 'bce' or 'ocsoftmax', got {loss!r}")
    manifest_source: dict[str, Any] = {"manifest": None}
    if not isinstance(manifest, Manifest):
        manifest_source = _manifest_source(manifest)
        manifest = read_manifest(manifest)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fcfg = dict(LFCC_FEATURES)
    cache_dir = Path(cache_dir) if cache_dir is not None else out / "cache"
    sub = f"{fcfg['kind']}-{fcfg['preset']}-{fcfg['sr']}"
    cache_dir = cache_dir / sub
    tr_m = _split(manifest, train_split, "training")
    for column, values in (("family", hold_out_families), ("system", hold_out_systems)):
        if not values:
            continue
        held = set(values)
        known = {getattr(r, column) for r in tr_m}
        if not held <= known:
            raise InvalidParameterError(
                f"held-out {column} value(s) {sorted(held - known)} are not in the training split; "
                f"its {column} values are {sorted(known)}"
            )
        tr_m = _split(Manifest([r for r in tr_m if getattr(r, column) not in held], tr_m.root),
                      train_split, f"training (after holding out {column} {sorted(held)})")
        log(f"holding out {column} {sorted(held)}: {len(tr_m)} training clips remain")
    va_m = _split(manifest, val_split, "validation")
    # A held-out family stays out of validation too: epoch selection and calibration must
    # not see it, or leave-one-out numbers are optimistic.
    held_fam, held_sys = set(hold_out_families), set(hold_out_systems)
    va_m = _split(Manifest([r for r in va_m if r.family not in held_fam and r.system not in held_sys], va_m.root),
                  val_split, "validation (after holding out)")
    tr = load_features(tr_m, cache_dir, fcfg, jobs=jobs, log=log)
    va = load_features(va_m, cache_dir, fcfg, jobs=jobs, log=log)
    t_feat = time.perf_counter() - t_start
    scoring = dict(DEFAULT_SCORING)
    name = name or "lfcc-resnet"
    va_labels = np.array([c.label for c in va])
    log_path = out / "train.log"
    log_path.write_text("", encoding="utf-8")

    def say(msg: str) -> None:
        log(msg)
        with open(log_path, "a", encoding="utf-8") as fh:
            fh.write(msg + "\n")

    say(f"{name}: {len(tr)} training clips, {len(va)} validation clips, features {t_feat:.1f} s")
    val_scores, val_eer, n_params, arch, n_epochs, history = _train_resnet(
        tr, va, va_labels, out, fcfg, scoring, epochs=epochs, time_budget_s=time_budget_s,
        batch_size=batch_size, lr=lr, weight_decay=weight_decay, loss=loss, crop_s=crop_s,
        spec_augment=spec_augment, patience=patience, channels=channels, strides=strides,
        embedding_dim=embedding_dim, seed=seed, threads=threads, say=say, name=name)
    weights = "model.pt"
    cal_warning = None
    try:
        cal = fit_calibration(val_scores[va_labels == 1], val_scores[va_labels == 0], prior=0.5)
    except InvalidParameterError as exc:
        # a model that ranks validation spoofs above bona fide speech is useless; keep it
        # loadable but uninformative (LLR ~ 0 everywhere) and say so loudly
        cal_warning = f"calibration failed, model is uninformative: {exc}"
        say(f"{name}: WARNING {cal_warning}")
        cal = Calibration(1e-6, 0.0, 0.5, int((va_labels == 1).sum()), int((va_labels == 0).sum()))
    with open(out / "val_scores.tsv", "w", encoding="utf-8") as fh:
        fh.write("path\tlabel\tsystem\tfamily\tcondition\traw_score\tllr\n")
        for c, s in zip(va, val_scores):
            fh.write(f"{c.row.path}\t{c.row.label}\t{c.row.system}\t{c.row.family}\t{c.row.condition}"
                     f"\t{s:.6f}\t{cal.llr(float(s)):.6f}\n")
    seconds = time.perf_counter() - t_start
    config = {
        "format": "voiceguard-detector",
        "version": 1,
        "name": name,
        "kind": "resnet",
        "weights": weights,
        "features": fcfg,
        "model": arch,
        "n_parameters": n_params,
        "scoring": scoring,
        "calibration": cal.to_dict(),
        "prior": DEFAULT_PRIOR,
        "threshold": DEFAULT_THRESHOLD,
        "training": {
            **manifest_source,
            "train_split": train_split,
            "val_split": val_split,
            "n_train": len(tr),
            "n_val": len(va),
            "epochs_run": n_epochs,
            "seconds": round(seconds, 1),
            "feature_seconds": round(t_feat, 1),
            "seed": seed,
            "threads": threads,
            "settings": {"epochs": epochs, "time_budget_s": time_budget_s, "batch_size": batch_size,
                         "lr": lr, "weight_decay": weight_decay, "loss": loss, "crop_s": crop_s,
                         "spec_augment": spec_augment, "patience": patience,
                         "hold_out_families": sorted(hold_out_families),
                         "hold_out_systems": sorted(hold_out_systems)},
            "history": history,
        },
        "validation": {"eer": val_eer, **({"warning": cal_warning} if cal_warning else {})},
    }
    tmp = out / "model.json.tmp"
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out / "model.json")
    say(f"{name}: validation EER {100 * val_eer:.2f} %, {n_params} parameters, {seconds:.0f} s -> "
        f"{out / 'model.json'}")
    return TrainResult(out / "model.json", float(val_eer), n_params, n_epochs, seconds)


def _manifest_source(path: str | os.PathLike) -> dict[str, Any]:
    """How a model config names its training manifest: the file name and a SHA-256 of its
    content, never a path of the machine it was trained on (configs ship)."""
    import hashlib

    p = Path(path)
    f = p
    if p.is_dir():
        f = next((p / n for n in ("manifest.tsv", "MANIFEST.tsv") if (p / n).is_file()), p)
    out: dict[str, Any] = {"manifest": f.name}
    if f.is_file():
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        out["manifest_sha256"] = h.hexdigest()
    return out


def _crop(feats: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Random ``n``-frame crop of ``[F, T]``; shorter clips are tiled."""
    t = feats.shape[1]
    if t < n:
        feats = np.tile(feats, (1, int(math.ceil(n / t)) + 1))
        t = feats.shape[1]
    s = int(rng.integers(0, t - n + 1))
    return feats[:, s : s + n]


def _train_resnet(
    tr: list[CachedClip],
    va: list[CachedClip],
    va_labels: np.ndarray,
    out: Path,
    fcfg: dict,
    scoring: dict,
    *,
    epochs: int,
    time_budget_s: float | None,
    batch_size: int,
    lr: float,
    weight_decay: float,
    loss: str,
    crop_s: float,
    spec_augment: bool,
    patience: int,
    channels: Sequence[int],
    strides: Sequence[int],
    embedding_dim: int,
    seed: int,
    threads: int | None,
    say: Log,
    name: str,
) -> tuple[np.ndarray, float, int, dict, int, list[dict]]:
    import torch
    from torch.nn import functional as F

    from voiceguard.detect.nets import MAX_PARAMETERS, ResNet1D, count_parameters
    from voiceguard.training.augment import oc_softmax_loss
    from voiceguard.training.augment import spec_augment as mask_fn

    if threads is not None:
        torch.set_num_threads(int(threads))
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed + 1)
    arch = dict(n_features=int(tr[0].feats.shape[0]), channels=list(channels), strides=list(strides),
                embedding_dim=embedding_dim, head="ocsoftmax" if loss == "ocsoftmax" else "linear")
    net = ResNet1D(**arch)
    arch = net.config
    n_params = count_parameters(net)
    if n_params > MAX_PARAMETERS:
        raise InvalidParameterError(
            f"the ResNet has {n_params} parameters, over the {MAX_PARAMETERS} budget; use fewer channels"
        )
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs))
    labels = np.array([c.label for c in tr])
    n_b, n_s = int(labels.sum()), int(len(labels) - labels.sum())
    cls_w = torch.tensor([len(labels) / (2.0 * max(1, n_s)), len(labels) / (2.0 * max(1, n_b))])
    crop = int(round(crop_s / fcfg["hop_s"]))

    def score_windows(windows: list[np.ndarray]) -> np.ndarray:
        outs = np.empty(len(windows))
        net.eval()
        with torch.inference_mode():
            i = 0
            while i < len(windows):
                j = i + 1
                while j < len(windows) and j - i < 64 and windows[j].shape == windows[i].shape:
                    j += 1
                outs[i:j] = net(torch.from_numpy(np.stack(windows[i:j]))).double().numpy()
                i = j
        return outs

    best: tuple[float, float] = (math.inf, -math.inf)
    best_state = None
    best_scores = np.zeros(len(va))
    history: list[dict] = []
    t0 = time.perf_counter()
    bad = 0
    epoch_times: list[float] = []
    n_epochs = 0
    for epoch in range(1, epochs + 1):
        if time_budget_s is not None and epoch_times:
            if time.perf_counter() - t0 + max(epoch_times[-3:]) > time_budget_s:
                say(f"{name}: time budget {time_budget_s:.0f} s reached after {epoch - 1} epochs")
                break
        te = time.perf_counter()
        net.train()
        order = rng.permutation(len(tr))
        total, seen = 0.0, 0
        for k in range(0, len(order), batch_size):
            idx = order[k : k + batch_size]
            if len(idx) < 2:
                continue
            x = torch.from_numpy(np.stack([_crop(tr[i].feats, crop, rng) for i in idx]))
            y = torch.from_numpy(labels[idx].astype(np.float32))
            h = net.normalise(x)
            if spec_augment:
                h = mask_fn(h, gen)
            s = net.score_embedding(net.embedding(h))
            w = cls_w[labels[idx]]
            if loss == "bce":
                lv = (F.binary_cross_entropy_with_logits(s, y, reduction="none") * w).mean()
            else:
                lv = oc_softmax_loss(s, y)
            opt.zero_grad()
            lv.backward()
            opt.step()
            total += float(lv.detach()) * len(idx)
            seen += len(idx)
        sched.step()
        scores = _clip_scores(va, score_windows, scoring, fcfg["hop_s"])
        v_eer, v_d = _eer_and_dprime(scores, va_labels)
        epoch_times.append(time.perf_counter() - te)
        n_epochs = epoch
        improved = (v_eer, -v_d) < (best[0], -best[1])
        history.append({"epoch": epoch, "train_loss": round(total / max(1, seen), 5),
                        "val_eer": round(v_eer, 5), "val_dprime": round(v_d, 3),
                        "seconds": round(epoch_times[-1], 1)})
        say(f"{name}: epoch {epoch:2d} loss {total / max(1, seen):.4f} val EER {100 * v_eer:5.2f} % "
            f"d' {v_d:5.2f} ({epoch_times[-1]:.1f} s){' *' if improved else ''}")
        if improved:
            best, bad = (v_eer, v_d), 0
            best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            best_scores = scores
        else:
            bad += 1
            if bad >= patience:
                say(f"{name}: no validation improvement for {patience} epochs, stopping")
                break
    if best_state is None:
        raise InvalidParameterError("no epoch was trained: raise the time budget or the epoch count")
    net.load_state_dict(best_state)
    torch.save(net.state_dict(), out / "model.pt")
    return best_scores, float(best[0]), n_params, arch, n_epochs, history


def window_bounds(n_frames: int, win: int, hop: int) -> list[tuple[int, int]]:
    """Frame ranges of the sliding windows over a recording.

    Parameters
    ----------
    n_frames : int
        Frames in the recording.
    win, hop : int
        Window length and hop in frames.

    Returns
    -------
    list of (start, stop)
        ``[(0, n_frames)]`` when the recording is not longer than one window; otherwise
        windows every ``hop`` frames, the last one ending exactly at ``n_frames``.
    """
    if n_frames <= win:
        return [(0, n_frames)]
    starts = list(range(0, n_frames - win + 1, hop))
    if starts[-1] + win < n_frames:
        starts.append(n_frames - win)
    return [(s, s + win) for s in starts]


def speech_fractions(mask: np.ndarray, bounds: Sequence[tuple[int, int]]) -> np.ndarray:
    """Fraction of speech frames of ``mask`` [n] in each window; returns ``[n_windows]``."""
    out = np.zeros(len(bounds))
    for i, (s, t) in enumerate(bounds):
        m = mask[s:t]
        out[i] = float(m.mean()) if m.size else 0.0
    return out


def aggregate_raw(segment_scores: np.ndarray, used: np.ndarray) -> float:
    """Recording raw score: mean of the used segments' raw scores (calibration is affine,
    so ``cal.llr(aggregate_raw(s)) == aggregate_llr(cal.llr(s))``)."""
    return float(np.mean(np.asarray(segment_scores)[used]))
