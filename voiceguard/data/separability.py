"""How fast a fresh classifier learns each spoof family: a shortcut detector for the data.

A spoof family that a small, freshly initialised detector separates from bona fide speech
within an epoch or two is teaching a shortcut (over-smoothed spectra, a missing band, a
level or channel difference) rather than the artefacts that transfer to unseen systems.
:func:`separability` trains one LFCC-ResNet per family on that family and the bona fide
clips only, for a short wall-clock budget, and records the validation EER after every
epoch.

``python -m voiceguard.data.separability MANIFEST OUT [--budget S] [--families a,b]``
writes ``OUT/separability.json`` and ``OUT/separability.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from voiceguard.data.manifest import Manifest, read_manifest

__all__ = ["separability", "main"]

def separability(
    manifest: Manifest | str | Path,
    out_dir: str | Path,
    *,
    families: Sequence[str] | None = None,
    features: str = "lfcc",
    budget_s: float = 60.0,
    threads: int = 1,
    jobs: int = 1,
    cache_dir: str | Path | None = None,
    seed: int = 0,
    **train_kwargs,
) -> dict[str, dict]:
    """Train a fresh detector per spoof family and record how fast it learns it.

    Parameters
    ----------
    manifest : Manifest or path
        A corpus manifest with ``train`` and ``val`` splits.
    out_dir : path
        Models go to ``out_dir/<family>/``.
    families : sequence of str, optional
        Spoof families to test (default: every family of the train split).
    features : str
        Front end (:data:`voiceguard.train.FEATURE_PRESETS`).
    budget_s : float
        Wall-clock seconds of training per family.
    threads, jobs : int
        Torch threads; feature-extraction processes.
    cache_dir : path, optional
        Shared feature cache (default ``out_dir/cache``).
    seed : int
    **train_kwargs
        Passed to :func:`voiceguard.train.train` (``channels``, ``batch_size``, ``epochs``, ...).

    Returns
    -------
    dict
        ``{family: {'val_eer_by_epoch': [fraction, ...], 'best_val_eer': fraction,
        'epochs': int, 'seconds': float, 'n_train_spoof': int}}``, or
        ``{family: {'skipped': reason}}`` for a family without validation clips.
    """
    from voiceguard.train import train

    m = manifest if isinstance(manifest, Manifest) else read_manifest(manifest)
    all_fams = sorted({r.family for r in m if r.label == "spoof" and r.split == "train"})
    families = list(families) if families else all_fams
    out = Path(out_dir)
    result: dict[str, dict] = {}
    for fam in families:
        if not any(r.split == "val" and r.family == fam for r in m):  # tiny corpora
            result[fam] = {"skipped": "no validation clips of this family"}
            continue
        kw = dict(epochs=100, threads=threads, jobs=jobs, seed=seed, log=lambda _msg: None,
                  cache_dir=cache_dir if cache_dir is not None else out / "cache") | train_kwargs
        res = train(m, out / fam, features=features, model="resnet", time_budget_s=budget_s,
                    hold_out_families=[f for f in all_fams if f != fam], name=f"only-{fam}", **kw)
        curve = [h["val_eer"] for h in json.loads(Path(res.config_path).read_text())["training"]["history"]]
        result[fam] = {"val_eer_by_epoch": curve, "best_val_eer": res.val_eer, "epochs": res.epochs,
                       "seconds": round(res.seconds, 1),
                       "n_train_spoof": sum(1 for r in m if r.split == "train" and r.family == fam)}
    return result


def _markdown(result: dict[str, dict], budget_s: float) -> str:
    lines = [f"Fresh LFCC-ResNet per spoof family (that family + bona fide only, {budget_s:g} s budget): "
             "validation EER (%) after each epoch. A family near 0 % after one or two epochs is a shortcut.", "",
             "| family | train spoof clips | EER after epoch 1 | epoch 2 | best | epochs |", "|---|---|---|---|---|---|"]
    for fam, r in result.items():
        if "skipped" in r:
            lines.append(f"| {fam} | - | {r['skipped']} | | | |")
            continue
        c = r["val_eer_by_epoch"] + [None, None]
        f = lambda v: "-" if v is None else f"{100 * v:.1f}"  # noqa: E731
        lines.append(f"| {fam} | {r['n_train_spoof']} | {f(c[0])} | {f(c[1])} | {f(r['best_val_eer'])} | {r['epochs']} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command line; see the module docstring."""
    ap = argparse.ArgumentParser(prog="python -m voiceguard.data.separability", description=__doc__.split("\n")[0])
    ap.add_argument("manifest")
    ap.add_argument("out")
    ap.add_argument("--families", default=None, help="comma-separated (default: all train spoof families)")
    ap.add_argument("--features", default="lfcc")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds of training per family")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--cache", default=None)
    args = ap.parse_args(argv)
    fams = [f for f in args.families.split(",") if f] if args.families else None
    res = separability(args.manifest, args.out, families=fams, features=args.features, budget_s=args.budget,
                       threads=args.threads, jobs=args.jobs, cache_dir=args.cache)
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / "separability.json").write_text(json.dumps(res, indent=2) + "\n")
    md = _markdown(res, args.budget)
    (Path(args.out) / "separability.md").write_text(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
