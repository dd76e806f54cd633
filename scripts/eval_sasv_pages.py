#!/usr/bin/env python
"""Spoof-aware verification on demo-page clones of enrolled customers (issue 22).

Trials (``scripts/sasv_pages.py``): on every demo page that shows a real prompt beside the
zero-shot clone or conversion made from it, the prompt enrolls a customer (one clip) and

* every clone made from it is a **clone** trial (the attack);
* the same speaker's other real recordings on the page are **genuine** trials;
* the ten LibriSpeech test-other speakers of ``../shared/data/speech`` (clip 0) are
  **non-target** trials against every page enrollment.

Conditions: ``wb`` (the page audio, 16 kHz) and ``phone`` (test audio through 8 kHz G.711
mu-law; the enrollment stays the wideband prompt, compared through the voiceprint's
simulated-telephone embedding as ``verify`` does).

Every file is read once per condition; its speaker embedding, speech duration, clone-check
frames and detector scores are cached in ``--cache`` (keyed by file and condition, the
detector scores by the detector's version). The decision is composed from the same
functions ``voiceguard verify`` uses (:class:`voiceguard.voiceprint.fusion.SpeakerCalibration`,
:func:`~voiceguard.voiceprint.fusion.fuse`, the clone model of
:mod:`voiceguard.voiceprint.clone_check`); ``--check-verify`` confirms on a few trials that
it equals :class:`voiceguard.verify.Verifier`'s decision.

Commands::

    python scripts/eval_sasv_pages.py --check-pairing          # GE2E check of the pairing rules
    python scripts/eval_sasv_pages.py --model fast             # baseline tables, out-of-fold stand-in
    python scripts/eval_sasv_pages.py --model default          # in-sample for the pages it was trained on
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import sasv_pages  # noqa: E402

TEST_SPEAKERS = ["1688", "1998", "2033", "2414", "2609", "3005", "3080", "3331", "367", "533"]
CONDITIONS = ("wb", "phone")
MAX_FRAMES = 3000


def phone_chain(y: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """8 kHz G.711 mu-law version of a clip (as ``scripts/eval_speaker.py``)."""
    from voiceguard.audio import resample
    from voiceguard.audio.g711 import g711_roundtrip

    z = resample(np.asarray(y, np.float64), sr, 8000)
    peak = float(np.max(np.abs(z))) if z.size else 0.0
    if peak > 0.99:
        z = z * 0.99 / peak
    return np.asarray(g711_roundtrip(z, law="mu"), np.float64), 8000


def _h(s: str) -> str:
    return hashlib.sha1(s.encode()).hexdigest()[:20]


class Features:
    """Per (file, condition): embedding, telephone embedding, speech seconds, channel and
    clone-check frames, cached as one npz each; detector scores in one JSON per detector."""

    def __init__(self, cache: Path, encoder) -> None:
        self.dir = cache / "feat"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.enc = encoder
        self.cache = cache
        self._audio: dict = {}
        self._det: dict = {}

    def audio(self, path: str, cond: str) -> tuple[np.ndarray, int]:
        from voiceguard.audio import load_mono

        key = (path, cond)
        if key not in self._audio:
            if len(self._audio) > 64:
                self._audio.clear()
            y, sr = load_mono(path)
            if cond == "phone":
                y, sr = phone_chain(y, sr)
            self._audio[key] = (np.asarray(y, np.float64), int(sr))
        return self._audio[key]

    def get(self, path: str, cond: str) -> dict:
        p = self.dir / f"{_h(path + '|' + cond)}.npz"
        if p.is_file():
            with np.load(p) as z:
                return {k: z[k] for k in z.files}
        from voiceguard.voiceprint.clone_check import clone_frames

        y, sr = self.audio(path, cond)
        e = self.enc.embed(y, sr, telephone=True)
        x = clone_frames(y, sr, max_frames=MAX_FRAMES)
        d = {"emb": e.vector.astype(np.float32), "tel": (e.telephone_vector if e.telephone_vector is not None
                                                          else e.vector).astype(np.float32),
             "speech_s": np.array(e.speech_s), "channel": np.array(e.channel), "dur": np.array(len(y) / sr),
             "frames": x.astype(np.float16)}
        np.savez(p, **d)
        return d

    def stats(self, path: str, cond: str) -> np.ndarray | None:
        """Whisper speech statistics of :mod:`clone_evidence` (cached)."""
        from clone_evidence import EVIDENCE_VERSION, speech_stats

        d = self.cache / "stats"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"{_h(path + '|' + cond + '|' + EVIDENCE_VERSION)}.npy"
        if p.is_file():
            v = np.load(p)
            return None if v.size == 0 else v
        y, sr = self.audio(path, cond)
        v = speech_stats(y, sr)
        np.save(p, np.zeros(0, np.float32) if v is None else v)
        return v

    def detector_scores(self, det) -> dict:
        v = det.version
        if v not in self._det:
            p = self.cache / f"det_{_h(v)}.json"
            self._det[v] = (p, json.loads(p.read_text()) if p.is_file() else {})
        return self._det[v][1]

    def spoof(self, det, path: str, cond: str) -> tuple[float | None, str, float | None]:
        sc = self.detector_scores(det)
        k = f"{path}|{cond}"
        if k not in sc:
            y, sr = self.audio(path, cond)
            r = det.score_mono(y, sr)
            sc[k] = [r.llr, r.verdict, r.spoof_probability]
        return tuple(sc[k])

    def save_detector_scores(self) -> None:
        for p, sc in self._det.values():
            tmp = p.with_suffix(".tmp")
            tmp.write_text(json.dumps(sc))
            os.replace(tmp, p)


# --------------------------------------------------------------------------------------
# trial list
# --------------------------------------------------------------------------------------


def trial_groups(args) -> tuple[list, dict]:
    groups, stats = sasv_pages.build_groups(args.demos)
    return groups, stats


def corpus_clips(args) -> dict[str, list[str]]:
    base = args.data / "resemblyzer_librispeech"
    return {s: [str(p) for p in sorted((base / f"libri_{s}").glob("*.flac"))] for s in TEST_SPEAKERS}


def abspath(args, rel: str) -> str:
    return str(args.demos / rel)


# --------------------------------------------------------------------------------------
# pairing check
# --------------------------------------------------------------------------------------


def check_pairing(args, feats: Features, groups: list) -> dict:
    """Per page: each clone's cosine with its own enrollment against the other enrollments
    of the page (rank 1 = closest to its own prompt) and the median own / other cosine."""
    from voiceguard.voiceprint.embedding import cosine_similarity

    out = {}
    by_page = defaultdict(list)
    for g in groups:
        by_page[g.page].append(g)
    for page, gs in sorted(by_page.items()):
        E = np.stack([feats.get(abspath(args, g.enroll["path"]), "wb")["emb"] for g in gs]).astype(np.float64)
        own, other, rank1, n = [], [], 0, 0
        gen_own = []
        for i, g in enumerate(gs):
            for c in g.clones:
                v = feats.get(abspath(args, c["path"]), "wb")["emb"].astype(np.float64)
                s = E @ v
                own.append(s[i])
                if len(gs) > 1:
                    other.extend(np.delete(s, i).tolist())
                    rank1 += int(np.argmax(s) == i)
                n += 1
            for d in g.genuine:
                v = feats.get(abspath(args, d["path"]), "wb")["emb"].astype(np.float64)
                gen_own.append(float(cosine_similarity(v, E[i])))
        out[page] = {"groups": len(gs), "clones": n, "rank1": rank1 / n if len(gs) > 1 else None,
                     "median_own": float(np.median(own)), "median_other": float(np.median(other)) if other else None,
                     "median_genuine_own": float(np.median(gen_own)) if gen_own else None}
        o = out[page]
        fmt = lambda v, m=1.0, f=".3f": "  -  " if v is None else format(m * v, f)
        print(f"{page:55s} {len(gs):3d} groups {n:4d} clones  rank1 {fmt(o['rank1'], 100, '5.1f')} %  "
              f"own {fmt(o['median_own'])}  other {fmt(o['median_other'])}  genuine {fmt(o['median_genuine_own'])}",
              flush=True)
    return out


# --------------------------------------------------------------------------------------
# scoring
# --------------------------------------------------------------------------------------


def extract_stats(args, feats: Features, groups: list) -> None:
    paths = []
    for g in groups:
        paths.append(abspath(args, g.enroll["path"]))
        paths += [abspath(args, d["path"]) for d in g.genuine + g.clones]
    for s, fs in corpus_clips(args).items():
        paths += fs
    paths = list(dict.fromkeys(paths))
    t0 = time.time()
    for i, p in enumerate(paths):
        for cond in args.conditions:
            feats.stats(p, cond)
        if (i + 1) % 100 == 0:
            print(f"  speech statistics {i + 1}/{len(paths)} ({time.time() - t0:.0f} s)", flush=True)


def extract_all(args, feats: Features, groups: list, dets: list) -> None:
    paths = []
    for g in groups:
        paths.append(abspath(args, g.enroll["path"]))
        paths += [abspath(args, d["path"]) for d in g.genuine + g.clones]
    for s, fs in corpus_clips(args).items():
        paths += fs
    paths = list(dict.fromkeys(paths))
    t0 = time.time()
    for i, p in enumerate(paths):
        for cond in args.conditions:
            feats.get(p, cond)
            for det in dets:
                feats.spoof(det, p, cond)
        if (i + 1) % 100 == 0:
            feats.save_detector_scores()
            print(f"  features {i + 1}/{len(paths)} ({time.time() - t0:.0f} s)", flush=True)
    feats.save_detector_scores()


def clone_model(args, feats: Features, path: str, cond: str = "wb"):
    """The shipped per-speaker clone model of a one-clip enrollment (cached), or None.

    ``cond="phone"`` builds it from the enrollment and its copies put through the telephone
    chain (a research variant; the shipped check runs on wideband audio only)."""
    from voiceguard.voiceprint import clone_check as cc

    d = args.cache / "clone"
    d.mkdir(parents=True, exist_ok=True)
    p = d / f"{_h(path + '|' + cond + '|' + cc.CLONE_CHECK_VERSION)}.npz"
    if p.is_file():
        b = p.read_bytes()
        return cc.CloneModel.from_bytes(b) if b else None
    y, sr = feats.audio(path, "wb")
    b = cc.CloneModelBuilder()
    try:
        if cond == "wb":
            b.feeder(sr)(y)
            b.end_clip()
            m = b.build()
        else:
            names = cc.copy_vocoders()
            src = y[: int(cc.COPY_SOURCE_S * sr)]
            yp, psr = phone_chain(y, sr)
            g = [cc.clone_frames(yp, psr)]
            c = [cc.clone_frames(*phone_chain(z, sr)) for _, z in cc.make_copies(src, sr, vocoders=names)]
            m = cc.fit_clone_model(g, c, vocoders=names)
    except cc.CloneCheckUnavailable:
        p.write_bytes(b"")
        return None
    p.write_bytes(m.to_bytes())
    return m


def score_trials(args, feats: Features, groups: list, det, cal, cond: str, clusters) -> list[dict]:
    """Every trial of one condition with its component scores and the shipped decision."""
    from voiceguard.voiceprint.decision import CLEAN_CLEAN, CLEAN_PHONE, fuse, spoof_llr_threshold

    t_spoof = spoof_llr_threshold(det.threshold, det.prior)
    corpus = corpus_clips(args)
    nontarget = [(s, fs[0]) for s, fs in corpus.items()]
    out = []

    def one(enroll_feat, model, path, label, **meta):
        f = feats.get(path, cond)
        tele = str(f["channel"]) == "telephone"
        condition = CLEAN_PHONE if tele else CLEAN_CLEAN
        ref = _unit(enroll_feat["tel"] if tele else enroll_feat["emb"])
        rec = {"label": label, "path": path, "cond": cond, **meta, "speech_s": float(f["speech_s"])}
        llr, verdict, prob = feats.spoof(det, path, cond)
        spk = sim = None
        if float(f["speech_s"]) >= 1.0:
            sim, spk = cal.trial_llr(ref, f["emb"].astype(np.float64), condition)
        clone_llr = None
        if model is not None and condition == CLEAN_CLEAN and f["frames"].shape[0]:
            clone_llr = cal.clone_llr(model.score_frames(f["frames"].astype(np.float64)))
        d2, f2 = fuse(spk, llr, spoof_threshold=t_spoof, spoof_verdict=verdict)
        d3, f3 = fuse(spk, llr, spoof_threshold=t_spoof, spoof_verdict=verdict, clone_llr=clone_llr)
        rec.update({"speaker_llr": spk, "similarity": sim, "spoof_llr": llr, "spoof_verdict": verdict,
                    "clone_llr": clone_llr, "decision_detector": d2, "fused_detector": f2, "decision": d3,
                    "fused": f3, "spoof_threshold_llr": t_spoof})
        out.append(rec)

    for gi, g in enumerate(groups):
        ep = abspath(args, g.enroll["path"])
        ef = feats.get(ep, "wb")
        model = clone_model(args, feats, ep)
        e_llr, e_verdict, _ = feats.spoof(det, ep, "wb")
        meta = {"page": g.page, "group": g.key, "kind": g.kind, "enroll": g.enroll["path"],
                "enroll_speech_s": float(ef["speech_s"]), "enroll_verdict": e_verdict}
        for d in g.genuine:
            one(ef, model, abspath(args, d["path"]), "genuine", system="-", cluster="-", **meta)
        for c in g.clones:
            one(ef, model, abspath(args, c["path"]), "clone", system=c["system"], cluster=clusters(c["system"]),
                **meta)
        for s, p in nontarget:
            one(ef, model, p, "nontarget", system="-", cluster="-", **meta)
        if (gi + 1) % 50 == 0:
            print(f"  {cond}: {gi + 1}/{len(groups)} groups", flush=True)
            feats.save_detector_scores()
    # LibriSpeech one-clip enrollments: genuine trials across chapters, as a customer's later call
    for s, fs in corpus.items():
        for i, ep in enumerate(fs):
            ef = feats.get(ep, "wb")
            model = clone_model(args, feats, ep)
            meta = {"page": "librispeech", "group": f"{s}/{i}", "kind": "corpus", "enroll": ep,
                    "enroll_speech_s": float(ef["speech_s"]), "enroll_verdict": feats.spoof(det, ep, "wb")[1]}
            for j, tp in enumerate(fs):
                if j != i:
                    one(ef, model, tp, "genuine", system="-", cluster="-", **meta)
            for s2, p2 in nontarget:
                if s2 != s:
                    one(ef, model, p2, "nontarget", system="-", cluster="-", **meta)
    feats.save_detector_scores()
    return out


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / (np.linalg.norm(v) or 1.0)


def system_clusters(args):
    """Cluster of a system label (``SystemClusters`` of the detector issue; the file is read
    from the package when it has it, else from ``--systems``)."""
    try:
        from voiceguard.data.systems import SystemClusters
    except ImportError:
        import importlib.util

        spec = importlib.util.spec_from_file_location("_systems", args.systems)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        SystemClusters = mod.SystemClusters
    rows = sasv_pages.read_manifest(args.demos)
    sc = SystemClusters(sorted({r["system"] for r in rows if r["label"] == "spoof"}))
    return sc.cluster


# --------------------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------------------


def eer(pos, neg) -> float | None:
    from voiceguard.evaluation.metrics import eer as _eer

    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if pos.size == 0 or neg.size == 0:
        return None
    return float(_eer(pos, neg))


def accepted(ts, key="decision") -> float | None:
    return float(np.mean([t[key] == "accept" for t in ts])) if ts else None


def summarise(trials: list[dict], *, enroll_min_speech: float = 3.0) -> dict:
    """Shares accepted and EERs of one condition; trials of enrollments with less than
    ``enroll_min_speech`` seconds of speech (which ``enroll`` refuses) are left out."""
    ts = [t for t in trials if t["enroll_speech_s"] >= enroll_min_speech]
    page = [t for t in ts if t["kind"] != "corpus"]
    corpus = [t for t in ts if t["kind"] == "corpus"]
    clones = [t for t in page if t["label"] == "clone"]
    gen_page = [t for t in page if t["label"] == "genuine"]
    gen_corpus = [t for t in corpus if t["label"] == "genuine"]
    non = [t for t in ts if t["label"] == "nontarget"]

    def f(t, k):
        return -1e9 if t[k] is None else t[k]

    res = {"n": {"clone": len(clones), "genuine_page": len(gen_page), "genuine_corpus": len(gen_corpus),
                 "nontarget": len(non), "enrollments": len({t["enroll"] for t in ts}),
                 "enrollments_dropped_short": len({t["enroll"] for t in trials}) - len({t["enroll"] for t in ts})}}
    for name, key in (("voiceprint alone", None), ("+ detector", "decision_detector"), ("shipped", "decision")):
        if key is None:
            acc = lambda xs: float(np.mean([x["speaker_llr"] is not None and x["speaker_llr"] >= 0 for x in xs])) if xs else None
        else:
            acc = lambda xs, k=key: accepted(xs, k)
        res[name] = {"clones_accepted": acc(clones), "genuine_page_accepted": acc(gen_page),
                     "genuine_corpus_accepted": acc(gen_corpus), "nontarget_accepted": acc(non)}
    gen = gen_page + gen_corpus
    res["sasv_eer"] = eer([f(t, "fused") for t in gen], [f(t, "fused") for t in clones + non])
    res["sasv_eer_without_clone_check"] = eer([f(t, "fused_detector") for t in gen],
                                              [f(t, "fused_detector") for t in clones + non])
    res["spf_eer_detector"] = eer([t["spoof_llr"] for t in gen if t["spoof_llr"] is not None],
                                  [t["spoof_llr"] for t in clones if t["spoof_llr"] is not None])
    cg = [t["clone_llr"] for t in gen if t["clone_llr"] is not None]
    cc_ = [t["clone_llr"] for t in clones if t["clone_llr"] is not None]
    res["spf_eer_clone_check"] = eer(cg, cc_) if cg and cc_ else None
    res["spf_eer_speaker"] = eer([f(t, "speaker_llr") for t in gen], [f(t, "speaker_llr") for t in clones])
    res["enrollments_refused_by_detector"] = float(np.mean(
        [v == "spoof" for v in {t["enroll"]: t["enroll_verdict"] for t in ts if t["kind"] != "corpus"}.values()]))
    return res


def table_by(trials: list[dict], key: str, *, enroll_min_speech: float = 3.0) -> dict:
    ts = [t for t in trials if t["enroll_speech_s"] >= enroll_min_speech and t["kind"] != "corpus"]
    out = {}
    for v in sorted({t[key] for t in ts if t["label"] == "clone"}):
        cl = [t for t in ts if t[key] == v and t["label"] == "clone"]
        gp = [t for t in ts if t["label"] == "genuine" and (key != "page" or t["page"] == v)] if key == "page" else []
        out[v] = {"clones": len(cl),
                  "voiceprint_alone": float(np.mean([t["speaker_llr"] is not None and t["speaker_llr"] >= 0
                                                     for t in cl])),
                  "with_detector": accepted(cl, "decision_detector"), "shipped": accepted(cl, "decision"),
                  "genuine": len(gp), "genuine_accepted": accepted(gp, "decision")}
    return out


def print_table(title: str, tab: dict) -> None:
    print(f"\n{title}")
    print(f"| {'':50s} | clones | voiceprint | + detector | + clone check | genuine | genuine acc. |")
    for k, v in tab.items():
        ga = "-" if v["genuine_accepted"] is None else f"{100 * v['genuine_accepted']:.0f} %"
        print(f"| {k[:50]:50s} | {v['clones']:6d} | {100 * v['voiceprint_alone']:8.1f} % | "
              f"{100 * v['with_detector']:8.1f} % | {100 * v['shipped']:11.1f} % | {v['genuine']:7d} | {ga:>12s} |")


# --------------------------------------------------------------------------------------
# DSP copies of an enrolled speaker's own clips (LibriSpeech)
# --------------------------------------------------------------------------------------

#: Copies a user makes with the usual tools (librosa / pyworld defaults).
USER_COPIES = ("librosa_griffinlim", "librosa_mel_inversion", "world")


def user_copy(name: str, y: np.ndarray, sr: int) -> np.ndarray:
    """A Griffin-Lim, mel-inversion or WORLD copy with the libraries' default settings."""
    import librosa

    y = np.asarray(y, np.float64)
    if name == "librosa_griffinlim":
        z = librosa.griffinlim(np.abs(librosa.stft(y.astype(np.float32))), length=len(y))
    elif name == "librosa_mel_inversion":
        z = librosa.feature.inverse.mel_to_audio(librosa.feature.melspectrogram(y=y.astype(np.float32), sr=sr),
                                                 sr=sr, length=len(y))
    elif name == "world":
        import pyworld

        f0, t = pyworld.harvest(y, sr)
        sp = pyworld.cheaptrick(y, f0, t, sr)
        ap_ = pyworld.d4c(y, f0, t, sr)
        z = pyworld.synthesize(f0, sp, ap_, sr)[: len(y)]
    else:
        raise ValueError(name)
    z = np.asarray(z, np.float64)
    r0, r1 = np.sqrt(np.mean(y**2)), np.sqrt(np.mean(z**2))
    return z * (r0 / r1) if r1 > 0 else z


