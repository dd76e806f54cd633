"""Scoring audio as it arrives: :class:`StreamScorer`.

A live call cannot wait for its end to be judged. A :class:`StreamScorer` takes PCM
chunks of any size (int16 bytes or arrays, int or float, at the rate given once), keeps
the audio, and every ``update_s`` seconds of audio (1 s by default) re-scores:

* the **rolling window**: the last ``window_s`` (4 s) of audio, scored alone: how the
  call sounds *now* (:attr:`StreamState.window`);
* the **running result**: what :meth:`voiceguard.detect.Detector.score` would say of
  the audio so far, computed incrementally. Whole-recording scoring uses windows every
  ``hop_s`` (2 s) plus one aligned to the end; here the rolling windows that end on that
  grid are kept as the call's segments (:attr:`StreamState.segments`), the current rolling
  window plays the end-aligned one, and the running LLR is the mean of their LLRs over
  speech windows, exactly the whole-recording aggregation rule.

Each update costs one 4 s window of features and one forward pass, whatever the call's
length so far, so a call costs a constant fraction of real time.

The running result has ``verdict == 'pending'`` until ``running_min_speech_s`` (3 s) of
speech has been detected, then ``'bonafide'`` or ``'spoof'``.

**The final result** (:meth:`StreamScorer.finish`) scores the whole retained audio in
one call of :meth:`Detector.score_mono`, so it is *identical* (bit for bit, same torch
thread count) to scoring the concatenated chunks with ``voiceguard score``: tolerance
zero. The incremental running result differs from it only at window edges (features are
computed on each window with 0.3 s of left context rather than over the whole recording)
and in speech detection (adaptive per 4 s window instead of per recording); the test
suite bounds the difference on real speech.

Audio is kept at the input rate, as int16 when it arrives as 16-bit PCM (16 KB per second
at 8 kHz; float input is kept as float32, twice that), up to
``max_duration_s`` (1 hour by default): later audio is counted but neither kept nor
scored, and the results say ``truncated``. That bound is what keeps a server's memory
bounded.

Bound to an enrolled speaker (``speaker=`` with a :class:`voiceguard.verify.Verifier`),
the running state also carries the voiceprint match of the last ``speaker_context_s``
(20 s) of audio, refreshed every ``speaker_update_s`` (4 s), and the fused decision
(``verifier.running_decision``, :func:`voiceguard.voiceprint.fuse`; the verifier is handed
in, so this module never imports the voiceprint part above it); the final result is then the
:class:`~voiceguard.verify.VerifyResult` of the whole retained audio, identical to
``voiceguard verify``.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from voiceguard.detect.live import PENDING, StreamState  # defined beside the live stream
from voiceguard.errors import InvalidAudioError, InvalidParameterError

__all__ = ["PENDING", "StreamScorer", "StreamState"]


#: Left context (seconds) given to each rolling window so its first frames do not see the
#: excerpt's edge (resampler transient, delta features).
_CONTEXT_S = 0.3


class StreamScorer:
    """Incremental spoof scoring of one audio stream (see the module docstring).

    Parameters
    ----------
    detector : Detector, optional
        A loaded :class:`voiceguard.detect.Detector` (share one across streams); default:
        the shipped model (loaded once per process).
    sr : int
        Sample rate of the chunks (>= 8000 Hz).
    update_s : float
        Audio between two updates of the running result.
    running_min_speech_s : float
        Speech needed before the running verdict leaves ``'pending'``.
    max_duration_s : float
        Audio kept and scored per stream; the rest is counted only.
    speaker : str, optional
        Enrolled speaker to verify against (needs ``verifier``).
    verifier : Verifier, optional
        A :class:`voiceguard.verify.Verifier` whose detector is ``detector``.
    speaker_update_s, speaker_context_s : float
        How often the running speaker match is refreshed, and over how much recent audio.

    Examples
    --------
    >>> s = StreamScorer(sr=8000)  # doctest: +SKIP
    >>> for chunk in chunks:  # doctest: +SKIP
    ...     for state in s.feed(chunk):
    ...         print(state.verdict, state.spoof_probability)
    >>> s.finish().result.to_dict()  # doctest: +SKIP
    """

    def __init__(
        self,
        detector: Any = None,
        *,
        sr: int,
        update_s: float = 1.0,
        running_min_speech_s: float = 3.0,
        max_duration_s: float = 3600.0,
        speaker: str | None = None,
        verifier: Any = None,
        speaker_update_s: float = 4.0,
        speaker_context_s: float = 20.0,
    ) -> None:
        if detector is None:
            from voiceguard.detect.detector import shared_detector

            detector = verifier.detector if verifier is not None else shared_detector()
        if not isinstance(sr, (int, np.integer)) or isinstance(sr, bool) or sr < 8000:
            raise InvalidParameterError(f"sr must be an integer sample rate >= 8000 Hz, got {sr!r}")
        for name, v in (("update_s", update_s), ("max_duration_s", max_duration_s),
                        ("speaker_update_s", speaker_update_s), ("speaker_context_s", speaker_context_s)):
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InvalidParameterError(f"{name} must be a positive number of seconds, got {v!r}")
        if running_min_speech_s < detector.min_speech_s:
            raise InvalidParameterError(f"running_min_speech_s must be at least the detector's min_speech_s "
                                        f"({detector.min_speech_s:g} s), got {running_min_speech_s!r}")
        self.detector = detector
        self.sr = int(sr)
        self.update_s = float(update_s)
        self.running_min_speech_s = float(running_min_speech_s)
        self.max_duration_s = float(max_duration_s)
        self.speaker_update_s = float(speaker_update_s)
        self.speaker_context_s = float(speaker_context_s)
        self._capacity = int(round(self.max_duration_s * self.sr))
        # int16 PCM (what telephony sends) is kept as int16, 2 bytes a sample; float input
        # switches the buffer to float32. Both convert exactly to the same float64 values.
        self._buf = np.zeros(min(self._capacity, 8 * self.sr), np.int16)
        self._n = 0  # samples kept
        self._received = 0  # samples received (kept or not)
        self._update_every = max(1, int(round(self.update_s * self.sr)))
        self._win = int(round(detector.window_s * self.sr))
        self._grid = max(1, int(round(detector.hop_s * self.sr)))
        self._next_update = self._next_update_after(0)
        self._context = int(round(_CONTEXT_S * self.sr))
        self._segments: list[dict[str, Any]] = []  # grid windows, with their llr
        self._speech_s = 0.0
        self._counted_to = 0  # samples whose speech has been counted
        self._last_end = 0  # end of the latest update
        self._window: dict[str, Any] | None = None
        self._verifier: Any = None
        self._speaker: str | None = None
        self._speaker_llr: float | None = None
        self._speaker_sim: float | None = None
        self._next_speaker = 0
        self._final: StreamState | None = None
        self._lock = threading.Lock()  # feed/finish may come from worker threads
        # Whisper models: the call is encoded once, in the model's own units (live.py); the
        # live stream keeps the audio
        self._live: Any = None
        self._last_live: StreamState | None = None
        if hasattr(getattr(detector, "backend", None), "encoder"):
            from voiceguard.detect.live import LiveStream

            self._live = LiveStream(detector, sr=self.sr, running_min_speech_s=self.running_min_speech_s,
                                    max_duration_s=self.max_duration_s)
            self._buf = np.zeros(0, np.int16)
        if speaker is not None:
            self.attach_speaker(speaker, verifier)

    # -- configuration --------------------------------------------------------------------

    def attach_speaker(self, speaker: str, verifier: Any) -> None:
        """Bind the stream to an enrolled speaker (at any time before :meth:`finish`).

        Raises
        ------
        UnknownSpeakerError
            ``speaker`` is not enrolled in the verifier's store.
        """
        if verifier is None:
            raise InvalidParameterError("a speaker can only be attached with a Verifier (voiceprint store)")
        if verifier.detector is not self.detector:
            raise InvalidParameterError("the Verifier must use the same Detector as the StreamScorer")
        verifier.voiceprint(speaker)  # fails now for an unknown name
        with self._lock:
            self._verifier, self._speaker = verifier, speaker
            self._speaker_llr = self._speaker_sim = None
            self._next_speaker = 0

    # -- input ----------------------------------------------------------------------------

    @property
    def duration_s(self) -> float:
        """float : seconds of audio received."""
        return self._live.received_s if self._live is not None else self._received / self.sr

    @property
    def buffer_bytes(self) -> int:
        """int : memory held by the retained audio (allocated, grows by doubling)."""
        return int((self._live._buf if self._live is not None else self._buf).nbytes)

    @property
    def finished(self) -> bool:
        """bool : :meth:`finish` has been called."""
        return self._final is not None

    def push(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> bool:
        """Append a chunk without scoring; returns whether an update is due (:meth:`step`).

        Parameters
        ----------
        chunk : bytes or np.ndarray
            16-bit little-endian PCM bytes, or mono samples (int16/int32 PCM or float in
            [-1, 1]).
        """
        if self._live is not None:
            if self._final is not None:
                raise InvalidParameterError("the stream is finished; start a new StreamScorer")
            return self._live.push(chunk) and self._final is None
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            if len(chunk) % 2:
                raise InvalidAudioError(f"16-bit PCM needs an even number of bytes, got {len(chunk)}")
            x = np.frombuffer(chunk, dtype="<i2")
        else:
            from voiceguard.audio import to_mono_array

            arr = np.asarray(chunk)
            if arr.size == 0:
                return self.update_due
            if arr.dtype == np.int16 and arr.ndim == 1:
                x = arr
            else:
                x = to_mono_array(arr)[0].astype(np.float32)
        with self._lock:
            if self._final is not None:
                raise InvalidParameterError("the stream is finished; start a new StreamScorer")
            self._received += len(x)
            room = self._capacity - self._n
            if room > 0:
                x = x[:room]
                if x.dtype != self._buf.dtype:
                    if self._buf.dtype == np.int16:  # float audio into an int16 buffer: keep floats from now on
                        self._buf = self._buf.astype(np.float32) * np.float32(1 / 32768)
                    if x.dtype == np.int16:  # 16-bit PCM after float audio: scaled like the rest
                        x = x.astype(np.float32) * np.float32(1 / 32768)
                need = self._n + len(x)
                if need > len(self._buf):
                    grown = np.zeros(min(self._capacity, max(need, 2 * len(self._buf))), self._buf.dtype)
                    grown[: self._n] = self._buf[: self._n]
                    self._buf = grown
                self._buf[self._n:need] = x
                self._n = need
        return self.update_due

    @property
    def update_due(self) -> bool:
        """bool : enough new audio has arrived for :meth:`step` to compute an update."""
        if self._live is not None:
            return self._final is None and self._live.due
        return self._final is None and min(self._n, self._capacity) >= self._next_update

    def feed(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> list[StreamState]:
        """Append a chunk and compute any due updates (:meth:`push` then :meth:`step`).

        Returns
        -------
        list of StreamState
            One running state per update computed (often none).
        """
        self.push(chunk)
        return self.step()

    # -- scoring --------------------------------------------------------------------------

    def step(self) -> list[StreamState]:
        """Compute the updates that are due; returns their running states."""
        if self._live is not None:
            return self._live_step()
        out = []
        with self._lock:
            while self.update_due:
                end = self._next_update
                self._next_update = self._next_update_after(end)
                self._update(end)
                out.append(self._state())
        return out

    def _samples(self, lo: int, hi: int) -> np.ndarray:
        """Retained samples ``lo:hi`` as float64 in [-1, 1)."""
        if self._live is not None:
            return self._live._samples(lo, hi)
        x = self._buf[lo:hi]
        return x.astype(np.float64) / 32768.0 if x.dtype == np.int16 else x.astype(np.float64)

    def _next_update_after(self, end: int) -> int:
        """The next update point: a multiple of ``update_s`` or the end of a grid window,
        whichever comes first (so every grid window is scored whatever ``update_s``)."""
        regular = (end // self._update_every + 1) * self._update_every
        grid = self._win if end < self._win else self._win + ((end - self._win) // self._grid + 1) * self._grid
        return min(regular, grid)

    def _update(self, end: int) -> None:
        from voiceguard.audio import resample
        from voiceguard.audio.vad import speech_activity
        from voiceguard.detect.calibration import spoof_probability

        det = self.detector
        start = max(0, end - self._win)
        lo = max(0, start - self._context)
        y = self._samples(lo, end)
        y16 = resample(y, self.sr, det.sr)
        act = speech_activity(y16, det.sr)
        hop = act.hop_s
        skip = int(round((start - lo) / self.sr / hop))  # VAD frames of left context
        mask = act.mask[skip:]
        # speech of the newest, not yet counted part of the window
        new_from = int(round((max(self._counted_to, start) - start) / self.sr / hop))
        self._speech_s += float(mask[new_from:].sum()) * hop
        self._counted_to = end
        self._last_end = end
        frac = float(mask.mean()) if mask.size else 0.0
        first = int(round((start - lo) * det.sr / self.sr))
        if len(y16) - first < 320:
            return
        raw = det.window_scores(y16[first:])
        if not np.isfinite(raw[0]):
            return
        llr = float(det.calibration.llr(raw)[0])
        seg = {"start_s": round(start / self.sr, 3), "end_s": round(end / self.sr, 3),
               "spoof_probability": round(float(spoof_probability(llr, det.prior)), 6), "llr": round(llr, 4),
               "speech_fraction": round(frac, 3), "_llr": llr, "_frac": frac}
        self._window = seg
        on_grid = end >= self._win and (end - self._win) % self._grid == 0
        if on_grid:
            self._segments.append(seg)
        if self._verifier is not None and end >= self._next_speaker:
            self._next_speaker = end + int(round(self.speaker_update_s * self.sr))
            ctx = self._samples(max(0, end - int(round(self.speaker_context_s * self.sr))), end)
            ev = self._verifier.speaker_evidence(self._speaker, ctx, self.sr)
            self._speaker_llr, self._speaker_sim = ev.speaker_llr, ev.similarity

    def _running_llr(self) -> float | None:
        """Running LLR over the grid segments plus the rolling window (if off the grid),
        aggregated as whole-recording scoring aggregates its windows."""
        from voiceguard.detect.aggregate import aggregate_llr, used_segments

        segs = list(self._segments)
        if self._window is not None and (not segs or segs[-1] is not self._window):
            segs.append(self._window)
        if not segs:
            return None
        used = used_segments(np.array([s["_frac"] for s in segs]), self.detector.min_speech_fraction)
        return aggregate_llr(np.array([s["_llr"] for s in segs]), used)

    def _state(self) -> StreamState:
        from voiceguard.detect.calibration import spoof_probability
        from voiceguard.detect.result import BONAFIDE, SPOOF

        det = self.detector
        llr = self._running_llr()
        verdict, p = PENDING, None
        if llr is not None and self._speech_s >= self.running_min_speech_s:
            p = float(spoof_probability(llr, det.prior))
            verdict = SPOOF if p >= det.threshold else BONAFIDE
        else:
            llr = None
        decision = None
        if self._speaker is not None:
            decision = PENDING
            if verdict != PENDING and self._speaker_llr is not None:
                decision = self._verifier.running_decision(self._speaker_llr, llr, verdict)
        public = [{k: v for k, v in s.items() if not k.startswith("_")} for s in self._segments]
        window = None if self._window is None else {k: v for k, v in self._window.items() if not k.startswith("_")}
        return StreamState(final=False, verdict=verdict, spoof_probability=p, llr=llr,
                           duration_s=self._last_end / self.sr, speech_s=self._speech_s, window=window,
                           segments=public, truncated=self._received > self._n, speaker=self._speaker,
                           speaker_llr=self._speaker_llr, speaker_similarity=self._speaker_sim, decision=decision)

    @property
    def state(self) -> StreamState:
        """StreamState : the latest running state (or the final one after :meth:`finish`)."""
        with self._lock:
            if self._final is not None:
                return self._final
            if self._live is not None:
                return self._last_live or self._with_speaker(StreamState(
                    final=False, verdict=PENDING, spoof_probability=None, llr=None,
                    duration_s=0.0, speech_s=0.0, truncated=self._live.truncated))
            return self._state()

    def audio(self) -> np.ndarray:
        """The retained audio, ``[n]`` float32 at ``sr`` (a copy)."""
        if self._live is not None:
            return self._live.audio().astype(np.float32)
        with self._lock:
            return self._samples(0, self._n).astype(np.float32)

    def finish(self) -> StreamState:
        """Score the whole retained audio and end the stream (idempotent).

        Returns
        -------
        StreamState
            ``final=True``; ``result`` is the :class:`~voiceguard.detect.ScoreResult` of
            the retained audio (a :class:`~voiceguard.verify.VerifyResult` when a speaker is
            bound), identical to scoring it whole.
        """
        if self._live is not None:
            return self._live_finish()
        with self._lock:
            if self._final is not None:
                return self._final
            truncated = self._received > self._n
            y = self._samples(0, self._n)
            duration = self._received / self.sr
            if y.size == 0:
                from voiceguard.detect.result import NO_SPEECH

                self._final = StreamState(final=True, verdict=NO_SPEECH, spoof_probability=None, llr=None,
                                          duration_s=duration, speech_s=0.0, speaker=self._speaker,
                                          decision=None if self._speaker is None else NO_SPEECH)
                self._buf = np.zeros(0, np.float32)
                return self._final
            res = self.detector.score_mono(y, self.sr)
            state = StreamState(final=True, verdict=res.verdict, spoof_probability=res.spoof_probability,
                                llr=res.llr, duration_s=duration, speech_s=res.speech_s,
                                segments=[s.to_dict() for s in res.segments], truncated=truncated, result=res)
            if self._speaker is not None:
                v = self._verifier.verify_mono(self._speaker, y, self.sr, spoof=res)
                state.speaker, state.speaker_llr = self._speaker, v.speaker_llr
                state.speaker_similarity, state.decision, state.result = v.speaker_similarity, v.decision, v
            self._final = state
            self._buf = np.zeros(0, np.float32)  # the audio is no longer needed
            return state

    # -- Whisper models: the live stream ------------------------------------------------

    @property
    def live(self) -> Any:
        """The :class:`voiceguard.detect.live.LiveStream` of a Whisper model (None otherwise):
        the service's scheduler ingests and encodes it, then calls :meth:`live_update`."""
        return self._live

    def _live_step(self) -> list[StreamState]:
        """Encode the units now complete; running states with the speaker match added."""
        live = self._live
        blocks = live.ingest()
        live.model.encode(blocks)
        return self.live_update(every=True)

    def live_update(self, *, every: bool = False) -> Any:
        """Score the windows the live stream has ready; the newest running state (or, with
        ``every``, one per window), with the speaker match. ``None``/``[]`` when none."""
        live = self._live
        with self._lock:
            if self._final is not None:
                return [] if every else None
            out = []
            for st in live.update(every=True):
                end = int(round(st.duration_s * self.sr))
                if self._verifier is not None and end >= self._next_speaker:
                    self._next_speaker = end + int(round(self.speaker_update_s * self.sr))
                    ctx = live._samples(max(0, end - int(round(self.speaker_context_s * self.sr))), end)
                    ev = self._verifier.speaker_evidence(self._speaker, ctx, self.sr)
                    self._speaker_llr, self._speaker_sim = ev.speaker_llr, ev.similarity
                self._window = st.window
                self._last_live = self._with_speaker(st)
                out.append(self._last_live)
            return out if every else (out[-1] if out else None)

    def _with_speaker(self, st: StreamState) -> StreamState:
        if self._speaker is not None:
            st.speaker, st.speaker_llr, st.speaker_similarity = self._speaker, self._speaker_llr, self._speaker_sim
            st.decision = PENDING
            if st.verdict != PENDING and self._speaker_llr is not None:
                st.decision = self._verifier.running_decision(self._speaker_llr, st.llr, st.verdict)
        return st

    def _live_finish(self) -> StreamState:
        live = self._live
        with self._lock:
            if self._final is not None:
                return self._final
        live.model.encode(live.close_input())
        return self.live_final()

    def live_final(self) -> StreamState:
        """The final state once the live stream's input is closed and every unit encoded."""
        from voiceguard.detect.result import NO_SPEECH

        live = self._live
        with self._lock:
            if self._final is not None:
                return self._final
            y = live._samples(0, live._n) if self._speaker is not None else None
            state = live.final()
            if self._speaker is not None:
                if state.result is None:
                    state.speaker, state.decision = self._speaker, NO_SPEECH
                else:
                    v = self._verifier.verify_mono(self._speaker, y, self.sr, spoof=state.result)
                    state.speaker, state.speaker_llr = self._speaker, v.speaker_llr
                    state.speaker_similarity, state.decision, state.result = v.speaker_similarity, v.decision, v
            self._final = state
            return state
