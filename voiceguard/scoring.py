"""Scoring whole recordings: :class:`Detector`, :class:`ScoreResult`, :func:`score`.

Pipeline for one recording (any length, rate and channel count):

1. **decode** (:func:`voiceguard.audio.load`), **mix down** stereo/multichannel by
   averaging, **resample** to the model's rate (16 kHz). 8 kHz telephone audio takes the
   same path: after resampling it is a 16 kHz signal with nothing above 4 kHz, a
   condition the training data contains for both classes (every clip of the corpus also
   exists in telephone-channel versions), so one model and one calibration serve both.
2. **speech activity** (:mod:`voiceguard.vad`): with less than
   ``min_speech_s`` (0.5 s) of speech the verdict is ``no_speech`` and no score is given.
3. **features** of each chunk (the model's front end: LFCC from the C core, or the Whisper encoder).
4. **sliding windows** of ``window_s`` (4 s) every ``hop_s`` (2 s), the last one aligned
   to the end of the recording; a recording shorter than one window is one window.
   All windows are scored in batches.
5. **segment scores**: raw model score -> calibrated LLR (:mod:`voiceguard.calibration`)
   -> ``spoof_probability`` per window.
6. **aggregation**: the recording's LLR is the **mean of the segment LLRs over speech
   segments** (windows whose speech fraction is at least ``min_speech_fraction``, 0.25;
   if none reaches it, the windows with the highest speech fraction). A mean of LLRs
   treats the segments as equally informative evidence about one source; it is what the
   calibration was fitted on, so the recording LLR is calibrated as such.
7. ``spoof_probability = sigmoid(-(llr + ln(prior / (1 - prior))))`` with
   ``prior = P(bona fide)`` (default 0.5); verdict ``spoof`` when
   ``spoof_probability >= threshold`` (default 0.5), else ``bonafide``.

Results are deterministic: inference runs in eval mode with no randomness, and the same
input gives bit-identical scores with the same thread count.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from voiceguard.calibration import DEFAULT_PRIOR, DEFAULT_THRESHOLD, Calibration, spoof_probability
from voiceguard.errors import InvalidParameterError, ModelError

__all__ = [
    "BONAFIDE",
    "SPOOF",
    "NO_SPEECH",
    "Segment",
    "ScoreResult",
    "Detector",
    "score",
    "compute_features",
    "window_bounds",
    "aggregate_llr",
    "DEFAULT_MODEL",
    "shared_detector",
]

PathLike = Union[str, os.PathLike]

BONAFIDE = "bonafide"
SPOOF = "spoof"
NO_SPEECH = "no_speech"

#: Config of the shipped model inside the ``voiceguard.models`` package.
DEFAULT_MODEL = "detector.json"

#: Default scoring settings (a model config's ``scoring`` entry overrides them).
DEFAULT_SCORING = {
    "window_s": 4.0,
    "hop_s": 2.0,
    "min_speech_fraction": 0.25,
    "min_speech_s": 0.5,
    "aggregate": "mean_llr",
}

#: Longest recording (samples at the model rate) whose resampled audio the first pass keeps
#: for the model pass instead of decoding the file again: 5 minutes, 38 MB of float64.
_REPLAY_MAX_SAMPLES = 300 * 16000

#: Longest stretch of audio one model pass reads (a config's ``scoring.chunk_s`` overrides).
DEFAULT_CHUNK_S = 30.0


@dataclass
class Segment:
    """Score of one analysis window.

    Attributes
    ----------
    start_s, end_s : float
        Window bounds in seconds.
    spoof_probability : float
        Calibrated probability of spoofing for this window alone.
    llr : float
        Calibrated LLR (bona fide over spoof).
    speech_fraction : float
        Fraction of the window's frames detected as speech.
    used : bool
        Whether the segment entered the recording's aggregated score.
    """

    start_s: float
    end_s: float
    spoof_probability: float
    llr: float
    speech_fraction: float
    used: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "start_s": round(self.start_s, 3),
            "end_s": round(self.end_s, 3),
            "spoof_probability": round(self.spoof_probability, 6),
            "llr": round(self.llr, 4),
            "speech_fraction": round(self.speech_fraction, 3),
            "used": self.used,
        }


@dataclass
class ScoreResult:
    """Outcome of scoring one recording.

    Attributes
    ----------
    file : str or None
        The path as given (``None`` for arrays).
    verdict : str
        ``'bonafide'``, ``'spoof'`` or ``'no_speech'``.
    spoof_probability : float or None
        Calibrated posterior probability of spoofing at ``prior``; ``None`` for
        ``no_speech``.
    llr : float or None
        Natural-log likelihood ratio, bona fide over spoof; ``None`` for ``no_speech``.
    duration_s : float
        Duration of the recording.
    speech_s : float
        Detected speech in seconds.
    sample_rate : int
        The input's sample rate (before resampling).
    channels : int
        The input's channel count (before mixing down).
    threshold : float
        Verdict threshold on ``spoof_probability``.
    prior : float
        Prior probability of bona fide speech used for ``spoof_probability``.
    segments : list of Segment
        Per-window scores (empty for ``no_speech``).
    model : str
        Name of the model that scored it.
    model_version : str
        :attr:`Detector.version` of that model.
    """

    file: str | None
    verdict: str
    spoof_probability: float | None
    llr: float | None
    duration_s: float
    speech_s: float
    sample_rate: int
    channels: int
    threshold: float
    prior: float
    segments: list[Segment] = field(default_factory=list)
    model: str = ""
    model_version: str = ""

    @property
    def is_spoof(self) -> bool:
        """bool : the verdict is ``'spoof'``."""
        return self.verdict == SPOOF

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, keys in a stable order (``file`` first)."""
        return {
            "file": self.file,
            "verdict": self.verdict,
            "spoof_probability": None if self.spoof_probability is None else round(self.spoof_probability, 6),
            "llr": None if self.llr is None else round(self.llr, 4),
            "duration_s": round(self.duration_s, 3),
            "speech_s": round(self.speech_s, 2),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "threshold": self.threshold,
            "prior": self.prior,
            "model": self.model,
            "model_version": self.model_version,
            "segments": [s.to_dict() for s in self.segments],
        }


