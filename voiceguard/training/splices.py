"""Partial deepfakes for validation: synthetic passages spliced into real held-out speech.

A few seconds of a clone inserted into a real call is the attack a call centre meets; a
recording-level rule that averages over windows lets it through. This module makes the
trials that the rule is chosen and calibrated on, from material no fold trains on:

* **carriers**: real recordings of voiceguard's held-out speakers and recording domains
  (corpus splits ``val``, ``test``, ``xdomain``, from the build's speaker splits) and the
  held-out half of the demo pages' real recordings, concatenated per speaker to 15-30 s;
* **passages**: 3-6 s of a real synthesizer output from the demo pages (every system
  cluster, balanced), level-matched to the carrier's speech and cross-faded in at a
  random point away from the edges;
* every carrier is written twice, **untouched and spliced**, through the same randomised
  wideband or telephone channel (same seed, edges not re-randomised, so the passage stays
  where the manifest says).

Output: ``OUT/manifest.tsv`` (corpus columns; split ``splice``; extra columns
``cluster``, ``repo``, ``splice_start_s``, ``splice_end_s``, ``pair``) and the FLAC files.

``python -m voiceguard.training.splices --corpus CORPUS --demos DEMOS --out OUT [--pairs 400]``
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import VoiceguardError

__all__ = ["make_splices"]

SR = 16000


def _speech_rms(y: np.ndarray) -> float:
    frames = y[: len(y) // 320 * 320].reshape(-1, 320)
    e = np.sqrt(np.mean(frames ** 2, axis=1) + 1e-12)
    loud = e[e >= np.percentile(e, 50)] if len(e) else e
    return float(np.mean(loud)) if len(loud) else 1e-6


def _passage(y: np.ndarray, length: int, rng: np.random.Generator) -> np.ndarray:
    """The most energetic stretch of ``length`` samples near a random point (speech, not silence)."""
    if len(y) <= length:
        return y
    hop = 1600
    starts = np.arange(0, len(y) - length + 1, hop)
    energy = np.array([np.mean(y[s: s + length] ** 2) for s in starts])
    good = starts[energy >= np.percentile(energy, 50)]
    return y[int(rng.choice(good)):][:length]


def _splice(carrier: np.ndarray, passage: np.ndarray, at: int) -> np.ndarray:
    fade = 160  # 10 ms cross-fades at both joins
    p = passage * (_speech_rms(carrier) / _speech_rms(passage))
    ramp = np.linspace(0.0, 1.0, fade)
    p[:fade] *= ramp
    p[-fade:] *= ramp[::-1]
    head, tail = carrier[:at].copy(), carrier[at:].copy()
    head[-fade:] *= ramp[::-1]
    tail[:fade] *= ramp
    out = np.concatenate([head[:-fade], head[-fade:] + p[:fade], p[fade:-fade], p[-fade:] + tail[:fade], tail[fade:]])
    return out


def _carriers(corpus: Path, demos: Path, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Held-out real recordings grouped per speaker into 15-30 s carriers."""
    from voiceguard.audio import load_mono
    from voiceguard.data import read_manifest
    from voiceguard.data.build import _slug, _stable_int
    from voiceguard.training.systemfolds import _stable_unit

    build = json.loads((corpus / "build.json").read_text(encoding="utf-8"))
    splits = build["speaker_splits"]
    by_speaker: dict[str, list[Path]] = defaultdict(list)
    for folder in build["settings"]["inputs"]:
        m = read_manifest(Path(folder) / "MANIFEST.tsv")
        for r in m:
            if r.label == "bonafide" and splits.get(r.speaker) in ("val", "test", "xdomain"):
                by_speaker[f"{r.source}:{r.speaker}"].append(m.resolve(r))
    with (demos / "MANIFEST.tsv").open(encoding="utf-8") as f:
        for rec in csv.DictReader(f, delimiter="\t"):
            if rec["label"] != "bonafide":
                continue
            repo = rec["repo"]
            key = f"demo.{_slug(repo, 30)}.{_slug(Path(rec['path']).stem, 40)}.{_stable_int(rec['path']) % 10**6:06d}"
            if _stable_unit(key, "bona") < 0.5:  # the half no fold trains on (systemfolds.eval_bonafide)
                by_speaker[f"demo:{repo}"].append(demos / rec["path"])
    carriers = []
    for spk in sorted(by_speaker):
        files = sorted(by_speaker[spk])
        rng.shuffle(files)
        target, parts, n = rng.uniform(15, 30), [], 0
        for path in files:
            try:
                y, _ = load_mono(path, sr=SR)
            except VoiceguardError:
                continue
            parts.append(y)
            n += len(y)
            if n >= target * SR:
                carriers.append({"speaker": spk, "audio": np.concatenate(parts)[: int(30 * SR)]})
                target, parts, n = rng.uniform(15, 30), [], 0
    return carriers


