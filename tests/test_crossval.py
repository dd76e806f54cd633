"""Held-out-family EER tables (voiceguard/crossval.py) on hand-made score files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from voiceguard.crossval import held_out_eers, held_out_table, main, read_scores
from voiceguard.errors import InvalidParameterError
from voiceguard.metrics import eer

COLS = ["path", "label", "system", "family", "condition", "split", "model", "variant", "verdict", "llr",
        "spoof_probability"]


def _write(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, COLS, delimiter="\t")
        w.writeheader()
        for r in rows:
            w.writerow({c: r.get(c, "-") for c in COLS})
    return path


def _rows(rng: np.random.Generator) -> list[dict]:
    """Model m: perfect on val, chance-like on xdomain bona fide; family f2 is always caught."""
    rows = []
    for i in range(40):
        split = "val" if i < 20 else "xdomain"
        cond = "wideband" if i % 2 else "tel-8k-ulaw"
        llr = 5.0 + rng.random() if split == "val" else rng.normal(0, 1)
        rows.append(dict(label="bonafide", family="bonafide", split=split, condition=cond, llr=f"{llr:.4f}"))
        rows.append(dict(label="spoof", family="f1", split=split, condition=cond, llr=f"{rng.normal(0, 1):.4f}"))
        rows.append(dict(label="spoof", family="f2", split="val", condition=cond, llr=f"{-10 - rng.random():.4f}"))
    for r in rows:
        r.update(model="m", variant="kept")
    # other variants and other models must be ignored
    rows.append(dict(label="spoof", family="f1", split="val", condition="wideband", llr="99", model="m",
                     variant="trimmed"))
    rows.append(dict(label="spoof", family="f1", split="val", condition="wideband", llr="99", model="other",
                     variant="kept"))
    return rows


def test_slices_match_a_direct_eer(tmp_path: Path, rng: np.random.Generator) -> None:
    rows = _rows(rng)
    scores = read_scores(_write(tmp_path / "scores.tsv", rows))
    res = held_out_eers(scores, "m", "f1")
    kept = [r for r in rows if r["model"] == "m" and r["variant"] == "kept"]

    def direct(bona_pred, spoof_pred):
        b = [float(r["llr"]) for r in kept if r["label"] == "bonafide" and bona_pred(r)]
        s = [float(r["llr"]) for r in kept if r["family"] == "f1" and spoof_pred(r)]
        return eer(np.asarray(b), np.asarray(s))

    assert res["held_out_speakers"] == pytest.approx(direct(lambda r: r["split"] == "val", lambda r: r["split"] == "val"))
    assert res["held_out_speakers"] == 0.0
    assert res["held_out_domains"] == pytest.approx(
        direct(lambda r: r["split"] == "xdomain", lambda r: r["split"] == "xdomain"))
    assert res["held_out_domains"] > 0.2  # the unseen domain is where this model fails
    tel = lambda r: r["condition"].startswith("tel")  # noqa: E731
    assert res["telephony"] == pytest.approx(direct(tel, tel))
    assert res["all"] == pytest.approx(direct(lambda r: True, lambda r: True))
    assert res["n_bonafide"] == 40 and res["n_spoof"] == 40
    # a family with no xdomain spoofs (TTS) is measured against xdomain bona fide with its val spoofs
    f2 = held_out_eers(scores, "m", "f2")
    assert f2["held_out_domains"] == 0.0 and f2["all"] == 0.0


def test_table_worst_and_cli(tmp_path: Path, rng: np.random.Generator, capsys) -> None:
    path = _write(tmp_path / "scores.tsv", _rows(rng))
    result, md = held_out_table(read_scores(path), {"m": ["f1", "f2"]}, title="T")
    assert result["worst"]["m"]["family"] == "f1"
    assert md.startswith("T\n") and "| m | f1 |" in md and "| m | f2 |" in md
    assert main([str(path), "--held", "m=f1,f2", "--out", str(tmp_path / "x")]) == 0
    assert json.loads((tmp_path / "x.json").read_text())["worst"]["m"]["family"] == "f1"
    assert "| m | f2 |" in capsys.readouterr().out
    assert "overall" not in result and "Worst held-out family" not in md
    # leave-one-family-out summary: one family per model, the worst and the mean of them
    rows = read_scores(path)
    rows += [{**r, "model": "m2"} for r in rows if r["model"] == "m"]
    res, md = held_out_table(rows, {"m": ["f1"], "m2": ["f2"]}, overall=True)
    f1, f2 = res["models"]["m"]["f1"]["all"], res["models"]["m2"]["f2"]["all"]
    assert f2 == 0.0 < f1
    assert res["overall"] == {"worst_family": "f1", "worst_eer": f1, "mean_eer": pytest.approx((f1 + f2) / 2)}
    assert md.rstrip().endswith(f"Worst held-out family: **f1** ({100 * f1:.1f} %); "
                                f"mean over held-out families {100 * f1 / 2:.1f} %.")
    assert main([str(path), "--held", "m=f1", "--overall", "--out", str(tmp_path / "y")]) == 0
    assert json.loads((tmp_path / "y.json").read_text())["overall"]["worst_family"] == "f1"
    with pytest.raises(InvalidParameterError, match="no scores"):
        held_out_eers(read_scores(path), "nope", "f1")
    with pytest.raises(SystemExit):
        main([str(path), "--held", "m"])


def test_heldout_eval_manifest_adds_unseen_tts_training_clips(tmp_path: Path) -> None:
    from voiceguard.crossval import heldout_eval_manifest
    from voiceguard.data.manifest import ClipRow, Manifest, read_manifest, write_manifest

    rows = [ClipRow(path=f"clips/{i}.flac", label=lab, family=fam, split=split, system=sys_)
            for i, (lab, fam, split, sys_) in enumerate([
                ("bonafide", "bonafide", "train", "-"), ("bonafide", "bonafide", "val", "-"),
                ("bonafide", "bonafide", "xdomain", "-"), ("bonafide", "bonafide", "test", "-"),
                ("spoof", "tts-neural", "train", "tts-piper"), ("spoof", "tts-neural", "val", "tts-piper"),
                ("spoof", "dsp-vocoder", "train", "voc-world"), ("spoof", "dsp-vocoder", "xdomain", "voc-world"),
                ("spoof", "tts-rule", "test", "tts-espeak-ng")])]
    (tmp_path / "corpus").mkdir()
    write_manifest(Manifest(rows, tmp_path / "corpus"), tmp_path / "corpus" / "manifest.tsv")
    n = heldout_eval_manifest(tmp_path / "corpus" / "manifest.tsv", tmp_path / "eval" / "m.tsv")
    m = read_manifest(tmp_path / "eval" / "m.tsv")
    assert n == len(m) == 5
    got = sorted((Path(r.path).name, r.split) for r in m)
    # val/xdomain rows as they are; the TTS training clip as val; no train bona fide, no
    # training copy-synthesis (its original was trained on), no test rows
    assert got == [("1.flac", "val"), ("2.flac", "xdomain"), ("4.flac", "val"), ("5.flac", "val"), ("7.flac", "xdomain")]
    assert m.resolve(m.rows[0]) == (tmp_path / "corpus" / "clips" / "1.flac").resolve()


def test_calibration_by_domain_prefers_cross_domain_fit_when_domains_shift(rng: np.random.Generator) -> None:
    from voiceguard.crossval import calibration_by_domain

    rows, sources = [], {}
    # raw scores: val well separated around 0; every xdomain source shifted down by 3
    # (its bona fide speech looks more "spoof-like"), the same shift for all sources
    for i in range(300):
        for label, mu in (("bonafide", 2.0), ("spoof", -2.0)):
            for split, shift, src in (("val", 0.0, "v"), ("xdomain", -3.0, f"s{i % 3}")):
                path = f"{split}-{label}-{i}.flac"
                sources[path] = src
                rows.append(dict(path=path, label=label, split=split, model="m",
                                 llr=str(2 * (mu + shift + rng.normal()) + 1)))  # stored calibration 2x + 1
    res = calibration_by_domain(rows, "m", {"scale": 2.0, "offset": 1.0}, sources)
    assert sorted(res["per_source"]) == ["s0", "s1", "s2"]
    for v in res["per_source"].values():
        assert v["n"] == 200
        assert v["error_cross"] < v["error_val"] and v["cllr_cross"] < v["cllr_val"]
    assert res["mean"]["error_val"] > 0.3  # val-only calibration rejects most unseen-domain bona fide