# --------------------------------------------------------------------------------------
# Shared by training (validation scoring) and the Detector
# --------------------------------------------------------------------------------------


def compute_features(y: np.ndarray, sr: int, feature_config: dict) -> np.ndarray:
    """Features of a mono signal already at the model's rate.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    sr : int
        Must equal ``feature_config['sr']``.
    feature_config : dict
        ``{'kind': 'lfcc', 'preset': str, 'sr': int}`` (the ``features`` entry of a
        model config).

    Returns
    -------
    np.ndarray [shape=(n_features, n_frames)], float32
        ``n_frames`` may be 0 when the signal is shorter than one analysis frame.
    """
    from voiceguard import features
    from voiceguard.errors import InputTooShortError

    kind = feature_config.get("kind", "lfcc")
    preset = feature_config.get("preset")
    if sr != feature_config.get("sr", sr):
        raise InvalidParameterError(f"features expected at {feature_config['sr']} Hz, got {sr} Hz")
    if kind != "lfcc":
        raise ModelError(f"unknown feature kind {kind!r} in the model config; expected 'lfcc'")
    kw = {} if preset is None else {"preset": preset}
    try:
        return features.lfcc(y, sr, **kw)
    except InputTooShortError:
        return np.zeros((int(feature_config.get("n_features", 60)), 0), np.float32)


def window_bounds(n_frames: int, win: int, hop: int) -> list[tuple[int, int]]:
    """Frame ranges of the sliding windows over a recording.

    Parameters
    ----------
    n_frames : int
        Frames in the recording.
    win, hop : int
        Window length and hop in frames.

    Returns
    -------
    list of (start, stop)
        ``[(0, n_frames)]`` when the recording is not longer than one window; otherwise
        windows every ``hop`` frames, the last one ending exactly at ``n_frames``.
    """
    if n_frames <= win:
        return [(0, n_frames)]
    starts = list(range(0, n_frames - win + 1, hop))
    if starts[-1] + win < n_frames:
        starts.append(n_frames - win)
    return [(s, s + win) for s in starts]


