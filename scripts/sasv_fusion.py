#!/usr/bin/env python
"""Fusion of the verification evidence, fitted and measured held out by page and system.

Reads the scored trials of ``scripts/eval_sasv_pages.py`` (one JSONL per detector and
condition) and adds, per trial, the behavioural tells of the test recording against the
enrollment (:mod:`tells`). A logistic regression over

* ``speaker_llr`` (voiceprint), ``spoof_llr`` (detector), ``clone_llr`` (per-speaker clone
  check), and
* the tells (test values and absolute differences from the enrollment's)

separates genuine trials of the target from clones of the target. It is fitted and
measured **held out**: the pages are split into ``--folds`` groups; for each group, the
fit uses the trials of the other pages only, and of their clones only those whose system
cluster (``SystemClusters``) does not occur among the held-out clones. The LibriSpeech
genuine trials are split by speaker the same way. The operating threshold is the fused
score at which ``--genuine-target`` of the *training* genuine trials are accepted; the
held-out shares accepted at that threshold are reported, pooled over the folds.

Feature sets are compared by ``--sets``; ``--out`` writes the results JSON.
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


def load_trials(path: Path) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


class TellCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.mem: dict = {}

    def get(self, path: str, cond: str) -> np.ndarray | None:
        from eval_sasv_pages import phone_chain
        from tells import TELL_NAMES, tell_stats

        from voiceguard.audio import load_mono

        k = f"{path}|{cond}"
        if k in self.mem:
            return self.mem[k]
        p = self.folder / f"{hashlib.sha1(k.encode()).hexdigest()[:20]}.npy"
        if p.is_file():
            v = np.load(p)
        else:
            y, sr = load_mono(path)
            if cond == "phone":
                y, sr = phone_chain(y, sr)
            s = tell_stats(y, sr)
            v = np.full(len(TELL_NAMES), np.nan) if s is None else s
            np.save(p, v)
        self.mem[k] = v
        return v


def features(trials: list[dict], tells: TellCache, which: str, extra: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """Feature matrix of trials for a feature set name (see ``--sets``)."""
    from tells import TELL_NAMES, tell_features

    cols, names = [], []

    def add(v, n):
        cols.append(np.asarray(v, np.float64))
        names.append(n)

    parts = set(which.split("+"))
    for name, v in (extra or {}).items():
        if name in parts:
            add([np.nan if x is None else x for x in v], name)
    if "spk" in parts:
        add([np.nan if t["speaker_llr"] is None else t["speaker_llr"] for t in trials], "speaker_llr")
    if "det" in parts:
        add([np.nan if t["spoof_llr"] is None else t["spoof_llr"] for t in trials], "spoof_llr")
    if "clone" in parts:
        add([np.nan if t["clone_llr"] is None else t["clone_llr"] for t in trials], "clone_llr")
    if parts & {"tells", "dtells", "sdtells"}:
        Tt = np.stack([tells.get(t["path"], t["cond"]) for t in trials])
        Te = np.stack([tells.get(t["enroll"] if t["enroll"].startswith("/") else t["enroll_abs"], "wb")
                       for t in trials])
        F = np.stack([tell_features(a, b) for a, b in zip(Tt, Te)])
        k = len(TELL_NAMES)
        if "tells" in parts:
            for j in range(F.shape[1]):
                add(F[:, j], ("" if j < k else "d_") + TELL_NAMES[j % k])
        if "dtells" in parts:
            for j in range(k):
                add(F[:, k + j], "d_" + TELL_NAMES[j])
        if "sdtells" in parts:
            for j in range(k):
                add(Tt[:, j] - Te[:, j], "sd_" + TELL_NAMES[j])
    return np.stack(cols, axis=1), names


class LogReg:
    """L2-regularised logistic regression on standardised, median-imputed features."""

    def __init__(self, l2: float = 1.0) -> None:
        self.l2 = l2

    def fit(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> LogReg:
        self.med = np.nanmedian(X, axis=0)
        self.med = np.where(np.isfinite(self.med), self.med, 0.0)
        Z = self._prep(X, fit=True)
        n, d = Z.shape
        w = np.ones(n) if w is None else w
        w = w / w.mean()
        beta = np.zeros(d + 1)
        A = np.concatenate([Z, np.ones((n, 1))], axis=1)
        for _ in range(50):  # Newton
            p = 1 / (1 + np.exp(-A @ beta))
            g = A.T @ (w * (p - y)) + self.l2 * np.concatenate([beta[:-1], [0]])
            H = (A * (w * p * (1 - p))[:, None]).T @ A + self.l2 * np.diag(np.concatenate([np.ones(d), [0]]))
            step = np.linalg.solve(H + 1e-9 * np.eye(d + 1), g)
            beta -= step
            if np.max(np.abs(step)) < 1e-8:
                break
        self.beta = beta
        return self

    def _prep(self, X: np.ndarray, fit: bool = False) -> np.ndarray:
        X = np.where(np.isfinite(X), X, self.med[None, :])
        if fit:
            self.mu = X.mean(0)
            self.sd = X.std(0) + 1e-9
        return (X - self.mu) / self.sd

    def score(self, X: np.ndarray) -> np.ndarray:
        Z = self._prep(X)
        return Z @ self.beta[:-1] + self.beta[-1]


def folds_of(trials: list[dict], n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold of each trial: pages (and LibriSpeech speakers) spread over folds by a hash."""
    keys = []
    for t in trials:
        keys.append(t["page"] if t["kind"] != "corpus" else "libri/" + t["group"].split("/")[0])
    uniq = sorted(set(keys))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(uniq))
    f = {k: int(order[i] % n_folds) for i, k in enumerate(uniq)}
    return np.array([f[k] for k in keys])


