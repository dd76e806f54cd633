#!/usr/bin/env python
"""Research: telephone speaker verification against wideband voiceprints (issue 22).

Trials as ``scripts/eval_speaker.py`` (ten LibriSpeech test-other speakers, 1-clip and
3-clip enrollment, every other clip a trial); the test audio goes through 8 kHz G.711
mu-law. Channel compensations are trained on the other LibriSpeech speakers only (each
clip cut into segments; the segments' wideband, simulated-telephone and G.711 embeddings):

* ``shipped``: the voiceprint's simulated-telephone embedding against the test, S-norm;
* ``lda``: LDA (within-speaker scatter over segments and channels) + length norm, cosine;
* ``map``: ridge regression from telephone embeddings to wideband ones, applied to the
  test; cosine with the wideband voiceprint;
* score fusions of the above.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

TEST = ["1688", "1998", "2033", "2414", "2609", "3005", "3080", "3331", "367", "533"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "speech")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/i22/svphone"))
    ap.add_argument("--seg", type=float, default=4.0)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from eval_sasv_pages import phone_chain

    from voiceguard.audio import load_mono
    from voiceguard.evaluation.metrics import eer
    from voiceguard.voiceprint.decision import SpeakerCalibration
    from voiceguard.voiceprint.encoder import GE2EEncoder

    enc = GE2EEncoder(threads=1)
    args.cache.mkdir(parents=True, exist_ok=True)

    def emb(key, y, sr, telephone=False):
        p = args.cache / f"{hashlib.sha1(key.encode()).hexdigest()[:20]}.npz"
        if p.is_file():
            with np.load(p) as z:
                return z["v"], z["t"]
        e = enc.embed(y, sr, telephone=telephone)
        v = e.vector
        t = e.telephone_vector if e.telephone_vector is not None else v
        np.savez(p, v=v, t=t)
        return v, t

    base = args.data / "resemblyzer_librispeech"
    train = []  # (speaker, wb, tel-sim, phone)
    for d in sorted(base.iterdir()):
        s = d.name.removeprefix("libri_")
        if s in TEST or not d.is_dir():
            continue
        for f in sorted(d.glob("*.flac")):
            y, sr = load_mono(f)
            n = int(args.seg * sr)
            for k in range(max(1, len(y) // n)):
                seg = y[k * n:(k + 1) * n] if len(y) >= n else y
                v, t = emb(f"{f}|{k}|{args.seg}|wb", seg, sr, telephone=True)
                pz, psr = phone_chain(seg, sr)
                pv, _ = emb(f"{f}|{k}|{args.seg}|phone", pz, psr)
                if np.linalg.norm(v) > 0 and np.linalg.norm(pv) > 0:
                    train.append((s, v, t, pv))
    print(f"{len(train)} training segments, {len({t[0] for t in train})} speakers", flush=True)
    spk = np.array([t[0] for t in train])
    W, T, P = (np.stack([t[i] for t in train]).astype(np.float64) for i in (1, 2, 3))

    # LDA on all three channels, speakers as classes
    X = np.concatenate([W, T, P])
    lab = np.concatenate([spk, spk, spk])
    mu = X.mean(0)
    classes = sorted(set(lab))
    Sw = np.zeros((X.shape[1],) * 2)
    Sb = np.zeros_like(Sw)
    for c in classes:
        xc = X[lab == c]
        m = xc.mean(0)
        Sw += (xc - m).T @ (xc - m)
        Sb += len(xc) * np.outer(m - mu, m - mu)
    Sw /= len(X)
    Sb /= len(X)

    def lda(dim):
        from scipy.linalg import eigh

        w, V = eigh(Sb, Sw + 1e-3 * np.eye(len(Sw)) * np.trace(Sw) / len(Sw))
        return V[:, np.argsort(w)[::-1][:dim]]

    # ridge map phone -> wideband
    lam = 0.1 * len(P)
    A = np.linalg.solve(P.T @ P + lam * np.eye(P.shape[1]), P.T @ W)

    LDA = {dim: lda(dim) for dim in (100, 150, 200)}
    clips = {}
    for s in TEST:
        for i, f in enumerate(sorted((base / f"libri_{s}").glob("*.flac"))):
            y, sr = load_mono(f)
            v, t = emb(f"{f}|whole|wb", y, sr, telephone=True)
            pz, psr = phone_chain(y, sr)
            pv, _ = emb(f"{f}|whole|phone", pz, psr)
            clips[(s, i)] = (v, t, pv)
    cal = SpeakerCalibration.load()

    def unit(x):
        return x / (np.linalg.norm(x, axis=-1, keepdims=True) + 1e-12)

    for n_enroll in (1, 3):
        sets = [(s, [(k + j) % 10 for j in range(n_enroll)]) for s in TEST for k in range(10)]
        rows = {}
        for si, (s, idx) in enumerate(sets):
            ew = unit(np.mean([clips[(s, i)][0] for i in idx], 0))
            et = unit(np.mean([clips[(s, i)][1] for i in idx], 0))
            for ts in TEST:
                for ti in range(10):
                    if ts == s and ti in idx:
                        continue
                    v, _, pv = clips[(ts, ti)]
                    r = rows.setdefault("label", [])
                    r.append(ts == s)
                    rows.setdefault("clean", []).append(float(ew @ v))
                    rows.setdefault("shipped", []).append(cal.normalise(float(et @ pv), et, pv, "clean-phone"))
                    rows.setdefault("raw_tel", []).append(float(et @ unit(pv)))
                    rows.setdefault("raw_wb", []).append(float(ew @ unit(pv)))
                    rows.setdefault("map", []).append(float(ew @ unit(pv @ A)))
                    for dim, L in LDA.items():
                        a = unit((ew - mu) @ L)
                        a2 = unit((et - mu) @ L)
                        b = unit((pv - mu) @ L)
                        rows.setdefault(f"lda{dim}", []).append(float(a @ b))
                        rows.setdefault(f"lda{dim}_tel", []).append(float(a2 @ b))
        y = np.array(rows.pop("label"))
        for k, v in rows.items():
            v = np.array(v)
            print(f"{n_enroll}-clip {k:12s} EER {100 * eer(v[y], v[~y]):.2f} %", flush=True)
        z = {k: (np.array(v) - np.mean(v)) / np.std(v) for k, v in rows.items()}
        for combo in (("shipped", "map"), ("shipped", "lda150_tel"), ("shipped", "lda150"), ("shipped", "raw_wb"),
                      ("shipped", "map", "lda150_tel")):
            v = sum(z[c] for c in combo)
            print(f"{n_enroll}-clip {'+'.join(combo):30s} EER {100 * eer(v[y], v[~y]):.2f} %", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
