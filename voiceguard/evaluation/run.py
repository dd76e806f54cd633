"""Evaluating detectors on a manifest: EER tables, DET curves, shortcut audit.

:func:`evaluate` scores every clip of a manifest (optionally one split) with one or more
detectors, through the same whole-recording pipeline as ``voiceguard score``, and writes

* ``report.json`` -- per model and variant: pooled EER, minDCF and Cllr, then EER by
  synthesizer (``system``), by ``family``, by channel ``condition``, by band
  (``wideband`` vs ``telephony`` = conditions starting with ``tel``) and by family within
  each band;
* ``scores.tsv`` -- one line per clip, model and variant;
* ``det.png`` (all models, pooled), ``det_<band>.png`` per band;
* ``tables.md`` -- the same numbers as Markdown tables (for the model card).

Per-system and per-family EERs compare **all** bona fide clips of the selection with the
spoofs of that system / family (the ASVspoof convention); per-condition and per-band EERs
use both classes within the condition.

Shortcut audit (``audit=True``): each clip is also scored after trimming leading and
trailing non-speech (:func:`voiceguard.audio.vad.trim_nonspeech`) and after loudness
normalisation (speech-active RMS set to -26 dBFS, cf. ITU-T P.56 active speech level).
A detector that relies on silence or level shows a large EER change between variants.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.detect.calibration import cllr
from voiceguard.errors import InvalidParameterError, VoiceguardError
from voiceguard.evaluation.metrics import det_curve, eer, min_dcf, plot_det

__all__ = ["VARIANTS", "evaluate", "loudness_normalise", "band_of"]

#: Audit variants: name -> description.
VARIANTS = {
    "kept": "as recorded",
    "trimmed": "leading/trailing non-speech trimmed",
    "loudness-normalised": "speech-active RMS normalised to -26 dBFS",
}

Progress = Callable[[int, int], None]


def band_of(condition: str) -> str:
    """``'telephony'`` for conditions starting with ``tel`` (8 kHz channels), else ``'wideband'``."""
    return "telephony" if condition.lower().startswith(("tel", "phone", "8k")) else "wideband"


def loudness_normalise(y: np.ndarray, sr: int, target_db: float = -26.0) -> np.ndarray:
    """Scale ``y`` so that its speech-active RMS is ``target_db`` dBFS (peak-limited to 0.99)."""
    from voiceguard.audio.vad import speech_activity

    act = speech_activity(y, sr)
    hop = int(round(act.hop_s * sr))
    if act.mask.any():
        idx = np.flatnonzero(act.mask)
        sel = np.concatenate([y[i * hop : i * hop + hop] for i in idx])
    else:
        sel = y
    rms = float(np.sqrt(np.mean(sel**2))) + 1e-12
    out = y * (10 ** (target_db / 20) / rms)
    peak = float(np.max(np.abs(out)))
    return out * (0.99 / peak) if peak > 0.99 else out


def _eer_block(b: np.ndarray, s: np.ndarray) -> dict[str, Any]:
    if b.size == 0 or s.size == 0:
        return {"eer": None, "n_bonafide": int(b.size), "n_spoof": int(s.size)}
    return {"eer": round(eer(b, s), 5), "n_bonafide": int(b.size), "n_spoof": int(s.size)}


def _tables(llr: np.ndarray, rows: list[Any]) -> dict[str, Any]:
    lab = np.array([r.label == "bonafide" for r in rows])
    b_all, s_all = llr[lab], llr[~lab]
    out: dict[str, Any] = {"pooled": _eer_block(b_all, s_all)}
    if b_all.size and s_all.size:
        out["pooled"]["min_dcf"] = round(min_dcf(b_all, s_all), 5)
        out["pooled"]["cllr"] = round(cllr(b_all, s_all), 4)
    for key in ("system", "family"):
        groups: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(rows):
            if r.label == "spoof":
                groups[getattr(r, key)].append(i)
        out[f"by_{key}"] = {g: _eer_block(b_all, llr[idx]) for g, idx in sorted(groups.items())}
    for key, fn in (("condition", lambda r: r.condition), ("band", lambda r: band_of(r.condition))):
        groups = defaultdict(list)
        for i, r in enumerate(rows):
            groups[fn(r)].append(i)
        out[f"by_{key}"] = {g: _eer_block(llr[idx][lab[idx]], llr[idx][~lab[idx]])
                            for g, idx in sorted(groups.items())}
    fam_band: dict[str, dict[str, Any]] = defaultdict(dict)
    for band in sorted({band_of(r.condition) for r in rows}):
        in_band = np.array([band_of(r.condition) == band for r in rows])
        b = llr[in_band & lab]
        fams = sorted({r.family for r, ok in zip(rows, in_band) if ok and r.label == "spoof"})
        for fam in fams:
            sel = in_band & ~lab & np.array([r.family == fam for r in rows])
            fam_band[fam][band] = _eer_block(b, llr[sel])
        fam_band["pooled"][band] = _eer_block(b, llr[in_band & ~lab])
    out["by_family_band"] = dict(fam_band)
    return out


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _markdown(report: dict[str, Any]) -> str:
    lines = [f"# Evaluation of {report['manifest']} (split: {report['split'] or 'all'})", ""]
    names = list(report["models"])
    kept = {n: report["models"][n]["variants"]["kept"] for n in names}
    lines += ["## EER (%) by family and band, side by side", ""]
    fams = sorted({f for k in kept.values() for f in k["by_family_band"]} - {"pooled"}) + ["pooled"]
    bands = sorted({b for k in kept.values() for f in k["by_family_band"].values() for b in f})
    header = "| family | " + " | ".join(f"{n} {b}" for n in names for b in bands) + " |"
    lines += [header, "|" + "---|" * (1 + len(names) * len(bands))]
    for f in fams:
        cells = [_pct(kept[n]["by_family_band"].get(f, {}).get(b, {}).get("eer")) for n in names for b in bands]
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    for key, title in (("by_system", "synthesizer"), ("by_condition", "channel condition")):
        lines += ["", f"## EER (%) by {title}", "", "| " + title + " | " + " | ".join(names) + " |",
                  "|" + "---|" * (1 + len(names))]
        groups = sorted({g for k in kept.values() for g in k[key]})
        for g in groups:
            lines.append(f"| {g} | " + " | ".join(_pct(kept[n][key].get(g, {}).get("eer")) for n in names) + " |")
    variants = [v for v in VARIANTS if all(v in report["models"][n]["variants"] for n in names)]
    if len(variants) > 1:
        lines += ["", "## Shortcut audit: pooled EER (%)", "", "| model | " + " | ".join(variants) + " |",
                  "|" + "---|" * (1 + len(variants))]
        for n in names:
            v = report["models"][n]["variants"]
            lines.append(f"| {n} | " + " | ".join(_pct(v[x]["pooled"]["eer"]) for x in variants) + " |")
    lines += ["", f"Clips: {report['n_clips']}, no_speech: {report['n_no_speech']}, errors: "
                  f"{len(report['errors'])}", ""]
    return "\n".join(lines)


def error_summary(errors: Sequence[dict[str, str]], manifest: Any, limit: int = 3) -> str:
    """The first ``limit`` errors of an evaluation, and where relative paths resolve.

    Parameters
    ----------
    errors : sequence of {"file", "error"}
    manifest : Manifest
        The evaluated manifest (for its root folder and its rows' paths).
    limit : int

    Returns
    -------
    str
        ``"N errors, the first: ...; ..."``, plus, when a listed file is missing and the
        manifest has relative paths, that they resolve against the manifest's folder.
    """
    shown = "; ".join(e["error"] for e in errors[:limit])
    more = f" (and {len(errors) - limit} more in report.json)" if len(errors) > limit else ""
    text = f"{len(errors)} error{'s' if len(errors) != 1 else ''}, the first: {shown}{more}"
    missing = any("no such file" in e["error"] for e in errors)
    if missing and any(not Path(r.path).is_absolute() for r in manifest):
        text += (f". Relative paths in a manifest resolve against the manifest's own folder "
                 f"({Path(manifest.root).resolve()}), not the current folder: write them relative to it, or absolute")
    return text


def _det_plots(names: list[str], llrs: dict, kept_rows: list[Any], out: Path, split: str | None) -> list[str]:
    """det.png (pooled) and det_BAND.png; none, and a note, when matplotlib is missing (it
    comes with the data and report extras, not the default install)."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        from voiceguard._version import install_hint

        print("voiceguard: note: DET curves (det.png) not drawn: they need matplotlib, which is not installed "
              f"({install_hint('report')}); report.json, tables.md and scores.tsv are complete", file=sys.stderr)
        return []
    written = []
    lab = np.array([r.label == "bonafide" for r in kept_rows])
    curves = [det_curve(np.asarray(llrs[(n, "kept")])[lab], np.asarray(llrs[(n, "kept")])[~lab], n) for n in names]
    plot_det(curves, str(out / "det.png"), title=f"DET, {split or 'all'} split, pooled")
    written.append(str(out / "det.png"))
    for band in sorted({band_of(r.condition) for r in kept_rows}):
        sel = np.array([band_of(r.condition) == band for r in kept_rows])
        if (sel & lab).any() and (sel & ~lab).any():
            cs = [det_curve(np.asarray(llrs[(n, "kept")])[sel & lab], np.asarray(llrs[(n, "kept")])[sel & ~lab], n)
                  for n in names]
            plot_det(cs, str(out / f"det_{band}.png"), title=f"DET, {split or 'all'} split, {band}")
            written.append(str(out / f"det_{band}.png"))
    return written


def evaluate(
    models: Sequence[str | os.PathLike],
    manifest: Any,
    out_dir: str | os.PathLike,
    *,
    split: str | None = None,
    audit: bool = False,
    threads: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Score a manifest with one or more detectors and write the reports.

    Parameters
    ----------
    models : sequence of str or os.PathLike
        Model configs (``model.json``) or training output folders.
    manifest : Manifest or str or os.PathLike
        Clips to evaluate.
    out_dir : str or os.PathLike
        Output folder for ``report.json``, ``scores.tsv``, ``det*.png``, ``tables.md``.
    split : str, optional
        Only rows of this split, or of these comma-separated splits (default: every row).
    audit : bool
        Also score the trimmed and loudness-normalised variants.
    threads : int, optional
        torch threads.
    progress : callable, optional
        ``progress(done, total)`` after each clip.

    Returns
    -------
    dict
        The report (also written as ``report.json``).
    """
    from voiceguard import audio
    from voiceguard.audio.vad import trim_nonspeech
    from voiceguard.data.manifest import Manifest, read_manifest
    from voiceguard.detect.detector import Detector
    from voiceguard.detect.result import NO_SPEECH

    manifest_name = str(manifest) if not isinstance(manifest, Manifest) else str(manifest.root)
    if not isinstance(manifest, Manifest):
        manifest = read_manifest(manifest)
    if split is not None:
        # "val,xdomain": several splits pooled (held-out speakers and held-out domains)
        manifest = manifest.filter(split=[x.strip() for x in split.split(",") if x.strip()])
    if len(manifest) == 0:
        raise InvalidParameterError(f"no clips to evaluate (split {split!r}); check --split")
    if not models:
        raise InvalidParameterError("no model to evaluate")
    dets = [Detector(m, threads=threads) for m in models]
    names = []
    for d in dets:
        n, k = d.name, 2
        while n in names:
            n, k = f"{d.name}-{k}", k + 1
        names.append(n)
    variants = list(VARIANTS) if audit else ["kept"]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    llrs = {(n, v): [] for n in names for v in variants}
    kept_rows: list[Any] = []
    errors: list[dict[str, str]] = []
    n_no_speech = 0
    t0 = time.perf_counter()
    total_audio = 0.0
    with open(out / "scores.tsv", "w", encoding="utf-8") as fh:
        fh.write("path\tlabel\tsystem\tfamily\tcondition\tsplit\tmodel\tvariant\tverdict\tllr\tspoof_probability\n")
        for i, row in enumerate(manifest):
            path = manifest.resolve(row)
            try:
                y, sr = audio.load_mono(path)
                total_audio += len(y) / sr
                ys = {"kept": y}
                if audit:
                    ys["trimmed"] = trim_nonspeech(y, sr)
                    ys["loudness-normalised"] = loudness_normalise(y, sr)
                res = {(n, v): d.score_mono(ys[v], sr, name=str(path))
                       for n, d in zip(names, dets) for v in variants}
            except VoiceguardError as exc:
                errors.append({"file": str(path), "error": str(exc)})
                res = None
            if res is not None:
                if any(r.verdict == NO_SPEECH for r in res.values()):
                    n_no_speech += 1
                else:
                    kept_rows.append(row)
                    for key, r in res.items():
                        llrs[key].append(r.llr)
                for (n, v), r in res.items():
                    fh.write(f"{row.path}\t{row.label}\t{row.system}\t{row.family}\t{row.condition}\t"
                             f"{row.split}\t{n}\t{v}\t{r.verdict}\t"
                             f"{'' if r.llr is None else f'{r.llr:.5f}'}\t"
                             f"{'' if r.spoof_probability is None else f'{r.spoof_probability:.5f}'}\n")
            if progress is not None:
                progress(i + 1, len(manifest))
    seconds = time.perf_counter() - t0
    report: dict[str, Any] = {
        "manifest": manifest_name,
        "split": split,
        "n_clips": len(manifest),
        "n_scored": len(kept_rows),
        "n_no_speech": n_no_speech,
        "errors": errors,
        "audio_seconds": round(total_audio, 1),
        "wall_seconds": round(seconds, 1),
        "variants": {v: VARIANTS[v] for v in variants},
        "models": {},
    }
    if errors:
        report["errors_summary"] = error_summary(errors, manifest)
    labels = {r.label for r in kept_rows}
    if labels != {"bonafide", "spoof"}:
        raise InvalidParameterError(
            f"evaluation needs scored clips of both classes, got {sorted(labels)} "
            f"({n_no_speech} no_speech, {len(errors)} errors)" + (f". {report['errors_summary']}" if errors else "")
        )
    for n, d, m in zip(names, dets, models):
        report["models"][n] = {
            "config": str(m),
            "kind": d.kind,
            "features": d.feature_config.get("kind"),
            "n_parameters": d.config.get("n_parameters"),
            "variants": {v: _tables(np.asarray(llrs[(n, v)]), kept_rows) for v in variants},
        }
    report["det_plots"] = _det_plots(names, llrs, kept_rows, out, split)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "tables.md").write_text(_markdown(report), encoding="utf-8")
    if math.isfinite(seconds) and seconds > 0:
        report["realtime_factor"] = round(total_audio / seconds, 1)
    return report
