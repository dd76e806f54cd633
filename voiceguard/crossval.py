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

Used by ``scripts/lofo`` and ``scripts/ablation``:
``python -m voiceguard.crossval SCORES.tsv --held MODEL=FAMILY[,FAMILY] ... --out PREFIX``.
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

__all__ = ["SLICES", "read_scores", "held_out_eers", "held_out_table", "main"]

#: Column order of the tables.
SLICES = ("held_out_speakers", "held_out_domains", "wideband", "telephony", "all")


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


def _pct(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def held_out_table(
    rows: Sequence[Mapping[str, str]], held: Mapping[str, Sequence[str]], *, title: str = ""
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

    Returns
    -------
    result : dict
        ``{model: {family: held_out_eers(...)}}`` and ``worst``: the (model, family) with the
        highest ``all`` EER, per model.
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
    return result, "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voiceguard.crossval SCORES --held MODEL=FAM[,FAM] ... [--out PREFIX]``."""
    ap = argparse.ArgumentParser(prog="python -m voiceguard.crossval", description=__doc__.split("\n")[0])
    ap.add_argument("scores", help="scores.tsv written by voiceguard evaluate --split val,xdomain")
    ap.add_argument("--held", action="append", required=True, metavar="MODEL=FAMILY[,FAMILY]",
                    help="a model and the spoof families it was trained without (repeatable)")
    ap.add_argument("--title", default="")
    ap.add_argument("--out", default=None, metavar="PREFIX", help="write PREFIX.json and PREFIX.md")
    args = ap.parse_args(argv)
    held: dict[str, list[str]] = {}
    for h in args.held:
        model, sep, fams = h.partition("=")
        if not sep or not fams:
            ap.error(f"--held wants MODEL=FAMILY[,FAMILY], got {h!r}")
        held[model] = [f for f in fams.split(",") if f]
    result, md = held_out_table(read_scores(args.scores), held, title=args.title)
    if args.out:
        Path(args.out + ".json").write_text(json.dumps(result, indent=2) + "\n")
        Path(args.out + ".md").write_text(md)
    sys.stdout.write(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
