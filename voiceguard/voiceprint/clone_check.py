"""Per-speaker clone check: does this recording carry the enrolled person's fine detail?

A voice clone is made to match a person's timbre, which is what a speaker embedding
measures; it rarely reproduces the fine spectral detail of that person's real recordings.
At enrollment voiceguard holds the customer's genuine audio, so it can model that detail
for this one speaker, against copies of the same clips that it synthesises itself:

1. **frames**: linear-frequency cepstra (20 coefficients + deltas + delta-deltas, 20 ms /
   10 ms; :func:`voiceguard.features.lfcc`, the ASVspoof 2019 front end) of the speech
   frames of each clip (:func:`voiceguard.audio.vad.speech_activity`), at 16 kHz;
2. **copies**: each enrollment clip is re-synthesised by voiceguard's own DSP vocoders
   (:mod:`voiceguard.synthesis.vocoders`: Griffin-Lim, LPC, and WORLD / MLSA when the optional
   ``data`` extra is installed); the copies have the speaker's timbre and prosody but
   the vocoders' fine detail;
3. **models**: one diagonal-covariance GMM is fitted (EM) on the pooled frames of the
   genuine clips and their copies; a *genuine* and a *copies* model are then derived from it
   by MAP adaptation of the means (Reynolds et al., "Speaker verification using adapted
   Gaussian mixture models", DSP 2000; relevance factor ``r``) to the genuine frames and
   to the copies' frames. Both models share weights and variances, so their frame
   log-likelihood ratio measures only where the frames fall between the two sets of
   means;
4. **score**: the mean frame LLR (genuine over copies) of the test recording's speech
   frames; ``clone_llr = a * score + b`` with ``(a, b)`` fitted offline by logistic
   regression on speakers outside every evaluation set and clone systems the model never
   saw (``scripts/eval_speaker.py --fit-clone-calibration``), so it is a natural-log
   likelihood ratio, bona fide over clone, like the detector's ``spoof_llr``.

The model is a few kilobytes of means; it is stored (encrypted like the embeddings) with
the voiceprint. Like the embeddings it holds no audio.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voiceguard.errors import VoiceguardError

__all__ = [
    "CLONE_CHECK_VERSION",
    "CloneModel",
    "CloneCheckUnavailable",
    "clone_frames",
    "make_copies",
    "copy_vocoders",
    "fit_clone_model",
]

CLONE_CHECK_VERSION = "lfcc-gmm-map-1"
_SR = 16000
_N_COMPONENTS = 32
_RELEVANCE = 4.0
_EM_ITER = 12
_MAX_FIT_FRAMES = 60000
#: vocoders used for the copies, in order of preference
COPY_VOCODERS = {"griffin_lim_mel": "voc-gl-mel", "lpc_vocoder": "voc-lpc", "world_vocoder": "voc-world",
                 "mlsa_vocoder": "voc-mlsa"}


class CloneCheckUnavailable(VoiceguardError, RuntimeError):
    """The clone check cannot be built (no vocoder usable, too little speech)."""


def clone_frames(y: np.ndarray, sr: int, *, max_frames: int | None = None,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """LFCC frames of the speech in ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float audio.
    sr : int
    max_frames : int, optional
        Keep at most this many frames (evenly spaced).

    Returns
    -------
    np.ndarray [shape=(n_frames, 60)], float32
        Speech frames only; empty with no speech.
    """
    from voiceguard.audio import resample
    from voiceguard.audio.vad import speech_activity
    from voiceguard.features import lfcc

    y = np.asarray(y, np.float64)
    y16 = resample(y, sr, _SR) if sr != _SR else y
    if len(y16) < 400:
        return np.zeros((0, 60), np.float32)
    act = speech_activity(y16, _SR)
    f = lfcc(y16, _SR).T  # [T, 60]
    m = act.mask[: f.shape[0]]
    if m.shape[0] < f.shape[0]:
        m = np.concatenate([m, np.zeros(f.shape[0] - m.shape[0], bool)])
    x = f[m]
    x = x[np.all(np.isfinite(x), axis=1)]
    if max_frames is not None and x.shape[0] > max_frames:
        x = x[np.linspace(0, x.shape[0] - 1, max_frames).astype(int)]
    return np.ascontiguousarray(x, np.float32)


def copy_vocoders() -> list[str]:
    """The copy vocoders usable in this install (see :data:`COPY_VOCODERS`)."""
    from voiceguard.synthesis.vocoders import available_vocoders

    have = set(available_vocoders())
    return [fn for fn, sid in COPY_VOCODERS.items() if sid in have]


def make_copies(y: np.ndarray, sr: int, *, seed: int = 0,
                vocoders: Sequence[str] | None = None) -> list[tuple[str, np.ndarray]]:
    """Copy-synthesise a clip with voiceguard's DSP vocoders.

    Returns
    -------
    list of (vocoder name, np.ndarray [shape=(n,)])
    """
    from voiceguard.synthesis import vocoders as _voc

    names = list(vocoders) if vocoders is not None else copy_vocoders()
    out = []
    for i, name in enumerate(names):
        z = getattr(_voc, name)(np.asarray(y, np.float64), sr, np.random.default_rng([seed, i]))
        out.append((name, np.asarray(z, np.float64)))
    return out


# --------------------------------------------------------------------------------------
# GMM with MAP-adapted means
# --------------------------------------------------------------------------------------


def _log_gauss(x: np.ndarray, means: np.ndarray, inv_var: np.ndarray, log_norm: np.ndarray) -> np.ndarray:
    """[N, K] log N(x_n; mu_k, diag var_k) (+ log weight folded in log_norm)."""
    # (x - mu)^2 / var = x^2/var - 2 x mu/var + mu^2/var
    a = (x * x) @ inv_var.T
    b = x @ (means * inv_var).T
    c = np.sum(means * means * inv_var, axis=1)
    return log_norm[None, :] - 0.5 * (a - 2.0 * b + c[None, :])


def _logsumexp(a: np.ndarray) -> np.ndarray:
    m = a.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(a - m).sum(axis=1, keepdims=True)))[:, 0]


def _em(x: np.ndarray, k: int, n_iter: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, d = x.shape
    gvar = x.var(0) + 1e-8
    floor = 1e-2 * gvar
    means = x[rng.choice(n, k, replace=False)].copy()
    var = np.tile(gvar, (k, 1))
    w = np.full(k, 1.0 / k)
    for _ in range(n_iter):
        inv = 1.0 / var
        ln = np.log(w) - 0.5 * np.sum(np.log(2 * np.pi * var), axis=1)
        lp = _log_gauss(x, means, inv, ln)
        post = np.exp(lp - _logsumexp(lp)[:, None])
        nk = post.sum(0) + 1e-10
        means = (post.T @ x) / nk[:, None]
        var = np.maximum((post.T @ (x * x)) / nk[:, None] - means**2, floor)
        w = nk / nk.sum()
        dead = nk < 2.0
        if np.any(dead):  # re-seed empty components on random frames
            means[dead] = x[rng.choice(n, int(dead.sum()), replace=False)]
            var[dead] = gvar
    return w, means, var


@dataclass
class CloneModel:
    """A speaker's genuine-versus-copies frame model.

    Attributes
    ----------
    weights : np.ndarray [shape=(K,)]
    variances : np.ndarray [shape=(K, D)]
    genuine_means, copy_means : np.ndarray [shape=(K, D)]
    feature_mean, feature_std : np.ndarray [shape=(D,)]
        Standardisation of the frames (from the enrollment frames).
    n_genuine, n_copies : int
        Frames the two adaptations saw.
    vocoders : list of str
        Copy vocoders used.
    version : str
    """

    weights: np.ndarray
    variances: np.ndarray
    genuine_means: np.ndarray
    copy_means: np.ndarray
    feature_mean: np.ndarray
    feature_std: np.ndarray
    n_genuine: int
    n_copies: int
    vocoders: list[str] = field(default_factory=list)
    version: str = CLONE_CHECK_VERSION

    def frame_llr(self, x: np.ndarray) -> np.ndarray:
        """Per-frame log-likelihood ratio, genuine over copies, of frames ``x`` [N, D]."""
        x = (np.asarray(x, np.float64) - self.feature_mean) / self.feature_std
        inv = 1.0 / self.variances
        ln = np.log(self.weights) - 0.5 * np.sum(np.log(2 * np.pi * self.variances), axis=1)
        lg = _logsumexp(_log_gauss(x, self.genuine_means, inv, ln))
        lc = _logsumexp(_log_gauss(x, self.copy_means, inv, ln))
        return lg - lc

    def score_frames(self, x: np.ndarray) -> float | None:
        """Mean frame LLR (``None`` without frames)."""
        if x.shape[0] == 0:
            return None
        return float(np.mean(self.frame_llr(x)))

    # -- serialisation ------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Compact binary form (npz) for the store."""
        buf = io.BytesIO()
        np.savez(buf, weights=self.weights.astype("<f4"), variances=self.variances.astype("<f4"),
                 genuine_means=self.genuine_means.astype("<f4"), copy_means=self.copy_means.astype("<f4"),
                 feature_mean=self.feature_mean.astype("<f4"), feature_std=self.feature_std.astype("<f4"),
                 counts=np.array([self.n_genuine, self.n_copies], "<i8"),
                 vocoders=np.array(",".join(self.vocoders)), version=np.array(self.version))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> CloneModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            voc = str(z["vocoders"])
            return cls(z["weights"].astype(np.float64), z["variances"].astype(np.float64),
                       z["genuine_means"].astype(np.float64), z["copy_means"].astype(np.float64),
                       z["feature_mean"].astype(np.float64), z["feature_std"].astype(np.float64),
                       int(z["counts"][0]), int(z["counts"][1]), voc.split(",") if voc else [], str(z["version"]))


