#!/usr/bin/env python
"""Fit and measure the copy check: is this recording a DSP copy (vocoded) of real speech?

Training pairs (no demo page): every real recording of ``../shared/data/speech`` except the
ten LibriSpeech test-other speakers, and a copy of each by every DSP vocoder of
:mod:`voiceguard.data.vocoders` (Griffin-Lim from mel and from linear magnitudes, LPC,
WORLD, MLSA; random settings per copy). Real and copied recordings are the same speech, so
the model cannot learn a corpus or a speaker; it learns the vocoders. The model is the
linear model of :mod:`clone_evidence` on the recording's own speech
statistics (no enrollment: ``llr(test, 0)``).

Measured on what it never saw:

* false alarms on real speech: the test speakers' 100 clips, the 150 recordings of
  ``../shared/data/speech-domains`` (broadcast, telephone, meetings, other languages) and
  the demo pages' prompts (the enrollments of ``scripts/sasv_pages.py``);
* detection of copies made the way a user would (librosa Griffin-Lim, librosa mel
  inversion, pyworld WORLD with default settings) of the test speakers' clips, and of
  copies of them by the training vocoders with other random settings.

``--write`` stores the model fitted on all training pairs as ``models/copy_check.npz``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

TEST = ["1688", "1998", "2033", "2414", "2609", "3005", "3080", "3331", "367", "533"]
VOCODERS = ["griffin_lim_mel", "griffin_lim_linear", "lpc_vocoder", "world_vocoder", "mlsa_vocoder"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/i22/copycheck"))
    ap.add_argument("--pages-cache", type=Path, default=Path("/tmp/i22/cache"),
                    help="eval_sasv_pages.py cache (speech statistics of the page prompts)")
    ap.add_argument("--demos", type=Path, default=Path("/work/pipe/runs/demos"))
    ap.add_argument("--pca", type=int, default=64)
    ap.add_argument("--l2", type=float, default=10.0)
    ap.add_argument("--max-s", type=float, default=20.0, help="seconds of each recording used")
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--train-limit", type=int, default=0,
                    help="fit on the first N training recordings only (0: all)")
    ap.add_argument("--quick", action="store_true",
                    help="measure false alarms on the test speakers and speech-domains only (no page prompts) and "
                         "only the user-made copies (no copies by the training vocoders)")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    import sasv_pages
    import soundfile as sf
    from clone_evidence import EVIDENCE_VERSION, fit_evidence_model, speech_stats
    from eval_sasv_pages import USER_COPIES, user_copy

    from voiceguard.audio import load_mono
    from voiceguard.evaluation.metrics import eer
    from voiceguard.synthesis import vocoders

    args.cache.mkdir(parents=True, exist_ok=True)

    def stats_of(key: str, make) -> np.ndarray | None:
        p = args.cache / f"{hashlib.sha1((key + EVIDENCE_VERSION).encode()).hexdigest()[:20]}.npy"
        if p.is_file():
            v = np.load(p)
            return None if v.size == 0 else v.astype(np.float64)
        y, sr = make()
        v = speech_stats(y, sr)
        np.save(p, np.zeros(0) if v is None else v)
        return v

    def real(f):
        def make():
            y, sr = load_mono(f)
            return y[: int(args.max_s * sr)], sr
        return make

    def vcopy(f, voc, seed):
        def make():
            y, sr = load_mono(f)
            y = y[: int(args.max_s * sr)]
            return np.asarray(getattr(vocoders, voc)(y, sr, np.random.default_rng(seed)), np.float64), sr
        return make

    def ucopy(f, name):
        def make():
            p = args.cache / f"user_{Path(f).stem}_{name}.flac"
            if p.is_file():
                return load_mono(p)
            y, sr = load_mono(f)
            y = y[: int(args.max_s * sr)]
            z = np.clip(user_copy(name, y, sr), -1, 1)
            sf.write(str(p), z, sr)
            return z, sr
        return make

    rows = list(csv.DictReader(open(args.data / "speech" / "MANIFEST.tsv"), delimiter="\t"))
    train_files, test_files = [], []
    for r in rows:
        f = str(args.data / "speech" / r["path"])
        spk = r["speaker"].removeprefix("libri_")
        (test_files if r["source"] == "resemblyzer_librispeech" and spk in TEST else train_files).append(f)
    if args.train_limit:
        train_files = train_files[: args.train_limit]
    X, y = [], []
    for i, f in enumerate(train_files):
        v = stats_of(f"{f}|real", real(f))
        if v is None:
            continue
        X.append(v)
        y.append(True)
        for j, voc in enumerate(VOCODERS):
            c = stats_of(f"{f}|{voc}|{i}", vcopy(f, voc, 1000 * i + j))
            if c is not None:
                X.append(c)
                y.append(False)
        if (i + 1) % 50 == 0:
            print(f"  training {i + 1}/{len(train_files)}", flush=True)
    X, y = np.stack(X), np.array(y)
    print(f"training: {int(y.sum())} real, {int((~y).sum())} copies", flush=True)
    info = {"fitted_on": "real recordings of ../shared/data/speech except the ten LibriSpeech test-other speakers "
                         f"({int(y.sum())}) and their copies by {', '.join(VOCODERS)} ({int((~y).sum())})",
            "features": "Whisper-base layers 2+3 mean/std over speech frames (clone_evidence speech statistics)",
            "pca": args.pca, "l2": args.l2}
    model = fit_evidence_model(X, y, k=args.pca, l2=args.l2, info=info)
    zero = np.zeros(X.shape[1])
    s_tr = np.array([model.llr(v, zero) for v in X])
    print(f"training EER {100 * eer(s_tr[y], s_tr[~y]):.2f} %")
    # measurement
    res: dict = {"real": {}, "copies": {}}
    test_real = [v for f in test_files if (v := stats_of(f"{f}|real", real(f))) is not None]
    dom_rows = list(csv.DictReader(open(args.data / "speech-domains" / "MANIFEST.tsv"), delimiter="\t"))
    dom = [v for r in dom_rows if (v := stats_of(f"{args.data / 'speech-domains' / r['path']}|real",
                                                    real(str(args.data / "speech-domains" / r["path"])))) is not None]
    groups, _ = sasv_pages.build_groups(args.demos)
    prompts = []
    for g in ([] if args.quick else groups):
        v = stats_of(f"{args.demos / g.enroll['path']}|real", real(str(args.demos / g.enroll["path"])))
        if v is not None:
            prompts.append(v)
    sets_real = {"librispeech_test_speakers": test_real, "speech_domains": dom}
    if prompts:
        sets_real["page_prompts"] = prompts
    copies = {n: [stats_of(f"{f}|user|{n}", ucopy(f, n)) for f in test_files] for n in USER_COPIES}
    if not args.quick:
        copies.update({f"voiceguard_{voc}": [stats_of(f"{f}|{voc}|test", vcopy(f, voc, 77 + k))
                                             for k, f in enumerate(test_files)] for voc in VOCODERS})
    S = {k: np.array([model.llr(v, zero) for v in vs if v is not None]) for k, vs in sets_real.items()}
    C = {k: np.array([model.llr(v, zero) for v in vs if v is not None]) for k, vs in copies.items()}
    all_real = np.concatenate(list(S.values()))
    # threshold: 1 % false alarms on the LibriSpeech test speakers and the speech-domains recordings
    thr = float(np.quantile(np.concatenate([S["librispeech_test_speakers"], S["speech_domains"]]), 0.01))
    res["threshold_llr"] = thr
    for k, v in S.items():
        res["real"][k] = {"n": int(v.size), "flagged": float(np.mean(v < thr))}
    for k, v in C.items():
        res["copies"][k] = {"n": int(v.size), "caught": float(np.mean(v < thr)),
                            "eer_vs_all_real": float(eer(all_real, v))}
    print(json.dumps(res, indent=1))
    if args.write:
        model.info["threshold_llr"] = thr
        model.info["measured"] = res
        model.to_npz(ROOT / "models" / "copy_check.npz")
        print("wrote models/copy_check.npz")
    return 0


if __name__ == "__main__":
    sys.exit(main())
