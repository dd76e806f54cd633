"""Detection metrics: equal error rate, minimum DCF, DET curves.

Score convention throughout voiceguard: **higher scores mean more bona fide** (a natural-log
likelihood ratio, bona fide over spoof, or any raw score increasing with it). The two
error rates at a threshold ``t`` are

* ``P_miss(t)`` -- bona fide trials rejected: fraction of bona fide scores ``< t``;
* ``P_fa(t)``   -- spoof trials accepted: fraction of spoof scores ``>= t``.

:func:`eer` sweeps the threshold over every distinct score (ties handled exactly) and
interpolates linearly where ``P_miss`` overtakes ``P_fa``; ``method='rocch'`` uses the
ROC convex hull instead (BOSARIS toolkit, Brümmer & de Villiers 2011). The two agree
whenever the empirical curve has an operating point on the diagonal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from voiceguard.errors import InvalidParameterError

__all__ = [
    "error_rates",
    "rocch",
    "eer",
    "eer_threshold",
    "min_dcf",
    "DetCurve",
    "det_curve",
    "plot_det",
]


def _split_scores(
    bonafide_scores: np.ndarray | Sequence[float], spoof_scores: np.ndarray | Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    tar = np.asarray(bonafide_scores, dtype=np.float64).ravel()
    non = np.asarray(spoof_scores, dtype=np.float64).ravel()
    if tar.size == 0 or non.size == 0:
        raise InvalidParameterError(
            f"an EER needs at least one bona fide and one spoof score, got {tar.size} bona fide "
            f"and {non.size} spoof; check the manifest's labels and the split you selected"
        )
    if not (np.all(np.isfinite(tar)) and np.all(np.isfinite(non))):
        raise InvalidParameterError("scores contain NaN or infinite values")
    return tar, non


def error_rates(
    bonafide_scores: np.ndarray | Sequence[float], spoof_scores: np.ndarray | Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical miss and false-alarm rates at every distinct threshold.

    Parameters
    ----------
    bonafide_scores : np.ndarray [shape=(n_bonafide,)]
    spoof_scores : np.ndarray [shape=(n_spoof,)]

    Returns
    -------
    p_miss : np.ndarray [shape=(k + 1,)]
        Non-decreasing, from 0 (threshold below every score) to 1.
    p_fa : np.ndarray [shape=(k + 1,)]
        Non-increasing, from 1 to 0.
    thresholds : np.ndarray [shape=(k + 1,)]
        ``thresholds[i]`` gives ``(p_miss[i], p_fa[i])``; the last one is ``+inf``. ``k`` is
        the number of distinct scores.
    """
    tar, non = _split_scores(bonafide_scores, spoof_scores)
    thr = np.unique(np.concatenate([tar, non]))
    thr = np.append(thr, np.inf)
    tar_sorted = np.sort(tar)
    non_sorted = np.sort(non)
    p_miss = np.searchsorted(tar_sorted, thr, side="left") / tar.size
    p_fa = 1.0 - np.searchsorted(non_sorted, thr, side="left") / non.size
    return p_miss, p_fa, thr


