"""EER, minDCF, DET plotting and calibration against hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voiceguard.detect.calibration import Calibration, cllr, fit_calibration, spoof_probability
from voiceguard.errors import InvalidParameterError, ModelError
from voiceguard.evaluation.metrics import det_curve, eer, eer_threshold, error_rates, min_dcf, plot_det, rocch


def test_eer_perfect_separation_is_zero() -> None:
    assert eer([2.0, 3.0], [0.0, 1.0]) == 0.0


def test_eer_all_tied_is_half() -> None:
    assert eer([1.0], [1.0]) == 0.5
    assert eer([0.0, 0.0, 0.0], [0.0, 0.0]) == 0.5


def test_eer_inverted_scores_is_one() -> None:
    assert eer([0.0, 1.0], [2.0, 3.0]) == 1.0
    assert eer([0.0, 1.0], [2.0, 3.0], method="rocch") == 0.5


def test_eer_hand_computed_one_overlap() -> None:
    # bona fide 1,3,5 ; spoof 0,2,4. Thresholds t in (2,3]: P_miss = 1/3 (score 1),
    # P_fa = 1/3 (score 4): the empirical curve passes through (1/3, 1/3).
    assert eer([1, 3, 5], [0, 2, 4]) == pytest.approx(1 / 3)


def test_eer_hand_computed_hull_interpolation() -> None:
    # bona fide 1,2 ; spoof 0,3. ROC points (P_miss, P_fa): (0,1) (0,1/2) (1/2,1/2) (1,1/2) (1,0).
    # The sweep meets the diagonal at the operating point (1/2, 1/2) (threshold 2).
    # Lower hull: (0,1) -> (0,1/2) -> (1,0); it crosses the diagonal where
    # x = 1/2 - x/2 -> x = 1/3.
    assert eer([1, 2], [0, 3]) == pytest.approx(0.5)
    pm, pf = rocch([1, 2], [0, 3])
    assert list(zip(pm, pf)) == [(0.0, 1.0), (0.0, 0.5), (1.0, 0.0)]
    assert eer([1, 2], [0, 3], method="rocch") == pytest.approx(1 / 3)


def test_eer_sweep_interpolates_between_points() -> None:
    # bona fide 1,3 ; spoof 0,2,4 (3 spoofs): points (0,1) (0,2/3) (1/2,2/3) (1/2,1/3) (1,1/3) (1,0)
    # P_fa - P_miss changes sign between (1/2,2/3) and (1/2,1/3): EER = 1/2 on that
    # vertical segment.
    assert eer([1, 3], [0, 2, 4]) == pytest.approx(0.5)
    # rocch: hull (0,1) (0,2/3) (1,0): x = 2/3 (1 - x) -> x = 2/5
    assert eer([1, 3], [0, 2, 4], method="rocch") == pytest.approx(0.4)


def test_eer_matches_threshold_sweep_on_gaussians() -> None:
    rng = np.random.default_rng(0)
    b, s = rng.normal(2, 1, 4000), rng.normal(0, 1, 4000)
    # theory: EER = Phi(-d/2) with d = 2 -> 0.1587
    assert eer(b, s) == pytest.approx(0.1587, abs=0.01)
    t = eer_threshold(b, s)
    assert np.mean(b < t) == pytest.approx(np.mean(s >= t), abs=0.005)


def test_error_rates_monotone() -> None:
    pm, pf, thr = error_rates([1, 2, 3], [0, 2.5])
    assert pm[0] == 0 and pf[0] == 1 and pm[-1] == 1 and pf[-1] == 0
    assert np.all(np.diff(pm) >= 0) and np.all(np.diff(pf) <= 0) and np.isinf(thr[-1])


def test_eer_rejects_missing_class_and_nan() -> None:
    with pytest.raises(InvalidParameterError, match="at least one bona fide"):
        eer([], [1.0])
    with pytest.raises(InvalidParameterError, match="NaN"):
        eer([np.nan], [1.0])


def test_min_dcf_bounds() -> None:
    assert min_dcf([2, 3], [0, 1]) == 0.0
    assert min_dcf([0, 0], [0, 0]) == pytest.approx(1.0)


def test_plot_det_writes_png(tmp_path) -> None:
    rng = np.random.default_rng(1)
    c = det_curve(rng.normal(1, 1, 200), rng.normal(0, 1, 200), "toy")
    plot_det([c, det_curve([1, 2, 3], [0, 1, 2], "tiny")], str(tmp_path / "det.png"))
    assert (tmp_path / "det.png").read_bytes()[:4] == b"\x89PNG"


# ---------------------------------------------------------------------- calibration


def test_calibration_recovers_gaussian_llr() -> None:
    # bona fide ~ N(mu_b, s^2), spoof ~ N(mu_s, s^2): the true LLR is affine,
    # llr(x) = (mu_b - mu_s) / s^2 * (x - (mu_b + mu_s) / 2).
    rng = np.random.default_rng(0)
    mu_b, mu_s, sd = 3.0, -1.0, 2.0
    b, s = rng.normal(mu_b, sd, 20000), rng.normal(mu_s, sd, 5000)  # unbalanced on purpose
    cal = fit_calibration(b, s)
    a_true = (mu_b - mu_s) / sd**2
    assert cal.scale == pytest.approx(a_true, rel=0.05)
    assert cal.offset == pytest.approx(-a_true * (mu_b + mu_s) / 2, abs=0.05)
    x = np.linspace(-5, 5, 11)
    assert np.all(np.diff(cal.llr(x)) > 0)  # monotone increasing in the raw score
    # calibrated LLRs beat the uncalibrated raw scores in Cllr
    assert cllr(cal.llr(b), cal.llr(s)) < cllr(b, s)


def test_calibration_separable_scores_stay_finite() -> None:
    cal = fit_calibration([1.0, 2.0, 3.0], [-3.0, -2.0, -1.0])
    assert math.isfinite(cal.scale) and cal.scale > 0


def test_calibration_refuses_inverted_scores() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidParameterError, match="rank spoofs above"):
        fit_calibration(rng.normal(-2, 1, 100), rng.normal(2, 1, 100))


def test_spoof_probability_formula() -> None:
    assert spoof_probability(0.0) == pytest.approx(0.5)
    assert spoof_probability(math.log(9)) == pytest.approx(0.1)
    # prior P(bona fide) 0.9 adds ln 9 to the log odds of bona fide
    assert spoof_probability(0.0, prior=0.9) == pytest.approx(0.1)
    p = spoof_probability(np.array([-50.0, 0.0, 50.0]))
    assert p[0] == pytest.approx(1.0) and p[2] == pytest.approx(0.0)
    with pytest.raises(InvalidParameterError):
        spoof_probability(0.0, prior=1.0)


def test_calibration_roundtrip_and_validation() -> None:
    cal = Calibration(2.0, -1.0, 0.5, 10, 12)
    assert Calibration.from_dict(cal.to_dict()) == cal
    with pytest.raises(ModelError, match="positive"):
        Calibration.from_dict({"scale": -1.0, "offset": 0.0})
    with pytest.raises(ModelError, match="malformed"):
        Calibration.from_dict({"offset": 0.0})


def test_threshold_for_false_alarm_rate_flags_that_share() -> None:
    from voiceguard.detect.calibration import threshold_for_false_alarm_rate

    rng = np.random.default_rng(3)
    bona = rng.normal(2.0, 1.5, size=4000)
    for rate in (0.01, 0.05, 0.2):
        for prior in (0.5, 0.9):
            t = threshold_for_false_alarm_rate(bona, rate, prior=prior)
            flagged = np.asarray(spoof_probability(bona, prior)) >= t
            # the share is met to one trial, at any prior the threshold is applied at
            assert abs(flagged.mean() - rate) <= 1.5 / bona.size
    # a stricter false-alarm budget needs more evidence
    assert threshold_for_false_alarm_rate(bona, 0.01) > threshold_for_false_alarm_rate(bona, 0.1)


def test_threshold_for_false_alarm_rate_rejects_bad_input() -> None:
    from voiceguard.detect.calibration import threshold_for_false_alarm_rate
    from voiceguard.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="false_alarm_rate"):
        threshold_for_false_alarm_rate([1.0, 2.0], 0.0)
    with pytest.raises(InvalidParameterError, match="no finite"):
        threshold_for_false_alarm_rate([np.nan], 0.05)
