"""Calibration of raw detector scores to log-likelihood ratios and probabilities.

The detector's raw score ``s`` (higher = more bona fide) is mapped by an affine
function to a natural-log likelihood ratio, bona fide over spoof:

.. math::

    \\mathrm{llr}(s) = a\\,s + b
        \\approx \\ln \\frac{p(s \\mid \\text{bona fide})}{p(s \\mid \\text{spoof})},
    \\qquad a > 0.

``a`` and ``b`` are fitted on validation scores by prior-weighted logistic regression
(Brümmer's linear calibration, as in the BOSARIS and FoCal toolkits): minimise

.. math::

    C(a, b) = \\frac{\\pi}{N_b} \\sum_{i \\in \\text{bona}} \\log(1 + e^{-(\\mathrm{llr}_i + \\eta)})
            + \\frac{1-\\pi}{N_s} \\sum_{j \\in \\text{spoof}} \\log(1 + e^{\\mathrm{llr}_j + \\eta}),
    \\qquad \\eta = \\ln\\frac{\\pi}{1-\\pi},

with the *training prior* ``pi`` = 0.5 by default (``eta`` = 0). Weighting each class by
``pi / N`` makes the result a likelihood ratio that does not depend on the class
proportions of the validation set.

From an LLR and a **prior probability of bona fide speech** ``P(bona fide) = pi_b``
(the *operating prior*, default 0.5) Bayes' rule gives

.. math::

    \\text{spoof\\_probability} = P(\\text{spoof} \\mid x)
        = \\sigma\\!\\left(-\\left(\\mathrm{llr} + \\ln\\frac{\\pi_b}{1-\\pi_b}\\right)\\right),
    \\qquad \\sigma(z) = \\frac{1}{1 + e^{-z}}.

With the default prior 0.5, ``spoof_probability = sigmoid(-llr)``: ``llr = 0`` is 50 %,
``llr = -2.2`` about 90 % spoof. The default verdict threshold
(:data:`DEFAULT_THRESHOLD`) is ``spoof_probability >= 0.5``, i.e. ``llr <= 0`` at the
default prior: the Bayes decision for equal priors and equal costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from voiceguard.errors import InvalidParameterError, ModelError

__all__ = [
    "DEFAULT_PRIOR",
    "DEFAULT_THRESHOLD",
    "Calibration",
    "fit_calibration",
    "spoof_probability",
    "cllr",
    "threshold_for_false_alarm_rate",
]

#: Default operating prior P(bona fide) used to turn an LLR into ``spoof_probability``.
DEFAULT_PRIOR = 0.5
#: Default verdict threshold on ``spoof_probability`` (``>=`` means spoof).
DEFAULT_THRESHOLD = 0.5


def _sigmoid(z: np.ndarray | float) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def spoof_probability(
    llr: np.ndarray | float, prior: float = DEFAULT_PRIOR
) -> np.ndarray | float:
    """Posterior probability of spoofing from a bona-fide-over-spoof LLR.

    Parameters
    ----------
    llr : float or np.ndarray
        Natural-log likelihood ratio, bona fide over spoof.
    prior : float
        Prior probability of bona fide speech, in (0, 1).

    Returns
    -------
    float or np.ndarray
        ``sigmoid(-(llr + log(prior / (1 - prior))))``, same shape as ``llr``.
    """
    if not 0.0 < prior < 1.0:
        raise InvalidParameterError(f"prior P(bona fide) must be in (0, 1), got {prior}")
    p = _sigmoid(-(np.asarray(llr, dtype=np.float64) + math.log(prior / (1.0 - prior))))
    return float(p) if np.ndim(llr) == 0 else p


def cllr(bonafide_llrs: np.ndarray | Sequence[float], spoof_llrs: np.ndarray | Sequence[float]) -> float:
    """Log-likelihood-ratio cost in bits (0 perfect, 1 uninformative, > 1 miscalibrated).

    Parameters
    ----------
    bonafide_llrs, spoof_llrs : np.ndarray
        Natural-log LLRs of bona fide and spoofed trials.

    Returns
    -------
    float
    """
    b = np.asarray(bonafide_llrs, dtype=np.float64)
    s = np.asarray(spoof_llrs, dtype=np.float64)
    return float((_softplus(-b).mean() + _softplus(s).mean()) / (2 * math.log(2)))


def threshold_for_false_alarm_rate(
    bonafide_llrs: np.ndarray | Sequence[float], false_alarm_rate: float, prior: float = DEFAULT_PRIOR
) -> float:
    """Verdict threshold on ``spoof_probability`` that flags a given share of bona fide trials.

    A calibrated probability says how likely spoofing is; how much evidence a verdict
    needs is a cost decision. A shipped model's default threshold is set from held-out
    bona fide trials (recordings of speakers, domains and systems its training never
    saw), so that "spoof" is said of about ``false_alarm_rate`` of real recordings like
    them.

    Parameters
    ----------
    bonafide_llrs : np.ndarray, shape (n,)
        Calibrated LLRs of held-out bona fide trials.
    false_alarm_rate : float
        Share of them to flag, in (0, 1).
    prior : float
        The prior P(bona fide) at which the threshold is applied.

    Returns
    -------
    float
        Threshold ``t``: ``spoof_probability(llr, prior) >= t`` holds for the given share.
    """
    b = np.asarray(bonafide_llrs, dtype=np.float64)
    b = b[np.isfinite(b)]
    if b.size == 0:
        raise InvalidParameterError("no finite bona fide LLRs to set a threshold from")
    if not 0.0 < false_alarm_rate < 1.0:
        raise InvalidParameterError(f"false_alarm_rate must be in (0, 1), got {false_alarm_rate}")
    # the flagged trials are the lowest LLRs; 'lower' keeps the share at or below the target
    q = float(np.quantile(b, false_alarm_rate, method="lower"))
    return float(spoof_probability(q, prior))


@dataclass(frozen=True)
class Calibration:
    """Affine map from raw score to natural-log LLR (bona fide over spoof).

    Attributes
    ----------
    scale : float
        ``a`` (> 0).
    offset : float
        ``b``.
    training_prior : float
        Prior ``pi`` used in the fit (see the module docstring).
    n_bonafide, n_spoof : int
        Number of validation scores the map was fitted on.
    """

    scale: float = 1.0
    offset: float = 0.0
    training_prior: float = 0.5
    n_bonafide: int = 0
    n_spoof: int = 0

    def llr(self, scores: np.ndarray | float) -> np.ndarray | float:
        """Map raw scores to LLRs: ``scale * scores + offset`` (same shape)."""
        out = self.scale * np.asarray(scores, dtype=np.float64) + self.offset
        return float(out) if np.ndim(scores) == 0 else out

    def to_dict(self) -> dict:
        """JSON-ready dict (stored in the model's config)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        """Inverse of :meth:`to_dict`."""
        try:
            cal = cls(**{k: d[k] for k in ("scale", "offset") }, **{
                k: d[k] for k in ("training_prior", "n_bonafide", "n_spoof") if k in d})
        except (KeyError, TypeError) as exc:
            raise ModelError(f"calibration entry {d!r} is malformed ({exc}); retrain or "
                             "recalibrate the model") from exc
        if not (math.isfinite(cal.scale) and math.isfinite(cal.offset)) or cal.scale <= 0:
            raise ModelError(f"calibration scale must be finite and positive, got {cal.scale}")
        return cal


def fit_calibration(
    bonafide_scores: np.ndarray | Sequence[float],
    spoof_scores: np.ndarray | Sequence[float],
    *,
    prior: float = 0.5,
    l2: float = 1e-4,
    max_iter: int = 100,
) -> Calibration:
    """Fit ``llr = a * score + b`` by prior-weighted logistic regression (Newton's method).

    Parameters
    ----------
    bonafide_scores : np.ndarray [shape=(n_bonafide,)]
        Validation raw scores of bona fide clips.
    spoof_scores : np.ndarray [shape=(n_spoof,)]
        Validation raw scores of spoofed clips.
    prior : float
        Training prior ``pi`` (see the module docstring); 0.5 weighs both classes alike.
    l2 : float
        Small ridge penalty on ``a`` that keeps the fit finite when the validation scores
        are perfectly separated (otherwise ``a`` would grow without bound).
    max_iter : int
        Newton iterations.

    Returns
    -------
    Calibration

    Raises
    ------
    InvalidParameterError
        With fewer than 2 scores of a class, or when the fitted slope is not positive
        (the scores rank spoofs above bona fide: the model is broken or the labels are
        swapped).
    """
    b = np.asarray(bonafide_scores, dtype=np.float64).ravel()
    s = np.asarray(spoof_scores, dtype=np.float64).ravel()
    if b.size < 2 or s.size < 2:
        raise InvalidParameterError(
            f"calibration needs at least 2 bona fide and 2 spoof validation scores, got "
            f"{b.size} and {s.size}; add validation clips of both classes"
        )
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(s))):
        raise InvalidParameterError("calibration scores contain NaN or infinite values")
    if not 0.0 < prior < 1.0:
        raise InvalidParameterError(f"prior must be in (0, 1), got {prior}")
    # standardise for conditioning; map back at the end
    x = np.concatenate([b, s])
    mu, sd = float(x.mean()), float(x.std()) or 1.0
    z = (x - mu) / sd
    y = np.concatenate([np.ones(b.size), np.zeros(s.size)])  # 1 = bona fide
    w = np.where(y == 1, prior / b.size, (1 - prior) / s.size)
    eta = math.log(prior / (1 - prior))
    theta = np.zeros(2)  # slope, intercept on standardised scores
    X = np.stack([z, np.ones_like(z)], axis=1)
    for _ in range(max_iter):
        llr = X @ theta
        p = _sigmoid(llr + eta)  # posterior of bona fide
        grad = X.T @ (w * (p - y)) + np.array([l2 * theta[0], 0.0])
        hess = (X * (w * p * (1 - p))[:, None]).T @ X + np.diag([l2, 1e-12])
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    a = theta[0] / sd
    off = theta[1] - theta[0] * mu / sd
    if not (a > 0 and math.isfinite(a) and math.isfinite(off)):
        raise InvalidParameterError(
            f"calibration slope is {a:.3g}: the validation scores rank spoofs above bona fide "
            "speech; the model did not learn (or the labels are swapped)"
        )
    return Calibration(float(a), float(off), float(prior), int(b.size), int(s.size))
