"""Fitting and evaluating the partial-deepfake rule (voiceguard.training.partial)."""

from __future__ import annotations

import numpy as np

from voiceguard.training.partial import evaluate_rule, fit_local, fit_rule


def _rows(rng, n_pairs=120, n_folds=4):
    rows = []
    for i in range(n_pairs):
        fold = f"system-{i % n_folds}"
        for label in ("bonafide", "spoof"):
            w = rng.normal(1.5, 0.7, int(rng.integers(6, 14)))
            if label == "spoof":
                w[int(rng.integers(len(w)))] = rng.normal(-4, 1)  # the passage
            rows.append({"pair": f"p{i}", "label": label, "fold": fold, "mean": float(w.mean()),
                         "min": float(w.min()), "n": len(w)})
    for i in range(20):
        w = rng.normal(1.5, 0.7, 60)
        rows.append({"pair": f"long{i}", "label": "bonafide", "fold": f"system-{i % n_folds}",
                     "mean": float(w.mean()), "min": float(w.min()), "n": 60})
    return rows


def test_fit_local_weighs_the_window_minimum_positively(rng):
    bona = np.c_[rng.normal(1, 1, 300), np.log(rng.integers(5, 15, 300))]
    spoof = np.c_[rng.normal(-3, 1, 300), np.log(rng.integers(5, 15, 300))]
    rule = fit_local(bona, spoof)
    assert rule.alpha > 0
    # it separates what it was fitted on
    assert np.mean(rule.local(bona[:, 0], np.exp(bona[:, 1])) > 0) > 0.9
    assert np.mean(rule.local(spoof[:, 0], np.exp(spoof[:, 1])) < 0) > 0.9


def test_fit_rule_keeps_training_false_alarms_at_the_limit(rng):
    from voiceguard.training.partial import _features

    f = _features(_rows(rng))
    train = np.ones(len(f["mean"]), bool)
    for limit in (0.01, 0.05):
        rule = fit_rule(f, 0.0, limit, train)
        bona = ~f["spoof"]
        assert np.mean(rule.llr(f["mean"][bona], f["min"][bona], f["n"][bona]) < 0.0) <= limit


def test_cross_fitted_local_rule_catches_splices_the_mean_misses(rng):
    res = evaluate_rule(_rows(rng), cut=0.0, max_false_alarm=0.05)
    assert res["n_spliced"] == 120 and res["n_untouched"] == 120 and res["n_long"] == 20
    assert res["mean_llr"]["caught"] < 0.2
    assert res["min_mean_local"]["caught"] > 0.8
    assert res["min_mean_local"]["false_alarms_pairs"] <= 0.15