def copy_trials(args, feats: Features, det, cal) -> dict:
    """Per test speaker: clips 0-2 enroll (3 clips, as ``voiceguard enroll``), clips 3-9 are
    genuine trials and their copies (:data:`USER_COPIES`, 16 kHz and, for Griffin-Lim,
    through the 8 kHz G.711 chain) are spoof trials. Also: the share of copies of all 100
    clips that the enrollment gate (the detector's verdict) refuses."""
    from voiceguard.audio import load_mono
    from voiceguard.voiceprint import clone_check as cc
    from voiceguard.voiceprint.decision import CLEAN_CLEAN, CLEAN_PHONE, fuse, spoof_llr_threshold

    t_spoof = spoof_llr_threshold(det.threshold, det.prior)
    d = args.cache / "usercopies"
    d.mkdir(parents=True, exist_ok=True)

    def copy_path(src: str, name: str) -> str:
        p = d / f"{Path(src).stem}__{name}.flac"
        if not p.is_file():
            import soundfile as sf

            y, sr = load_mono(src)
            sf.write(str(p), np.clip(user_copy(name, y, sr), -1, 1), sr)
        return str(p)

    trials, gate, gate3 = [], {n: [] for n in USER_COPIES}, {n: [] for n in USER_COPIES}
    for s, fs in corpus_clips(args).items():
        enr = fs[:3]
        E = [feats.get(p, "wb") for p in enr]
        emb = _unit(np.mean([_unit(e["emb"]) for e in E], axis=0))
        tel = _unit(np.mean([_unit(e["tel"]) for e in E], axis=0))
        key = args.cache / "clone" / f"{_h('|'.join(enr) + '|3clip|' + cc.CLONE_CHECK_VERSION)}.npz"
        if key.is_file():
            model = cc.CloneModel.from_bytes(key.read_bytes())
        else:
            b = cc.CloneModelBuilder()
            for p in enr:
                y, sr = feats.audio(p, "wb")
                b.feeder(sr)(y)
                b.end_clip()
            model = b.build()
            key.write_bytes(model.to_bytes())
        tests = [(p, "genuine", "-", "wb") for p in fs[3:]]
        for p in fs[3:]:
            for n in USER_COPIES:
                tests.append((copy_path(p, n), "copy", n, "wb"))
            tests.append((copy_path(p, "librosa_griffinlim"), "copy", "librosa_griffinlim@8k", "phone"))
        for p, lab, att, cond in tests:
            f = feats.get(p, cond)
            tele = str(f["channel"]) == "telephone"
            condition = CLEAN_PHONE if tele else CLEAN_CLEAN
            sim, spk = cal.trial_llr(tel if tele else emb, f["emb"].astype(np.float64), condition)
            llr, verdict, _ = feats.spoof(det, p, cond)
            cl = None if tele else cal.clone_llr(model.score_frames(f["frames"].astype(np.float64)))
            d2, _ = fuse(spk, llr, spoof_threshold=t_spoof, spoof_verdict=verdict)
            d3, f3 = fuse(spk, llr, spoof_threshold=t_spoof, spoof_verdict=verdict, clone_llr=cl)
            trials.append({"speaker": s, "path": p, "label": lab, "attack": att, "cond": cond, "speaker_llr": spk,
                           "spoof_llr": llr, "spoof_verdict": verdict, "clone_llr": cl, "decision_detector": d2,
                           "decision": d3, "fused": f3, "enroll": "|".join(enr)})
        for n in USER_COPIES:
            refused = [feats.spoof(det, copy_path(p, n), "wb")[1] == "spoof" for p in fs]
            gate[n].extend(refused)
            gate3[n].append(any(refused[:3]))  # an enrollment of three copies (clips 0-2)
    feats.save_detector_scores()
    res = {"n_genuine": sum(t["label"] == "genuine" for t in trials), "by_attack": {}}
    gen = [t for t in trials if t["label"] == "genuine"]
    res["genuine_accepted"] = accepted(gen, "decision")
    res["genuine_accepted_without_clone_check"] = accepted(gen, "decision_detector")
    for att in sorted({t["attack"] for t in trials if t["label"] == "copy"}):
        ts = [t for t in trials if t["attack"] == att]
        res["by_attack"][att] = {"n": len(ts),
                                 "voiceprint_alone": float(np.mean([t["speaker_llr"] >= 0 for t in ts])),
                                 "with_detector": accepted(ts, "decision_detector"), "shipped": accepted(ts, "decision"),
                                 "refused_at_enrollment": float(np.mean(gate[att])) if att in gate else None,
                                 "three_copy_enrollments_refused": float(np.mean(gate3[att])) if att in gate3 else None}
    return res, trials