def make_splices(corpus: str | Path, demos: str | Path, out: str | Path, *, pairs: int = 400, seed: int = 0,
                 passage_s: tuple[float, float] = (3.0, 6.0), long: int = 0) -> Path:
    """Write ``pairs`` untouched/spliced recording pairs (see the module docstring), and
    ``long`` untouched recordings of 1-3 minutes (carriers joined end to end: several
    held-out speakers, as in a call), on which a rule's false alarms must not grow with
    length."""
    import soundfile as sf

    from voiceguard.audio import load_mono
    from voiceguard.data.channel import apply_channel
    from voiceguard.data.systems import SystemClusters

    corpus, demos, out = Path(corpus), Path(demos), Path(out)
    rng = np.random.default_rng(seed)
    carriers = _carriers(corpus, demos, rng)
    if not carriers:
        raise VoiceguardError("no held-out real recordings long enough for carriers")
    with (demos / "MANIFEST.tsv").open(encoding="utf-8") as f:
        spoofs = [r for r in csv.DictReader(f, delimiter="\t")
                  if r["label"] == "spoof" and float(r["duration_s"]) >= 3.0]
    sc = SystemClusters(sorted({r["system"] for r in spoofs}))
    by_cluster: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in spoofs:
        by_cluster[sc.cluster(r["system"])].append(r)
    clusters = sorted(by_cluster)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    order = rng.permutation(len(carriers))
    for i in range(pairs):
        car = carriers[int(order[i % len(order)])]
        cl = clusters[i % len(clusters)]  # round robin: every cluster alike
        src = by_cluster[cl][int(rng.integers(len(by_cluster[cl])))]
        y, _ = load_mono(demos / src["path"], sr=SR)
        passage = _passage(y, int(rng.uniform(*passage_s) * SR), rng)
        carrier = car["audio"]
        lo, hi = int(2 * SR), len(carrier) - int(2 * SR)
        at = int(rng.integers(lo, max(lo + 1, hi)))
        spliced = _splice(carrier, passage, at)
        profile = "telephone" if i % 2 else "wideband"
        chan_seed = int(rng.integers(2**62))
        for kind, audio in (("bonafide", carrier), ("spoof", spliced)):
            z, info = apply_channel(audio, SR, np.random.default_rng(chan_seed), profile, randomise_edges=False)
            rel = f"clips/{i:04d}-{kind}.flac"
            sf.write(str(out / rel), z, SR, subtype="PCM_16")
            rows.append({
                "path": rel, "label": kind, "speaker": car["speaker"], "source": car["speaker"].split(":")[0],
                "system": src["system"] if kind == "spoof" else "-",
                "family": src["family"] if kind == "spoof" else "bonafide",
                "condition": info.condition, "split": "splice", "group": f"pair{i:04d}",
                "duration_s": f"{len(z) / SR:.3f}", "cluster": cl if kind == "spoof" else "-",
                "repo": src["repo"] if kind == "spoof" else "-",
                "splice_start_s": f"{at / SR:.3f}" if kind == "spoof" else "-",
                "splice_end_s": f"{(at + len(passage)) / SR:.3f}" if kind == "spoof" else "-", "pair": str(i),
            })
    for j in range(long):
        target, parts, n = rng.uniform(60, 180) * SR, [], 0
        while n < target:
            a = carriers[int(rng.integers(len(carriers)))]["audio"]
            parts.append(a)
            n += len(a)
        audio = np.concatenate(parts)[: int(target)]
        profile = "telephone" if j % 2 else "wideband"
        z, info = apply_channel(audio, SR, np.random.default_rng(int(rng.integers(2**62))), profile,
                                randomise_edges=False)
        rel = f"clips/long{j:03d}-bonafide.flac"
        sf.write(str(out / rel), z, SR, subtype="PCM_16")
        rows.append({"path": rel, "label": "bonafide", "speaker": "mixed", "source": "mixed", "system": "-",
                     "family": "bonafide", "condition": info.condition, "split": "splice", "group": f"long{j:03d}",
                     "duration_s": f"{len(z) / SR:.3f}", "cluster": "-", "repo": "-", "splice_start_s": "-",
                     "splice_end_s": "-", "pair": f"long{j}"})
    with (out / "manifest.tsv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return out / "manifest.tsv"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m voiceguard.training.splices",
                                description="make untouched/spliced pairs of held-out real speech for validation")
    p.add_argument("--corpus", required=True, help="corpus folder (its build.json names the held-out speakers)")
    p.add_argument("--demos", required=True, help="import-demos folder (the synthetic passages)")
    p.add_argument("--out", required=True)
    p.add_argument("--pairs", type=int, default=400)
    p.add_argument("--long", type=int, default=0, help="untouched recordings of 1-3 minutes (default 0)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        print(make_splices(args.corpus, args.demos, args.out, pairs=args.pairs, seed=args.seed, long=args.long))
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