def speech_fractions(mask: np.ndarray, bounds: Sequence[tuple[int, int]]) -> np.ndarray:
    """Fraction of speech frames of ``mask`` [n] in each window; returns ``[n_windows]``."""
    out = np.zeros(len(bounds))
    for i, (s, t) in enumerate(bounds):
        m = mask[s:t]
        out[i] = float(m.mean()) if m.size else 0.0
    return out


def used_segments(fractions: np.ndarray, min_fraction: float) -> np.ndarray:
    """Boolean ``[n_windows]``: the windows that enter the aggregate (see module docstring)."""
    used = fractions >= min_fraction
    if not used.any() and fractions.size:
        used = fractions >= fractions.max() - 1e-9
    return used


def aggregate_llr(segment_llrs: np.ndarray, used: np.ndarray) -> float:
    """Recording LLR: mean of the used segments' LLRs."""
    return float(np.mean(np.asarray(segment_llrs)[used]))


def aggregate_raw(segment_scores: np.ndarray, used: np.ndarray) -> float:
    """Recording raw score: mean of the used segments' raw scores (calibration is affine,
    so ``cal.llr(aggregate_raw(s)) == aggregate_llr(cal.llr(s))``)."""
    return float(np.mean(np.asarray(segment_scores)[used]))


# --------------------------------------------------------------------------------------
# Detector
# --------------------------------------------------------------------------------------


#: Short names of the models shipped in ``voiceguard.models`` (``--model NAME``).
SHIPPED_MODELS = {"default": DEFAULT_MODEL, "fast": "fast.json"}


