"""Shortcut audit: how well do trivial properties of a clip predict its label on held-out folds?

Demo pages put real and synthetic files side by side that often differ in things that are
not synthesis: duration, level, leading silence, bandwidth, sample-rate traces. If a
logistic regression on such properties alone reaches a low EER on the same held-out folds
as the detector, the corpus still carries a shortcut the detector may be using. The
properties (per clip, at 16 kHz):

``duration_s``, ``rms_db`` (whole clip), ``active_db`` (speech frames), ``lead_s`` and
``trail_s`` (non-speech before the first / after the last speech frame), ``peak_db``,
``crest_db``, ``hf_4k_db`` and ``hf_7k_db`` (energy above 4 / 7 kHz relative to the total),
``rolloff_hz`` (95 % spectral roll-off), ``floor_db`` (10th percentile frame energy).

``python -m voiceguard.training.shortcuts MANIFEST --scheme repo -o audit.json``
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PROPERTIES", "clip_properties", "audit"]

PROPERTIES = ("duration_s", "rms_db", "active_db", "lead_s", "trail_s", "peak_db", "crest_db", "hf_4k_db",
              "hf_7k_db", "rolloff_hz", "floor_db")


def clip_properties(path: str) -> list[float]:
    """The :data:`PROPERTIES` of one clip (NaN where the file cannot be read)."""
    from voiceguard.audio import load_mono
    from voiceguard.audio.vad import speech_activity
    from voiceguard.errors import VoiceguardError

    try:
        y, sr = load_mono(path, sr=16000)
    except VoiceguardError:
        return [float("nan")] * len(PROPERTIES)
    act = speech_activity(y, sr)
    db = lambda x: 10 * np.log10(x + 1e-12)
    rms = float(np.mean(y ** 2))
    on = np.flatnonzero(act.mask)
    hop = int(round(act.hop_s * sr))
    if on.size:
        active = np.concatenate([y[i * hop:(i + 1) * hop] for i in on])
        lead, trail = on[0] * act.hop_s, max(0.0, len(y) / sr - (on[-1] + 2) * act.hop_s)
    else:
        active, lead, trail = y, len(y) / sr, 0.0
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)))) ** 2
    f = np.fft.rfftfreq(len(y), 1 / sr)
    total = spec.sum() + 1e-20
    cum = np.cumsum(spec) / total
    peak = float(np.max(np.abs(y)))
    return [len(y) / sr, db(rms), db(float(np.mean(active ** 2))), lead, trail, db(peak ** 2),
            db(peak ** 2) - db(rms), db(spec[f >= 4000].sum() / total), db(spec[f >= 7000].sum() / total),
            float(f[min(len(f) - 1, np.searchsorted(cum, 0.95))]), float(act.floor_db)]


def audit(manifest_path: str | Path, scheme: str, *, jobs: int = 2) -> dict[str, Any]:
    """Held-out EER of a logistic regression on :data:`PROPERTIES` (per fold, pooled, worst)."""
    from voiceguard.data import read_manifest
    from voiceguard.training.fusion import fit_fusion
    from voiceguard.training.heldout import clip_info, folds, summarise_folds

    m = read_manifest(manifest_path)
    info = clip_info(m)
    paths = [str(m.resolve(r)) for r in m]
    with ProcessPoolExecutor(jobs) as pool:
        P = np.asarray(list(pool.map(clip_properties, paths, chunksize=64)), float)
    res: dict[str, Any] = {"config": {"properties": list(PROPERTIES)}, "scheme": scheme, "folds": {}}
    for name, tr, te in folds(info, scheme):
        ok = tr & np.all(np.isfinite(P), 1)
        mu, sd = P[ok].mean(0), P[ok].std(0) + 1e-9
        w, b = fit_fusion((P[ok] - mu) / sd, info.label[ok], l2=1e-2)
        clips = np.flatnonzero(te)
        res["folds"][name] = {"clips": clips.tolist(), "scores": (((P[clips] - mu) / sd) @ w + b).tolist()}
    res["summary"] = summarise_folds(res, info)
    by_label = {lab: np.nanmedian(P[info.label == k], 0).round(3).tolist()
                for k, lab in ((1, "bonafide"), (0, "spoof"))}
    res["medians"] = {"properties": list(PROPERTIES), **by_label}
    return res


def main(argv: Sequence[str] | None = None) -> int:
    from voiceguard.training.heldout import to_json

    p = argparse.ArgumentParser(prog="python -m voiceguard.training.shortcuts", description=__doc__.split("\n")[0])
    p.add_argument("manifest")
    p.add_argument("--scheme", default="repo", choices=["repo", "family"])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("-o", "--out", required=True)
    args = p.parse_args(argv)
    res = audit(args.manifest, args.scheme, jobs=args.jobs)
    Path(args.out).write_text(to_json(res), encoding="utf-8")
    s = res["summary"]
    print(json.dumps({"pooled": s["pooled"], "worst": s["worst"], "mean": s["mean"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
