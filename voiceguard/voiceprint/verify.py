"""Verification: is this recording the enrolled customer, live?

One decoding pass over the recording, in blocks (:mod:`voiceguard.voiceprint.longaudio`,
memory bounded for any length), feeds three checks, each a calibrated LLR, fused by the
AND rule of :mod:`voiceguard.voiceprint.decision`:

* the **voiceprint** (speaker embedding against the enrolled one: ``speaker_llr``);
* the **generic spoof detector** (:class:`voiceguard.detect.Detector`: ``spoof_llr``);
* the **per-speaker clone check** (:mod:`voiceguard.voiceprint.clone_check`:
  ``clone_llr``), when the voiceprint has a clone model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from voiceguard.errors import InvalidParameterError, ModelError
from voiceguard.voiceprint.decision import (
    ACCEPT,
    CLEAN_CLEAN,
    CLEAN_PHONE,
    SpeakerCalibration,
    fuse,
    spoof_llr_threshold,
)
from voiceguard.voiceprint.enroll import MIN_ENROLL_SPEECH_S, _open_store
from voiceguard.voiceprint.longaudio import detector_result

__all__ = ["MIN_VERIFY_SPEECH_S", "CLONE_CHECK_STATES", "SpeakerEvidence", "VerifyResult", "Verifier", "verify",
           "clone_check_state"]

PathLike = Union[str, os.PathLike]

#: Default minimum speech in a verification recording.
MIN_VERIFY_SPEECH_S = 1.0

#: What ``VerifyResult.clone_check`` says about the per-speaker clone check of one recording.
CLONE_CHECK_STATES = ("ran", "telephone", "not_built", "off", "no_speech")


def clone_check_state(enabled: bool, has_model: bool, has_speech: bool, condition: str) -> str:
    """Whether the clone check can run on a recording, before scoring it.

    ``'off'`` when the caller disabled it, ``'not_built'`` when the voiceprint has no clone
    model, ``'no_speech'`` without a speaker score, ``'telephone'`` when the recording is
    compared through the telephone condition (the clone model is wideband: it does not run
    on 8 kHz audio), else ``'ran'`` (one of :data:`CLONE_CHECK_STATES`).
    """
    if not enabled:
        return "off"
    if not has_model:
        return "not_built"
    if not has_speech:
        return "no_speech"
    return "ran" if condition == CLEAN_CLEAN else "telephone"


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass
class SpeakerEvidence:
    """The speaker half of a verification (:meth:`Verifier.speaker_evidence`).

    Attributes
    ----------
    speaker : str
        The enrolled speaker's name.
    speaker_llr, similarity : float or None
        Calibrated LLR (target over non-target) and raw cosine; ``None`` without enough
        speech.
    condition, channel, enrolled_channel : str
        Trial condition used for calibration, detected channel of the test audio, and
        the voiceprint's channel.
    single_voice : bool or None
    voice_consistency : float or None
    duration_s, speech_s : float
    warnings : list of str
    """

    speaker: str
    speaker_llr: float | None
    similarity: float | None
    condition: str
    channel: str
    enrolled_channel: str
    single_voice: bool | None
    voice_consistency: float | None
    duration_s: float
    speech_s: float
    warnings: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    """Outcome of verifying one recording against one enrolled speaker.

    Attributes
    ----------
    file : str or None
    speaker : str
        The claimed (enrolled) speaker.
    decision : str
        ``'accept'``, ``'reject_spoof'``, ``'reject_clone'``, ``'reject_speaker'`` or
        ``'no_speech'``.
    speaker_llr : float or None
        Calibrated LLR, target over non-target (natural log).
    speaker_similarity : float or None
        Raw cosine similarity with the voiceprint.
    speaker_threshold : float
        Threshold on ``speaker_llr``.
    condition : str
        ``'clean-clean'`` or ``'clean-phone'`` (which calibration was used).
    channel : str
        Detected channel of the test recording.
    enrolled_channel : str
    spoof_llr, spoof_probability : float or None
        From the detector (bona fide over spoof; probability of spoof at its prior).
    spoof_verdict : str
        The detector's verdict (``'bonafide'``, ``'spoof'``, ``'no_speech'``).
    spoof_threshold_llr : float
        Spoof LLR at or below which the detector says spoof.
    clone_llr : float or None
        The per-speaker clone check's calibrated LLR, bona fide over clone; ``None`` when
        the voiceprint has no clone model (or no speech).
    clone_threshold : float
        ``reject_clone`` below it.
    clone_check : str
        Whether the per-speaker clone check ran on this recording: ``'ran'``;
        ``'telephone'`` (skipped: 8 kHz telephone audio, which the wideband clone model cannot
        judge; the decision rests on the voiceprint and the detector alone); ``'not_built'``
        (the voiceprint has no clone model); ``'off'`` (disabled by the caller);
        ``'no_speech'`` (nothing to score). See :data:`CLONE_CHECK_STATES`.
    fused_score : float or None
        ``min(speaker_llr - speaker_threshold, spoof_llr - spoof_threshold_llr, clone_llr -
        clone_threshold)``.
    single_voice : bool or None
        ``False`` when the recording seems to hold more than one voice.
    voice_consistency : float or None
        Cosine between the two voice groups' centroids (see
        :func:`voiceguard.voiceprint.embedding.voice_consistency`).
    duration_s, speech_s : float
    sample_rate, channels : int
    encoder, model : str
    warnings : list of str
    """

    file: str | None
    speaker: str
    decision: str
    speaker_llr: float | None
    speaker_similarity: float | None
    speaker_threshold: float
    condition: str
    channel: str
    enrolled_channel: str
    spoof_llr: float | None
    spoof_probability: float | None
    spoof_verdict: str
    spoof_threshold_llr: float
    clone_llr: float | None
    clone_threshold: float
    fused_score: float | None
    single_voice: bool | None
    voice_consistency: float | None
    duration_s: float
    speech_s: float
    sample_rate: int
    channels: int
    encoder: str
    model: str
    warnings: list[str] = field(default_factory=list)
    clone_check: str = "ran"

    @property
    def accepted(self) -> bool:
        """bool : the decision is ``'accept'``."""
        return self.decision == ACCEPT

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, keys in a stable order (``file`` first)."""

        def r(x: float | None, n: int) -> float | None:
            return None if x is None else round(float(x), n)

        return {
            "file": self.file, "speaker": self.speaker, "decision": self.decision,
            "speaker_llr": r(self.speaker_llr, 4), "speaker_similarity": r(self.speaker_similarity, 5),
            "speaker_threshold": self.speaker_threshold, "condition": self.condition, "channel": self.channel,
            "enrolled_channel": self.enrolled_channel, "spoof_llr": r(self.spoof_llr, 4),
            "spoof_probability": r(self.spoof_probability, 6), "spoof_verdict": self.spoof_verdict,
            "spoof_threshold_llr": r(self.spoof_threshold_llr, 4), "clone_llr": r(self.clone_llr, 4),
            "clone_threshold": self.clone_threshold, "fused_score": r(self.fused_score, 4),
            "single_voice": self.single_voice, "voice_consistency": r(self.voice_consistency, 4),
            "duration_s": round(self.duration_s, 3), "speech_s": round(self.speech_s, 2),
            "sample_rate": self.sample_rate, "channels": self.channels, "encoder": self.encoder,
            "model": self.model, "clone_check": self.clone_check, "warnings": list(self.warnings),
        }


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------


