"""Live scoring of one call in the model's own geometry: every piece of audio encoded once.

:class:`LiveStream` is the call-side half of live scoring; whoever drives it (the
embedding API :class:`voiceguard.stream.StreamScorer` inline, or the service's scheduler,
which batches the blocks of many calls through one encoder pass) calls, in turn:

1. :meth:`LiveStream.push` (any thread): 16-bit PCM or samples at the call's rate are
   kept; returns whether a new unit of work may be complete;
2. :meth:`LiveStream.ingest` (a worker): the new audio is resampled to 16 kHz (the very
   samples that scoring the whole call gives: :class:`voiceguard.audio.StreamResampler`),
   its speech-activity energies are added, and the encoder units now complete are cut;
3. the units are encoded (:meth:`voiceguard.detect.blocks.BlockModel.encode`, in any batch);
4. :meth:`LiveStream.update` scores the windows that became ready and returns the running
   :class:`voiceguard.stream.StreamState`.

At the end, :meth:`LiveStream.close_input` cuts the last unit and :meth:`LiveStream.final`
returns the final state.

Two geometries:

* **block models** (the front end says ``block_s``): the units are the model's own
  non-overlapping blocks, each window is final when its last block is encoded, and its
  score is *the* score that :meth:`Detector.score` gives that window; the final result is
  assembled from the very windows the running results used, by the same code that
  assembles offline results: it equals ``voiceguard score`` on the same audio, and the
  call costs what scoring it offline costs.
* **chunk models** (today's shipped default, which encodes up to 10 s at a time): the
  live units are the 4 s windows of the recording's 2 s grid, each encoded alone (half the
  work of re-scoring the last 4 s every second); their scores differ from the final ones,
  which come from scoring the whole call at the end (:meth:`Detector.score_mono`).

The running result is the recording-level rule (:func:`voiceguard.detect.aggregate.recording_llr`) over
the windows scored so far, with speech decided over the audio so far; it is ``pending``
until ``running_min_speech_s`` of speech. The final result of a block model is built by
:meth:`voiceguard.detect.Detector.result_from_windows`, the code that builds offline results.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voiceguard.detect.blocks import Block, BlockEncoder, BlockGeometry, BlockModel, BlockSession
from voiceguard.errors import InvalidAudioError, InvalidParameterError

__all__ = ["LiveStream", "live_model", "StreamState", "PENDING"]

#: Verdict of a running result before enough speech has arrived.
PENDING = "pending"


@dataclass
class StreamState:
    """A running or final result of a stream.

    Attributes
    ----------
    final : bool
        ``True`` once :meth:`StreamScorer.finish` produced it.
    verdict : str
        ``'pending'``, ``'bonafide'``, ``'spoof'`` or (final only) ``'no_speech'``.
    spoof_probability, llr : float or None
        Of the audio so far (running) or of the whole recording (final).
    duration_s : float
        Audio covered: up to the update's end (running), or all audio received
        including any beyond ``max_duration_s`` (final).
    speech_s : float
        Speech detected so far.
    window : dict or None
        The rolling window: ``start_s``, ``end_s``, ``spoof_probability``, ``llr``,
        ``speech_fraction``.
    segments : list of dict
        The segments on the whole-recording grid scored so far (final: the whole
        recording's segments).
    truncated : bool
        Audio beyond ``max_duration_s`` arrived and was not scored.
    speaker : str or None
        The bound speaker, if any; then also ``speaker_llr``, ``speaker_similarity`` and the
        fused ``decision`` (``'pending'`` until both halves have enough speech).
    result : ScoreResult or VerifyResult or None
        The final result object (final states only).
    """

    final: bool
    verdict: str
    spoof_probability: float | None
    llr: float | None
    duration_s: float
    speech_s: float
    window: dict[str, Any] | None = None
    segments: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    speaker: str | None = None
    speaker_llr: float | None = None
    speaker_similarity: float | None = None
    decision: str | None = None
    result: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the final result object under ``result``)."""

        def r(x: float | None, n: int) -> float | None:
            return None if x is None else round(float(x), n)

        d: dict[str, Any] = {
            "final": self.final, "verdict": self.verdict, "spoof_probability": r(self.spoof_probability, 6),
            "llr": r(self.llr, 4), "duration_s": round(self.duration_s, 3), "speech_s": round(self.speech_s, 2),
            "truncated": self.truncated, "window": self.window, "segments": self.segments,
        }
        if self.speaker is not None:
            d.update(speaker=self.speaker, speaker_llr=r(self.speaker_llr, 4),
                     speaker_similarity=r(self.speaker_similarity, 5), decision=self.decision)
        if self.result is not None:
            d["result"] = self.result.to_dict()
        return d


SR = 16000


def live_model(detector: Any) -> tuple[BlockModel, int, bool]:
    """The unit model a detector is streamed with: ``(model, hop, exact)``.

    ``exact`` says whether live window scores equal the offline ones (block models).
    Cached on the detector.
    """
    with _live_lock:
        cached = getattr(detector, "_live_model", None)
        if cached is None:
            cached = detector._live_model = _make_live_model(detector)
        return cached


_live_lock = threading.Lock()


def _make_live_model(detector: Any) -> tuple[BlockModel, int, bool]:
    backend = detector.backend
    model = getattr(detector, "block_model", None)
    if model is not None:
        out = (model, model.geometry.block, True)
    elif hasattr(backend, "encoder") and hasattr(backend, "head"):
        win, hop = int(round(detector.window_s * SR)), int(round(detector.hop_s * SR))
        enc = BlockEncoder(backend.encoder, backend.layers)
        out = (BlockModel(enc, backend.head, BlockGeometry(win, 1)), hop, False)
    else:
        raise InvalidParameterError(f"model {detector.name!r} (kind {detector.kind!r}) has no Whisper encoder; "
                                    "live scoring through the encoder scheduler needs one")
    return out


class LiveStream:
    """One call, scored live in its model's geometry (see the module docstring).

    Parameters
    ----------
    detector : Detector
        A loaded Whisper-kind detector (block or chunk geometry).
    sr : int
        The call's sample rate (>= 8000 Hz).
    running_min_speech_s : float
        Speech needed before the running verdict leaves ``pending``.
    max_duration_s : float
        Audio kept and scored; later audio is counted only (``truncated``).
    """

    def __init__(self, detector: Any, *, sr: int, running_min_speech_s: float = 3.0,
                 max_duration_s: float = 3600.0) -> None:
        from voiceguard.audio import StreamResampler
        from voiceguard.audio.vad import StreamingEnergies

        if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr < 8000:
            raise InvalidParameterError(f"sr must be an integer sample rate >= 8000 Hz, got {sr!r}")
        self.detector = detector
        self.sr = int(sr)
        self.model, hop, self.exact = live_model(detector)
        self.session = self.model.session() if self.exact else BlockSession(self.model.geometry, hop=hop)
        self.running_min_speech_s = float(running_min_speech_s)
        self._capacity = int(round(float(max_duration_s) * self.sr))
        self._buf = np.zeros(min(self._capacity, 8 * self.sr), np.int16)
        self._n = 0  # samples kept
        self._received = 0
        self._ingested = 0  # samples (kept) already resampled
        self._rs = StreamResampler(self.sr, SR)
        self._energies = StreamingEnergies(SR)
        self._n16 = 0
        # running speech activity: the energies of the frames between two consecutive window
        # ends (multiples of the hop), each group computed once: a running state depends only
        # on the audio up to its window's end, not on how the audio arrived (the final uses
        # self._energies, grouped as offline scoring groups them)
        from voiceguard.audio.vad import _frame_geometry

        self._vad_hop, self._vad_win = _frame_geometry(SR, 0.010, 0.020)
        self._hop16 = int(hop)
        self._vad_groups: list[np.ndarray] = []
        self._vad_y = np.zeros(0)  # 16 kHz samples from self._vad_y_start on
        self._vad_y_start = 0
        # input samples after which the next unit is complete (resampler look-ahead included)
        self._unit_in = self.model.geometry.block * self.sr / SR
        self._hop_in = hop * self.sr / SR
        self._lookahead = int(getattr(self._rs, "_margin", 0)) + int(getattr(self._rs, "_down", 1)) + 1
        self._bounds: list[tuple[int, int]] = []
        self._raw: list[float] = []
        self._last_end16 = 0
        self._closed = False
        self._final: Any = None
        self.lock = threading.Lock()

    # -- input (any thread) ---------------------------------------------------------------

    @property
    def received_s(self) -> float:
        """Seconds of audio received (kept or not)."""
        return self._received / self.sr

    @property
    def closed(self) -> bool:
        """:meth:`close_input` has been called."""
        return self._closed

    @property
    def truncated(self) -> bool:
        """Audio beyond ``max_duration_s`` arrived."""
        return self._received > self._n

    def push(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> bool:
        """Keep a chunk of audio; returns whether a unit may now be complete (:meth:`ingest`)."""
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            if len(chunk) % 2:
                raise InvalidAudioError(f"16-bit PCM needs an even number of bytes, got {len(chunk)}")
            x = np.frombuffer(chunk, dtype="<i2")
        else:
            from voiceguard.audio import to_mono_array

            arr = np.asarray(chunk)
            if arr.size == 0:
                return self.due
            x = arr if arr.dtype == np.int16 and arr.ndim == 1 else to_mono_array(arr)[0].astype(np.float32)
        with self.lock:
            if self._closed:
                raise InvalidParameterError("the stream is finished")
            self._received += len(x)
            x = x[: max(0, self._capacity - self._n)]
            if x.size:
                if x.dtype != self._buf.dtype:
                    if self._buf.dtype == np.int16:
                        self._buf = self._buf.astype(np.float32) * np.float32(1 / 32768)
                    if x.dtype == np.int16:
                        x = x.astype(np.float32) * np.float32(1 / 32768)
                need = self._n + len(x)
                if need > len(self._buf):
                    grown = np.zeros(min(self._capacity, max(need, 2 * len(self._buf))), self._buf.dtype)
                    grown[: self._n] = self._buf[: self._n]
                    self._buf = grown
                self._buf[self._n:need] = x
                self._n = need
        return self.due

    @property
    def due(self) -> bool:
        """Whether enough audio arrived since the last :meth:`ingest` to complete a unit."""
        k = self.session.n_blocks
        return (not self._closed and self._n > self._ingested
                and self._n >= k * self._hop_in + self._unit_in + self._lookahead)

    @property
    def backlog_s(self) -> float:
        """Seconds of kept audio not yet ingested."""
        return (self._n - self._ingested) / self.sr

    def _samples(self, lo: int, hi: int) -> np.ndarray:
        x = self._buf[lo:hi]
        return x.astype(np.float64) / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)

    def audio(self) -> np.ndarray:
        """The kept audio, float64 at ``sr``."""
        with self.lock:
            return self._samples(0, self._n)

    # -- work (one worker at a time) ------------------------------------------------------

    def ingest(self) -> list[Block]:
        """Resample and analyse the audio that arrived; returns the units now complete."""
        with self.lock:
            lo, hi = self._ingested, self._n
            y = self._samples(lo, hi)
            self._ingested = hi
        if not y.size:
            return []
        y16 = self._rs.push(y)
        return self._feed16(y16)

    def _frames_before(self, end: int) -> int:
        """Speech-activity frames complete in the first ``end`` samples."""
        return 0 if end < self._vad_win else 1 + (end - self._vad_win) // self._vad_hop

    def _feed16(self, y16: np.ndarray) -> list[Block]:
        if y16.size:
            from voiceguard.audio.vad import frame_energies_db

            self._energies.push(y16)
            self._n16 += y16.size
            self._vad_y = np.concatenate([self._vad_y, y16])
            while self._n16 >= (len(self._vad_groups) + 1) * self._hop16:
                k = len(self._vad_groups)
                t0, t1 = self._frames_before(k * self._hop16), self._frames_before((k + 1) * self._hop16)
                a = t0 * self._vad_hop - self._vad_y_start
                b = (t1 - 1) * self._vad_hop + self._vad_win - self._vad_y_start
                self._vad_groups.append(frame_energies_db(self._vad_y[a:b], SR) if t1 > t0 else np.zeros(0))
                drop = t1 * self._vad_hop - self._vad_y_start
                if drop > 0:
                    self._vad_y = self._vad_y[drop:]
                    self._vad_y_start += drop
        return self.session.push(y16)

    def close_input(self) -> list[Block]:
        """End of the call: ingest the rest and cut the last unit (block models)."""
        with self.lock:
            self._closed = True
        blocks = self.ingest()
        blocks += self._feed16(self._rs.finish())
        if self.exact:
            blocks += self.session.finish()
        return blocks

    def update(self, *, every: bool = False) -> Any:
        """Score the windows whose units are encoded.

        Returns the running StreamState of the newest window (``None`` when none became
        ready); with ``every=True`` a list with one state per new window, each over the
        audio up to that window's end (so the states do not depend on how audio arrived).
        """
        ready = self.session.take_windows()
        if not ready:
            return [] if every else None
        raw = self.model.score_windows(ready)
        states = []
        for i, (w, r) in enumerate(zip(ready, raw)):
            w.frames = ()
            self._bounds.append((w.start, w.stop))
            self._raw.append(float(r))
            self._last_end16 = max(self._last_end16, w.stop)
            if every or i == len(ready) - 1:
                states.append(self._running())
        return states if every else states[-1]

    def _activity(self) -> Any:
        """Speech decisions over the 16 kHz audio up to the newest window's end."""
        from voiceguard.audio.vad import decide_speech

        groups = self._vad_groups[: self._last_end16 // self._hop16]
        return decide_speech(np.concatenate(groups) if groups else np.zeros(0))

    def _running(self) -> Any:
        from voiceguard.detect.aggregate import recording_llr, window_speech_fractions
        from voiceguard.detect.calibration import spoof_probability
        from voiceguard.detect.result import BONAFIDE, SPOOF

        det = self.detector
        act = self._activity()
        bounds = self._bounds
        fracs = window_speech_fractions(act.mask, bounds, SR, act.hop_s)
        llrs = np.asarray(det.calibration.llr(np.asarray(self._raw)))
        verdict, p, llr = PENDING, None, None
        if act.speech_s >= self.running_min_speech_s and len(bounds):
            llr, _ = recording_llr(llrs, fracs, det.min_speech_fraction, det.rule)
            p = float(spoof_probability(llr, det.prior))
            verdict = SPOOF if p >= det.threshold else BONAFIDE
        probs = np.asarray(spoof_probability(llrs, det.prior))
        segments = [{"start_s": round(a / SR, 3), "end_s": round(b / SR, 3),
                     "spoof_probability": round(float(probs[i]), 6), "llr": round(float(llrs[i]), 4),
                     "speech_fraction": round(float(fracs[i]), 3)} for i, (a, b) in enumerate(bounds)]
        return StreamState(final=False, verdict=verdict, spoof_probability=p, llr=llr,
                           duration_s=self._last_end16 / SR, speech_s=act.speech_s, window=segments[-1],
                           segments=segments, truncated=self.truncated)

    @property
    def complete(self) -> bool:
        """The input is closed and every unit the final result needs is encoded (block
        models; a chunk model's final result scores the kept audio whole)."""
        return self._closed and (not self.exact or self.session.encoded)

    def final(self) -> Any:
        """The final StreamState (after :meth:`close_input` and the last encoding).

        Block models: assembled from the windows scored live (equal to ``voiceguard
        score`` of the kept audio); chunk models: the kept audio scored whole.
        """
        from voiceguard.audio.vad import decide_speech
        from voiceguard.detect.result import NO_SPEECH, content_of

        if self._final is not None:
            return self._final
        det = self.detector
        duration = self._received / self.sr
        if self._n == 0:
            self._final = StreamState(final=True, verdict=NO_SPEECH, spoof_probability=None, llr=None,
                                      duration_s=duration, speech_s=0.0)
            return self._final
        if self.exact:
            self.update()
            if not self.complete:
                raise InvalidParameterError("LiveStream.final before every block was encoded")
            act = decide_speech(self._energies.finish())
            base = dict(file=None, duration_s=self._n / self.sr, speech_s=act.speech_s, sample_rate=self.sr,
                        channels=1, threshold=det.threshold, prior=det.prior, model=det.name,
                        model_version=det.version, content=content_of(act, det.min_speech_s))
            res = det.result_from_windows(self._bounds, np.asarray(self._raw), act, self._n16, base)
        else:
            res = det.score_mono(self._samples(0, self._n), self.sr)
        self._final = StreamState(final=True, verdict=res.verdict, spoof_probability=res.spoof_probability,
                                  llr=res.llr, duration_s=duration, speech_s=res.speech_s,
                                  segments=[s.to_dict() for s in res.segments], truncated=self.truncated,
                                  result=res)
        self._buf = np.zeros(0, np.int16)
        return self._final

    def run_inline(self) -> list[Any]:
        """Ingest, encode and update in the calling thread; returns one running state per
        new window."""
        blocks = self.ingest()
        self.model.encode(blocks)
        return self.update(every=True)
