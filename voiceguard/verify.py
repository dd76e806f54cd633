"""Speaker enrollment and spoof-aware speaker verification.

"Is this caller really our customer?" needs two answers: is it the customer's voice
(speaker verification, :mod:`voiceguard.speaker`), and is it a live human voice rather
than a clone or a replayed synthesis (the spoof detector, :mod:`voiceguard.scoring`)?
A voice clone is built to pass the first check, so the decision uses both.

Scores
------
``speaker_similarity``
    Cosine between the test recording's embedding and the enrolled voiceprint.
``speaker_llr``
    ``a_c * similarity + b_c``: natural-log likelihood ratio, target speaker over another
    speaker, calibrated per **trial condition** ``c`` (``models/speaker_calibration.json``):

    * ``clean-clean``: wideband enrollment, wideband test;
    * ``clean-phone``: the test is telephone audio (8 kHz, or band-limited to 4 kHz). It
      is compared with the voiceprint's *telephone embedding* (the enrollment clips passed
      through a simulated telephone channel at enrollment time, see
      :func:`voiceguard.speaker.telephone_simulation`), which matches the channels;
      a telephone enrollment tested on wideband audio takes the same route with the test
      put through the simulated channel.
``spoof_llr``
    The detector's calibrated LLR, bona fide over spoof, read from whatever detector is
    loaded (its own calibration), never hard-coded here.

Fused decision (in this order)
------------------------------
1. ``no_speech``: the recording holds less than ``min_speech_s`` (1 s) of speech, or the
   detector found none;
2. ``reject_spoof``: the detector's verdict is spoof, i.e. ``spoof_probability >=
   threshold`` at its prior (defaults 0.5 and 0.5: ``spoof_llr <= 0``);
3. ``reject_speaker``: ``speaker_llr < speaker_threshold`` (default 0.0: the Bayes
   decision for equal priors and costs);
4. ``accept`` otherwise.

This is an AND of two calibrated tests; the result also carries ``fused_score = min(
speaker_llr - speaker_threshold, spoof_llr - spoof_threshold_llr)``, positive exactly when
both tests pass (up to ties), which is the single score used for SASV-EER. Summing raw
scores of different scales fails (SASV 2022: 19.3 % SASV-EER vs 1.7 % after
calibration); with calibrated LLRs either the AND rule or the LLR sum is sound, and the
AND rule keeps a strong voice match from outvoting a spoof alarm (see
``docs/voiceprints.md`` for the measured comparison).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from voiceguard.errors import InvalidParameterError, ModelError, VoiceguardError
from voiceguard.scoring import NO_SPEECH  # the detector's verdict doubles as the decision

__all__ = [
    "ACCEPT",
    "REJECT_SPOOF",
    "REJECT_SPEAKER",
    "NO_SPEECH",
    "CLEAN_CLEAN",
    "CLEAN_PHONE",
    "SpeakerCalibration",
    "EnrollmentError",
    "EnrollmentReport",
    "VerifyResult",
    "SpeakerEvidence",
    "Verifier",
    "enroll",
    "verify",
    "fuse",
    "spoof_llr_threshold",
]

PathLike = Union[str, os.PathLike]

ACCEPT = "accept"
REJECT_SPOOF = "reject_spoof"
REJECT_SPEAKER = "reject_speaker"

CLEAN_CLEAN = "clean-clean"
CLEAN_PHONE = "clean-phone"

#: Calibration file shipped in the ``voiceguard.models`` package.
SPEAKER_CALIBRATION = "speaker_calibration.json"
#: Default minimum speech per enrollment clip (seconds, after speech activity detection).
MIN_ENROLL_SPEECH_S = 3.0
#: Default minimum speech in a verification recording.
MIN_VERIFY_SPEECH_S = 1.0


class EnrollmentError(VoiceguardError, ValueError):
    """Enrollment clips fail the quality checks (too little speech, disagreeing clips,
    several voices)."""


# --------------------------------------------------------------------------------------
# Calibration and fusion
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpeakerCalibration:
    """Per-condition affine maps from cosine similarity to speaker LLR.

    Attributes
    ----------
    encoder : str
        Encoder the maps were fitted for.
    conditions : dict
        ``{condition: Calibration}`` for ``clean-clean`` and ``clean-phone``.
    threshold : float
        Default decision threshold on the speaker LLR.
    info : dict
        Provenance (trials, speakers) as stored in the file.
    """

    encoder: str
    conditions: dict[str, Any]
    threshold: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def llr(self, similarity: float, condition: str) -> float:
        """Speaker LLR of a cosine similarity in a trial condition."""
        cal = self.conditions.get(condition)
        if cal is None:
            raise ModelError(f"the speaker calibration has no {condition!r} condition "
                             f"(has {sorted(self.conditions)})")
        return float(cal.llr(float(similarity)))

    @classmethod
    def load(cls, path: PathLike | None = None) -> SpeakerCalibration:
        """Read a calibration file (default: the shipped ``speaker_calibration.json``).

        Raises
        ------
        ModelError
            Missing or malformed file.
        """
        from voiceguard.calibration import Calibration

        try:
            if path is None:
                from importlib import resources

                res = resources.files("voiceguard.models") / SPEAKER_CALIBRATION
                text = res.read_text(encoding="utf-8")
                where = f"voiceguard/models/{SPEAKER_CALIBRATION}"
            else:
                text = Path(path).read_text(encoding="utf-8")
                where = os.fspath(path)
        except (OSError, FileNotFoundError) as exc:
            raise ModelError(f"speaker calibration {path or SPEAKER_CALIBRATION} cannot be read ({exc}); "
                             "reinstall voiceguard or pass a calibration file") from None
        try:
            d = json.loads(text)
            if d.get("format") != "voiceguard-speaker-calibration":
                raise ValueError(f"format {d.get('format')!r}")
            conds = {k: Calibration.from_dict(v) for k, v in d["conditions"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{where} is not a valid speaker calibration ({exc})") from None
        for need in (CLEAN_CLEAN, CLEAN_PHONE):
            if need not in conds:
                raise ModelError(f"{where} lacks the {need!r} condition")
        return cls(str(d.get("encoder", "")), conds, float(d.get("threshold", 0.0)),
                   {k: v for k, v in d.items() if k not in ("conditions",)})


def spoof_llr_threshold(threshold: float, prior: float) -> float:
    """The spoof LLR at which the detector's verdict flips.

    The detector says spoof when ``sigmoid(-(llr + logit(prior))) >= threshold``, i.e.
    when ``llr <= -logit(threshold) - logit(prior)``.

    Parameters
    ----------
    threshold : float
        Verdict threshold on ``spoof_probability`` (in (0, 1)).
    prior : float
        Prior probability of bona fide speech.

    Returns
    -------
    float
    """
    t = min(max(threshold, 1e-12), 1 - 1e-12)
    return -math.log(t / (1 - t)) - math.log(prior / (1 - prior))


def fuse(speaker_llr: float | None, spoof_llr: float | None, *, speaker_threshold: float = 0.0,
         spoof_threshold: float = 0.0, spoof_verdict: str | None = None) -> tuple[str, float | None]:
    """The fused decision and score of one trial (see the module docstring).

    Parameters
    ----------
    speaker_llr, spoof_llr : float or None
        Calibrated LLRs (``None``: no speech).
    speaker_threshold : float
        Accept the speaker when ``speaker_llr >= speaker_threshold``.
    spoof_threshold : float
        Spoof LLR at or below which the recording is a spoof (:func:`spoof_llr_threshold`).
    spoof_verdict : str, optional
        The detector's own verdict; when given it decides the spoof test (identical to
        the threshold except for ties).

    Returns
    -------
    decision : str
        ``'accept'``, ``'reject_spoof'``, ``'reject_speaker'`` or ``'no_speech'``.
    fused_score : float or None
        ``min(speaker_llr - speaker_threshold, spoof_llr - spoof_threshold)``.
    """
    if speaker_llr is None or spoof_llr is None or spoof_verdict == NO_SPEECH:
        return NO_SPEECH, None
    fused = min(speaker_llr - speaker_threshold, spoof_llr - spoof_threshold)
    is_spoof = (spoof_verdict == "spoof") if spoof_verdict is not None else spoof_llr <= spoof_threshold
    if is_spoof:
        return REJECT_SPOOF, fused
    if speaker_llr < speaker_threshold:
        return REJECT_SPEAKER, fused
    return ACCEPT, fused


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
        ``'accept'``, ``'reject_spoof'``, ``'reject_speaker'`` or ``'no_speech'``.
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
    fused_score : float or None
        ``min(speaker_llr - speaker_threshold, spoof_llr - spoof_threshold_llr)``.
    single_voice : bool or None
        ``False`` when the recording seems to hold more than one voice.
    voice_consistency : float or None
        Cosine between the two voice groups' centroids (see
        :func:`voiceguard.speaker.voice_consistency`).
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
            "spoof_threshold_llr": r(self.spoof_threshold_llr, 4), "fused_score": r(self.fused_score, 4),
            "single_voice": self.single_voice, "voice_consistency": r(self.voice_consistency, 4),
            "duration_s": round(self.duration_s, 3), "speech_s": round(self.speech_s, 2),
            "sample_rate": self.sample_rate, "channels": self.channels, "encoder": self.encoder,
            "model": self.model, "warnings": list(self.warnings),
        }


@dataclass
class EnrollmentReport:
    """What :func:`enroll` stored and what it noticed.

    Attributes
    ----------
    voiceprint : voiceguard.voiceprints.Voiceprint
    clips : list of dict
        Per clip: ``source``, ``speech_s``, ``channel``, ``similarity`` (cosine with the
        stored voiceprint, the value ``speakers show`` reports), ``similarity_vs_others``
        and ``llr_vs_others`` (with the mean of the other clips, the agreement check; with
        two or more clips), ``single_voice``, ``flags``.
    warnings : list of str
    db : str
        Database file.
    """

    voiceprint: Any
    clips: list[dict[str, Any]]
    warnings: list[str]
    db: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (no embeddings)."""
        d = self.voiceprint.info()
        d["clips"] = self.clips
        d["warnings"] = self.warnings
        d["db"] = self.db
        return d


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------


