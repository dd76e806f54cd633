"""Held-out-family EERs: the validation that is meant to predict unseen synthesizers.

A model trained without spoof family ``F`` (``voiceguard train --hold-out-family F``) is
scored by ``voiceguard evaluate --split val,xdomain``; this module reads that
``scores.tsv`` and reports how well the model separates the family it never saw from bona
fide speech, in the slices that stand for "unseen" in deployment:

* ``held_out_speakers``: bona fide of the ``val`` split (speakers never trained on, recording
  domains that were) against ``F`` spoofs of ``val``;
* ``held_out_domains``: bona fide of the ``xdomain`` split (whole recording sources never
  trained on: other microphones, rooms, languages) against ``F`` spoofs of ``xdomain``, or
  of ``val`` when ``F`` has none there (TTS spoofs belong to no recording domain);
* ``wideband`` / ``telephony``: both splits, by channel band;
* ``all``: both splits pooled.

TTS families have few validation clips (their sentences are split 80/10/10), so
:func:`heldout_eval_manifest` adds their *training*-split clips to the evaluation manifest
as validation clips: a model trained without the family never saw them, and TTS clips have
no bona fide original in the training split. Copy-synthesis families are not added: their
training clips copy speakers and utterances the model did see.

Used by ``scripts/lofo`` and ``scripts/ablation``:
``python -m voiceguard.crossval SCORES.tsv --held MODEL=FAMILY[,FAMILY] ... --out PREFIX`` and
``python -m voiceguard.crossval --eval-manifest MANIFEST OUT.tsv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from voiceguard.errors import InvalidParameterError
from voiceguard.evaluation import band_of
from voiceguard.metrics import eer

__all__ = ["SLICES", "read_scores", "held_out_eers", "held_out_table", "heldout_eval_manifest",
           "calibration_by_domain", "main"]

#: Column order of the tables.
SLICES = ("held_out_speakers", "held_out_domains", "wideband", "telephony", "all")


def heldout_eval_manifest(manifest: str | Path, out_path: str | Path) -> int:
    """Write the evaluation manifest of the held-out-family validation.

    Parameters
    ----------
    manifest : path
        A corpus manifest (``voiceguard.data build``).
    out_path : path
        The manifest to write: every ``val`` and ``xdomain`` row, plus the ``train`` rows
        of TTS families (``family`` starting with ``tts``) relabelled ``val``.

    Returns
    -------
    int
        Rows written.
    """
    import dataclasses

    from voiceguard.data.manifest import Manifest, read_manifest, write_manifest

    m = read_manifest(manifest)
    rows = [r for r in m if r.split in ("val", "xdomain")]
    rows += [dataclasses.replace(r, split="val") for r in m
             if r.split == "train" and r.label == "spoof" and r.family.startswith("tts")]
    write_manifest(Manifest(rows, m.root), out_path)
    return len(rows)


def read_scores(path: str | Path) -> list[dict[str, str]]:
    """Rows of an ``evaluate`` ``scores.tsv`` (variant ``kept`` only, scored clips only)."""
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh, delimiter="\t") if r["variant"] == "kept"]
    return [r for r in rows if r["llr"] not in ("", "nan", "None")]


def _eer_or_none(bona: list[float], spoof: list[float]) -> float | None:
    if not bona or not spoof:
        return None
    return float(eer(np.asarray(bona), np.asarray(spoof)))


def held_out_eers(rows: Iterable[Mapping[str, str]], model: str, family: str) -> dict[str, float | None]:
    """EERs of one held-out family for one model, by slice.

    Parameters
    ----------
    rows : iterable of mapping
        From :func:`read_scores`.
    model : str
        Model name (the ``model`` column).
    family : str
        Spoof family that model never saw.

    Returns
    -------
    dict
        One EER (fraction) per name in :data:`SLICES` (None where a slice has no trials),
        plus ``n_bonafide`` and ``n_spoof`` over all slices.
    """
    mine = [r for r in rows if r["model"] == model]
    if not mine:
        raise InvalidParameterError(f"model {model!r} has no scores; models: {sorted({r['model'] for r in rows})}")
    bona = [r for r in mine if r["label"] == "bonafide"]
    spoof = [r for r in mine if r["label"] == "spoof" and r["family"] == family]
    llr = lambda rs: [float(r["llr"]) for r in rs]  # noqa: E731
    spoof_x = [r for r in spoof if r["split"] == "xdomain"] or [r for r in spoof if r["split"] == "val"]
    out: dict[str, float | None] = {
        "held_out_speakers": _eer_or_none(llr(r for r in bona if r["split"] == "val"),
                                          llr(r for r in spoof if r["split"] == "val")),
        "held_out_domains": _eer_or_none(llr(r for r in bona if r["split"] == "xdomain"), llr(spoof_x)),
    }
    for band in ("wideband", "telephony"):
        out[band] = _eer_or_none(llr(r for r in bona if band_of(r["condition"]) == band),
                                 llr(r for r in spoof if band_of(r["condition"]) == band))
    out["all"] = _eer_or_none(llr(bona), llr(spoof))
    out["n_bonafide"], out["n_spoof"] = len(bona), len(spoof)
    return out


def calibration_by_domain(
    rows: Sequence[Mapping[str, str]], model: str, calibration: Mapping[str, float], sources: Mapping[str, str]
) -> dict:
    """Is calibrating on the cross-domain validation better than on held-out speakers only?

    For every held-out recording source ``S`` of the ``xdomain`` split, two affine
    calibrations of the model's raw scores are compared on the clips of ``S`` (bona fide
    and their copies): the one fitted on ``val`` alone (what training stores) and one
    fitted on ``val`` plus the *other* held-out sources. Calibration cannot change an
    EER; it changes the decisions at the threshold (``llr = 0``) and Cllr.

    Parameters
    ----------
    rows : sequence of mapping
        :func:`read_scores` rows of ``val`` and ``xdomain`` clips.
    model : str
        Model name in ``rows``.
    calibration : mapping
        The model's stored calibration (``scale``, ``offset``), to undo it.
    sources : mapping
        Clip path -> recording source.

    Returns
    -------
    dict
        ``{'per_source': {S: {'cllr_val', 'cllr_cross', 'error_val', 'error_cross',
        'n'}}, 'mean': {...}}``; ``error_*`` is the mean of the miss and false-alarm rates
        at ``llr = 0``.
    """
    from voiceguard.calibration import cllr, fit_calibration

    mine = [r for r in rows if r["model"] == model]
    raw = lambda r: (float(r["llr"]) - calibration["offset"]) / calibration["scale"]  # noqa: E731
    val = [r for r in mine if r["split"] == "val"]
    xdom = [r for r in mine if r["split"] == "xdomain"]

    def fit(rs):
        return fit_calibration([raw(r) for r in rs if r["label"] == "bonafide"],
                               [raw(r) for r in rs if r["label"] == "spoof"])

    def judge(cal, rs):
        b = np.array([cal.llr(raw(r)) for r in rs if r["label"] == "bonafide"])
        s = np.array([cal.llr(raw(r)) for r in rs if r["label"] == "spoof"])
        return cllr(b, s), 0.5 * (np.mean(b <= 0) + np.mean(s > 0))

    cal_val = fit(val)
    per: dict[str, dict] = {}
    for src in sorted({sources.get(r["path"], "?") for r in xdom}):
        here = [r for r in xdom if sources.get(r["path"], "?") == src]
        if len({r["label"] for r in here}) < 2:
            continue
        cal_x = fit(val + [r for r in xdom if sources.get(r["path"], "?") != src])
        (cv, ev), (cx, ex) = judge(cal_val, here), judge(cal_x, here)
        per[src] = {"cllr_val": cv, "cllr_cross": cx, "error_val": ev, "error_cross": ex, "n": len(here)}
    keys = ("cllr_val", "cllr_cross", "error_val", "error_cross")
    mean = {k: float(np.mean([v[k] for v in per.values()])) for k in keys} if per else {}
    return {"per_source": per, "mean": mean}


def _pct(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def held_out_table(
    rows: Sequence[Mapping[str, str]], held: Mapping[str, Sequence[str]], *, title: str = "",
    overall: bool = False,
) -> tuple[dict, str]:
    """Every (model, held-out family) pair as JSON and as a Markdown table.

    Parameters
    ----------
    rows : sequence of mapping
        From :func:`read_scores`.
    held : mapping
        Model name -> the families it was trained without.
    title : str
        First line of the Markdown.
    overall : bool
        Also summarise over all models (leave-one-family-out: one held-out family per
        model): the worst held-out family and the mean of the per-model worst EERs, in
        ``result['overall']`` and a closing line of the Markdown.

    Returns
    -------
    result : dict
        ``{'models': {model: {family: held_out_eers(...)}}, 'worst': {model: {'family',
        'eer'}}}`` (the family with the highest ``all`` EER, per model), plus ``overall``.
    markdown : str
    """
    result: dict = {"models": {}, "worst": {}}
    lines = [title, ""] if title else []
    lines += ["EER (%) of spoof families each model never saw, against all bona fide speech of the slice.",
              "held-out speakers: val split; held-out domains: recording sources never trained on (xdomain).", "",
              "| model | held-out family | held-out speakers | held-out domains | wideband | telephony | all | clips (bona fide / spoof) |",
              "|---|---|---|---|---|---|---|---|"]
    for model, families in held.items():
        per = {f: held_out_eers(rows, model, f) for f in families}
        result["models"][model] = per
        scored = {f: v for f, v in per.items() if v["all"] is not None}
        if scored:
            worst = max(scored, key=lambda f: scored[f]["all"])
            result["worst"][model] = {"family": worst, "eer": scored[worst]["all"]}
        for f, v in per.items():
            lines.append(f"| {model} | {f} | " + " | ".join(_pct(v[s]) for s in SLICES)
                         + f" | {v['n_bonafide']} / {v['n_spoof']} |")
    lines.append("")
    if overall and result["worst"]:
        worst = result["worst"].values()
        w = max(worst, key=lambda v: v["eer"])
        mean = sum(v["eer"] for v in worst) / len(worst)
        result["overall"] = {"worst_family": w["family"], "worst_eer": w["eer"], "mean_eer": mean}
        lines += ["", f"Worst held-out family: **{w['family']}** ({100 * w['eer']:.1f} %); "
                  f"mean over held-out families {100 * mean:.1f} %.", ""]
    return result, "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voiceguard.crossval SCORES --held MODEL=FAM[,FAM] ... [--out PREFIX]``."""
    ap = argparse.ArgumentParser(prog="python -m voiceguard.crossval", description=__doc__.split("\n")[0])
    ap.add_argument("scores", nargs="?", help="scores.tsv written by voiceguard evaluate --split val,xdomain")
    ap.add_argument("--eval-manifest", nargs=2, metavar=("MANIFEST", "OUT"),
                    help="write the held-out evaluation manifest (see heldout_eval_manifest) and exit")
    ap.add_argument("--held", action="append", metavar="MODEL=FAMILY[,FAMILY]",
                    help="a model and the spoof families it was trained without (repeatable)")
    ap.add_argument("--title", default="")
    ap.add_argument("--overall", action="store_true",
                    help="add the worst held-out family and the mean over models (leave-one-family-out)")
    ap.add_argument("--out", default=None, metavar="PREFIX", help="write PREFIX.json and PREFIX.md")
    args = ap.parse_args(argv)
    if args.eval_manifest:
        n = heldout_eval_manifest(*args.eval_manifest)
        print(f"{n} rows -> {args.eval_manifest[1]}")
        return 0
    if not args.scores or not args.held:
        ap.error("give SCORES and at least one --held MODEL=FAMILY")
    held: dict[str, list[str]] = {}
    for h in args.held:
        model, sep, fams = h.partition("=")
        if not sep or not fams:
            ap.error(f"--held wants MODEL=FAMILY[,FAMILY], got {h!r}")
        held[model] = [f for f in fams.split(",") if f]
    result, md = held_out_table(read_scores(args.scores), held, title=args.title, overall=args.overall)
    if args.out:
        Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
        Path(args.out + ".md").write_text(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
