"""Score-level fusion: ``llr = X @ w + b`` by prior-weighted logistic regression.

Brümmer's linear logistic-regression fusion (the FoCal recipe used in NIST and ASVspoof
evaluations): the fused score of a trial is an affine combination of its members'
scores, fitted to minimise the cross-entropy at a training prior of 0.5 (both classes
weighted alike), so that the result is itself a calibrated log-likelihood ratio.
"""

from __future__ import annotations

import numpy as np

from voiceguard.errors import InvalidParameterError

__all__ = ["fit_fusion"]


def fit_fusion(X: np.ndarray, y: np.ndarray, *, l2: float = 1e-4, max_iter: int = 100) -> tuple[np.ndarray, float]:
    """Fit fusion weights.

    Parameters
    ----------
    X : np.ndarray [shape=(n_trials, n_members)]
        Member scores (higher = more bona fide).
    y : np.ndarray [shape=(n_trials,)]
        1 for bona fide, 0 for spoof.
    l2 : float
        Ridge penalty on the weights (keeps the fit finite on separable scores).

    Returns
    -------
    w : np.ndarray [shape=(n_members,)]
    b : float
    """
    X = np.asarray(X, float)
    y = np.asarray(y, float)
    if X.ndim != 2 or len(X) != len(y):
        raise InvalidParameterError(f"X must be [n, k] and y [n], got {X.shape} and {y.shape}")
    n1, n0 = y.sum(), len(y) - y.sum()
    if n1 == 0 or n0 == 0:
        raise InvalidParameterError("fusion needs bona fide and spoof trials")
    sw = np.where(y == 1, 0.5 / n1, 0.5 / n0)
    A = np.hstack([X, np.ones((len(X), 1))])
    theta = np.zeros(A.shape[1])
    reg = np.full(A.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(max_iter):
        z = A @ theta
        p = 1.0 / (1.0 + np.exp(-z))
        grad = A.T @ (sw * (p - y)) + reg * theta
        H = (A * (sw * p * (1 - p))[:, None]).T @ A + np.diag(reg + 1e-12)
        step = np.linalg.solve(H, grad)
        theta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return theta[:-1], float(theta[-1])
