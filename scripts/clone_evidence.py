"""Research (issue 22, not shipped): clone evidence relative to the enrollment, in the frozen
Whisper-base space. Held out by page and system cluster it did not reach the issue's targets
(see ``docs/voiceprints.md`` and ``benchmarks/results/issue22/``), so no runtime code uses it.

The per-speaker question is not "is this recording synthetic?" (the generic detector asks
that) but "does this recording differ from *this customer's* enrolled audio the way a
clone of it differs?". A zero-shot clone made from a few seconds of the customer keeps
their timbre, which the speaker embedding measures; what the synthesizer adds shows in the
acoustic detail that the middle layers of a speech encoder keep. So:

1. **speech statistics**: the mean and standard deviation, over the speech frames of a
   recording (:func:`voiceguard.vad.speech_activity`), of Whisper-base encoder layers 2
   and 3 (the default detector's front end, :mod:`voiceguard.frontends.whisper`, weights
   trained by OpenAI on no demo page): 2 x 2 x 512 = 2048 numbers
   (:class:`SpeechStats` accumulates them block by block, so any length works in bounded
   memory);
2. at **enrollment** those of the enrollment clips are stored with the voiceprint (and those
   of the clips put through a simulated 8 kHz G.711 telephone line, for calls);
3. at **verification**, the test's statistics minus the enrollment's (the telephone
   enrollment's for telephone calls) go through a linear model (PCA to ``k`` dimensions,
   logistic regression) fitted to separate genuine recordings of enrolled speakers from
   clones of them: its output, affine-calibrated, is ``clone_llr`` (natural log, genuine
   over clone).

No model is shipped; ``load_evidence_model`` reads one written by ``scripts/fit_copy_check.py``
(a model file in ``voiceguard/models`` is looked for only if one is ever added). Held-out
measurements use models fitted without the measured pages and system clusters
(``scripts/eval_sasv_pages.py --evidence``, ``scripts/sasv_whisper.py``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voiceguard.errors import ModelError

__all__ = ["EVIDENCE_VERSION", "LAYERS", "SpeechStats", "speech_stats", "EnrolledStats", "EvidenceModel",
           "load_evidence_model"]

EVIDENCE_VERSION = "whisper-diff-1"
#: Whisper-base layers whose frame statistics are used.
LAYERS = (2, 3)
_SR = 16000
_CHUNK_S = 30.0
#: file of the shipped model in ``voiceguard.models``
MODEL_FILE = "clone_evidence.npz"

_ENCODER: Any = None


def _encoder() -> Any:
    global _ENCODER
    if _ENCODER is None:
        from voiceguard.detect.frontends.whisper import load_encoder

        _ENCODER = load_encoder("base", n_layers=max(LAYERS))
    return _ENCODER


class SpeechStats:
    """Running mean / standard deviation of the encoder layers over speech frames."""

    def __init__(self) -> None:
        self.n = 0
        self.s: np.ndarray | None = None
        self.ss: np.ndarray | None = None

    def add(self, y: np.ndarray, sr: int) -> None:
        """Add the speech frames of a block of mono audio (any rate >= 8 kHz)."""
        import torch

        from voiceguard.audio import resample
        from voiceguard.audio.vad import speech_activity
        from voiceguard.detect.backends.whisper import encode_chunk

        y16 = resample(np.asarray(y, np.float64), sr, _SR) if sr != _SR else np.asarray(y, np.float64)
        if len(y16) < 400:
            return
        act = speech_activity(y16, _SR)
        if not act.mask.any():
            return
        step = int(_CHUNK_S * _SR)
        for a in range(0, len(y16), step):
            z = y16[a : a + step]
            if len(z) < 400:
                break
            m = act.mask[a // 160 : (a + len(z)) // 160]
            if not m.any():
                continue
            with torch.inference_mode():
                states = encode_chunk(_encoder(), z, list(LAYERS))
            t = states[0].shape[0]
            # encoder frame k covers the 10 ms VAD frames 2k and 2k+1
            mm = np.zeros(2 * t, bool)
            mm[: min(2 * t, len(m))] = m[: 2 * t]
            sel = mm.reshape(t, 2).any(axis=1)
            if not sel.any():
                continue
            x = torch.cat([h for h in states], dim=1)[torch.from_numpy(sel)].double().numpy()
            if self.s is None:
                self.s = np.zeros(x.shape[1])
                self.ss = np.zeros(x.shape[1])
            self.s += x.sum(0)
            self.ss += (x * x).sum(0)
            self.n += x.shape[0]

    def vector(self) -> np.ndarray | None:
        """``[mean_2, std_2, mean_3, std_3]`` (float32; ``None`` without speech frames)."""
        if self.n == 0 or self.s is None:
            return None
        mean = self.s / self.n
        std = np.sqrt(np.maximum(self.ss / self.n - mean * mean, 0.0))
        d = mean.size // len(LAYERS)
        parts = []
        for i in range(len(LAYERS)):
            parts += [mean[i * d : (i + 1) * d], std[i * d : (i + 1) * d]]
        return np.concatenate(parts).astype(np.float32)


def speech_stats(y: np.ndarray, sr: int) -> np.ndarray | None:
    """:class:`SpeechStats` of one signal."""
    s = SpeechStats()
    s.add(y, sr)
    return s.vector()


@dataclass
class EnrolledStats:
    """What a voiceprint keeps for the clone evidence: the enrollment's speech statistics
    (wideband and through the simulated telephone line) and how many frames they pool."""

    wideband: np.ndarray
    telephone: np.ndarray
    n_frames: int
    version: str = EVIDENCE_VERSION

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, wideband=self.wideband.astype("<f4"), telephone=self.telephone.astype("<f4"),
                 n_frames=np.array(self.n_frames, "<i8"), version=np.array(self.version))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> EnrolledStats:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return cls(z["wideband"].astype(np.float64), z["telephone"].astype(np.float64), int(z["n_frames"]),
                       str(z["version"]))


@dataclass
class EvidenceModel:
    """PCA + logistic regression on (test - enrollment) speech statistics.

    ``llr(test, enrolled) = scale * (w . ((test - enrolled - mean) @ components) + b) + offset``
    """

    mean: np.ndarray
    components: np.ndarray  # [2048, k]
    weights: np.ndarray  # [k]
    bias: float
    scale: float = 1.0
    offset: float = 0.0
    info: dict = field(default_factory=dict)
    version: str = EVIDENCE_VERSION

    def llr(self, test: np.ndarray, enrolled: np.ndarray) -> float:
        d = np.asarray(test, np.float64) - np.asarray(enrolled, np.float64)
        z = (d - self.mean) @ self.components
        return float(self.scale * (z @ self.weights + self.bias) + self.offset)

    def to_npz(self, path: Any) -> None:
        np.savez(path, mean=self.mean.astype("<f4"), components=self.components.astype("<f4"),
                 weights=self.weights.astype("<f8"), bias=np.array(self.bias), scale=np.array(self.scale),
                 offset=np.array(self.offset), info=np.array(json.dumps(self.info)), version=np.array(self.version))

    @classmethod
    def from_npz(cls, data: Any) -> EvidenceModel:
        with np.load(data, allow_pickle=False) as z:
            return cls(z["mean"].astype(np.float64), z["components"].astype(np.float64), z["weights"].astype(np.float64),
                       float(z["bias"]), float(z["scale"]), float(z["offset"]), json.loads(str(z["info"])),
                       str(z["version"]))


_MODEL: EvidenceModel | None = None


def load_evidence_model(path: Any = None) -> EvidenceModel:
    """The shipped model (cached), or one from a file."""
    global _MODEL
    if path is not None:
        return EvidenceModel.from_npz(path)
    if _MODEL is None:
        from importlib import resources

        try:
            data = (resources.files("voiceguard.models") / MODEL_FILE).read_bytes()
        except (OSError, FileNotFoundError) as exc:
            raise ModelError(f"the clone-evidence model {MODEL_FILE} cannot be read ({exc}); reinstall voiceguard") from None
        _MODEL = EvidenceModel.from_npz(io.BytesIO(data))
    return _MODEL


def fit_evidence_model(diffs: np.ndarray, genuine: np.ndarray, *, k: int = 64, l2: float = 10.0,
                       info: dict | None = None) -> EvidenceModel:
    """Fit :class:`EvidenceModel` on trials.

    Parameters
    ----------
    diffs : np.ndarray [shape=(n, 2048)]
        Test minus enrollment speech statistics of each trial.
    genuine : np.ndarray [shape=(n,)], bool
        True for genuine trials of the enrolled speaker, False for clones of them.
    k : int
        PCA dimensions.
    l2 : float
        Ridge penalty of the logistic regression (on standardised PCA scores).

    The two classes are weighted equally, so the output is a log-likelihood ratio at
    prior 0.5 (up to the fit's calibration).
    """
    X = np.asarray(diffs, np.float64)
    y = np.asarray(genuine, bool).astype(np.float64)
    if y.min() == y.max():
        raise ValueError("need genuine and clone trials")
    mean = X.mean(0)
    _, _, vt = np.linalg.svd(X - mean, full_matrices=False)
    comps = vt[: min(k, vt.shape[0])].T
    Z = (X - mean) @ comps
    sd = Z.std(0) + 1e-9
    comps = comps / sd  # standardised scores
    Z = Z / sd
    w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    n, d = Z.shape
    A = np.concatenate([Z, np.ones((n, 1))], axis=1)
    beta = np.zeros(d + 1)
    reg = l2 * np.concatenate([np.ones(d), [0.0]])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(A @ beta)))
        g = A.T @ (w * (p - y)) + reg * beta
        H = (A * (w * p * (1 - p))[:, None]).T @ A + np.diag(reg) + 1e-9 * np.eye(d + 1)
        step = np.linalg.solve(H, g)
        beta -= step
        if np.max(np.abs(step)) < 1e-9:
            break
    return EvidenceModel(mean, comps, beta[:-1], float(beta[-1]), info=dict(info or {}))