def heldout(trials: list[dict], X: np.ndarray, n_folds: int, genuine_target: float, l2: float,
            and_speaker: bool = True) -> dict:
    """Held-out fused scores, thresholds and shares accepted."""
    lab = np.array([t["label"] for t in trials])
    fold = folds_of(trials, n_folds)
    cl = np.array([t.get("cluster", "-") for t in trials])
    spk = np.array([-np.inf if t["speaker_llr"] is None else t["speaker_llr"] for t in trials])
    score = np.full(len(trials), np.nan)
    margin = np.full(len(trials), np.nan)
    accept = np.zeros(len(trials), bool)
    for k in range(n_folds):
        te = fold == k
        held_clusters = set(cl[te & (lab == "clone")])
        tr = (~te) & (lab != "nontarget") & ~((lab == "clone") & np.isin(cl, list(held_clusters)))
        y = (lab[tr] == "genuine").astype(float)
        # balance the classes
        w = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
        m = LogReg(l2).fit(X[tr], y, w)
        s_tr = m.score(X[tr])
        gen_tr = s_tr[y == 1]
        if and_speaker:
            gen_tr = gen_tr[spk[tr][y == 1] >= 0]
        thr = np.quantile(gen_tr, 1 - genuine_target)
        score[te] = m.score(X[te])
        margin[te] = score[te] - thr
        accept[te] = score[te] >= thr
        if and_speaker:
            accept[te] &= spk[te] >= 0
    return {"score": score, "accept": accept, "fold": fold, "margin": margin}


def report(trials: list[dict], res: dict, name: str) -> dict:
    from voiceguard.evaluation.metrics import eer

    lab = np.array([t["label"] for t in trials])
    kind = np.array([t["kind"] for t in trials])
    acc = res["accept"]
    out = {"clones_accepted": float(acc[lab == "clone"].mean()),
           "genuine_accepted": float(acc[lab == "genuine"].mean()),
           "genuine_page_accepted": float(acc[(lab == "genuine") & (kind != "corpus")].mean()),
           "genuine_corpus_accepted": float(acc[(lab == "genuine") & (kind == "corpus")].mean()),
           "nontarget_accepted": float(acc[lab == "nontarget"].mean()),
           "spf_eer": float(eer(res["score"][lab == "genuine"], res["score"][lab == "clone"]))}
    print(f"{name:40s} clones {100 * out['clones_accepted']:5.1f} %  genuine {100 * out['genuine_accepted']:5.1f} % "
          f"(page {100 * out['genuine_page_accepted']:5.1f}, corpus {100 * out['genuine_corpus_accepted']:5.1f})  "
          f"nontarget {100 * out['nontarget_accepted']:4.1f} %  SPF-EER {100 * out['spf_eer']:5.1f} %", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trials", type=Path, help="scored trials JSONL of eval_sasv_pages.py")
    ap.add_argument("--demos", type=Path, default=Path("/work/pipe/runs/demos"))
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "voiceguard_sasv_pages")
    ap.add_argument("--sets", default="spk+det,spk+det+clone,spk+det+tells,spk+det+clone+tells")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--genuine-target", type=float, default=0.97)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--min-enroll-speech", type=float, default=3.0)
    ap.add_argument("--extra", action="append", default=[],
                    help="NAME=FILE.json:KEY: per-trial held-out scores of another script, usable in --sets")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    trials = [t for t in load_trials(args.trials) if t["enroll_speech_s"] >= args.min_enroll_speech]
    for t in trials:
        if not t["enroll"].startswith("/"):
            t["enroll_abs"] = str(args.demos / t["enroll"])
    tells = TellCache(args.cache / "tells")
    extra = {}
    for e in args.extra:
        name, rest = e.split("=", 1)
        f, key = rest.rsplit(":", 1)
        extra[name] = json.loads(Path(f).read_text())[key]
        assert len(extra[name]) == len(trials), (name, len(extra[name]), len(trials))
    results = {}
    for which in args.sets.split(","):
        X, names = features(trials, tells, which, extra)
        res = heldout(trials, X, args.folds, args.genuine_target, args.l2)
        results[which] = report(trials, res, which)
        results[which]["features"] = names
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
