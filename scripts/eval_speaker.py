#!/usr/bin/env python
"""Fit the speaker calibration and measure speaker verification and spoof-aware verification.

Reproduces every number of ``docs/voiceprints.md``::

    python scripts/eval_speaker.py --fit-calibration   # writes models/speaker_calibration.json
    python scripts/eval_speaker.py                     # SV-EER, SASV; writes the results JSON
    python scripts/eval_speaker.py --sv-only           # only the SV-EER tables (fast, cached)

Data: ``../shared/data/speech`` (``--data``), LibriSpeech folders
``resemblyzer_librispeech/libri_<id>/``.

* **Calibration** (``--fit-calibration``) uses only the LibriSpeech speakers that are NOT
  among the ten test speakers (251 speakers with one clip each). Each clip is cut in two
  halves, A (enrollment) and B (test); target trials pair A and B of the same speaker,
  non-target trials A of one speaker with B of every other. Two conditions:
  ``clean-clean`` (A and B wideband) and ``clean-phone`` (A's simulated-telephone
  embedding against B through the telephone chain: 8 kHz, G.711 mu-law, given to the
  encoder at 8 kHz). Linear logistic calibration, prior 0.5.
* **SV-EER** on the ten test-other speakers (10 clips each): 1-clip enrollment (every
  clip enrolls, every other clip of every speaker tests) and 3-clip enrollment (clips
  k, k+1, k+2 mod 10 enroll, the other clips test), clean and telephone test audio.
* **SASV**: per test speaker, clips 0-2 enroll; held-out clips 3-9 are target bona fide
  trials; other speakers' held-out clips are non-target trials; the target's held-out
  clips re-synthesised by the project's own vocoders (WORLD, Griffin-Lim mel, LPC, MLSA)
  are spoof trials. SASV-EER (positives: target bona fide; negatives: non-targets and
  spoofs) for the fused score, and the share of each trial class the fused decision
  accepts at the default thresholds.
* **Enrollment gate**: the share of genuine clips (test speakers, one clip of every other
  LibriSpeech speaker, the voice-conversion groups' enrollment clips) the detector calls
  spoof, i.e. that enrollment would refuse.

Trial lists go to ``benchmarks/trials/`` and the results to
``benchmarks/results/speaker_eval.json``. Embeddings are cached in ``--cache``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEST_SPEAKERS = ["1688", "1998", "2033", "2414", "2609", "3005", "3080", "3331", "367", "533"]
VOCODERS = ["world_vocoder", "griffin_lim_mel", "lpc_vocoder", "mlsa_vocoder"]
SNORM_TOP = 50


def phone_chain(y: np.ndarray, sr: int, bandpass: bool = False) -> tuple[np.ndarray, int]:
    """Telephone version of a clip: 8 kHz, G.711 mu-law (returned at 8 kHz); with
    ``bandpass`` a 300-3400 Hz band-pass first (a harsher line)."""
    from scipy.signal import butter, sosfiltfilt

    from voiceguard.audio import resample
    from voiceguard.audio.g711 import g711_roundtrip

    z = np.asarray(y, np.float64)
    if bandpass:
        z = sosfiltfilt(butter(4, [300, 3400], btype="band", fs=sr, output="sos"), z)
    z = resample(z, sr, 8000)
    peak = np.max(np.abs(z)) or 1.0
    if peak > 0.99:
        z = z * 0.99 / peak
    return np.asarray(g711_roundtrip(z, law="mu"), np.float64), 8000


class Cache:
    """Embeddings keyed by (file, variant) in an npz-per-key folder."""

    def __init__(self, folder: Path, enc) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.enc = enc

    def get(self, key: str, make):
        h = hashlib.sha1(key.encode()).hexdigest()[:16]
        p = self.folder / f"{h}.npz"
        if p.is_file():
            with np.load(p) as z:
                return {k: z[k] for k in z.files}
        d = make()
        np.savez(p, **d)
        return d

    def embed(self, key: str, y: np.ndarray, sr: int, telephone: bool = False):
        def make():
            e = self.enc.embed(y, sr, telephone=telephone)
            d = {"vector": e.vector, "speech_s": np.array(e.speech_s),
                 "single": np.array(-1 if e.single_voice is None else int(e.single_voice)),
                 "cons": np.array(np.nan if e.consistency is None else e.consistency),
                 "channel": np.array(e.channel)}
            if telephone:
                d["tel"] = e.telephone_vector
            return d
        return self.get(key, make)


def eer(pos, neg) -> float:
    from voiceguard.evaluation.metrics import eer as _eer

    return float(_eer(np.asarray(pos), np.asarray(neg)))


def libri_files(data: Path, spk: str) -> list[Path]:
    return sorted((data / "resemblyzer_librispeech" / f"libri_{spk}").glob("*.flac"))


# --------------------------------------------------------------------------------------


def fit_calibration(args, cache: Cache) -> None:
    from voiceguard.audio import load_mono
    from voiceguard.detect.calibration import cllr
    from voiceguard.detect.calibration import fit_calibration as fit
    from voiceguard.voiceprint.encoder import GE2EEncoder

    folders = sorted(p for p in (args.data / "resemblyzer_librispeech").iterdir()
                     if p.is_dir() and p.name[len("libri_"):] not in TEST_SPEAKERS)
    items = []
    for fo in folders:
        for f in sorted(fo.glob("*.flac")):
            y, sr = load_mono(f)
            if len(y) < 6 * sr:
                continue
            h = len(y) // 2
            a = cache.embed(f"{f}|A|wb+tel|v2", y[:h], sr, telephone=True)
            b = cache.embed(f"{f}|B|wb", y[h:], sr)
            pb, psr = phone_chain(y[h:], sr)
            bp = cache.embed(f"{f}|B|phone|v2", pb, psr)
            if min(float(a["speech_s"]), float(b["speech_s"]), float(bp["speech_s"])) < 2.0:
                continue
            items.append((fo.name, f.name, a, b, bp))
            break  # one clip per speaker
    n = len(items)
    print(f"calibration: {n} non-test speakers", flush=True)
    # S-norm cohort: every other non-test speaker (their A halves); calibration trials: the rest
    coh = [it for k, it in enumerate(items) if k % 2 == 0]
    items = [it for k, it in enumerate(items) if k % 2 == 1]
    n = len(items)
    A = np.stack([it[2]["vector"] for it in items])
    AT = np.stack([it[2]["tel"] for it in items])
    B = np.stack([it[3]["vector"] for it in items])
    BP = np.stack([it[4]["vector"] for it in items])
    cohort = {"clean-clean": np.stack([it[2]["vector"] for it in coh]).astype(np.float32),
              "clean-phone": np.stack([it[2]["tel"] for it in coh]).astype(np.float32)}
    np.savez(ROOT / "models" / "speaker_cohort.npz", **cohort)
    out = {"format": "voiceguard-speaker-calibration", "version": 2, "encoder": GE2EEncoder.name,
           "threshold": 0.0, "conditions": {}, "cohort": "speaker_cohort.npz", "snorm": [],
           "snorm_top": SNORM_TOP, "fitted_on": {
               "data": "LibriSpeech (train-clean-100) speakers of ../shared/data/speech/resemblyzer_librispeech, "
                       "excluding the ten test-other speakers " + ",".join(TEST_SPEAKERS),
               "n_speakers": n, "n_cohort_speakers": len(coh),
               "trials": "one clip per speaker cut in halves A (enrollment) / B (test); target: "
               "A_i-B_i; non-target: A_i-B_j for all i != j; the S-norm cohort (speaker_cohort.npz: A halves "
               "of every other non-test speaker) is disjoint from these speakers",
               "speakers": [it[0] for it in items], "cohort_speakers": [it[0] for it in coh]},
           "stats": {}}
    lines = ["speaker\tfile\trole"] + [f"{it[0]}\t{it[1]}\tcalibration" for it in items] + [
        f"{it[0]}\t{it[1]}\tcohort" for it in coh]
    (args.trials / "calibration_clips.tsv").write_text("\n".join(lines) + "\n")
    from voiceguard.voiceprint.decision import SpeakerCalibration

    for cond, E, T in (("clean-clean", A, B), ("clean-phone", AT, BP)):
        S = E.astype(np.float64) @ T.astype(np.float64).T
        probe = SpeakerCalibration("", {}, cohort={cond: cohort[cond].astype(np.float64)}, snorm=frozenset([cond]),
                                   snorm_top=SNORM_TOP)
        N = np.array([[probe.normalise(S[i, j], E[i], T[j], cond) for j in range(n)] for i in range(n)])
        off = ~np.eye(n, dtype=bool)
        e_raw, e_norm = eer(np.diag(S), S[off]), eer(np.diag(N), N[off])
        use = e_norm < e_raw
        X = N if use else S
        if use:
            out["snorm"].append(cond)
        tar, non = np.diag(X), X[off]
        cal = fit(tar, non, prior=0.5)
        ltar, lnon = cal.llr(tar), cal.llr(non)
        out["conditions"][cond] = cal.to_dict()
        out["stats"][cond] = {"n_target": int(tar.size), "n_nontarget": int(non.size), "eer": eer(tar, non),
                              "eer_raw_cosine": e_raw, "eer_snorm": e_norm, "snorm": bool(use),
                              "cllr": cllr(ltar, lnon), "mean_target_similarity": float(np.diag(S).mean()),
                              "mean_nontarget_similarity": float(S[off].mean())}
        print(cond, json.dumps(out["stats"][cond]), cal, flush=True)
    out["stats"]["naive_clean_enroll_vs_phone"] = {"eer": eer(np.diag(A @ BP.T), (A @ BP.T)[~np.eye(n, dtype=bool)])}
    out["clone_check"], out["stats"]["clone_check"] = fit_clone_calibration(args, [it[0] for it in items])
    (ROOT / "models" / "speaker_calibration.json").write_text(json.dumps(out, indent=2) + "\n")
    print("wrote models/speaker_calibration.json and models/speaker_cohort.npz")


def copy_of(args, f: Path, voc: str, seed: int, y=None, sr=None) -> np.ndarray:
    """A vocoder copy of a file (or of the given samples), cached as 16 kHz float32."""
    from voiceguard.audio import load_mono, resample
    from voiceguard.synthesis import vocoders

    d = args.cache / "copies"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{hashlib.sha1(f'{f}|{voc}|{seed}|{0 if y is None else len(y)}'.encode()).hexdigest()[:16]}.npy"
    if p.is_file():
        return np.load(p).astype(np.float64)
    if y is None:
        y, sr = load_mono(f)
    z = getattr(vocoders, voc)(y, sr, np.random.default_rng(seed))
    z = resample(np.asarray(z, np.float64), sr, 16000)
    np.save(p, z.astype(np.float32))
    return z


def frames_of(args, key: str, y: np.ndarray, sr: int) -> np.ndarray:
    from voiceguard.voiceprint.clone_check import clone_frames

    d = args.cache / "frames"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.npy"
    if p.is_file():
        return np.load(p)
    x = clone_frames(y, sr)
    np.save(p, x)
    return x


def fit_clone_calibration(args, speakers: list[str]) -> tuple[dict, dict]:
    """Calibrate the clone check on non-test speakers and vocoders the model did not see.

    Per speaker (one clip, halves A and B): the model is fitted on A and copies of A by three
    of the four vocoders (the fourth rotates); B is the bona fide trial, B copied by the fourth
    vocoder the clone trial."""
    from voiceguard.audio import load_mono
    from voiceguard.detect.calibration import cllr
    from voiceguard.detect.calibration import fit_calibration as fit
    from voiceguard.voiceprint.clone_check import COPY_VOCODERS, fit_clone_model

    vocs = list(COPY_VOCODERS)
    gen, spf = [], []
    for k, spk in enumerate(speakers[: args.clone_cal_speakers]):
        f = sorted((args.data / "resemblyzer_librispeech" / spk).glob("*.flac"))[0]
        y, sr = load_mono(f)
        h = len(y) // 2
        held = vocs[k % len(vocs)]
        train = [v for v in vocs if v != held]
        ga = frames_of(args, f"{f}|A", y[:h], sr)
        ca = [frames_of(args, f"{f}|A|{v}", copy_of(args, f, v, k, y[:h], sr), 16000) for v in train]
        m = fit_clone_model([ga], ca, seed=k, vocoders=train)
        gen.append(m.score_frames(frames_of(args, f"{f}|B", y[h:], sr)))
        spf.append(m.score_frames(frames_of(args, f"{f}|B|{held}", copy_of(args, f, held, 100 + k, y[h:], sr),
                                            16000)))
        print(f"clone calibration {k}: {spk} held-out {held}: genuine {gen[-1]:.3f} copy {spf[-1]:.3f}", flush=True)
    gen, spf = np.array(gen), np.array(spf)
    cal = fit(gen, spf, prior=0.5)
    stats = {"n_speakers": int(gen.size), "eer": eer(gen, spf), "cllr": cllr(cal.llr(gen), cal.llr(spf)),
             "note": "per speaker one clip in halves; model on half A + copies by 3 of the 4 DSP vocoders; "
                     "trials: half B (bona fide) and half B copied by the held-out vocoder (clone)"}
    print("clone calibration", json.dumps(stats), cal, flush=True)
    return cal.to_dict(), stats


# --------------------------------------------------------------------------------------


def sv_eval(args, cache: Cache, cal) -> dict:
    """SV-EER on the ten test speakers."""
    from voiceguard.audio import load_mono

    clips = []  # (spk, idx, file)
    emb = {}
    for spk in TEST_SPEAKERS:
        files = libri_files(args.data, spk)
        assert len(files) == 10, (spk, len(files))
        for i, f in enumerate(files):
            y, sr = load_mono(f)
            emb[(spk, i, "wb")] = cache.embed(f"{f}|wb+tel|v2", y, sr, telephone=True)
            pb, psr = phone_chain(y, sr)
            emb[(spk, i, "phone")] = cache.embed(f"{f}|phone|v2", pb, psr)
            pb, psr = phone_chain(y, sr, bandpass=True)
            emb[(spk, i, "phonebp")] = cache.embed(f"{f}|phonebp|v2", pb, psr)
            clips.append((spk, i, f))
    results: dict = {}
    rows = ["enrollment\ttest\tlabel"]
    for n_enroll in (1, 3):
        sets = []
        for spk in TEST_SPEAKERS:
            for k in range(10):
                sets.append((spk, [(k + j) % 10 for j in range(n_enroll)]))
        trials = []  # (set_index, test_spk, test_idx, label)
        for si, (spk, idxs) in enumerate(sets):
            for tspk in TEST_SPEAKERS:
                for ti in range(10):
                    if tspk == spk and ti in idxs:
                        continue
                    trials.append((si, tspk, ti, int(tspk == spk)))
        for cond in ("clean-clean", "clean-phone", "clean-phone-bandpass", "naive-phone"):
            tar, non, ltar, lnon = [], [], [], []
            for si, tspk, ti, lab in trials:
                spk, idxs = sets[si]
                if cond == "clean-clean":
                    ref = np.mean([emb[(spk, i, "wb")]["vector"] for i in idxs], axis=0)
                    v = emb[(tspk, ti, "wb")]["vector"]
                elif cond.startswith("clean-phone"):
                    ref = np.mean([emb[(spk, i, "wb")]["tel"] for i in idxs], axis=0)
                    v = emb[(tspk, ti, "phonebp" if cond.endswith("bandpass") else "phone")]["vector"]
                else:  # wideband voiceprint against telephone test (no channel matching)
                    ref = np.mean([emb[(spk, i, "wb")]["vector"] for i in idxs], axis=0)
                    v = emb[(tspk, ti, "phone")]["vector"]
                c = "clean-phone" if cond != "clean-clean" else cond
                s, llr = cal.trial_llr(ref, v, c)
                (tar if lab else non).append(cal.normalise(s, ref, v, c))
                (ltar if lab else lnon).append(llr)
            ltar, lnon = np.array(ltar), np.array(lnon)
            from voiceguard.detect.calibration import cllr

            results[f"{n_enroll}clip/{cond}"] = {
                "eer": eer(tar, non), "n_target": len(tar), "n_nontarget": len(non),
                "cllr": cllr(ltar, lnon), "miss_at_0": float(np.mean(ltar < 0)), "fa_at_0": float(np.mean(lnon >= 0)),
            }
            print(f"SV {n_enroll}-clip {cond}: EER {100 * results[f'{n_enroll}clip/{cond}']['eer']:.2f} %  "
                  f"miss@0 {100 * np.mean(ltar < 0):.2f} %  FA@0 {100 * np.mean(lnon >= 0):.2f} %", flush=True)
        name = f"sv_{n_enroll}clip.tsv"
        lines = ["enrollment\ttest\tlabel"]
        for si, tspk, ti, lab in trials:
            spk, idxs = sets[si]
            enr = ",".join(clips[TEST_SPEAKERS.index(spk) * 10 + i][2].stem for i in idxs)
            lines.append(f"{enr}\t{clips[TEST_SPEAKERS.index(tspk) * 10 + ti][2].stem}\t"
                         f"{'target' if lab else 'nontarget'}")
        (args.trials / name).write_text("\n".join(lines) + "\n")
    results["trial_lists"] = ["benchmarks/trials/sv_1clip.tsv", "benchmarks/trials/sv_3clip.tsv"]
    results["note"] = ("test audio in the phone conditions: 8 kHz, G.711 mu-law (clean-phone-bandpass: a "
                       "300-3400 Hz band-pass first); "
                       "clean-phone compares the voiceprint's simulated-telephone embedding; naive-phone the "
                       "wideband one (both scored with the clean-phone calibration)")
    # single-voice check: each clip alone vs. two-speaker concatenations
    singles = [float(emb[(s, i, "wb")]["single"]) for s in TEST_SPEAKERS for i in range(10)]
    results["single_voice_check"] = {"single_clips_flagged_multi": int(sum(1 for v in singles if v == 0)),
                                     "single_clips_undecided": int(sum(1 for v in singles if v == -1)),
                                     "n_single_clips": len(singles)}
    return results, emb


def mixed_voice_eval(args, cache: Cache) -> dict:
    """Two-speaker recordings (clip of speaker a followed by a clip of speaker b)."""
    from voiceguard.audio import load_mono

    flagged = undecided = n = 0
    for j, spk in enumerate(TEST_SPEAKERS):
        other = TEST_SPEAKERS[(j + 1) % 10]
        for i in (0, 5):
            fa, fb = libri_files(args.data, spk)[i], libri_files(args.data, other)[i]
            ya, sr = load_mono(fa)
            yb, _ = load_mono(fb)
            d = cache.embed(f"{fa}+{fb}|mix", np.concatenate([ya, yb]), sr)
            n += 1
            flagged += int(d["single"]) == 0
            undecided += int(d["single"]) == -1
    return {"n_two_speaker": n, "flagged_multi": flagged, "undecided": undecided}


def sasv_eval(args, cache: Cache, cal, emb) -> dict:
    from voiceguard.audio import load_mono
    from voiceguard.detect.calibration import cllr
    from voiceguard.detect.detector import Detector
    from voiceguard.synthesis import vocoders
    from voiceguard.verify import fuse, spoof_llr_threshold

    SPKS = TEST_SPEAKERS[: args.speakers]
    det = Detector(args.model, threads=args.threads)
    t_spoof = spoof_llr_threshold(det.threshold, det.prior)
    cfg = det.config
    spoof_dir = args.cache / "spoofs"
    spoof_dir.mkdir(parents=True, exist_ok=True)
    # spoof scores cached per model (keyed by the config's content)
    mkey = hashlib.sha1(json.dumps(cfg, sort_keys=True).encode()).hexdigest()[:10]
    score_cache_p = args.cache / f"spoof_scores_{mkey}.json"
    sc = json.loads(score_cache_p.read_text()) if score_cache_p.is_file() else {}

    def spoof_score(key: str, y: np.ndarray, sr: int) -> tuple[float | None, str]:
        if key not in sc:
            r = det.score_mono(y, sr)
            sc[key] = [r.llr, r.verdict]
        return sc[key][0], sc[key][1]

    enroll_idx, held = [0, 1, 2], list(range(3, 10))
    trials = []  # dicts
    vp = {}
    for spk in SPKS:
        vp[spk] = np.mean([emb[(spk, i, "wb")]["vector"] for i in enroll_idx], axis=0)
        vp[spk] /= np.linalg.norm(vp[spk])
    bona = {}
    for spk in SPKS:
        for i in held:
            f = libri_files(args.data, spk)[i]
            y, sr = load_mono(f)
            bona[(spk, i)] = spoof_score(f"{f}|bona", y, sr)
    t0 = time.time()
    spoofs = {}
    for si, spk in enumerate(SPKS):
        for i in held:
            f = libri_files(args.data, spk)[i]
            y, sr = None, None
            for vi, voc in enumerate(VOCODERS):
                wav = spoof_dir / f"{f.stem}__{voc}.npy"
                if not wav.is_file():
                    if y is None:
                        y, sr = load_mono(f)
                    z = getattr(vocoders, voc)(y, sr, np.random.default_rng(1000 * si + 10 * i + vi))
                    np.save(wav, np.asarray(z, np.float32))
                z = np.load(wav).astype(np.float64)
                e = cache.embed(f"{wav}|wb", z, 16000)
                spoofs[(spk, i, voc)] = (e["vector"], spoof_score(f"{wav}|spoof", z, 16000))
    score_cache_p.write_text(json.dumps(sc))
    print(f"spoofs ready ({time.time() - t0:.0f} s)", flush=True)

    for spk in SPKS:
        for tspk in SPKS:
            for i in held:
                v = emb[(tspk, i, "wb")]["vector"]
                s = float(v @ vp[spk])
                trials.append({"enrolled": spk, "test": libri_files(args.data, tspk)[i].stem,
                               "label": "target" if tspk == spk else "nontarget", "attack": "-",
                               "similarity": s, "spoof": bona[(tspk, i)], "vec": v})
        for i in held:
            for voc in VOCODERS:
                v, sp = spoofs[(spk, i, voc)]
                trials.append({"enrolled": spk, "test": f"{libri_files(args.data, spk)[i].stem}__{voc}",
                               "label": "spoof", "attack": voc, "similarity": float(v @ vp[spk]), "spoof": sp,
                               "vec": v})
    # per-speaker clone check: a model per speaker from the enrollment clips and their copies by the
    # four DSP vocoders; each spoof trial of vocoder v is scored by the model fitted without v
    from voiceguard.voiceprint.clone_check import COPY_VOCODERS, fit_clone_model

    vocs = list(COPY_VOCODERS)
    full, lovo, test_frames = {}, {}, {}
    for si, spk in enumerate(SPKS):
        fs = libri_files(args.data, spk)
        g = [frames_of(args, f"{fs[i]}|whole", *load_mono(fs[i])) for i in enroll_idx]
        c = {v: [frames_of(args, f"{fs[i]}|{v}|enroll", copy_of(args, fs[i], v, 7 * si + i), 16000)
                 for i in enroll_idx] for v in vocs}
        full[spk] = fit_clone_model(g, [x for v in vocs for x in c[v]], seed=si, vocoders=vocs)
        lovo[spk] = {h: fit_clone_model(g, [x for v in vocs if v != h for x in c[v]], seed=si,
                                        vocoders=[v for v in vocs if v != h]) for h in vocs}
        print(f"clone models for {spk} ready", flush=True)
    for spk in SPKS:
        for i in held:
            f = libri_files(args.data, spk)[i]
            test_frames[f.stem] = frames_of(args, f"{f}|whole", *load_mono(f))
    for t in trials:
        if t["label"] == "spoof":
            stem, voc = t["test"].split("__")
            wav = spoof_dir / f"{stem}__{voc}.npy"
            x = frames_of(args, f"{wav}|whole", np.load(wav).astype(np.float64), 16000)
            raw = lovo[t["enrolled"]][voc].score_frames(x)
            t["clone_raw_seen"] = full[t["enrolled"]].score_frames(x)
        else:
            raw = full[t["enrolled"]].score_frames(test_frames[t["test"]])
        t["clone_raw"] = raw
        t["clone_llr"] = cal.clone_llr(raw) if raw is not None else None
    for t in trials:
        t["speaker_llr"] = cal.llr(cal.normalise(t["similarity"], vp[t["enrolled"]], t["vec"], "clean-clean"),
                                   "clean-clean")
        t["spoof_llr"], t["spoof_verdict"] = t["spoof"]
        t["decision"], t["fused"] = fuse(t["speaker_llr"], t["spoof_llr"], spoof_threshold=t_spoof,
                                         spoof_verdict=t["spoof_verdict"])
        t["decision3"], t["fused3"] = fuse(t["speaker_llr"], t["spoof_llr"], spoof_threshold=t_spoof,
                                           spoof_verdict=t["spoof_verdict"], clone_llr=t["clone_llr"])
    lines = ["enrolled\ttest\tlabel\tattack"] + [f"{t['enrolled']}\t{t['test']}\t{t['label']}\t{t['attack']}"
                                                for t in trials]
    (args.trials / "sasv.tsv").write_text("\n".join(lines) + "\n")
    (args.trials / "sasv_enrollment.tsv").write_text(
        "speaker\tenrollment_clips\n" + "".join(
            f"{spk}\t{','.join(libri_files(args.data, spk)[i].stem for i in enroll_idx)}\n" for spk in SPKS))

    def arr(label, key):
        return np.array([t[key] for t in trials if t["label"] == label and t[key] is not None], np.float64)

    res: dict = {"model": {"name": det.name, "recipe_date": cfg.get("recipe_date"), "training": cfg.get("training"),
                           "calibration": cfg.get("calibration"), "threshold": det.threshold, "prior": det.prior},
                 "spoof_threshold_llr": t_spoof,
                 "n_trials": {lab: sum(t["label"] == lab for t in trials) for lab in ("target", "nontarget", "spoof")}}
    tar_f, non_f, spf_f = arr("target", "fused"), arr("nontarget", "fused"), arr("spoof", "fused")
    res["sasv_eer_min_rule"] = eer(tar_f, np.concatenate([non_f, spf_f]))
    for name, key in (("speaker_llr", "speaker_llr"), ("spoof_llr", "spoof_llr")):
        tar, non, spf = arr("target", key), arr("nontarget", key), arr("spoof", key)
        res[f"sasv_eer_{name}_only"] = eer(tar, np.concatenate([non, spf]))
        res[f"sv_eer_{name}"] = eer(tar, non)
        res[f"spf_eer_{name}"] = eer(tar, spf)
    # alternative fusions for the record
    s_sum = {lab: arr(lab, "speaker_llr") + arr(lab, "spoof_llr") for lab in ("target", "nontarget", "spoof")}
    res["sasv_eer_llr_sum"] = eer(s_sum["target"], np.concatenate([s_sum["nontarget"], s_sum["spoof"]]))
    raw = {lab: np.array([t["similarity"] + (t["spoof_llr"] - cfg["calibration"]["offset"]) /
                          cfg["calibration"]["scale"] for t in trials if t["label"] == lab])
           for lab in ("target", "nontarget", "spoof")}
    res["sasv_eer_raw_sum"] = eer(raw["target"], np.concatenate([raw["nontarget"], raw["spoof"]]))
    acc = {}
    for lab in ("target", "nontarget", "spoof"):
        ds = [t["decision"] for t in trials if t["label"] == lab]
        acc[lab] = {d: ds.count(d) / len(ds) for d in ("accept", "reject_spoof", "reject_speaker", "no_speech")}
    res["decisions_at_default_thresholds"] = acc
    res["spoofs_accepted_by_speaker_check_alone"] = float(np.mean(arr("spoof", "speaker_llr") >= 0))
    res["spoofs_accepted_by_fused_decision"] = acc["spoof"]["accept"]
    per = {}
    for voc in VOCODERS:
        ts = [t for t in trials if t["attack"] == voc]
        per[voc] = {"speaker_accepts": float(np.mean([t["speaker_llr"] >= 0 for t in ts])),
                    "fused_accepts": float(np.mean([t["decision"] == "accept" for t in ts])),
                    "spf_eer": eer(arr("target", "spoof_llr"), [t["spoof_llr"] for t in ts])}
    res["per_attack"] = per
    res["cllr_speaker"] = cllr(arr("target", "speaker_llr"), arr("nontarget", "speaker_llr"))
    # with the per-speaker clone check
    tar3, non3, spf3 = arr("target", "fused3"), arr("nontarget", "fused3"), arr("spoof", "fused3")
    res["sasv_eer_with_clone_check"] = eer(tar3, np.concatenate([non3, spf3]))
    acc3 = {}
    for lab in ("target", "nontarget", "spoof"):
        ds = [t["decision3"] for t in trials if t["label"] == lab]
        acc3[lab] = {d: ds.count(d) / len(ds) for d in ("accept", "reject_spoof", "reject_clone", "reject_speaker",
                                                         "no_speech")}
    res["decisions_with_clone_check"] = acc3
    res["spoofs_accepted_with_clone_check"] = acc3["spoof"]["accept"]
    res["spf_eer_clone_llr_unseen_vocoder"] = eer(arr("target", "clone_llr"), arr("spoof", "clone_llr"))
    res["spf_eer_clone_raw_seen_vocoder"] = eer(arr("target", "clone_raw"), arr("spoof", "clone_raw_seen"))
    s_sum = {lab: arr(lab, "speaker_llr") + arr(lab, "spoof_llr") + arr(lab, "clone_llr")
             for lab in ("target", "nontarget", "spoof")}
    res["sasv_eer_llr_sum_with_clone"] = eer(s_sum["target"], np.concatenate([s_sum["nontarget"], s_sum["spoof"]]))
    for voc in VOCODERS:
        ts = [t for t in trials if t["attack"] == voc]
        per[voc]["fused_accepts_with_clone_check"] = float(np.mean([t["decision3"] == "accept" for t in ts]))
    return res


def demo_groups(root: Path) -> list[dict]:
    """Voice-conversion trials from demo pages that give a VC output's target speaker.

    Naming of the pages (``source_path`` in MANIFEST.tsv):

    * HierSpeech++ page: ``audio/4_zeroshot_vc/<system>/<src>_to_<tgt>.wav`` converts utterance
      ``src`` into the voice of utterance ``tgt``'s speaker; ``audio/GT_VCTK/<tgt>.wav`` is the
      target reference (enrollment) and ``GT_target_same_uttr/<src>_to_<tgt>.wav`` the target
      speaker saying the source sentence (a genuine test);
    * Diff-VC page: ``resources/audio/<src>-<tgt>/{source,target,<system>}.wav``: ``target.wav``
      is the reference of speaker ``tgt``; other folders' ``source.wav``/``target.wav`` of the
      same speaker are genuine tests;
    * StarGANv2-VC page: ``wav/VCTK/{Seen,Unseen}/<G>/<src>x<tgt>/{source,target,<system>}.wav``,
      likewise.
    Groups: one per (repository, target speaker): enrollment = one reference clip, genuine
    tests = the speaker's other genuine clips on that page, clones = every VC output into
    that speaker.
    """
    import csv
    import re

    man = root / "MANIFEST.tsv"
    rows = list(csv.DictReader(man.open(), delimiter="\t"))
    by = {}  # (repo, speaker) -> {"ref": [...], "genuine": [...], "clones": [...]}

    def g(repo, spk):
        return by.setdefault((repo, spk), {"repo": repo, "speaker": spk, "ref": [], "genuine": [], "clones": []})

    for r in rows:
        sp, path, lab = r["source_path"], root / r["path"], r["label"]
        m = re.match(r"audio/4_zeroshot_vc/([^/]+)/(p\d+)_\d+_to_(p\d+_\d+)\.wav$", sp)
        if m:
            tgt = m.group(3).split("_")[0]
            if m.group(1) == "GT_target_same_uttr":
                g(r["repo"], tgt)["genuine"].append(path)
            elif m.group(1).startswith("GT"):
                continue
            elif lab == "spoof":
                g(r["repo"], tgt)["clones"].append((path, r["system"]))
            continue
        m = re.match(r"audio/GT_VCTK/(p\d+)_\d+\.wav$", sp)
        if m and "HierSpeech" in r["repo"]:
            g(r["repo"], m.group(1))["ref"].append(path)
            continue
        m = re.match(r"(resources/audio/([^/-]+)-([^/]+)|wav/VCTK/(?:Seen|Unseen)/[^/]+/(p\d+)x(p\d+))/([^/]+)\.wav$", sp)
        if m:
            src, tgt = (m.group(2), m.group(3)) if m.group(2) else (m.group(4), m.group(5))
            name = m.group(6)
            if name == "target":
                g(r["repo"], tgt)["ref"].append(path)
            elif name == "source":
                g(r["repo"], src)["ref"].append(path)
            elif lab == "spoof":
                g(r["repo"], tgt)["clones"].append((path, r["system"]))
    out = []
    for grp in by.values():
        refs = sorted(set(grp["ref"]))
        if not refs or not grp["clones"]:
            continue
        grp["enroll"] = refs[0]
        grp["genuine"] = sorted(set(grp["genuine"]) | set(refs[1:]))
        out.append(grp)
    return sorted(out, key=lambda d: (d["repo"], d["speaker"]))


def vc_eval(args, cache: Cache, cal) -> dict:
    """Voice-conversion clones against their own target speakers (see :func:`demo_groups`)."""
    from voiceguard.audio import load_mono
    from voiceguard.detect.detector import Detector
    from voiceguard.voiceprint.clone_check import COPY_VOCODERS, fit_clone_model
    from voiceguard.voiceprint.decision import fuse, spoof_llr_threshold

    root = args.demos if (args.demos / "MANIFEST.tsv").is_file() else ROOT.parent / "shared" / "data" / "spoof-demos"
    groups = demo_groups(root)
    if args.vc_groups:
        groups = groups[:: max(1, len(groups) // args.vc_groups)][: args.vc_groups]
    det = Detector(args.model, threads=args.threads)
    t_spoof = spoof_llr_threshold(det.threshold, det.prior)
    vocs = list(COPY_VOCODERS)
    trials = []
    emb = {}
    for gi, grp in enumerate(groups):
        y, sr = load_mono(grp["enroll"])
        e = cache.embed(f"{grp['enroll']}|wb", y, sr)
        emb[(grp["repo"], grp["speaker"])] = e["vector"]
        try:
            g = [frames_of(args, f"{grp['enroll']}|whole", y, sr)]
            c = [frames_of(args, f"{grp['enroll']}|{v}|enroll", copy_of(args, grp["enroll"], v, gi), 16000) for v in vocs]
            model = fit_clone_model(g, c, seed=gi, vocoders=vocs)
        except Exception as exc:  # too short an enrollment clip
            print(f"  no clone model for {grp['speaker']}: {exc}")
            model = None
        tests = [(f, "target", "-") for f in grp["genuine"]] + [(f, "clone", sysname) for f, sysname in grp["clones"]]
        tests += [(o["enroll"], "nontarget", "-") for o in groups if o["repo"] == grp["repo"] and o is not grp]
        for f, lab, system in tests:
            z, zsr = load_mono(f)
            v = cache.embed(f"{f}|wb", z, zsr)["vector"]
            sim, spk_llr = cal.trial_llr(e["vector"], v, "clean-clean")
            r = det.score(f)
            raw = None if model is None else model.score_frames(frames_of(args, f"{f}|whole", z, zsr))
            cl = None if raw is None else cal.clone_llr(raw)
            d2, _ = fuse(spk_llr, r.llr, spoof_threshold=t_spoof, spoof_verdict=r.verdict)
            d3, f3 = fuse(spk_llr, r.llr, spoof_threshold=t_spoof, spoof_verdict=r.verdict, clone_llr=cl)
            trials.append({"repo": grp["repo"], "enrolled": grp["speaker"], "test": str(Path(f).name), "label": lab,
                           "system": system, "speaker_llr": spk_llr, "spoof_llr": r.llr, "clone_llr": cl,
                           "decision_detector": d2, "decision_clone": d3, "fused3": f3})
        print(f"VC group {grp['repo']} {grp['speaker']}: {len(grp['genuine'])} genuine, {len(grp['clones'])} clones",
              flush=True)
    (args.trials / "vc_demos.tsv").write_text("repo\tenrolled\ttest\tlabel\tsystem\n" + "".join(
        f"{t['repo']}\t{t['enrolled']}\t{t['test']}\t{t['label']}\t{t['system']}\n" for t in trials))

    def share(lab, cond):
        ts = [t for t in trials if t["label"] == lab]
        return float(np.mean([cond(t) for t in ts])) if ts else None

    res = {"data": str(root), "n_groups": len(groups),
           "n_trials": {lab: sum(t["label"] == lab for t in trials) for lab in ("target", "nontarget", "clone")}}
    for lab in ("clone", "target", "nontarget"):
        res[f"{lab}_accepted_voiceprint_alone"] = share(lab, lambda t: t["speaker_llr"] is not None and t["speaker_llr"] >= 0)
        res[f"{lab}_accepted_with_detector"] = share(lab, lambda t: t["decision_detector"] == "accept")
        res[f"{lab}_accepted_with_clone_check"] = share(lab, lambda t: t["decision_clone"] == "accept")
    per = {}
    for sysname in sorted({t["system"] for t in trials if t["label"] == "clone"}):
        ts = [t for t in trials if t["system"] == sysname]
        per[sysname] = {"n": len(ts),
                        "voiceprint_alone": float(np.mean([t["speaker_llr"] >= 0 for t in ts])),
                        "with_detector": float(np.mean([t["decision_detector"] == "accept" for t in ts])),
                        "with_clone_check": float(np.mean([t["decision_clone"] == "accept" for t in ts]))}
    res["per_system"] = per
    tar = [t["clone_llr"] for t in trials if t["label"] == "target" and t["clone_llr"] is not None]
    cln = [t["clone_llr"] for t in trials if t["label"] == "clone" and t["clone_llr"] is not None]
    res["spf_eer_clone_llr"] = eer(tar, cln) if tar and cln else None
    return res


def gate_eval(args) -> dict:
    """The enrollment gate on genuine clips: share the detector would refuse to enroll.

    Clips: the ten test speakers' clips, the first clip of every other LibriSpeech speaker,
    and the voice-conversion groups' enrollment clips (all real recordings)."""
    from voiceguard.detect.detector import Detector

    det = Detector(args.model, threads=args.threads)
    root = args.demos if (args.demos / "MANIFEST.tsv").is_file() else ROOT.parent / "shared" / "data" / "spoof-demos"
    libri = args.data / "resemblyzer_librispeech"
    others = [sorted(d.glob("*.flac"))[0] for d in sorted(libri.iterdir())
              if d.is_dir() and d.name.removeprefix("libri_") not in TEST_SPEAKERS and any(d.glob("*.flac"))]
    sets = {"test_speakers_all_clips": [f for s in TEST_SPEAKERS for f in libri_files(args.data, s)],
            "other_librispeech_speakers_first_clip": others,
            "vc_demo_enrollment_clips": [Path(g["enroll"]) for g in demo_groups(root)]}
    res: dict = {"detector": det.version, "threshold": det.threshold}
    for name, files in sets.items():
        refused = []
        for f in files:
            r = det.score(str(f))
            if r.verdict == "spoof":
                refused.append({"clip": Path(f).name, "spoof_probability": round(float(r.spoof_probability), 4)})
        res[name] = {"n": len(files), "refused": len(refused), "share": len(refused) / max(1, len(files)),
                     "refused_clips": refused}
        print(f"enrollment gate, {name}: {len(refused)} of {len(files)} genuine clips refused", flush=True)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "speech")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "voiceguard_speaker_cache")
    ap.add_argument("--trials", type=Path, default=ROOT / "benchmarks" / "trials")
    ap.add_argument("--out", type=Path, default=None,
                    help="results JSON (default benchmarks/results/speaker_eval.json; with --sv-only: none)")
    ap.add_argument("--model", default=None, help="detector config (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fit-calibration", action="store_true")
    ap.add_argument("--skip-sasv", action="store_true")
    ap.add_argument("--sv-only", action="store_true",
                    help="only the SV-EER tables (no two-speaker, SASV or VC trials); writes --out only when "
                         "--out is given, so the full results file is not overwritten")
    ap.add_argument("--vc-groups", type=int, default=0,
                    help="use only the first N voice-conversion target groups (default 0: all)")
    ap.add_argument("--speakers", type=int, default=10,
                    help="use the first N of the ten test speakers in the SASV trials (default all)")
    ap.add_argument("--clone-cal-speakers", type=int, default=40,
                    help="non-test speakers used to calibrate the clone check (default 40)")
    ap.add_argument("--demos", type=Path, default=ROOT.parent / "work-data" / "demos",
                    help="demo-page audio (MANIFEST.tsv) for the voice-conversion trials; falls back to "
                         "../shared/data/spoof-demos")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from voiceguard.voiceprint.encoder import GE2EEncoder

    args.trials.mkdir(parents=True, exist_ok=True)
    enc = GE2EEncoder(threads=args.threads)
    cache = Cache(args.cache / "emb", enc)
    if args.fit_calibration:
        fit_calibration(args, cache)
        return 0
    from voiceguard.verify import SpeakerCalibration

    cal = SpeakerCalibration.load(ROOT / "models" / "speaker_calibration.json")
    t0 = time.time()
    res, emb = sv_eval(args, cache, cal)
    if args.sv_only:
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"sv": res, "encoder": enc.name}, indent=2) + "\n")
            print(f"wrote {args.out}")
        return 0
    if args.out is None:
        args.out = ROOT / "benchmarks" / "results" / "speaker_eval.json"
    res["two_speaker_check"] = mixed_voice_eval(args, cache)
    print("single-voice check:", res["single_voice_check"], res["two_speaker_check"], flush=True)
    out = {"sv": res, "calibration": cal.info.get("stats"), "encoder": enc.name}
    if not args.skip_sasv:
        out["sasv"] = sasv_eval(args, cache, cal, emb)
        print(json.dumps(out["sasv"], indent=1), flush=True)
        out["vc_demos"] = vc_eval(args, cache, cal)
        print(json.dumps(out["vc_demos"], indent=1), flush=True)
        out["enrollment_gate"] = gate_eval(args)
    out["seconds"] = time.time() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
