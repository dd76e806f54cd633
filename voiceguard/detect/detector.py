"""Scoring whole recordings: :class:`Detector`, :func:`score`, :func:`shared_detector`.

Pipeline for one recording (any length, rate and channel count):

1. **decode** (:func:`voiceguard.audio.load`), **mix down** stereo/multichannel by
   averaging, **resample** to the model's rate (16 kHz). 8 kHz telephone audio takes the
   same path: after resampling it is a 16 kHz signal with nothing above 4 kHz, a
   condition the training data contains for both classes (every clip of the corpus also
   exists in telephone-channel versions), so one model and one calibration serve both.
2. **speech activity** (:mod:`voiceguard.audio.vad`): with less than
   ``min_speech_s`` (0.5 s) of speech the verdict is ``no_speech`` and no score is given.
3. **features** of each chunk (the model's front end: LFCC from the C core, or the Whisper encoder).
4. **sliding windows** of ``window_s`` (4 s) every ``hop_s`` (2 s), the last one aligned
   to the end of the recording; a recording shorter than one window is one window.
   Windows are grouped into chunks, one model pass each (:mod:`voiceguard.detect.windows`;
   the backend of the model's kind: :mod:`voiceguard.detect.backends`).
5. **segment scores**: raw model score -> calibrated LLR (:mod:`voiceguard.detect.calibration`)
   -> ``spoof_probability`` per window.
6. **aggregation**: the recording's LLR is the **mean of the segment LLRs over speech
   segments** (windows whose speech fraction is at least ``min_speech_fraction``, 0.25;
   if none reaches it, the windows with the highest speech fraction). A mean of LLRs
   treats the segments as equally informative evidence about one source; it is what the
   calibration was fitted on. A model may add a local term (``scoring.aggregate``, the
   shipped default does): ``min(mean, alpha * min_w LLR_w + beta + gamma * ln n)``, so
   that a few synthetic seconds spliced into a real call can decide alone when their
   evidence is strong (:mod:`voiceguard.detect.aggregate`).
7. ``spoof_probability = sigmoid(-(llr + ln(prior / (1 - prior))))`` with
   ``prior = P(bona fide)`` (default 0.5); verdict ``spoof`` when
   ``spoof_probability >= threshold`` (default: the model config's ``threshold``; the
   shipped default model's is 0.7077, ``--model fast``'s 0.5), else ``bonafide``.

Results are deterministic: inference runs in eval mode with no randomness, and the same
input gives bit-identical scores with the same thread count.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Union

import numpy as np

from voiceguard.detect.aggregate import RecordingRule, recording_llr, window_speech_fractions
from voiceguard.detect.calibration import DEFAULT_PRIOR, DEFAULT_THRESHOLD, spoof_probability
from voiceguard.detect.model import DEFAULT_CHUNK_S, load_model
from voiceguard.detect.result import BONAFIDE, NO_SPEECH, SPOOF, ScoreResult, Segment, content_of
from voiceguard.detect.windows import WindowGrid
from voiceguard.errors import InvalidParameterError, ModelError
from voiceguard.threads import check_threads, ordered_map, plan_threads, torch_threads

__all__ = ["Detector", "score", "shared_detector"]

PathLike = Union[str, os.PathLike]


#: Longest recording (samples at the model rate) whose resampled audio the first pass keeps
#: for the model pass instead of decoding the file again: 5 minutes, 38 MB of float64.
_REPLAY_MAX_SAMPLES = 300 * 16000


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
        Verdict threshold on ``spoof_probability`` (default: the config's ``threshold``;
        the shipped default model's is 0.7077, the value that flags 5 % of held-out bona
        fide recordings; ``fast``'s is 0.5).
    threads : int, optional
        Most CPU threads a recording's scoring keeps busy. Default: the CPUs this process
        may use (affinity and cgroup quota, :func:`voiceguard.threads.available_cpus`). The
        chunks or blocks of a recording are spread over that many worker threads, each with
        one torch thread (:func:`voiceguard.threads.plan_threads`); torch's setting is
        changed only while a model pass runs and restored after it.
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
        m = load_model(model, batch_size=batch_size)
        self.model = m
        self.config = m.config
        self.name = m.name
        self.kind = m.kind
        self.feature_config = m.feature_config
        self.sr = m.sr
        self.frame_hop_s = float(self.feature_config.get("hop_s", 0.01))
        sc = m.scoring
        self.window_s, self.hop_s = float(sc["window_s"]), float(sc["hop_s"])
        #: The block-geometry model (:mod:`voiceguard.detect.blocks`), or None for chunk models.
        self.block_model: Any = getattr(m.backend, "block_model", None)
        if self.block_model is not None:
            g = self.block_model.geometry
            self.hop_s = g.block / self.sr
            self.window_s = g.blocks_per_window * self.hop_s
        self.chunk_s = float(sc.get("chunk_s", DEFAULT_CHUNK_S))
        self.min_speech_fraction = float(sc["min_speech_fraction"])
        self.min_speech_s = float(sc["min_speech_s"])
        #: The recording-level rule (:class:`voiceguard.detect.aggregate.RecordingRule`).
        self.rule = RecordingRule.from_config(sc.get("aggregate", "mean_llr"))
        self.grid = WindowGrid.from_seconds(self.sr, self.window_s, self.hop_s, self.chunk_s)
        self.calibration = m.calibration
        self.backend = m.backend
        self.version = m.version
        self.batch_size = int(batch_size)
        self.prior = float(m.config.get("prior", DEFAULT_PRIOR) if prior is None else prior)
        self.threshold = float(m.config.get("threshold", DEFAULT_THRESHOLD) if threshold is None else threshold)
        if not 0.0 < self.prior < 1.0:
            raise InvalidParameterError(f"prior P(bona fide) must be in (0, 1), got {self.prior}")
        if not 0.0 <= self.threshold <= 1.0:
            raise InvalidParameterError(f"threshold must be a probability in [0, 1], got {self.threshold}")
        self.threads = check_threads(threads)

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
        with torch_threads(self.threads):
            return self.backend.score_chunk(np.asarray(y, np.float64), windows or [(0, len(y))])

    # -- pipeline -----------------------------------------------------------------------

    def score(self, audio: PathLike | np.ndarray, sr: int | None = None, *,
              progress: Progress | None = None) -> ScoreResult:
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
        progress : callable, optional
            ``progress(stage, done_s, total_s)`` as a file is read: ``stage`` ``'reading'``
            (the first pass: decoding and speech activity) then, for a recording longer than
            5 minutes, ``'scoring'`` (the second pass, which feeds the model as it decodes;
            a shorter recording's model pass reuses the first pass's audio and reports only
            its end); ``done_s`` seconds of the recording so far, ``total_s`` its length from
            the file's header (None when the header does not say). Called about every 4 s of
            audio, and once at the end of each stage.

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
            if progress is None:
                return self._score_passes(first, lambda: open_stream(audio, None, min_sr=4000,
                                                                      purpose="spoof scoring").blocks)
            total = first.frames / first.sr if first.frames else None
            first.blocks = _reporting(first.blocks, first.sr, total, "reading", progress)

            def reopen() -> Any:
                again = open_stream(audio, None, min_sr=4000, purpose="spoof scoring")
                return _reporting(again.blocks, again.sr, total, "scoring", progress)

            res = self._score_passes(first, reopen)
            progress("scoring", res.duration_s, total)
            return res
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
        from voiceguard.audio.vad import StreamingEnergies, decide_speech
        from voiceguard.errors import AudioReadError

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
                    model_version=self.version, content=content_of(act, self.min_speech_s))
        if act.speech_s < self.min_speech_s:
            return ScoreResult(verdict=NO_SPEECH, spoof_probability=None, llr=None, **base)
        pieces = replay if replay is not None else resampled_blocks(reopen(), sr_in, self.sr)
        if self.block_model is not None:
            bounds, raw, n_model = self._block_pass(pieces, n16)
        else:
            bounds, raw, n_model = self._chunk_pass(pieces, n16)
        if n_model != n16:
            raise AudioReadError(f"{stream.name}: the file changed while it was being scored")
        return self.result_from_windows(bounds, raw, act, n16, base)

    def _chunk_pass(self, pieces: Any, n16: int) -> tuple[list[tuple[int, int]], np.ndarray, int]:
        """Chunk geometry: every chunk through the backend, chunks spread over the workers of
        :func:`voiceguard.threads.plan_threads`; returns (windows, raw scores, samples)."""
        from voiceguard.detect.windows import ChunkAssembler

        asm = ChunkAssembler(self.grid)
        n_chunks = -(-len(self.grid.windows(n16)) // self.grid.windows_per_chunk)
        plan = plan_threads(self.threads, pieces=n_chunks)

        def chunks() -> Any:
            for y in pieces:
                yield from asm.push(y)
            yield from asm.finish()

        def work(ch: Any) -> tuple[Any, np.ndarray]:
            return ch, np.asarray(self.backend.score_chunk(ch.audio, ch.windows), np.float64)

        bounds: list[tuple[int, int]] = []
        raws: list[np.ndarray] = []
        with torch_threads(plan.intra_op):
            for ch, r in ordered_map(work, chunks(), plan.workers):
                raws.append(r)
                bounds.extend((ch.start + a, ch.start + b) for a, b in ch.windows)
        return bounds, (np.concatenate(raws) if raws else np.zeros(0)), asm.n_samples

    def _block_pass(self, pieces: Any, n16: int, batch: int = 8) -> tuple[list[tuple[int, int]], np.ndarray, int]:
        """Block geometry: blocks encoded ``batch`` at a time over the workers, windows scored
        as their blocks are encoded; returns (windows, raw scores, samples)."""
        model = self.block_model
        assert model is not None
        session = model.session()
        plan = plan_threads(self.threads, pieces=-(-len(model.geometry.bounds(n16)) // batch))

        def batches() -> Any:
            pending: list[Any] = []
            for y in pieces:
                pending += session.push(y)
                while len(pending) >= batch:
                    yield pending[:batch]
                    pending = pending[batch:]
            pending += session.finish()
            if pending:
                yield pending

        def encode(blocks: list[Any]) -> None:
            model.encode(blocks, batch=batch)

        bounds: list[tuple[int, int]] = []
        raws: list[float] = []
        with torch_threads(plan.intra_op):
            for _ in ordered_map(encode, batches(), plan.workers):
                ready = session.take_windows()
                for w, r in zip(ready, model.score_windows(ready)):
                    bounds.append((w.start, w.stop))
                    raws.append(float(r))
                    w.frames = ()
        return bounds, np.asarray(raws, np.float64), session.n_samples

    def result_from_windows(self, bounds: Sequence[tuple[int, int]], raw: np.ndarray, activity: Any, n16: int,
                            base: dict[str, Any]) -> ScoreResult:
        """The recording's result from its windows' raw scores: what :meth:`score` returns,
        and what a live stream's final result is built with (the recording-level rule:
        :mod:`voiceguard.detect.aggregate`).

        Parameters
        ----------
        bounds : sequence of (start, stop)
            Windows, samples at the model rate.
        raw : np.ndarray [shape=(n_windows,)]
            Their raw scores.
        activity : SpeechActivity
            :func:`voiceguard.audio.vad.decide_speech` of the whole recording.
        n16 : int
            Samples of the recording at the model rate.
        base : dict
            The result's other fields (``file``, ``duration_s``, ``speech_s``, ...).
        """
        raw = np.asarray(raw, np.float64)
        if raw.size == 0 or np.all(np.isnan(raw)) or activity.speech_s < self.min_speech_s:
            return ScoreResult(verdict=NO_SPEECH, spoof_probability=None, llr=None, **base)
        duration = float(base["duration_s"])
        fracs = window_speech_fractions(activity.mask, bounds, self.sr, activity.hop_s)
        seg_llr = np.asarray(self.calibration.llr(raw))
        seg_p = np.asarray(spoof_probability(seg_llr, self.prior))
        llr, used = recording_llr(seg_llr, fracs, self.min_speech_fraction, self.rule)
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


#: ``progress(stage, done_s, total_s)`` of :meth:`Detector.score`.
Progress = Callable[[str, float, Union[float, None]], None]


def _reporting(blocks: Any, sr: int, total_s: float | None, stage: str, progress: Progress) -> Any:
    """``blocks`` as they are, calling ``progress`` about every 4 s of audio and at the end."""
    n = last = 0
    step = 4 * int(sr)
    for b in blocks:
        n += len(b)
        if n - last >= step:
            last = n
            progress(stage, n / sr, total_s)
        yield b
    progress(stage, n / sr, total_s)


def _counting(blocks: Any, counter: list[int]) -> Any:
    for b in blocks:
        counter[0] += len(b)
        yield b


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
    progress: Progress | None = None,
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
    progress : callable, optional
        ``progress(stage, done_s, total_s)`` within a long file (:meth:`Detector.score`).

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
    return shared_detector(model, prior=prior, threshold=threshold).score(audio, sr, progress=progress)


def shared_detector(model: PathLike | None = None, *, prior: float | None = None,
                    threshold: float | None = None) -> Detector:
    """A :class:`Detector` loaded once per process for these settings (thread-safe)."""
    key = (None if model is None else os.fspath(model), prior, threshold)
    with _default_lock:
        det = _default.get(key)
        if det is None:
            det = _default[key] = Detector(model, prior=prior, threshold=threshold)
        return det
