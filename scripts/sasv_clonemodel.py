#!/usr/bin/env python
"""Research: per-speaker clone models with many kinds of synthesis, held out by page and system.

Variants of the per-speaker model of "genuine versus synthetic renderings of this voice",
each scored on the trials of ``scripts/eval_sasv_pages.py`` (frames from its cache):

* ``shipped``: the shipped clone check (GMM on the enrollment and its DSP copies,
  MAP-adapted both ways; ``clone_llr`` of the trial file);
* ``ubm``: two universal models, a *bona fide* GMM (real recordings of the training
  pages and LibriSpeech) and a *synthetic* GMM (clones of other speakers on the training
  pages, plus DSP copies), the bona fide one MAP-adapted to the enrollment, the synthetic
  one MAP-adapted to the enrollment's DSP copies; score = mean frame LLR;
* ``ubm-noadapt``: the same two GMMs without speaker adaptation (a generic LFCC-GMM
  countermeasure), to see what the adaptation adds.

Held out: the pages are split into ``--folds`` groups (as ``sasv_fusion.py``); the universal
models of a fold are fitted on the other pages only, leaving out the clones of every system
cluster that occurs among the held-out clones. Scores go to ``--out`` (JSON: per trial
index, per variant), for the fusion.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from sasv_fusion import folds_of, load_trials  # noqa: E402


def frames(cache: Path, path: str, cond: str) -> np.ndarray:
    p = cache / "feat" / f"{hashlib.sha1((path + '|' + cond).encode()).hexdigest()[:20]}.npz"
    with np.load(p) as z:
        return z["frames"].astype(np.float64)


def copies_frames(cache: Path, enroll_path: str, cond: str) -> list[np.ndarray]:
    """LFCC frames of the shipped DSP copies of an enrollment (cached)."""
    from eval_sasv_pages import phone_chain

    from voiceguard.audio import load_mono
    from voiceguard.voiceprint import clone_check as cc

    d = cache / "copies"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{hashlib.sha1((enroll_path + '|' + cond).encode()).hexdigest()[:20]}.npz"
    if p.is_file():
        with np.load(p) as z:
            return [z[k].astype(np.float64) for k in z.files]
    y, sr = load_mono(enroll_path)
    src = y[: int(cc.COPY_SOURCE_S * sr)]
    out = {}
    for name, z in cc.make_copies(src, sr, vocoders=cc.copy_vocoders()):
        if cond == "phone":
            z, zsr = phone_chain(z, sr)
        else:
            zsr = sr
        out[name] = cc.clone_frames(z, zsr).astype(np.float16)
    np.savez(p, **out)
    return [v.astype(np.float64) for v in out.values()]


class GMM:
    def __init__(self, w, means, var) -> None:
        self.w, self.means, self.var = w, means, var
        self.inv = 1.0 / var
        self.ln = np.log(w) - 0.5 * np.sum(np.log(2 * np.pi * var), axis=1)

    @classmethod
    def fit(cls, x: np.ndarray, k: int, n_iter: int = 15, seed: int = 0) -> GMM:
        from voiceguard.voiceprint.clone_check import _em

        w, m, v = _em(x, k, n_iter, np.random.default_rng(seed))
        return cls(w, m, v)

    def loglik(self, x: np.ndarray, means: np.ndarray | None = None) -> np.ndarray:
        from voiceguard.voiceprint.clone_check import _log_gauss, _logsumexp

        return _logsumexp(_log_gauss(x, self.means if means is None else means, self.inv, self.ln))

    def adapt(self, x: np.ndarray, r: float) -> np.ndarray:
        from voiceguard.voiceprint.clone_check import _log_gauss, _logsumexp

        lp = _log_gauss(x, self.means, self.inv, self.ln)
        post = np.exp(lp - _logsumexp(lp)[:, None])
        nk = post.sum(0)
        ex = (post.T @ x) / np.maximum(nk, 1e-10)[:, None]
        a = (nk / (nk + r))[:, None]
        return a * ex + (1 - a) * self.means


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trials", type=Path)
    ap.add_argument("--demos", type=Path, default=Path("/work/pipe/runs/demos"))
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "voiceguard_sasv_pages")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--components", type=int, default=64)
    ap.add_argument("--per-file", type=int, default=150, help="frames per file pooled into the universal models")
    ap.add_argument("--relevance", type=float, default=8.0)
    ap.add_argument("--min-enroll-speech", type=float, default=3.0)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    from voiceguard.evaluation.metrics import eer

    trials = [t for t in load_trials(args.trials) if t["enroll_speech_s"] >= args.min_enroll_speech]
    cond = trials[0]["cond"]
    for t in trials:
        t["enroll_abs"] = t["enroll"] if t["enroll"].startswith("/") else str(args.demos / t["enroll"])
    lab = np.array([t["label"] for t in trials])
    cl = np.array([t.get("cluster", "-") for t in trials])
    fold = folds_of(trials, args.folds)
    rng = np.random.default_rng(0)

    def sub(x):
        if x.shape[0] > args.per_file:
            x = x[rng.choice(x.shape[0], args.per_file, replace=False)]
        return x

    # standardisation from LibriSpeech genuine frames (fixed, not fitted on pages)
    corpus_paths = sorted({t["path"] for t in trials if t["kind"] == "corpus"})
    ref = np.concatenate([frames(args.cache, p, cond) for p in corpus_paths])
    mu, sd = ref.mean(0), ref.std(0) + 1e-6
    z = lambda x: (x - mu) / sd
    scores = {"ubm": np.full(len(trials), np.nan), "ubm-noadapt": np.full(len(trials), np.nan)}
    for k in range(args.folds):
        te = fold == k
        held = set(cl[te & (lab == "clone")])
        tr = ~te
        bona_paths = sorted({t["path"] for i, t in enumerate(trials) if tr[i] and t["label"] == "genuine"} |
                            {t["enroll_abs"] for i, t in enumerate(trials) if tr[i]})
        spoof_paths = sorted({t["path"] for i, t in enumerate(trials)
                              if tr[i] and t["label"] == "clone" and t["cluster"] not in held})
        B = np.concatenate([sub(z(frames(args.cache, p, cond))) for p in bona_paths])
        S = np.concatenate([sub(z(frames(args.cache, p, cond))) for p in spoof_paths])
        print(f"fold {k}: bona {len(bona_paths)} files {B.shape[0]} frames, spoof {len(spoof_paths)} files "
              f"{S.shape[0]} frames, held-out clusters {len(held)}", flush=True)
        gb = GMM.fit(B, args.components, seed=k)
        gs = GMM.fit(S, args.components, seed=100 + k)
        models = {}
        for i in np.flatnonzero(te):
            t = trials[i]
            e = t["enroll_abs"]
            if e not in models:
                ef = z(frames(args.cache, e, cond))  # phone: the enrollment through the telephone chain
                cf = np.concatenate([z(c) for c in copies_frames(args.cache, e, cond)])
                models[e] = (gb.adapt(ef, args.relevance), gs.adapt(cf, args.relevance))
            x = z(frames(args.cache, t["path"], cond))
            if x.shape[0] == 0:
                continue
            mb, ms = models[e]
            scores["ubm"][i] = float(np.mean(gb.loglik(x, mb) - gs.loglik(x, ms)))
            scores["ubm-noadapt"][i] = float(np.mean(gb.loglik(x) - gs.loglik(x)))
    gen, cln = lab == "genuine", lab == "clone"
    for name, s in scores.items():
        ok = np.isfinite(s)
        print(f"{name:14s} SPF-EER (genuine vs clones, held out) {100 * eer(s[gen & ok], s[cln & ok]):.1f} %")
    sh = np.array([np.nan if t["clone_llr"] is None else t["clone_llr"] for t in trials])
    ok = np.isfinite(sh)
    if ok.any():
        print(f"{'shipped':14s} SPF-EER {100 * eer(sh[gen & ok], sh[cln & ok]):.1f} %")
    args.out.write_text(json.dumps({k: [None if not np.isfinite(v) else float(v) for v in s]
                                    for k, s in scores.items()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
