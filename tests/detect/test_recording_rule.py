"""The recording-level rule of issue 24: mean LLR, or min(mean, local evidence)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voiceguard.detect.aggregate import RecordingRule, recording_llr
from voiceguard.errors import ModelError


def _reference(llrs, fractions, min_fraction, alpha, beta, gamma):
    """The rule written out plainly, window by window."""
    used = [x for x, f in zip(llrs, fractions) if f >= min_fraction]
    if not used:
        top = max(fractions)
        used = [x for x, f in zip(llrs, fractions) if f >= top - 1e-9]
    mean = sum(used) / len(used)
    if alpha is None:
        return mean
    return min(mean, alpha * min(used) + beta + gamma * math.log(len(used)))


@pytest.mark.parametrize("spec", ["mean_llr", None])
def test_mean_rule_is_the_mean_of_speech_windows(rng, spec):
    llrs, fr = rng.normal(0, 2, 30), rng.uniform(0, 1, 30)
    got, used = recording_llr(llrs, fr, 0.25, RecordingRule.from_config(spec))
    assert got == pytest.approx(_reference(llrs, fr, 0.25, None, 0, 0), rel=1e-12)
    assert used.tolist() == (fr >= 0.25).tolist()


def test_local_rule_matches_its_plain_definition(rng):
    rule = RecordingRule.from_config({"rule": "min_mean_local", "alpha": 0.6, "beta": 0.4, "gamma": 0.06})
    for _ in range(50):
        n = int(rng.integers(1, 60))
        llrs, fr = rng.normal(1, 2, n), rng.uniform(0, 1, n)
        got, _ = recording_llr(llrs, fr, 0.25, rule)
        assert got == pytest.approx(_reference(llrs, fr, 0.25, 0.6, 0.4, 0.06), rel=1e-12, abs=1e-12)


def test_one_strongly_synthetic_window_decides_a_recording_only_under_the_local_rule():
    llrs = np.full(12, 2.0)
    llrs[5] = -9.0  # a spliced passage
    fr = np.ones(12)
    mean, _ = recording_llr(llrs, fr, 0.25)
    local, _ = recording_llr(llrs, fr, 0.25, RecordingRule(0.6, 0.4, 0.06))
    assert mean > 0 > local
    # a recording whose windows agree stays on its side: the local term only shrinks a
    # confident mean towards the evidence of its weakest window
    same = np.full(12, 2.0)
    assert 0 < recording_llr(same, fr, 0.25, RecordingRule(0.6, 0.4, 0.06))[0] <= 2.0


def test_rule_round_trips_through_the_config():
    rule = RecordingRule(0.5, -0.2, 0.1)
    again = RecordingRule.from_config(rule.to_config())
    assert (again.alpha, again.beta, again.gamma) == (0.5, -0.2, 0.1)
    assert RecordingRule.from_config(RecordingRule.mean().to_config()).alpha is None


@pytest.mark.parametrize("spec", ["max_llr", {"rule": "min_mean_local", "alpha": 1.0}, {"rule": "other"}])
def test_unknown_or_incomplete_rules_are_refused(spec):
    with pytest.raises(ModelError, match="scoring.aggregate"):
        RecordingRule.from_config(spec)


def test_the_shipped_default_model_uses_the_local_rule():
    from voiceguard.detect import Detector

    det = Detector("default")
    assert det.rule.alpha is not None and det.rule.alpha > 0