def check_verify(args, feats: Features, groups: list, det, cal, n_groups: int = 3) -> int:
    """Enroll a few page prompts with :func:`voiceguard.verify.enroll` into a temporary store
    and verify their trials with :class:`voiceguard.verify.Verifier`: the decisions and
    scores must equal the harness's (which composes the same functions from cached parts)."""
    import tempfile

    from voiceguard.voiceprint import Verifier, enroll

    clusters = lambda s: "-"
    picked = [g for g in groups if g.genuine and g.clones][:: max(1, len(groups) // 50)][:n_groups]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "vp.db"
        for gi, g in enumerate(picked):
            ep = abspath(args, g.enroll["path"])
            enroll(f"s{gi}", [ep], store=db, detector=det, allow_spoof=True, min_speech_s=1.0, force=True)
        with Verifier(db, detector=det) as v:
            for cond in args.conditions:
                trials = score_trials(args, feats, picked, det, cal, cond, clusters)
                for t in trials:
                    if t["kind"] == "corpus" or t["label"] == "nontarget":
                        continue
                    gi = [i for i, g in enumerate(picked) if g.key == t["group"] and g.page == t["page"]][0]
                    y, sr = feats.audio(t["path"], cond)
                    r = v.verify_mono(f"s{gi}", y, sr)
                    same = (r.decision == t["decision"] and abs((r.speaker_llr or 0) - (t["speaker_llr"] or 0)) < 1e-3
                            and ((r.clone_llr is None) == (t["clone_llr"] is None))
                            and (r.clone_llr is None or abs(r.clone_llr - t["clone_llr"]) < 0.05))
                    bad += not same
                    print(f"{'ok ' if same else 'DIFF'} {cond} {t['label']:8s} harness {t['decision']:15s} "
                          f"spk {t['speaker_llr']:.3f} clone {t['clone_llr']}  verify {r.decision:15s} "
                          f"spk {r.speaker_llr:.3f} clone {r.clone_llr}", flush=True)
    print("check-verify:", "all equal" if not bad else f"{bad} differ")
    return 1 if bad else 0


# --------------------------------------------------------------------------------------
# the enrollment-relative clone evidence, fitted and measured held out
# --------------------------------------------------------------------------------------


def page_folds(trials: list[dict], n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold of each trial: pages and LibriSpeech speakers spread over ``n_folds`` folds."""
    keys = [t["page"] if t["kind"] != "corpus" else "libri/" + t["group"].split("/")[0] for t in trials]
    uniq = sorted(set(keys))
    order = np.random.default_rng(seed).permutation(len(uniq))
    f = {k: int(order[i] % n_folds) for i, k in enumerate(uniq)}
    return np.array([f[k] for k in keys])


def load_scored(args, det_name: str, cond: str) -> list[dict]:
    with open(args.trials_out.with_name(f"{args.trials_out.stem}_{det_name}_{cond}.jsonl")) as f:
        ts = [json.loads(line) for line in f]
    for t in ts:
        t["enroll_abs"] = t["enroll"] if t["enroll"].startswith("/") else abspath(args, t["enroll"])
    return ts


def evidence_heldout(args, feats: Features, by_cond: dict[str, list[dict]]) -> None:
    """Add ``evidence_llr`` (held out) to every trial of every condition, in place.

    Per fold (pages and LibriSpeech speakers, :func:`page_folds`): an
    :class:`~clone_evidence.EvidenceModel` is fitted on the genuine and
    clone trials of the other folds (both conditions pooled; enrollments with at least
    ``--fit-min-speech`` seconds of speech), leaving out the clones of every system cluster
    that occurs among the held-out fold's clones, and scores the held-out fold."""
    from clone_evidence import fit_evidence_model

    conds = list(by_cond)
    ref = by_cond[conds[0]]
    fold = page_folds(ref, args.folds)
    D, ok = {}, {}
    for c in conds:
        rows = []
        for t in by_cond[c]:
            a, b = feats.stats(t["path"], c), feats.stats(t["enroll_abs"], c)
            rows.append(None if a is None or b is None else a.astype(np.float64) - b.astype(np.float64))
        ok[c] = np.array([r is not None for r in rows])
        D[c] = np.stack([r if r is not None else np.zeros(2048) for r in rows])
    lab = np.array([t["label"] for t in ref])
    cl = np.array([t.get("cluster", "-") for t in ref])
    sp = np.array([t["enroll_speech_s"] for t in ref])
    for c in conds:
        for t in by_cond[c]:
            t["evidence_llr"] = None
    for k in range(args.folds):
        te = fold == k
        held = set(cl[te & (lab == "clone")])
        tr = (~te) & (lab != "nontarget") & (sp >= args.fit_min_speech) & ~((lab == "clone") & np.isin(cl, list(held)))
        X = np.concatenate([D[c][tr & ok[c]] for c in conds])
        y = np.concatenate([lab[tr & ok[c]] == "genuine" for c in conds])
        m = fit_evidence_model(X, y, k=args.evidence_pca, l2=args.evidence_l2)
        for c in conds:
            for i in np.flatnonzero(te & ok[c]):
                by_cond[c][i]["evidence_llr"] = m.llr(D[c][i], np.zeros(D[c].shape[1]))
        print(f"  evidence fold {k}: fitted on {int(y.sum())} genuine / {int((~y).sum())} clone trials, "
              f"{len(held)} clusters held out", flush=True)


def new_decision(t: dict, *, t_spk: float, t_ev: float, use_detector: bool = True) -> str:
    """no_speech -> reject_spoof (detector verdict) -> reject_clone (evidence) -> reject_speaker."""
    if t["speaker_llr"] is None or t["spoof_llr"] is None or t["spoof_verdict"] == "no_speech":
        return "no_speech"
    if use_detector and t["spoof_verdict"] == "spoof":
        return "reject_spoof"
    if t.get("evidence_llr") is not None and t["evidence_llr"] < t_ev:
        return "reject_clone"
    if t["speaker_llr"] < t_spk:
        return "reject_speaker"
    return "accept"


def operating_point(ts: list[dict], t_spk: float, target: float) -> float:
    """The evidence threshold at which ``target`` of the genuine trials that pass the other
    tests are accepted (pooled held-out scores; the convention of the detector's threshold)."""
    g = [t["evidence_llr"] for t in ts if t["label"] == "genuine" and t.get("evidence_llr") is not None
         and new_decision(t, t_spk=t_spk, t_ev=-np.inf) == "accept"]
    return float(np.quantile(g, 1 - target)) if g else 0.0


def run_evidence(args, feats: Features) -> int:
    from voiceguard.evaluation.metrics import eer as _eer

    out = {}
    for m in args.model or ["fast"]:
        name = {"fast": "lfcc-resnet", "default": "whisper-base"}.get(m, m)
        by_cond = {c: load_scored(args, name, c) for c in args.conditions}
        evidence_heldout(args, feats, by_cond)
        res = out[name] = {}
        for c, trials in by_cond.items():
            with open(args.trials_out.with_name(f"{args.trials_out.stem}_{name}_{c}_evidence.jsonl"), "w") as f:
                for t in trials:
                    f.write(json.dumps(t) + "\n")
            for min_sp in (3.0, 2.0):
                ts = [t for t in trials if t["enroll_speech_s"] >= min_sp]
                gen = [t for t in ts if t["label"] == "genuine"]
                cln = [t for t in ts if t["label"] == "clone"]
                ev = lambda xs: [x["evidence_llr"] for x in xs if x.get("evidence_llr") is not None]
                r = res[f"{c}/enroll>={min_sp:g}s"] = {"spf_eer_evidence": float(_eer(np.array(ev(gen)), np.array(ev(cln)))),
                                                       "n_clone": len(cln), "n_genuine": len(gen), "points": {}}
                for t_spk in args.speaker_threshold or [0.0, -2.0]:
                    t_ev = operating_point(ts, t_spk, args.genuine_target)
                    dec = {id(t): new_decision(t, t_spk=t_spk, t_ev=t_ev) for t in ts}
                    acc = lambda xs: float(np.mean([dec[id(x)] == "accept" for x in xs])) if xs else None
                    pt = r["points"][f"speaker>={t_spk:g}"] = {
                        "evidence_threshold": t_ev, "clones_accepted": acc(cln), "genuine_accepted": acc(gen),
                        "genuine_page_accepted": acc([t for t in gen if t["kind"] != "corpus"]),
                        "genuine_corpus_accepted": acc([t for t in gen if t["kind"] == "corpus"]),
                        "nontarget_accepted": acc([t for t in ts if t["label"] == "nontarget"]),
                        "by_cluster": {}}
                    for k in sorted({t["cluster"] for t in cln}):
                        xs = [t for t in cln if t["cluster"] == k]
                        pt["by_cluster"][k] = [len(xs), acc(xs)]
                    pt["by_page"] = {}
                    for k in sorted({t["page"] for t in cln}):
                        xs = [t for t in cln if t["page"] == k]
                        pt["by_page"][k] = [len(xs), acc(xs), len([t for t in gen if t["page"] == k]),
                                            acc([t for t in gen if t["page"] == k])]
                print(f"{name} {c} enroll>={min_sp:g}s: SPF-EER evidence {100 * r['spf_eer_evidence']:.1f} %  " + "  ".join(
                    f"[spk>={k[9:]}: t_ev {v['evidence_threshold']:.2f} clones {100 * v['clones_accepted']:.1f} % "
                    f"genuine {100 * v['genuine_accepted']:.1f} % (page {100 * v['genuine_page_accepted']:.1f}, corpus "
                    f"{100 * v['genuine_corpus_accepted']:.1f}) nontarget {100 * v['nontarget_accepted']:.2f} %]"
                    for k, v in r["points"].items()), flush=True)
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demos", type=Path, default=sasv_pages.DEFAULT_DEMOS)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "speech")
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "voiceguard_sasv_pages")
    ap.add_argument("--model", action="append", default=None,
                    help="detector(s): fast, default or a config path (repeatable; default: fast)")
    ap.add_argument("--conditions", default="wb,phone")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-pairing", action="store_true")
    ap.add_argument("--extract-only", action="store_true")
    ap.add_argument("--extract-stats", action="store_true", help="compute the clone-evidence speech statistics")
    ap.add_argument("--evidence", action="store_true",
                    help="measure the enrollment-relative clone evidence held out, on the scored trials of --model")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--fit-min-speech", type=float, default=2.0)
    ap.add_argument("--evidence-pca", type=int, default=64)
    ap.add_argument("--evidence-l2", type=float, default=10.0)
    ap.add_argument("--speaker-threshold", type=float, action="append", default=None)
    ap.add_argument("--genuine-target", type=float, default=0.97)
    ap.add_argument("--copies", action="store_true", help="only the DSP-copy trials of LibriSpeech speakers")
    ap.add_argument("--check-verify", action="store_true",
                    help="compare the harness's decisions with Verifier's on a few page groups")
    ap.add_argument("--out", type=Path, default=None, help="results JSON")
    ap.add_argument("--trials-out", type=Path, default=Path("/tmp/i22/trials/sasv_pages.jsonl"),
                    help="scored trials (one JSONL per detector and condition, beside this name)")
    ap.add_argument("--systems", type=Path, default=Path("/work/pipe/voiceguard/data/systems.py"),
                    help="SystemClusters source when the package lacks voiceguard.data.systems")
    args = ap.parse_args(argv)
    args.conditions = [c for c in args.conditions.split(",") if c]
    import torch

    torch.set_num_threads(args.threads)
    from voiceguard.voiceprint.encoder import GE2EEncoder

    enc = GE2EEncoder(threads=args.threads)
    feats = Features(args.cache, enc)
    groups, stats = trial_groups(args)
    print(f"{len(groups)} groups, {sum(len(g.clones) for g in groups)} clones, "
          f"{sum(len(g.genuine) for g in groups)} genuine", flush=True)
    if args.check_pairing:
        res = check_pairing(args, feats, groups)
        if args.out:
            args.out.write_text(json.dumps(res, indent=1) + "\n")
        return 0
    if args.extract_stats:
        extract_stats(args, feats, groups)
        return 0
    if args.evidence:
        return run_evidence(args, feats)
    from voiceguard.detect import Detector

    dets = [Detector(m, threads=args.threads) for m in (args.model or ["fast"])]
    args.trials_out.parent.mkdir(parents=True, exist_ok=True)
    if args.check_verify:
        from voiceguard.voiceprint.decision import SpeakerCalibration

        return check_verify(args, feats, groups, dets[0], SpeakerCalibration.load())
    if args.copies:
        from voiceguard.voiceprint.decision import SpeakerCalibration

        cal = SpeakerCalibration.load()
        out = {}
        for det in dets:
            res, trials = copy_trials(args, feats, det, cal)
            out[det.version] = res
            print(det.version, json.dumps(res, indent=1), flush=True)
            with open(args.trials_out.with_name(f"copies_{det.name}.jsonl"), "w") as f:
                for t in trials:
                    f.write(json.dumps(t) + "\n")
        if args.out:
            args.out.write_text(json.dumps(out, indent=1) + "\n")
        return 0
    extract_all(args, feats, groups, dets)
    if args.extract_only:
        return 0
    from voiceguard.voiceprint.decision import SpeakerCalibration

    cal = SpeakerCalibration.load()
    clusters = system_clusters(args)
    results = {"trials": {"groups": len(groups), "pairing_left_out": stats}, "detectors": {}}
    args.trials_out.parent.mkdir(parents=True, exist_ok=True)
    for det in dets:
        r = results["detectors"][det.version] = {}
        for cond in args.conditions:
            trials = score_trials(args, feats, groups, det, cal, cond, clusters)
            with open(args.trials_out.with_name(f"{args.trials_out.stem}_{det.name}_{cond}.jsonl"), "w") as f:
                for t in trials:
                    f.write(json.dumps(t) + "\n")
            r[cond] = {"summary": summarise(trials), "by_page": table_by(trials, "page"),
                       "by_cluster": table_by(trials, "cluster")}
            print(f"\n=== {det.version} {cond}: {json.dumps(r[cond]['summary'], indent=1)}")
            print_table(f"{det.version} {cond} by page", r[cond]["by_page"])
            print_table(f"{det.version} {cond} by system cluster", r[cond]["by_cluster"])
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