def fit_clone_model(genuine: Sequence[np.ndarray], copies: Sequence[np.ndarray], *,
                    n_components: int = _N_COMPONENTS, relevance: float = _RELEVANCE, seed: int = 0,
                    vocoders: Sequence[str] = ()) -> CloneModel:
    """Fit the genuine-versus-copies model from frame matrices.

    Parameters
    ----------
    genuine, copies : sequence of np.ndarray [shape=(n_i, D)]
        Frames of the genuine clips and of their copies.
    n_components : int
    relevance : float
        MAP relevance factor.

    Returns
    -------
    CloneModel
    """
    g = np.concatenate([np.asarray(a, np.float64) for a in genuine]) if genuine else np.zeros((0, 60))
    c = np.concatenate([np.asarray(a, np.float64) for a in copies]) if copies else np.zeros((0, 60))
    if g.shape[0] < 4 * n_components or c.shape[0] < 4 * n_components:
        raise CloneCheckUnavailable(f"too few speech frames for the clone check ({g.shape[0]} genuine, "
                                    f"{c.shape[0]} copies; need {4 * n_components} each)")
    rng = np.random.default_rng(seed)
    mu = g.mean(0)
    sd = g.std(0) + 1e-6
    gz, cz = (g - mu) / sd, (c - mu) / sd
    # balance the classes in the shared model
    m = min(gz.shape[0], cz.shape[0], _MAX_FIT_FRAMES // 2)
    pool = np.concatenate([gz[rng.choice(gz.shape[0], m, replace=False)],
                           cz[rng.choice(cz.shape[0], m, replace=False)]])
    w, means, var = _em(pool, n_components, _EM_ITER, rng)

    def adapt(x: np.ndarray) -> np.ndarray:
        inv = 1.0 / var
        ln = np.log(w) - 0.5 * np.sum(np.log(2 * np.pi * var), axis=1)
        lp = _log_gauss(x, means, inv, ln)
        post = np.exp(lp - _logsumexp(lp)[:, None])
        nk = post.sum(0)
        ex = (post.T @ x) / np.maximum(nk, 1e-10)[:, None]
        alpha = (nk / (nk + relevance))[:, None]
        return alpha * ex + (1 - alpha) * means

    return CloneModel(w, var, adapt(gz), adapt(cz), mu, sd, int(g.shape[0]), int(c.shape[0]), list(vocoders))


# --------------------------------------------------------------------------------------
# Block-wise builder and scorer
# --------------------------------------------------------------------------------------

#: Audio of each enrollment clip that is copy-synthesised (seconds from its start).
COPY_SOURCE_S = 20.0
#: Genuine frames kept per clip (evenly thinned beyond).
MAX_CLIP_FRAMES = 30000


class _FrameKeeper:
    """Frames of one clip, evenly thinned to at most ``cap`` (bounded memory)."""

    def __init__(self, cap: int) -> None:
        self.cap, self.stride, self.seen = cap, 1, 0
        self.kept: list[np.ndarray] = []
        self.n = 0

    def add(self, x: np.ndarray) -> None:
        idx = np.arange(self.seen, self.seen + x.shape[0])
        self.seen += x.shape[0]
        sel = x[idx % self.stride == 0]
        if sel.shape[0]:
            self.kept.append(sel)
            self.n += sel.shape[0]
        while self.n > self.cap:
            allx = np.concatenate(self.kept)[::2]
            self.kept, self.n, self.stride = [allx], allx.shape[0], self.stride * 2

    def frames(self) -> np.ndarray:
        return np.concatenate(self.kept) if self.kept else np.zeros((0, 60), np.float32)


class CloneModelBuilder:
    """Collects enrollment audio block by block and builds the :class:`CloneModel`.

    Per clip it keeps the LFCC speech frames (at most :data:`MAX_CLIP_FRAMES`) and the
    first :data:`COPY_SOURCE_S` seconds of audio, which :meth:`build` copy-synthesises
    with every usable vocoder (:func:`copy_vocoders`).

    Parameters
    ----------
    vocoders : sequence of str, optional
        Vocoder functions of :mod:`voiceguard.synthesis.vocoders` (default:
        :func:`copy_vocoders`).
    seed : int
    """

    def __init__(self, vocoders: Sequence[str] | None = None, seed: int = 0) -> None:
        self.vocoders = list(vocoders) if vocoders is not None else None
        self.seed = seed
        self._genuine: list[np.ndarray] = []
        self._sources: list[tuple[np.ndarray, int]] = []
        self._keeper: _FrameKeeper | None = None
        self._src: list[np.ndarray] = []
        self._src_n = 0
        self._sr = 0

    def feeder(self, sr: int) -> Any:
        """A callable taking the next block (mono, at ``sr``) of the current clip."""
        self._keeper = _FrameKeeper(MAX_CLIP_FRAMES)
        self._src, self._src_n, self._sr = [], 0, int(sr)
        cap = int(COPY_SOURCE_S * sr)

        def feed(y: np.ndarray) -> None:
            assert self._keeper is not None
            self._keeper.add(clone_frames(y, sr))
            if self._src_n < cap:
                part = np.asarray(y[: cap - self._src_n], np.float64)
                self._src.append(part)
                self._src_n += part.size

        return feed

    def end_clip(self) -> None:
        """Close the current clip."""
        if self._keeper is not None:
            self._genuine.append(self._keeper.frames())
            if self._src:
                self._sources.append((np.concatenate(self._src), self._sr))
        self._keeper, self._src, self._src_n = None, [], 0

    def build(self) -> CloneModel:
        """Synthesise the copies and fit the model.

        Raises
        ------
        CloneCheckUnavailable
            No usable vocoder, or too little speech.
        """
        names = self.vocoders if self.vocoders is not None else copy_vocoders()
        if not names:
            raise CloneCheckUnavailable("no copy vocoder is usable in this install (Griffin-Lim needs librosa)")
        copies = []
        try:
            for k, (y, sr) in enumerate(self._sources):
                for _, z in make_copies(y, sr, seed=self.seed + 1000 * k, vocoders=names):
                    copies.append(clone_frames(z, sr))
        except VoiceguardError as exc:
            raise CloneCheckUnavailable(f"copy synthesis failed ({exc})") from exc
        return fit_clone_model(self._genuine, copies, seed=self.seed, vocoders=names)


class CloneScorer:
    """Mean frame LLR of a recording fed block by block, under one or more models.

    Parameters
    ----------
    models : sequence of CloneModel
        The speaker's models (one per enrollment that built one).
    sr : int
        Rate of the blocks.
    """

    def __init__(self, models: Sequence[CloneModel], sr: int) -> None:
        self.models = list(models)
        self.sr = int(sr)
        self._sums = np.zeros(len(self.models))
        self.n_frames = 0

    def add(self, y: np.ndarray) -> None:
        """Score the next block's speech frames."""
        x = clone_frames(y, self.sr)
        if x.shape[0] == 0:
            return
        for i, m in enumerate(self.models):
            self._sums[i] += float(np.sum(m.frame_llr(x)))
        self.n_frames += x.shape[0]

    def score(self) -> float | None:
        """Mean frame LLR, averaged over the models (``None`` without speech frames)."""
        if not self.models or self.n_frames == 0:
            return None
        return float(np.mean(self._sums / self.n_frames))
