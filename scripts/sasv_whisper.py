#!/usr/bin/env python
"""Research: clone evidence in the frozen Whisper-base space, relative to the enrollment.

Per file and condition: the mean and standard deviation of Whisper-base layers 2 and 3 over
the speech of the recording (the default detector's front end, frozen, trained by OpenAI on
no demo page), 2048 numbers, cached. Per trial three linear models (PCA + logistic
regression), fitted and measured held out exactly as ``scripts/sasv_fusion.py`` (pages and
LibriSpeech speakers in folds; clones of held-out system clusters never in the fit):

* ``test``: the test recording's vector alone (a linear countermeasure, speaker-blind);
* ``diff``: test minus enrollment (what the recording adds to this speaker's enrollment);
* ``both``.

``--out`` writes the held-out scores per trial (for the fusion).
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

from sasv_fusion import LogReg, folds_of, load_trials  # noqa: E402

_ENC = None


def whisper_vec(cache: Path, path: str, cond: str) -> np.ndarray:
    global _ENC
    d = cache / "whisper"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{hashlib.sha1((path + '|' + cond).encode()).hexdigest()[:20]}.npy"
    if p.is_file():
        return np.load(p)
    from eval_sasv_pages import phone_chain

    from voiceguard.audio import load_mono, resample
    from voiceguard.audio.vad import trim_nonspeech
    from voiceguard.detect.backends.whisper import encode_chunk, pool_windows
    from voiceguard.detect.frontends.whisper import load_encoder

    if _ENC is None:
        _ENC = load_encoder("base", n_layers=3)
    y, sr = load_mono(path)
    if cond == "phone":
        y, sr = phone_chain(y, sr)
    y = resample(np.asarray(y, np.float64), sr, 16000) if sr != 16000 else np.asarray(y, np.float64)
    z = trim_nonspeech(y, 16000)
    if len(z) < 8000:
        z = y
    z = z[: 30 * 16000]
    import torch

    with torch.inference_mode():
        v = pool_windows(encode_chunk(_ENC, z, [2, 3]), [(0, len(z))])[0]
    np.save(p, v.astype(np.float32))
    return v


def pca_fit(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    mu = X.mean(0)
    U, S, Vt = np.linalg.svd(X - mu, full_matrices=False)
    return mu, Vt[:k].T


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trials", type=Path)
    ap.add_argument("--demos", type=Path, default=Path("/work/pipe/runs/demos"))
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "voiceguard_sasv_pages")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--pca", type=int, default=64)
    ap.add_argument("--l2", type=float, default=10.0)
    ap.add_argument("--genuine-target", type=float, default=0.97)
    ap.add_argument("--min-enroll-speech", type=float, default=3.0)
    ap.add_argument("--extract-only", action="store_true")
    ap.add_argument("--variants", default="test,diff,both")
    ap.add_argument("--no-corpus-training", action="store_true",
                    help="fit on page trials only (LibriSpeech genuine trials still measured)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from voiceguard.evaluation.metrics import eer

    trials = [t for t in load_trials(args.trials) if t["enroll_speech_s"] >= args.min_enroll_speech]
    cond = trials[0]["cond"]
    for t in trials:
        t["enroll_abs"] = t["enroll"] if t["enroll"].startswith("/") else str(args.demos / t["enroll"])
    files = sorted({t["path"] for t in trials} | {t["enroll_abs"] for t in trials})
    for i, p in enumerate(files):
        whisper_vec(args.cache, p, cond)
        whisper_vec(args.cache, p, "wb")
        if (i + 1) % 200 == 0:
            print(f"  whisper {i + 1}/{len(files)}", flush=True)
    if args.extract_only:
        return 0
    T = np.stack([whisper_vec(args.cache, t["path"], cond) for t in trials]).astype(np.float64)
    E = np.stack([whisper_vec(args.cache, t["enroll_abs"], "wb") for t in trials]).astype(np.float64)
    Ep = np.stack([whisper_vec(args.cache, t["enroll_abs"], cond) for t in trials]).astype(np.float64)
    lab = np.array([t["label"] for t in trials])
    kind = np.array([t["kind"] for t in trials])
    cl = np.array([t.get("cluster", "-") for t in trials])
    spk = np.array([-np.inf if t["speaker_llr"] is None else t["speaker_llr"] for t in trials])
    fold = folds_of(trials, args.folds)
    d = T.shape[1] // 4  # [mean_2, std_2, mean_3, std_3]
    means = np.r_[0:d, 2 * d:3 * d]
    allf = {"test": T, "diff": T - Ep, "both": np.concatenate([T, T - Ep], axis=1),
            "diff_mean": (T - Ep)[:, means], "diff_l2": (T - Ep)[:, :2 * d], "diff_l3": (T - Ep)[:, 2 * d:],
            "diff_abs": np.concatenate([T - Ep, np.abs(T - Ep)], axis=1)}
    feats = {k: allf[k] for k in args.variants.split(",")}
    out = {}
    for name, X in feats.items():
        score = np.full(len(trials), np.nan)
        acc = np.zeros(len(trials), bool)
        for k in range(args.folds):
            te = fold == k
            held = set(cl[te & (lab == "clone")])
            tr = (~te) & (lab != "nontarget") & ~((lab == "clone") & np.isin(cl, list(held)))
            if args.no_corpus_training:
                tr &= kind != "corpus"
            y = (lab[tr] == "genuine").astype(float)
            w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
            mu, P = pca_fit(X[tr], args.pca)
            m = LogReg(args.l2).fit((X[tr] - mu) @ P, y, w)
            s_tr = m.score((X[tr] - mu) @ P)
            g = s_tr[(y == 1) & (spk[tr] >= 0)]
            if g.size < 5:
                g = s_tr[y == 1]
            thr = np.quantile(g, 1 - args.genuine_target)
            score[te] = m.score((X[te] - mu) @ P)
            acc[te] = (score[te] >= thr) & (spk[te] >= 0)
        gen, cln = lab == "genuine", lab == "clone"
        print(f"{cond} {name:6s} SPF-EER {100 * eer(score[gen], score[cln]):5.1f} %  (page genuine only: "
              f"{100 * eer(score[gen & (kind != 'corpus')], score[cln]):5.1f} %)  at the fold threshold: clones "
              f"{100 * acc[cln].mean():5.1f} %, genuine {100 * acc[gen].mean():5.1f} % (page "
              f"{100 * acc[gen & (kind != 'corpus')].mean():5.1f}, corpus {100 * acc[gen & (kind == 'corpus')].mean():5.1f})",
              flush=True)
        out[name] = [None if not np.isfinite(v) else float(v) for v in score]
    if args.out:
        args.out.write_text(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