def rocch(
    bonafide_scores: np.ndarray | Sequence[float], spoof_scores: np.ndarray | Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the ROC convex hull in (P_miss, P_fa) space.

    Parameters
    ----------
    bonafide_scores, spoof_scores : np.ndarray

    Returns
    -------
    p_miss, p_fa : np.ndarray [shape=(m,)]
        Hull vertices ordered by increasing ``p_miss`` (decreasing ``p_fa``), from (0, 1)
        to (1, 0). The hull is the lower-left boundary: any mixture of two thresholds can
        reach the segments between vertices.
    """
    p_miss, p_fa, _ = error_rates(bonafide_scores, spoof_scores)
    lowest: dict[float, float] = {}
    for x, y in zip(p_miss.tolist(), p_fa.tolist()):
        lowest[x] = min(y, lowest.get(x, 1.0))
    pts = sorted(lowest.items())
    # lower convex hull (Andrew's monotone chain) of points sorted by x = p_miss
    hull: list[tuple[float, float]] = []
    for p in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            cross = (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1)
            if cross <= 0:  # not a strict left turn: hull[-1] is not a lower-hull vertex
                hull.pop()
            else:
                break
        hull.append(p)
    if hull[0] != (0.0, 1.0):
        hull.insert(0, (0.0, 1.0))  # the trivial "accept everything" end point
    arr = np.asarray(hull, dtype=np.float64)
    return arr[:, 0], arr[:, 1]


def _diagonal_crossing(pm: np.ndarray, pf: np.ndarray) -> float:
    """Where the polyline through (pm[i], pf[i]) first meets P_miss = P_fa."""
    for i in range(len(pm) - 1):
        x1, y1, x2, y2 = pm[i], pf[i], pm[i + 1], pf[i + 1]
        d1, d2 = y1 - x1, y2 - x2  # P_fa - P_miss goes from >= 0 to <= 0
        if d1 >= 0 >= d2:
            if d1 == d2:  # segment lies on the diagonal
                return float(x1)
            t = d1 / (d1 - d2)
            return float(x1 + t * (x2 - x1))
    return 0.5  # unreachable: both curves run from (0, 1) to (1, 0)


def eer(
    bonafide_scores: np.ndarray | Sequence[float],
    spoof_scores: np.ndarray | Sequence[float],
    *,
    method: str = "sweep",
) -> float:
    """Equal error rate.

    Parameters
    ----------
    bonafide_scores : np.ndarray [shape=(n_bonafide,)]
        Scores of bona fide trials (higher = more bona fide).
    spoof_scores : np.ndarray [shape=(n_spoof,)]
        Scores of spoofed trials.
    method : {'sweep', 'rocch'}
        ``'sweep'`` (default, the ASVspoof convention): sweep the threshold over every
        distinct score and interpolate linearly between the two consecutive operating
        points where ``P_miss`` overtakes ``P_fa``. An inverted detector gets an EER
        above 0.5, which the per-synthesizer tables should show. ``'rocch'``: the
        crossing of the ROC convex hull (BOSARIS), never above 0.5 and never above the
        sweep EER.

    Returns
    -------
    float
        0 for perfectly separated scores, 0.5 when every score is tied, 1 for perfectly
        inverted scores (sweep).

    Examples
    --------
    >>> eer([2.0, 3.0], [0.0, 1.0])
    0.0
    >>> eer([1.0], [1.0])
    0.5
    """
    if method == "sweep":
        pm, pf, _ = error_rates(bonafide_scores, spoof_scores)
        pm = np.concatenate([[0.0], pm])
        pf = np.concatenate([[1.0], pf])
    elif method == "rocch":
        pm, pf = rocch(bonafide_scores, spoof_scores)
    else:
        raise InvalidParameterError(f"method must be 'sweep' or 'rocch', got {method!r}")
    return _diagonal_crossing(pm, pf)


def eer_threshold(
    bonafide_scores: np.ndarray | Sequence[float], spoof_scores: np.ndarray | Sequence[float]
) -> float:
    """Score threshold where the empirical ``P_miss`` and ``P_fa`` are closest.

    Parameters
    ----------
    bonafide_scores, spoof_scores : np.ndarray

    Returns
    -------
    float
        A threshold ``t`` (trials with score ``>= t`` are accepted as bona fide); the
        midpoint between the two neighbouring distinct scores where the rates cross.
    """
    p_miss, p_fa, thr = error_rates(bonafide_scores, spoof_scores)
    i = int(np.argmin(np.abs(p_miss - p_fa) + 1e-12 * np.arange(len(thr))))
    if i == 0:
        return float(thr[0])
    lo = thr[i - 1]
    hi = thr[i] if np.isfinite(thr[i]) else thr[i - 1]
    return float((lo + hi) / 2.0)


def min_dcf(
    bonafide_scores: np.ndarray | Sequence[float],
    spoof_scores: np.ndarray | Sequence[float],
    *,
    p_spoof: float = 0.05,
    c_miss: float = 1.0,
    c_fa: float = 10.0,
) -> float:
    """Normalised minimum detection cost (ASVspoof-2019-style CM-only DCF).

    ``DCF(t) = c_miss (1 - p_spoof) P_miss(t) + c_fa p_spoof P_fa(t)``, minimised over
    thresholds and divided by the cost of the best trivial system
    ``min(c_miss (1 - p_spoof), c_fa p_spoof)``.

    Parameters
    ----------
    bonafide_scores, spoof_scores : np.ndarray
    p_spoof : float
        Prior of a spoof trial.
    c_miss, c_fa : float
        Costs of rejecting bona fide speech and of accepting a spoof.

    Returns
    -------
    float
        In [0, 1].
    """
    if not 0.0 < p_spoof < 1.0:
        raise InvalidParameterError(f"p_spoof must be in (0, 1), got {p_spoof}")
    p_miss, p_fa, _ = error_rates(bonafide_scores, spoof_scores)
    dcf = c_miss * (1 - p_spoof) * p_miss + c_fa * p_spoof * p_fa
    return float(dcf.min() / min(c_miss * (1 - p_spoof), c_fa * p_spoof))


@dataclass
class DetCurve:
    """A DET curve: error rates along the ROC convex hull and the step curve.

    Attributes
    ----------
    p_miss, p_fa : np.ndarray [shape=(k,)]
        Empirical (step) error rates, one pair per distinct threshold.
    eer : float
        ROCCH equal error rate.
    label : str
        Legend label.
    """

    p_miss: np.ndarray
    p_fa: np.ndarray
    eer: float
    label: str = ""


def det_curve(
    bonafide_scores: np.ndarray | Sequence[float],
    spoof_scores: np.ndarray | Sequence[float],
    label: str = "",
) -> DetCurve:
    """Compute a :class:`DetCurve` for plotting with :func:`plot_det`."""
    p_miss, p_fa, _ = error_rates(bonafide_scores, spoof_scores)
    return DetCurve(p_miss, p_fa, eer(bonafide_scores, spoof_scores), label)


def plot_det(
    curves: DetCurve | Sequence[DetCurve] | Mapping[str, DetCurve],
    path: str,
    *,
    title: str = "DET curve",
) -> None:
    """Draw DET curves on normal-deviate (probit) axes and save them as PNG.

    Parameters
    ----------
    curves : DetCurve, sequence of DetCurve, or mapping of label to DetCurve
        The curves; each is labelled with its label and EER.
    path : str
        Output ``.png`` file.
    title : str
        Figure title.

    Notes
    -----
    Axes show ``Phi^-1(P_fa)`` (x) and ``Phi^-1(P_miss)`` (y), clipped to [0.1 %, 60 %],
    tick-labelled in percent. matplotlib is imported here, with the non-interactive Agg
    backend, so nothing else in voiceguard needs it.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    if isinstance(curves, DetCurve):
        items = [curves]
    elif isinstance(curves, Mapping):
        items = [DetCurve(c.p_miss, c.p_fa, c.eer, c.label or k) for k, c in curves.items()]
    else:
        items = list(curves)
    lo, hi = 0.001, 0.6
    ticks = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6]

    def probit(p: np.ndarray) -> np.ndarray:
        return norm.ppf(np.clip(p, lo / 2, 1 - lo / 2))

    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=110)
    for c in items:
        ax.plot(probit(c.p_fa), probit(c.p_miss), lw=1.6, label=f"{c.label} (EER {100 * c.eer:.2f} %)")
        ax.plot(probit(np.array([c.eer])), probit(np.array([c.eer])), "o", ms=4, color="k")
    ax.plot(probit(np.array([lo, hi])), probit(np.array([lo, hi])), ":", color="grey", lw=0.8)
    tick_pos = probit(np.array(ticks))
    tick_lab = [f"{100 * t:g}" for t in ticks]
    ax.set_xticks(tick_pos, tick_lab)
    ax.set_yticks(tick_pos, tick_lab)
    ax.set_xlim(probit(np.array([lo]))[0], probit(np.array([hi]))[0])
    ax.set_ylim(probit(np.array([lo]))[0], probit(np.array([hi]))[0])
    ax.set_xlabel("spoof accepted as bona fide, P_fa (%)")
    ax.set_ylabel("bona fide rejected, P_miss (%)")
    ax.set_title(title)
    ax.grid(True, lw=0.4, alpha=0.6)
    if items:
        ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)

