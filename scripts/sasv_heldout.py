#!/usr/bin/env python
"""Before / after tables of the spoof-aware verification trials of the demo pages (issue 22).

Reads the scored trials that ``scripts/eval_sasv_pages.py`` writes (one JSONL per detector
and condition) and reports, for the **shipped decision** (what ``voiceguard verify``
decides today: voiceprint AND detector AND, on wideband audio, the per-speaker clone
check) and for **candidate decisions** fitted held out:

* ``spk+det``, ``spk+det+clone``: a logistic regression over the calibrated speaker LLR,
  the detector's LLR and the clone check's LLR (:mod:`sasv_fusion`), AND the speaker LLR
  >= 0;
* ``+evidence``: the same with the Whisper-statistics clone evidence of
  ``scripts/sasv_whisper.py`` (a held-out score per trial, ``--extra NAME=FILE:KEY``).

Held out: pages (and LibriSpeech speakers) are split into ``--folds`` folds; each fold is
scored by a model fitted on the other folds' genuine and clone trials, without the clones
of any system cluster that occurs among the held-out fold's clones; the operating threshold
is the one that accepts ``--genuine-target`` of the *training* genuine trials (with speaker
LLR >= 0). The shares are pooled over the held-out folds.

Per decision: clones accepted, genuine accepted (page and LibriSpeech), non-target
accepted, SASV-EER (genuine against clones and non-targets, on the decision's score: the
shipped ``fused_score``; for the candidates the smaller of the fused logistic score minus
its fold's threshold and the speaker LLR, as their accept needs both >= 0) and
the tables by page and by system cluster. ``--out`` writes JSON, ``--md`` a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from sasv_fusion import LogReg, features, folds_of, heldout, load_trials  # noqa: E402


def _eer(pos, neg) -> float | None:
    from voiceguard.evaluation.metrics import eer

    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    if pos.size == 0 or neg.size == 0:
        return None
    return float(eer(pos, neg))


def shipped(trials: list[dict], key: str, fused_key: str) -> dict:
    """Accept flags and scores of a decision recorded in the trials."""
    acc = np.array([t[key] == "accept" for t in trials])
    score = np.array([-1e9 if t[fused_key] is None else t[fused_key] for t in trials], float)
    return {"accept": acc, "score": score}


def shares(trials: list[dict], acc: np.ndarray, score: np.ndarray) -> dict:
    lab = np.array([t["label"] for t in trials])
    kind = np.array([t["kind"] for t in trials])
    gen, cln, non = lab == "genuine", lab == "clone", lab == "nontarget"

    def m(mask):
        return float(acc[mask].mean()) if mask.any() else None

    return {"n_clone": int(cln.sum()), "n_genuine": int(gen.sum()), "n_nontarget": int(non.sum()),
            "clones_accepted": m(cln), "genuine_accepted": m(gen),
            "genuine_page_accepted": m(gen & (kind != "corpus")),
            "genuine_corpus_accepted": m(gen & (kind == "corpus")), "nontarget_accepted": m(non),
            "sasv_eer": _eer(score[gen], score[cln | non]), "spf_eer": _eer(score[gen], score[cln])}


def table(trials: list[dict], acc: np.ndarray, key: str) -> dict:
    lab = np.array([t["label"] for t in trials])
    val = np.array([t.get(key, "-") for t in trials])
    out = {}
    for v in sorted(set(val[lab == "clone"])):
        c = (val == v) & (lab == "clone")
        g = (val == v) & (lab == "genuine") if key == "page" else np.zeros(len(trials), bool)
        out[str(v)] = {"clones": int(c.sum()), "clones_accepted": float(acc[c].mean()),
                       "genuine": int(g.sum()), "genuine_accepted": float(acc[g].mean()) if g.any() else None}
    return out


def evidence_gate(trials: list[dict], args) -> dict:
    """The shipped AND rule with the Whisper-statistics clone evidence in place of the clone
    check: accept when the voiceprint and the detector accept (``decision_detector``) and the
    evidence score reaches a threshold.

    Evidence per trial (``scripts/sasv_whisper.py``, cached vectors): ``[T, T - E]``, T the
    test recording's Whisper-base layer 2+3 mean / std over its speech, E the enrollment's
    (in the test's condition: its 8 kHz G.711 rendering for telephone trials); PCA to
    ``--evidence-pca`` dimensions and an L2 logistic regression, fitted per fold on the
    other folds' genuine and clone trials without the held-out fold's system clusters; the
    fold's threshold accepts ``--genuine-target`` of the training genuine trials that the
    voiceprint and the detector accept."""
    from sasv_whisper import pca_fit, whisper_vec

    cond = trials[0]["cond"]
    for t in trials:
        t.setdefault("enroll_abs", t["enroll"] if t["enroll"].startswith("/") else str(args.demos / t["enroll"]))
    T = np.stack([whisper_vec(args.evidence_cache, t["path"], cond) for t in trials]).astype(np.float64)
    E = np.stack([whisper_vec(args.evidence_cache, t["enroll_abs"], cond) for t in trials]).astype(np.float64)
    X = np.concatenate([T, T - E], axis=1)
    lab = np.array([t["label"] for t in trials])
    cl = np.array([t.get("cluster", "-") for t in trials])
    kind = np.array([t["kind"] for t in trials])
    base = np.array([t["decision_detector"] == "accept" for t in trials])
    fold = folds_of(trials, args.folds)
    margin = np.full(len(trials), np.nan)
    for k in range(args.folds):
        te = fold == k
        held = set(cl[te & (lab == "clone")])
        tr = (~te) & (lab != "nontarget") & ~((lab == "clone") & np.isin(cl, list(held)))
        if args.evidence_pages_only:
            tr &= kind != "corpus"
        y = (lab[tr] == "genuine").astype(float)
        w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
        mu, P = pca_fit(X[tr], args.evidence_pca)
        m = LogReg(args.evidence_l2).fit((X[tr] - mu) @ P, y, w)
        s_tr = m.score((X[tr] - mu) @ P)
        g = s_tr[(y == 1) & base[tr]]
        thr = np.quantile(g, 1 - args.genuine_target)
        margin[te] = m.score((X[te] - mu) @ P) - thr
    fused = np.array([-1e9 if t["fused_detector"] is None else t["fused_detector"] for t in trials], float)
    return {"accept": base & (margin >= 0), "score": np.minimum(fused, margin)}


def decisions(trials: list[dict], args, extra: dict) -> dict:
    """name -> {"accept", "score"} for the shipped decisions and the held-out candidates."""
    out = {"voiceprint+detector (shipped, no clone check)": shipped(trials, "decision_detector", "fused_detector"),
           "shipped": shipped(trials, "decision", "fused")}
    spk = np.array([-1e9 if t["speaker_llr"] is None else t["speaker_llr"] for t in trials])
    if args.evidence_cache is not None:
        name = "voiceprint+detector+evidence gate (held out" + (", fitted on page trials only)"
                                                               if args.evidence_pages_only else ")")
        out[name] = evidence_gate(trials, args)
    for which in args.sets.split(","):
        parts = which.split("+")
        if any(p not in ("spk", "det", "clone") and p not in extra for p in parts):
            continue
        X, _ = features(trials, None, which, extra)
        if np.isnan(X).all(axis=0).any():  # e.g. no clone check on telephone trials
            continue
        r = heldout(trials, X, args.folds, args.genuine_target, args.l2)
        # the decision's score, as the shipped fused_score: the smaller of its two margins
        # (fused logistic LLR minus the fold's threshold, speaker LLR minus 0)
        r["score"] = np.minimum(r["margin"], spk)
        out[f"held-out fusion {which}"] = r
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trials", type=Path, nargs="+", help="scored trials JSONL (one per condition)")
    ap.add_argument("--demos", type=Path, default=Path("/work/pipe/runs/demos"))
    ap.add_argument("--sets", default="spk+det,spk+det+clone")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--genuine-target", type=float, default=0.97)
    ap.add_argument("--l2", type=float, default=1.0)
    ap.add_argument("--min-enroll-speech", type=float, default=3.0)
    ap.add_argument("--extra", action="append", default=[],
                    help="NAME=FILE.json:KEY: per-trial held-out scores (of the first trials file's condition)")
    ap.add_argument("--extra-conds", default="wb", help="conditions the --extra scores belong to")
    ap.add_argument("--evidence-cache", type=Path, default=None,
                    help="cache of scripts/sasv_whisper.py: add the evidence-gate decision")
    ap.add_argument("--evidence-pca", type=int, default=64)
    ap.add_argument("--evidence-l2", type=float, default=10.0)
    ap.add_argument("--evidence-pages-only", action="store_true",
                    help="fit the evidence on the demo pages' trials only (no LibriSpeech genuine trials): a check "
                         "of whether it separates clones from genuine speech or LibriSpeech from demo-page audio")
    ap.add_argument("--detector-pages", type=Path, default=None,
                    help="ALLOWED.tsv of the demo pages the detector was trained on: also report the pages it "
                         "never saw")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--md", type=Path, default=None)
    args = ap.parse_args(argv)
    args.extra_conds = set(args.extra_conds.split(","))
    seen: set[str] = set()
    if args.detector_pages is not None:
        with open(args.detector_pages) as f:
            seen = {line.split("\t", 1)[0] for line in f if line.strip()} - {"repo"}
    res: dict = {"genuine_target": args.genuine_target, "folds": args.folds, "conditions": {},
                 "pages_in_detector_training": sorted(seen)}
    md = []
    for path in args.trials:
        trials = [t for t in load_trials(path) if t["enroll_speech_s"] >= args.min_enroll_speech]
        cond = trials[0]["cond"]
        extra = {}
        if cond in args.extra_conds:
            for e in args.extra:
                name, rest = e.split("=", 1)
                f, key = rest.rsplit(":", 1)
                extra[name] = json.loads(Path(f).read_text())[key]
                assert len(extra[name]) == len(trials), (name, len(extra[name]), len(trials))
        c = res["conditions"][cond] = {"trials": str(path), "decisions": {}}
        unseen = np.array([t["kind"] == "corpus" or t["page"] not in seen for t in trials])
        for name, d in decisions(trials, args, extra).items():
            s = shares(trials, d["accept"], d["score"])
            c["decisions"][name] = {"summary": s, "by_page": table(trials, d["accept"], "page"),
                                    "by_cluster": table(trials, d["accept"], "cluster")}
            rows = [(name, s)]
            if seen:
                sub = [t for t, u in zip(trials, unseen) if u]
                su = c["decisions"][name]["summary_pages_unseen_by_detector"] = shares(
                    sub, d["accept"][unseen], d["score"][unseen])
                rows.append((name + ", pages the detector never saw", su))
            pct = lambda v: "-" if v is None else f"{100 * v:.1f} %"
            for nm, s in rows:
                line = (f"| {cond} | {nm} | {pct(s['clones_accepted'])} ({s['n_clone']}) | "
                        f"{pct(s['genuine_accepted'])} | {pct(s['genuine_page_accepted'])} | "
                        f"{pct(s['genuine_corpus_accepted'])} | {pct(s['nontarget_accepted'])} | "
                        f"{pct(s['sasv_eer'])} |")
                md.append(line)
                print(line, flush=True)
    head = ["| condition | decision | clones accepted (n) | genuine accepted | (page) | (LibriSpeech) | non-target "
            "accepted | SASV-EER |", "|---|---|---|---|---|---|---|---|"]
    if args.md:
        parts = ["\n".join(head + md)]
        for cond, c in res["conditions"].items():
            names = list(c["decisions"])
            for key in ("by_page", "by_cluster"):
                rows = c["decisions"][names[0]][key]
                parts.append(f"\n### {cond}, clones accepted {key.replace('_', ' ')}\n")
                parts.append("| " + key[3:] + " | clones | " + " | ".join(names) + " |")
                parts.append("|---|---|" + "---|" * len(names))
                for k, v in rows.items():
                    cells = []
                    for n in names:
                        r = c["decisions"][n][key][k]
                        cell = f"{100 * r['clones_accepted']:.0f} %"
                        if r["genuine"]:
                            cell += f" (genuine {100 * r['genuine_accepted']:.0f} % of {r['genuine']})"
                        cells.append(cell)
                    parts.append(f"| {k} | {v['clones']} | " + " | ".join(cells) + " |")
        args.md.write_text("\n".join(parts) + "\n")
    if args.out:
        args.out.write_text(json.dumps(res, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