def _load(audio: PathLike | np.ndarray, sr: int | None) -> tuple[np.ndarray, int, str | None, int]:
    from voiceguard.audio import read_input

    return read_input(audio, sr, min_sr=8000, purpose="speaker verification")


def _open_store(store: Any) -> tuple[Any, bool]:
    from voiceguard.voiceprints import VoiceprintStore

    if isinstance(store, VoiceprintStore):
        return store, False
    return VoiceprintStore(store), True


# --------------------------------------------------------------------------------------
# Enrollment
# --------------------------------------------------------------------------------------


def enroll(
    name: str,
    clips: Sequence[PathLike | tuple[np.ndarray, int]],
    *,
    store: Any = None,
    encoder: Any = None,
    calibration: SpeakerCalibration | None = None,
    min_speech_s: float = MIN_ENROLL_SPEECH_S,
    replace: bool = False,
    add: bool = False,
    force: bool = False,
) -> EnrollmentReport:
    """Enroll a speaker from one or more clips.

    Each clip is embedded (and its simulated telephone version too); the voiceprint is the
    mean of the clip embeddings. Quality checks, each failing with
    :class:`EnrollmentError` unless ``force``:

    * every clip holds at least ``min_speech_s`` of speech after speech activity
      detection (this check is not waived by ``force``);
    * no clip seems to hold two voices (:func:`voiceguard.speaker.voice_consistency`);
    * with two or more clips, each clip agrees with the mean of the others: its clean-clean
      speaker LLR against them is at least the verification threshold (otherwise the clips
      are probably not all of the same person).

    Parameters
    ----------
    name : str
        Speaker name (1-128 printable characters).
    clips : sequence of path, (array, sr) or (array, sr, name)
        ``name`` (e.g. an upload's file name) is recorded as the clip's source; arrays
        without one are recorded as ``array0``, ``array1``...
    store : VoiceprintStore or path, optional
        Default: the default store (:func:`voiceguard.voiceprints.default_db_path`).
    encoder : SpeakerEncoder, optional
        Default: :func:`voiceguard.speaker.default_encoder`.
    calibration : SpeakerCalibration, optional
        Default: the shipped one.
    min_speech_s : float
        Minimum speech per clip.
    replace, add : bool
        Re-enroll an existing name from scratch / add clips to it.
    force : bool
        Store despite disagreeing or multi-voice clips (they are still reported).

    Returns
    -------
    EnrollmentReport
    """
    from voiceguard.speaker import default_encoder
    from voiceguard.voiceprints import ClipRecord, _check_name

    name = _check_name(name)
    if not clips:
        raise InvalidParameterError("enrollment needs at least one clip")
    enc = encoder if encoder is not None else default_encoder()
    cal = calibration if calibration is not None else SpeakerCalibration.load()
    records: list[ClipRecord] = []
    infos: list[dict[str, Any]] = []
    problems: list[str] = []
    warnings: list[str] = []
    for i, clip in enumerate(clips):
        if isinstance(clip, tuple):
            y, sr, src, _ = _load(clip[0], clip[1])
            given = clip[2] if len(clip) > 2 else None
            src = os.path.basename(str(given)) if given else f"array{i}"
        else:
            y, sr, src, _ = _load(clip, None)
            src = os.path.basename(os.fspath(clip))
        e = enc.embed(y, sr, telephone=True)
        if e.speech_s < min_speech_s or not e.has_speech:
            raise EnrollmentError(f"{src}: only {e.speech_s:.1f} s of speech detected; each enrollment clip needs "
                                  f"at least {min_speech_s:g} s: use a longer or cleaner recording")
        flags = []
        if e.single_voice is False:
            flags.append("multiple_voices")
            problems.append(f"{src} seems to hold more than one voice (voice consistency {e.consistency:.2f})")
        records.append(ClipRecord(src, e.vector, e.telephone_vector if e.telephone_vector is not None else e.vector,
                                  e.speech_s, e.duration_s, e.sample_rate, e.channel))
        infos.append({"source": src, "speech_s": round(e.speech_s, 2), "channel": e.channel,
                      "single_voice": e.single_voice, "similarity": None, "flags": flags})
    if len(records) >= 2:
        V = np.stack([r.embedding for r in records]).astype(np.float64)
        for i, r in enumerate(records):
            others = np.delete(V, i, axis=0).mean(axis=0)
            others /= np.linalg.norm(others) or 1.0
            s = float(V[i] @ others)
            llr = cal.llr(s, CLEAN_CLEAN)
            infos[i]["similarity_vs_others"] = round(s, 4)
            infos[i]["llr_vs_others"] = round(llr, 3)
            if llr < cal.threshold:
                infos[i]["flags"].append("disagrees")
                problems.append(f"{r.source} disagrees with the other clips (similarity {s:.2f}, speaker LLR "
                                f"{llr:.1f}): they may not all be the same person")
    chans = {r.channel for r in records}
    if len(chans) > 1:
        warnings.append("the clips mix wideband and telephone audio; the voiceprint is marked telephone")
    if problems and not force:
        raise EnrollmentError("; ".join(problems) + ". Check the clips, or pass force=True (--force) to "
                              "enroll anyway")
    warnings.extend(problems)
    st, own = _open_store(store)
    try:
        vp = st.save(name, enc.name, records, replace=replace, add=add,
                     quality={"flags": {i["source"]: i["flags"] for i in infos if i["flags"]},
                              "min_speech_s": min_speech_s})
        # the new clips are the last ones stored; report the similarity the store keeps
        for info, stored in zip(infos, vp.clips[len(vp.clips) - len(infos):]):
            info["similarity"] = None if stored.similarity is None else round(stored.similarity, 4)
        return EnrollmentReport(vp, infos, warnings, str(st.path))
    finally:
        if own:
            st.close()


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
        A loaded :class:`voiceguard.scoring.Detector`, a model config path, or ``None`` for
        the shipped detector.
    encoder : SpeakerEncoder, optional
        Default: :func:`voiceguard.speaker.default_encoder`.
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
    """

    def __init__(self, store: Any = None, *, detector: Any = None, encoder: Any = None,
                 calibration: SpeakerCalibration | PathLike | None = None, speaker_threshold: float | None = None,
                 threshold: float | None = None, prior: float | None = None,
                 min_speech_s: float = MIN_VERIFY_SPEECH_S, threads: int | None = None) -> None:
        from voiceguard.scoring import Detector
        from voiceguard.speaker import default_encoder

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
        self._vp_cache: dict[str, Any] = {}

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

    def verify(self, name: str, audio: PathLike | np.ndarray, sr: int | None = None) -> VerifyResult:
        """Verify one recording against the speaker enrolled as ``name``.

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
        self.voiceprint(name)  # an unknown speaker fails before any audio is decoded
        y, file_sr, fname, channels = _load(audio, sr)
        return self.verify_mono(name, y, file_sr, file=fname, channels=channels)

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
        from voiceguard.speaker import TELEPHONE, WIDEBAND, cosine_similarity

        vp = self.voiceprint(name)
        e = self.encoder.embed(y, sr, telephone=vp.channel == TELEPHONE)
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
            sim = float(cosine_similarity(vec, ref))
            speaker_llr = self.calibration.llr(sim, condition)
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
        spoof : voiceguard.scoring.ScoreResult, optional
            The detector's result for this same audio, when the caller already has it
            (it is computed otherwise).

        Returns
        -------
        VerifyResult
        """
        ev = self.speaker_evidence(name, y, sr)
        if spoof is None:
            spoof = self.detector.score_mono(y, sr, name=file, channels=channels)
        decision, fused = fuse(ev.speaker_llr, spoof.llr, speaker_threshold=self.speaker_threshold,
                               spoof_threshold=self.spoof_threshold_llr, spoof_verdict=spoof.verdict)
        return VerifyResult(
            file=file, speaker=ev.speaker, decision=decision, speaker_llr=ev.speaker_llr,
            speaker_similarity=ev.similarity, speaker_threshold=self.speaker_threshold, condition=ev.condition,
            channel=ev.channel, enrolled_channel=ev.enrolled_channel, spoof_llr=spoof.llr,
            spoof_probability=spoof.spoof_probability, spoof_verdict=spoof.verdict,
            spoof_threshold_llr=self.spoof_threshold_llr, fused_score=fused, single_voice=ev.single_voice,
            voice_consistency=ev.voice_consistency, duration_s=ev.duration_s, speech_s=ev.speech_s,
            sample_rate=sr, channels=channels, encoder=self.encoder.name, model=self.detector.name,
            warnings=list(ev.warnings))


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
    >>> from voiceguard.verify import verify
    >>> r = verify("alice", "call.wav")  # doctest: +SKIP
    >>> r.decision, r.speaker_llr, r.spoof_llr  # doctest: +SKIP
    ('accept', 7.9, 3.1)
    """
    with Verifier(db, **kwargs) as v:
        return v.verify(name, audio, sr)