class Verifier:
    """Verifies recordings against enrolled voiceprints, with the spoof detector.

    Parameters
    ----------
    store : VoiceprintStore or path, optional
        Default: the default store.
    detector : Detector, path or None
        A loaded :class:`voiceguard.detect.Detector`, a model config path, or ``None`` for
        the shipped detector.
    encoder : SpeakerEncoder, optional
        Default: :func:`voiceguard.voiceprint.encoder.default_encoder`.
    calibration : SpeakerCalibration or path, optional
        Default: the shipped ``speaker_calibration.json``.
    speaker_threshold : float, optional
        Threshold on ``speaker_llr`` (default: the calibration file's, 0.0).
    threshold, prior : float, optional
        The detector's verdict threshold on ``spoof_probability`` and prior P(bona fide)
        (default: the detector config's).
    min_speech_s : float
        Less speech than this gives ``no_speech``.
    threads : int, optional
        torch threads.
    clone_threshold : float
        Threshold on ``clone_llr`` (default 0.0).
    clone_check : bool
        Use the voiceprints' clone models (default True).
    """

    def __init__(self, store: Any = None, *, detector: Any = None, encoder: Any = None,
                 calibration: SpeakerCalibration | PathLike | None = None, speaker_threshold: float | None = None,
                 threshold: float | None = None, prior: float | None = None,
                 min_speech_s: float = MIN_VERIFY_SPEECH_S, threads: int | None = None,
                 clone_threshold: float = 0.0, clone_check: bool = True) -> None:
        from voiceguard.detect.detector import Detector
        from voiceguard.voiceprint.encoder import default_encoder

        self.store, self._own_store = _open_store(store)
        try:
            if isinstance(calibration, SpeakerCalibration):
                self.calibration = calibration
            else:
                self.calibration = SpeakerCalibration.load(calibration)
            self.encoder = encoder if encoder is not None else default_encoder(threads)
            if self.calibration.encoder and self.calibration.encoder != self.encoder.name:
                raise ModelError(f"the speaker calibration is for encoder {self.calibration.encoder}, not "
                                 f"{self.encoder.name}")
            if isinstance(detector, Detector):
                self.detector = detector
                if threshold is not None or prior is not None:
                    raise InvalidParameterError("pass threshold/prior to the Detector you give, not to Verifier")
            else:
                self.detector = Detector(detector, threshold=threshold, prior=prior, threads=threads)
        except BaseException:
            self.close()
            raise
        self.speaker_threshold = float(self.calibration.threshold if speaker_threshold is None else speaker_threshold)
        self.min_speech_s = float(min_speech_s)
        self.spoof_threshold_llr = spoof_llr_threshold(self.detector.threshold, self.detector.prior)
        self.clone_threshold = float(clone_threshold)
        self.use_clone_check = bool(clone_check)
        self._vp_cache: dict[str, Any] = {}
        self._clone_cache: dict[str, list[Any]] = {}

    def close(self) -> None:
        """Close the store if this verifier opened it."""
        if getattr(self, "_own_store", False):
            self.store.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def voiceprint(self, name: str) -> Any:
        """The enrolled voiceprint (cached for this verifier)."""
        vp = self._vp_cache.get(name)
        if vp is None:
            vp = self._vp_cache[name] = self.store.get(name)
            if vp.encoder != self.encoder.name:
                raise ModelError(f"{name!r} was enrolled with encoder {vp.encoder}; this verifier uses "
                                 f"{self.encoder.name}: re-enroll the speaker")
        return vp

    def clone_models(self, name: str) -> list[Any]:
        """The voiceprint's clone-check models, decoded (cached; empty when it has none)."""
        from voiceguard.voiceprint.clone_check import CLONE_CHECK_VERSION, CloneModel

        ms = self._clone_cache.get(name)
        if ms is None:
            ms = [CloneModel.from_bytes(b) for b in self.voiceprint(name).clone_models] if self.use_clone_check else []
            ms = [m for m in ms if m.version == CLONE_CHECK_VERSION]
            self._clone_cache[name] = ms
        return ms

    def forget(self, name: str) -> None:
        """Drop the cached voiceprint of ``name`` (after re-enrollment or deletion)."""
        self._vp_cache.pop(name, None)
        self._clone_cache.pop(name, None)

    def verify(self, name: str, audio: PathLike | np.ndarray, sr: int | None = None) -> VerifyResult:
        """Verify one recording against the speaker enrolled as ``name``.

        The recording is read once, in blocks: memory stays bounded for any length.

        Parameters
        ----------
        name : str
            Enrolled speaker.
        audio : path or np.ndarray
            Any length, rate >= 8 kHz, any channel count.
        sr : int, optional
            Rate of an array.

        Returns
        -------
        VerifyResult

        Raises
        ------
        UnknownSpeakerError
            ``name`` is not enrolled.
        """
        from voiceguard.voiceprint.longaudio import open_blocks

        self.voiceprint(name)  # an unknown speaker fails before any audio is decoded
        blocks = open_blocks(audio, sr, purpose="speaker verification")
        return self._verify_blocks(name, blocks)

    def _verify_blocks(self, name: str, blocks: Any, spoof: Any = None) -> VerifyResult:
        from voiceguard.voiceprint.clone_check import CloneScorer
        from voiceguard.voiceprint.longaudio import tee_blocks

        models = self.clone_models(name)
        clone = CloneScorer(models, blocks.sr) if models else None
        ev = self._evidence(name, tee_blocks(blocks, *([clone.add] if clone is not None else [])), blocks.sr)
        if spoof is None:
            spoof = detector_result(self.detector, blocks)
        clone_llr = None
        warnings = list(ev.warnings)
        state = clone_check_state(self.use_clone_check, clone is not None, ev.speaker_llr is not None, ev.condition)
        if state == "ran":
            raw = clone.score() if clone is not None else None
            clone_llr = None if raw is None else self.calibration.clone_llr(raw)
            state = "ran" if clone_llr is not None else "no_speech"
        elif state == "telephone":
            # the clone model holds wideband enrollment frames and is calibrated on wideband
            # trials: on telephone audio its score measures the channel, not the vocoder
            warnings.append("clone check skipped: telephone audio (the voiceprint's clone model is "
                            "wideband); only the detector guards against clones on this call")
        decision, fused = fuse(ev.speaker_llr, spoof.llr, speaker_threshold=self.speaker_threshold,
                               spoof_threshold=self.spoof_threshold_llr, spoof_verdict=spoof.verdict,
                               clone_llr=clone_llr, clone_threshold=self.clone_threshold)
        return VerifyResult(
            file=blocks.name, speaker=ev.speaker, decision=decision, speaker_llr=ev.speaker_llr,
            speaker_similarity=ev.similarity, speaker_threshold=self.speaker_threshold, condition=ev.condition,
            channel=ev.channel, enrolled_channel=ev.enrolled_channel, spoof_llr=spoof.llr,
            spoof_probability=spoof.spoof_probability, spoof_verdict=spoof.verdict,
            spoof_threshold_llr=self.spoof_threshold_llr, clone_llr=clone_llr, clone_threshold=self.clone_threshold,
            fused_score=fused, single_voice=ev.single_voice,
            voice_consistency=ev.voice_consistency, duration_s=ev.duration_s, speech_s=ev.speech_s,
            sample_rate=blocks.sr, channels=blocks.channels, encoder=self.encoder.name, model=self.detector.name,
            warnings=warnings, clone_check=state)

    def running_decision(self, speaker_llr: float, spoof_llr: float, spoof_verdict: str) -> str:
        """The fused decision of a running (streamed) result: voiceprint and detector only, no
        clone check (:func:`voiceguard.voiceprint.fuse` with this verifier's thresholds)."""
        decision, _ = fuse(speaker_llr, spoof_llr, speaker_threshold=self.speaker_threshold,
                           spoof_threshold=self.spoof_threshold_llr, spoof_verdict=spoof_verdict)
        return decision

    def speaker_evidence(self, name: str, y: np.ndarray, sr: int) -> SpeakerEvidence:
        """The speaker half of a verification: how well ``y`` matches ``name``'s voiceprint.

        Parameters
        ----------
        name : str
            Enrolled speaker.
        y : np.ndarray [shape=(n,)]
            Mono float audio.
        sr : int

        Returns
        -------
        SpeakerEvidence
            ``speaker_llr`` and ``similarity`` are ``None`` with less than ``min_speech_s``
            of speech.
        """
        from voiceguard.voiceprint.longaudio import open_blocks

        return self._evidence(name, open_blocks(y, sr), sr)

    def _evidence(self, name: str, blocks: Any, sr: int) -> SpeakerEvidence:
        from voiceguard.voiceprint.channel import TELEPHONE, WIDEBAND

        vp = self.voiceprint(name)
        e = self.encoder.embed_blocks(blocks, sr, telephone=vp.channel == TELEPHONE)
        warnings: list[str] = []
        if e.channel == TELEPHONE:
            condition, ref, vec = CLEAN_PHONE, vp.telephone_embedding, e.vector
        elif vp.channel == TELEPHONE:
            condition, ref, vec = CLEAN_PHONE, vp.telephone_embedding, e.telephone_vector
        else:
            condition, ref, vec = CLEAN_CLEAN, vp.embedding, e.vector
        if e.single_voice is False:
            warnings.append(f"the recording seems to hold more than one voice (consistency "
                            f"{e.consistency:.2f}); the speaker score describes their mixture")
        speaker_llr = sim = None
        if e.has_speech and e.speech_s >= self.min_speech_s:
            sim, speaker_llr = self.calibration.trial_llr(ref, vec, condition)
            if e.speech_s < MIN_ENROLL_SPEECH_S:
                warnings.append(f"only {e.speech_s:.1f} s of speech: the speaker score is less reliable below "
                                f"{MIN_ENROLL_SPEECH_S:g} s")
        return SpeakerEvidence(speaker=vp.name, speaker_llr=speaker_llr, similarity=sim, condition=condition,
                               channel=e.channel,
                               enrolled_channel=vp.channel if vp.channel == TELEPHONE else WIDEBAND,
                               single_voice=e.single_voice, voice_consistency=e.consistency,
                               duration_s=e.duration_s, speech_s=e.speech_s, warnings=warnings)

    def verify_mono(self, name: str, y: np.ndarray, sr: int, *, file: str | None = None, channels: int = 1,
                    spoof: Any = None) -> VerifyResult:
        """Verify mono float audio (see :meth:`verify`).

        Parameters
        ----------
        name : str
        y : np.ndarray [shape=(n,)]
        sr : int
        file : str, optional
            Reported as the result's ``file``.
        channels : int
            The original channel count, reported.
        spoof : voiceguard.detect.ScoreResult, optional
            The detector's result for this same audio, when the caller already has it
            (it is computed otherwise).

        Returns
        -------
        VerifyResult
        """
        from voiceguard.voiceprint.longaudio import AudioBlocks

        y = np.asarray(y, np.float64)
        if y.ndim != 1:
            raise InvalidParameterError(f"verify_mono expects mono [n] audio, got shape {y.shape}")
        blocks = AudioBlocks(int(sr), int(channels), file, int(y.size), y)
        return self._verify_blocks(name, blocks, spoof=spoof)


def verify(name: str, audio: PathLike | np.ndarray, sr: int | None = None, *, db: PathLike | None = None,
           **kwargs: Any) -> VerifyResult:
    """Verify one recording against an enrolled speaker (one-shot convenience).

    Parameters
    ----------
    name : str
    audio : path or np.ndarray
    sr : int, optional
    db : path, optional
        Voiceprint database (default: the default store).
    **kwargs
        Passed to :class:`Verifier`.

    Returns
    -------
    VerifyResult

    Examples
    --------
    >>> from voiceguard.voiceprint import verify
    >>> r = verify("alice", "call.wav")  # doctest: +SKIP
    >>> r.decision, r.speaker_llr, r.spoof_llr  # doctest: +SKIP
    ('accept', 7.9, 3.1)
    """
    with Verifier(db, **kwargs) as v:
        return v.verify(name, audio, sr)