class _Location:
    """Where a model config lives: a folder on disk or the installed models package."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def open_path(self, name: str):
        """Context manager giving a real path for a file next to the config."""
        import contextlib

        if self.folder is not None:
            return contextlib.nullcontext(self.folder / name)
        from importlib import resources

        return resources.as_file(resources.files("voiceguard.models") / name)


def _resolve_config(model: PathLike | None) -> tuple[dict, _Location, str]:
    """Load a model config; returns (config, its location, a label for messages)."""
    if model is None or (isinstance(model, str) and model in SHIPPED_MODELS) or (
            isinstance(model, str) and model.endswith(".json") and os.sep not in model and not Path(model).exists()):
        from importlib import resources

        fname = SHIPPED_MODELS.get(str(model), str(model)) if model is not None else DEFAULT_MODEL
        res = resources.files("voiceguard.models") / fname
        if not res.is_file():
            raise ModelError(
                f"the shipped model {fname} is missing from this installation; reinstall voiceguard "
                f"or pass a model config path with --model (shipped: {', '.join(sorted(SHIPPED_MODELS))})"
            )
        return json.loads(res.read_text(encoding="utf-8")), _Location(None), fname
    p = Path(model)
    if p.is_dir():
        for name in ("model.json", DEFAULT_MODEL):
            if (p / name).is_file():
                p = p / name
                break
        else:
            raise ModelError(f"{model}: folder holds no model.json / detector.json")
    if not p.is_file():
        raise ModelError(f"model config {model} does not exist (shipped models: "
                         f"{', '.join(sorted(SHIPPED_MODELS))})")
    try:
        cfg = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model config {p} is not valid JSON ({exc})") from None
    return cfg, _Location(p.parent), str(p)


def _file_digest(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Detector:
    """A loaded spoof detector: model, features, calibration and decision settings.

    Parameters
    ----------
    model : str or os.PathLike, optional
        A shipped model's name (``'default'``, ``'fast'``), a model config JSON, or a
        training output folder holding ``model.json``. Default: the shipped default
        model, loaded offline from the installed ``voiceguard.models`` package.
    prior : float, optional
        Prior probability of bona fide speech (default: the config's, normally 0.5).
    threshold : float, optional
        Verdict threshold on ``spoof_probability`` (default: the config's, 0.5).
    threads : int, optional
        ``torch.set_num_threads`` value (default: leave torch's setting alone).
    batch_size : int
        Windows per forward pass (feature models).

    Attributes
    ----------
    name : str
        The model's name (``config['name']``).
    version : str
        ``name@`` + the first 12 hex digits of the SHA-256 of the config and weights: it
        changes whenever the model does, so stored results can say what scored them.
    """

    def __init__(
        self,
        model: PathLike | None = None,
        *,
        prior: float | None = None,
        threshold: float | None = None,
        threads: int | None = None,
        batch_size: int = 32,
    ) -> None:
        import hashlib

        from voiceguard.backends import load_backend
        from voiceguard.windows import WindowGrid

        cfg, where, label = _resolve_config(model)
        if cfg.get("format") != "voiceguard-detector":
            raise ModelError(f"{label}: not a voiceguard detector config (format {cfg.get('format')!r})")
        self.config = cfg
        self.name = str(cfg.get("name", "detector"))
        self.kind = cfg.get("kind")
        self.feature_config = dict(cfg.get("features", {}))
        self.sr = int(self.feature_config.get("sr", cfg.get("sr", 16000)))
        self.frame_hop_s = float(self.feature_config.get("hop_s", 0.01))
        sc = {**DEFAULT_SCORING, **cfg.get("scoring", {})}
        self.window_s, self.hop_s = float(sc["window_s"]), float(sc["hop_s"])
        self.chunk_s = float(sc.get("chunk_s", DEFAULT_CHUNK_S))
        self.min_speech_fraction = float(sc["min_speech_fraction"])
        self.min_speech_s = float(sc["min_speech_s"])
        self.grid = WindowGrid.from_seconds(self.sr, self.window_s, self.hop_s, self.chunk_s)
        self.calibration = Calibration.from_dict(cfg.get("calibration", {"scale": 1.0, "offset": 0.0}))
        self.prior = float(cfg.get("prior", DEFAULT_PRIOR) if prior is None else prior)
        self.threshold = float(cfg.get("threshold", DEFAULT_THRESHOLD) if threshold is None else threshold)
        if not 0.0 < self.prior < 1.0:
            raise InvalidParameterError(f"prior P(bona fide) must be in (0, 1), got {self.prior}")
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidParameterError(f"threshold must be a probability in [0, 1], got {self.threshold}")
        if threads is not None:
            if int(threads) < 1:
                raise InvalidParameterError(f"threads must be >= 1, got {threads}")
            import torch

            torch.set_num_threads(int(threads))
        self.batch_size = int(batch_size)
        self.threads = threads
        digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode())
        weights = cfg.get("weights")
        if self.kind == "fusion":
            self.backend = load_backend(cfg, None, location=where, batch_size=self.batch_size)
            for m in self.backend.members:
                digest.update(m.version.encode())
        else:
            if not weights:
                raise ModelError(f"{self.name}: config names no weights file")
            with where.open_path(weights) as wpath:
                wpath = Path(wpath)
                if not wpath.is_file():
                    raise ModelError(f"model weights {wpath} are missing; retrain or reinstall the model")
                digest.update(_file_digest(wpath).encode())
                self.backend = load_backend(cfg, wpath, location=where, batch_size=self.batch_size)
        self.version = f"{self.name}@{digest.hexdigest()[:12]}"

    # -- model --------------------------------------------------------------------------

    def window_scores(self, y: np.ndarray, windows: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
        """Raw (uncalibrated) scores of windows of one stretch of audio at the model's rate.

        Parameters
        ----------
        y : np.ndarray [shape=(n,)]
            Mono samples at ``self.sr``, at most one chunk long.
        windows : sequence of (start, stop), optional
            Sample ranges inside ``y`` (default: the whole of ``y`` as one window).

        Returns
        -------
        np.ndarray [shape=(n_windows,)]
        """
        return self.backend.score_chunk(np.asarray(y, np.float64), windows or [(0, len(y))])

    # -- pipeline -----------------------------------------------------------------------

    def score(self, audio: PathLike | np.ndarray, sr: int | None = None) -> ScoreResult:
        """Score a file or an array.

        Files are decoded, resampled and scored block by block, so memory stays bounded
        whatever the recording's length; the result equals scoring the same samples
        given as one array.

        Parameters
        ----------
        audio : str, os.PathLike or np.ndarray
            A path (WAV, FLAC, OGG, MP3... any rate, any channel count) or samples
            (``[n]``, ``[n, channels]`` or ``[channels, n]``; float in [-1, 1] or integer
            PCM).
        sr : int, optional
            Sample rate of an array (required for arrays, ignored for files).

        Returns
        -------
        ScoreResult

        Raises
        ------
        AudioReadError
            The file cannot be read, is empty or is not audio.
        InvalidAudioError
            The array is malformed (NaN, wrong shape...).
        """
        from voiceguard.audio import open_stream

        if isinstance(audio, (str, os.PathLike)):
            # two passes over the file (speech activity, then the model), each streamed
            first = open_stream(audio, None, min_sr=4000, purpose="spoof scoring")
            return self._score_passes(first, lambda: open_stream(audio, None, min_sr=4000,
                                                                  purpose="spoof scoring").blocks)
        from voiceguard.audio import read_input

        y, file_sr, name, channels = read_input(audio, sr, min_sr=4000, purpose="spoof scoring")
        return self.score_mono(y, file_sr, name=name, channels=channels)

    def score_mono(self, y: np.ndarray, sr: int, *, name: str | None = None, channels: int = 1) -> ScoreResult:
        """Score a mono float signal at any rate (see :meth:`score`)."""
        from voiceguard.audio import AudioStream

        y = np.asarray(y, np.float64)

        def blocks() -> Any:
            return (y[i: i + _BLOCK] for i in range(0, len(y), _BLOCK))

        return self._score_passes(AudioStream(blocks(), int(sr), channels, name, len(y)), blocks)

    def _score_passes(self, stream: Any, reopen: Callable[[], Any]) -> ScoreResult:
        """Speech activity over ``stream.blocks``, then (if there is speech) the model over
        ``reopen()``, a second pass over the same samples; both in bounded memory."""
        from voiceguard.audio import resampled_blocks
        from voiceguard.errors import AudioReadError
        from voiceguard.audio.vad import StreamingEnergies, decide_speech
        from voiceguard.windows import ChunkAssembler

        sr_in = int(stream.sr)
        energies = StreamingEnergies(self.sr)
        n_in = n16 = 0
        # a short recording's resampled blocks are kept for the model pass (decoding and
        # resampling it twice took half the time of scoring a 10 s file with the fast model);
        # past _REPLAY_MAX_SAMPLES they are dropped, so memory stays bounded for any length
        replay: list[np.ndarray] | None = []
        for block in resampled_blocks(_counting(stream.blocks, counter := [0]), sr_in, self.sr):
            energies.push(block)
            n16 += len(block)
            if replay is not None and n16 <= _REPLAY_MAX_SAMPLES:
                replay.append(block)
            else:
                replay = None
        n_in = counter[0]
        duration = n_in / float(sr_in)
        act = decide_speech(energies.finish())
        base = dict(file=stream.name, duration_s=duration, speech_s=act.speech_s, sample_rate=sr_in,
                    channels=stream.channels, threshold=self.threshold, prior=self.prior, model=self.name,
                    model_version=self.version)
        if act.speech_s < self.min_speech_s:
            return ScoreResult(verdict=NO_SPEECH, spoof_probability=None, llr=None, **base)
        asm = ChunkAssembler(self.grid)
        bounds: list[tuple[int, int]] = []
        raws: list[np.ndarray] = []

        def run(chunks: Any) -> None:
            for ch in chunks:
                raws.append(np.asarray(self.backend.score_chunk(ch.audio, ch.windows), np.float64))
                bounds.extend((ch.start + a, ch.start + b) for a, b in ch.windows)

        for block in (replay if replay is not None else resampled_blocks(reopen(), sr_in, self.sr)):
            run(asm.push(block))
        run(asm.finish())
        if asm.n_samples != n16:
            raise AudioReadError(f"{stream.name}: the file changed while it was being scored")
        raw = np.concatenate(raws) if raws else np.zeros(0)
        if raw.size == 0 or np.all(np.isnan(raw)):
            return ScoreResult(verdict=NO_SPEECH, spoof_probability=None, llr=None, **base)
        fracs = window_speech_fractions(act.mask, bounds, self.sr, act.hop_s)
        used = used_segments(fracs, self.min_speech_fraction)
        seg_llr = np.asarray(self.calibration.llr(raw))
        seg_p = np.asarray(spoof_probability(seg_llr, self.prior))
        llr = aggregate_llr(seg_llr, used)
        if not math.isfinite(llr):
            raise ModelError(f"{self.name} produced a non-finite score; the model file may be corrupt")
        p = float(spoof_probability(llr, self.prior))
        segments = [
            Segment(a / self.sr, duration if b == n16 else min(duration, b / self.sr),
                    float(seg_p[i]), float(seg_llr[i]), float(fracs[i]), bool(used[i]))
            for i, (a, b) in enumerate(bounds)
        ]
        verdict = SPOOF if p >= self.threshold else BONAFIDE
        return ScoreResult(verdict=verdict, spoof_probability=p, llr=llr, segments=segments, **base)


def _counting(blocks: Any, counter: list[int]) -> Any:
    for b in blocks:
        counter[0] += len(b)
        yield b


def window_speech_fractions(mask: np.ndarray, bounds: Sequence[tuple[int, int]], sr: int,
                            hop_s: float = 0.01, win_s: float = 0.02) -> np.ndarray:
    """Share of speech frames of a VAD ``mask`` among the frames inside each window.

    Parameters
    ----------
    mask : np.ndarray [shape=(n_frames,)], bool
        :func:`voiceguard.vad.speech_activity` decisions (frame ``t`` covers samples
        ``t * hop .. t * hop + win``).
    bounds : sequence of (start, stop)
        Windows as sample ranges at ``sr``.

    Returns
    -------
    np.ndarray [shape=(n_windows,)]
    """
    hop, win = int(round(hop_s * sr)), int(round(win_s * sr))
    out = np.zeros(len(bounds))
    for i, (a, b) in enumerate(bounds):
        t0 = -(-a // hop)
        t1 = (b - win) // hop + 1
        m = mask[t0:max(t0, t1)]
        out[i] = float(m.mean()) if m.size else 0.0
    return out


_BLOCK = 1 << 16


_default: dict[tuple, Detector] = {}
_default_lock = threading.Lock()


def score(
    audio: PathLike | np.ndarray,
    sr: int | None = None,
    *,
    model: PathLike | None = None,
    prior: float | None = None,
    threshold: float | None = None,
) -> ScoreResult:
    """Score one recording with the shipped detector (or ``model``).

    Parameters
    ----------
    audio : str, os.PathLike or np.ndarray
        A file path or an array of samples.
    sr : int, optional
        Sample rate of an array.
    model : str or os.PathLike, optional
        Model config; default: the shipped one.
    prior, threshold : float, optional
        Override the prior P(bona fide) and the verdict threshold.

    Returns
    -------
    ScoreResult

    Examples
    --------
    >>> import voiceguard
    >>> r = voiceguard.score("clip.wav")  # doctest: +SKIP
    >>> r.verdict, r.spoof_probability  # doctest: +SKIP
    ('bonafide', 0.031)
    """
    return shared_detector(model, prior=prior, threshold=threshold).score(audio, sr)


def shared_detector(model: PathLike | None = None, *, prior: float | None = None,
                    threshold: float | None = None) -> Detector:
    """A :class:`Detector` loaded once per process for these settings (thread-safe)."""
    key = (None if model is None else os.fspath(model), prior, threshold)
    with _default_lock:
        det = _default.get(key)
        if det is None:
            det = _default[key] = Detector(model, prior=prior, threshold=threshold)
        return det
