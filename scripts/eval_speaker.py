#!/usr/bin/env python
"""Fit the speaker calibration and measure speaker verification and spoof-aware verification.

Reproduces every number of ``docs/voiceprints.md``::

    python scripts/eval_speaker.py --fit-calibration   # writes models/speaker_calibration.json
    python scripts/eval_speaker.py                     # SV-EER, SASV; writes the results JSON

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


def phone_chain(y: np.ndarray, sr: int, bandpass: bool = False) -> tuple[np.ndarray, int]:
    """Telephone version of a clip: 8 kHz, G.711 mu-law (returned at 8 kHz); with
    ``bandpass`` a 300-3400 Hz band-pass first (a harsher line)."""
    from scipy.signal import butter, sosfiltfilt

    from voiceguard.audio import resample
    from voiceguard.data.channel import g711_roundtrip

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
    from voiceguard.metrics import eer as _eer

    return float(_eer(np.asarray(pos), np.asarray(neg)))


def libri_files(data: Path, spk: str) -> list[Path]:
    return sorted((data / "resemblyzer_librispeech" / f"libri_{spk}").glob("*.flac"))


# --------------------------------------------------------------------------------------


def fit_calibration(args, cache: Cache) -> None:
    from voiceguard.audio import load_mono
    from voiceguard.calibration import cllr, fit_calibration as fit
    from voiceguard.speaker import GE2EEncoder

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
    A = np.stack([it[2]["vector"] for it in items])
    AT = np.stack([it[2]["tel"] for it in items])
    B = np.stack([it[3]["vector"] for it in items])
    BP = np.stack([it[4]["vector"] for it in items])
    out = {"format": "voiceguard-speaker-calibration", "version": 1, "encoder": GE2EEncoder.name,
           "threshold": 0.0, "conditions": {}, "fitted_on": {
               "data": "LibriSpeech (train-clean-100) speakers of ../shared/data/speech/resemblyzer_librispeech, "
                       "excluding the ten test-other speakers " + ",".join(TEST_SPEAKERS),
               "n_speakers": n, "trials": "one clip per speaker cut in halves A (enrollment) / B (test); target: "
               "A_i-B_i; non-target: A_i-B_j for all i != j",
               "speakers": [it[0] for it in items]},
           "stats": {}}
    lines = ["speaker\tfile"] + [f"{it[0]}\t{it[1]}" for it in items]
    (args.trials / "calibration_clips.tsv").write_text("\n".join(lines) + "\n")
    for cond, E, T in (("clean-clean", A, B), ("clean-phone", AT, BP)):
        S = E.astype(np.float64) @ T.astype(np.float64).T
        tar = np.diag(S)
        non = S[~np.eye(n, dtype=bool)]
        cal = fit(tar, non, prior=0.5)
        ltar, lnon = cal.llr(tar), cal.llr(non)
        out["conditions"][cond] = cal.to_dict()
        out["stats"][cond] = {"n_target": int(tar.size), "n_nontarget": int(non.size), "eer": eer(tar, non),
                              "cllr": cllr(ltar, lnon), "mean_target_similarity": float(tar.mean()),
                              "mean_nontarget_similarity": float(non.mean())}
        print(cond, json.dumps(out["stats"][cond]), cal, flush=True)
    out["stats"]["naive_clean_enroll_vs_phone"] = {"eer": eer(np.diag(A @ BP.T), (A @ BP.T)[~np.eye(n, dtype=bool)])}
    (ROOT / "models" / "speaker_calibration.json").write_text(json.dumps(out, indent=2) + "\n")
    print("wrote models/speaker_calibration.json")


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
                s = float(v @ ref / (np.linalg.norm(ref) * np.linalg.norm(v)))
                c = "clean-phone" if cond != "clean-clean" else cond
                (tar if lab else non).append(s)
                (ltar if lab else lnon).append(cal.llr(s, c))
            ltar, lnon = np.array(ltar), np.array(lnon)
            from voiceguard.calibration import cllr

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
    from voiceguard.calibration import cllr
    from voiceguard.data import vocoders
    from voiceguard.scoring import Detector
    from voiceguard.verify import fuse, spoof_llr_threshold

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
    for spk in TEST_SPEAKERS:
        vp[spk] = np.mean([emb[(spk, i, "wb")]["vector"] for i in enroll_idx], axis=0)
        vp[spk] /= np.linalg.norm(vp[spk])
    bona = {}
    for spk in TEST_SPEAKERS:
        for i in held:
            f = libri_files(args.data, spk)[i]
            y, sr = load_mono(f)
            bona[(spk, i)] = spoof_score(f"{f}|bona", y, sr)
    t0 = time.time()
    spoofs = {}
    for si, spk in enumerate(TEST_SPEAKERS):
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

    for spk in TEST_SPEAKERS:
        for tspk in TEST_SPEAKERS:
            for i in held:
                v = emb[(tspk, i, "wb")]["vector"]
                s = float(v @ vp[spk])
                trials.append({"enrolled": spk, "test": libri_files(args.data, tspk)[i].stem,
                               "label": "target" if tspk == spk else "nontarget", "attack": "-",
                               "similarity": s, "spoof": bona[(tspk, i)]})
        for i in held:
            for voc in VOCODERS:
                v, sp = spoofs[(spk, i, voc)]
                trials.append({"enrolled": spk, "test": f"{libri_files(args.data, spk)[i].stem}__{voc}",
                               "label": "spoof", "attack": voc, "similarity": float(v @ vp[spk]), "spoof": sp})
    for t in trials:
        t["speaker_llr"] = cal.llr(t["similarity"], "clean-clean")
        t["spoof_llr"], t["spoof_verdict"] = t["spoof"]
        t["decision"], t["fused"] = fuse(t["speaker_llr"], t["spoof_llr"], spoof_threshold=t_spoof,
                                         spoof_verdict=t["spoof_verdict"])
    lines = ["enrolled\ttest\tlabel\tattack"] + [f"{t['enrolled']}\t{t['test']}\t{t['label']}\t{t['attack']}"
                                                for t in trials]
    (args.trials / "sasv.tsv").write_text("\n".join(lines) + "\n")
    (args.trials / "sasv_enrollment.tsv").write_text(
        "speaker\tenrollment_clips\n" + "".join(
            f"{spk}\t{','.join(libri_files(args.data, spk)[i].stem for i in enroll_idx)}\n" for spk in TEST_SPEAKERS))

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
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "speech")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "voiceguard_speaker_cache")
    ap.add_argument("--trials", type=Path, default=ROOT / "benchmarks" / "trials")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "speaker_eval.json")
    ap.add_argument("--model", default=None, help="detector config (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fit-calibration", action="store_true")
    ap.add_argument("--skip-sasv", action="store_true")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    from voiceguard.speaker import GE2EEncoder

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
    res["two_speaker_check"] = mixed_voice_eval(args, cache)
    print("single-voice check:", res["single_voice_check"], res["two_speaker_check"], flush=True)
    out = {"sv": res, "calibration": cal.info.get("stats"), "encoder": enc.name}
    if not args.skip_sasv:
        out["sasv"] = sasv_eval(args, cache, cal, emb)
        print(json.dumps(out["sasv"], indent=1), flush=True)
    out["seconds"] = time.time() - t0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
