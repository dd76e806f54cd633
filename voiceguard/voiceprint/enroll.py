"""Enrollment: a security boundary in front of the voiceprint store.

Whatever is enrolled becomes the reference that later calls are accepted against, so a
clone that gets enrolled opens the account to its maker. Every enrollment clip therefore
passes, in one decoding pass (:mod:`voiceguard.voiceprint.longaudio`, memory bounded for
any length):

1. **speech**: at least ``min_speech_s`` (3 s) of speech after speech activity detection
   (not waived by ``force``);
2. **spoof detector**: the clip is scored by the generic detector
   (:class:`voiceguard.detect.Detector`); a clip the detector calls spoof is **refused**
   (:class:`SpoofedEnrollmentError`, naming the clip and its score) unless
   ``allow_spoof`` is given, and then the override is recorded with the clip in the store.
   Every clip's record keeps the detector's name and version (``checked_by``), LLR and
   verdict;
3. **one voice** per clip (:func:`voiceguard.voiceprint.embedding.voice_consistency`) and, with two or
   more clips, **agreement**: each clip's clean-clean speaker LLR against the mean of the
   others reaches the verification threshold (refused unless ``force``); the same audio
   twice (speaker similarity :data:`DUPLICATE_SIMILARITY`) is refused outright.

The voiceprint is the normalised mean of the clip embeddings (and of their simulated
telephone versions). The **per-speaker clone check**
(:mod:`voiceguard.voiceprint.clone_check`) is built from the same genuine audio and
copies of it that voiceguard synthesises at enrollment, and stored beside it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from voiceguard.errors import InvalidParameterError, VoiceguardError
from voiceguard.voiceprint.decision import CLEAN_CLEAN, SpeakerCalibration

__all__ = [
    "MIN_ENROLL_SPEECH_S",
    "EnrollmentError",
    "SpoofedEnrollmentError",
    "EnrollmentReport",
    "enroll",
    "detector_version",
]

PathLike = Union[str, os.PathLike]

#: Default minimum speech per enrollment clip (seconds, after speech activity detection).
MIN_ENROLL_SPEECH_S = 3.0

#: Speaker similarity at which two enrollment clips are the same audio (refused): two takes
#: of one speaker stay well below it; a file and its copy, or the same file named twice, reach 1.
DUPLICATE_SIMILARITY = 0.9999


class EnrollmentError(VoiceguardError, ValueError):
    """Enrollment clips fail the quality checks (too little speech, disagreeing clips,
    several voices, called spoof)."""


class SpoofedEnrollmentError(EnrollmentError):
    """An enrollment clip is called spoof by the detector (override: ``allow_spoof``)."""


def detector_version(detector: Any) -> str:
    """The detector's version string, as stored with every enrollment clip.

    ``detector.version`` (name and a digest of its config and weights) when the detector
    has one; otherwise its name plus the first 12 hex digits of the SHA-256 of its config.
    """
    version = getattr(detector, "version", None)
    if version:
        return str(version)
    import json

    cfg = getattr(detector, "config", {}) or {}
    h = hashlib.sha256(json.dumps(cfg, sort_keys=True, default=str).encode())
    return f"{getattr(detector, 'name', 'detector')}@config-{h.hexdigest()[:12]}"


@dataclass
class EnrollmentReport:
    """What :func:`enroll` stored and what it noticed.

    Attributes
    ----------
    voiceprint : voiceguard.store.Voiceprint
    clips : list of dict
        Per clip: ``source``, ``speech_s``, ``channel``, ``similarity`` (cosine with the
        stored voiceprint, the value ``speakers show`` reports), ``similarity_vs_others``
        and ``llr_vs_others`` (with the mean of the other clips, the agreement check; with
        two or more clips), ``single_voice``, ``spoof_llr``, ``spoof_verdict``, ``flags``.
    warnings : list of str
    db : str
        Database file.
    checked_by : str
        The detector (name and version) that checked the clips.
    clone_check : bool
        A per-speaker clone model was built and stored.
    """

    voiceprint: Any
    clips: list[dict[str, Any]]
    warnings: list[str]
    db: str
    checked_by: str = ""
    clone_check: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (no embeddings)."""
        d = self.voiceprint.info()
        d["clips"] = self.clips
        d["warnings"] = self.warnings
        d["db"] = self.db
        return d


def _open_store(store: Any) -> tuple[Any, bool]:
    from voiceguard.store import VoiceprintStore

    if isinstance(store, VoiceprintStore):
        return store, False
    return VoiceprintStore(store), True


def _detector(detector: Any, threads: int | None) -> Any:
    from voiceguard.detect.detector import Detector

    if detector is None or isinstance(detector, (str, os.PathLike)):
        return Detector(detector, threads=threads)
    return detector


def enroll(
    name: str,
    clips: Sequence[PathLike | tuple[np.ndarray, int]],
    *,
    store: Any = None,
    encoder: Any = None,
    calibration: SpeakerCalibration | None = None,
    detector: Any = None,
    min_speech_s: float = MIN_ENROLL_SPEECH_S,
    replace: bool = False,
    add: bool = False,
    force: bool = False,
    allow_spoof: bool = False,
    clone_check: bool = True,
    threads: int | None = None,
) -> EnrollmentReport:
    """Enroll a speaker from one or more clips (see the module docstring for the checks).

    Parameters
    ----------
    name : str
        Speaker name (1-128 printable characters).
    clips : sequence of path, (array, sr) or (array, sr, name)
        ``name`` (e.g. an upload's file name) is recorded as the clip's source; arrays
        without one are recorded as ``array0``, ``array1``...
        Any length: files are read in blocks.
    store : VoiceprintStore or path, optional
        Default: the default store (:func:`voiceguard.store.default_db_path`).
    encoder : SpeakerEncoder, optional
        Default: :func:`voiceguard.voiceprint.encoder.default_encoder`.
    calibration : SpeakerCalibration, optional
        Default: the shipped one.
    detector : Detector or path, optional
        The spoof detector that checks every clip (default: the shipped one).
    min_speech_s : float
        Minimum speech per clip.
    replace, add : bool
        Re-enroll an existing name from scratch / add clips to it.
    force : bool
        Store despite disagreeing or multi-voice clips (they are still reported).
    allow_spoof : bool
        Enroll clips the detector calls spoof (a deliberate override, recorded per clip).
    clone_check : bool
        Build the per-speaker clone check (:mod:`voiceguard.voiceprint.clone_check`).
    threads : int, optional
        torch threads for a detector loaded here.

    Returns
    -------
    EnrollmentReport

    Raises
    ------
    SpoofedEnrollmentError
        A clip is called spoof and ``allow_spoof`` is not given.
    EnrollmentError
        Other failed checks.
    """
    from voiceguard.store.records import check_name
    from voiceguard.voiceprint import clone_check as cc
    from voiceguard.voiceprint.encoder import default_encoder

    name = check_name(name)
    if not clips:
        raise InvalidParameterError("enrollment needs at least one clip")
    det = _detector(detector, threads)
    run = _Enrollment(encoder if encoder is not None else default_encoder(threads),
                      calibration if calibration is not None else SpeakerCalibration.load(), det,
                      detector_version(det), cc.CloneModelBuilder() if clone_check else None)
    for i, clip in enumerate(clips):
        run.add_clip(i, clip, min_speech_s=min_speech_s, allow_spoof=allow_spoof)
    run.refuse_duplicates()
    if run.spoofed:
        raise SpoofedEnrollmentError("; ".join(run.spoofed) + ". Enrollment refused: enroll genuine recordings of "
                                     "the speaker, or enroll these deliberately with --allow-spoof (Python: "
                                     "allow_spoof=True; recorded in the store)")
    run.check_agreement()
    if len({r.channel for r in run.records}) > 1:
        run.warnings.append("the clips mix wideband and telephone audio; the voiceprint is marked telephone")
    if run.problems and not force:
        raise EnrollmentError("; ".join(run.problems) + ". Check the clips, or use --force (Python: force=True) to "
                              "enroll anyway")
    run.warnings.extend(run.problems)
    model_bytes = None
    if run.builder is not None:
        try:
            model_bytes = run.builder.build().to_bytes()
        except cc.CloneCheckUnavailable as exc:
            run.warnings.append(f"no per-speaker clone check for {name!r}: {exc}")
    st, own = _open_store(store)
    try:
        vp = st.save(name, run.encoder.name, run.records, replace=replace, add=add, clone_model=model_bytes,
                     quality={"flags": {i["source"]: i["flags"] for i in run.infos if i["flags"]},
                              "min_speech_s": min_speech_s})
        # the new clips are the last ones stored; report the similarity the store keeps
        for info, stored in zip(run.infos, vp.clips[len(vp.clips) - len(run.infos):]):
            info["similarity"] = None if stored.similarity is None else round(stored.similarity, 4)
        return EnrollmentReport(vp, run.infos, run.warnings, str(st.path), run.checked_by, model_bytes is not None)
    finally:
        if own:
            st.close()


@dataclass
class _Enrollment:
    """The clips of one enrollment as they are checked, and what the checks found."""

    encoder: Any
    calibration: Any
    detector: Any
    checked_by: str
    builder: Any
    records: list[Any] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    spoofed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add_clip(self, i: int, clip: Any, *, min_speech_s: float, allow_spoof: bool) -> None:
        """Embed, score and check one clip (one pass over its audio)."""
        from voiceguard.store import ClipRecord
        from voiceguard.voiceprint.longaudio import detector_result, open_blocks, tee_blocks

        if isinstance(clip, tuple):
            blocks = open_blocks(clip[0], clip[1], purpose="speaker enrollment")
            given = clip[2] if len(clip) > 2 else None
            src = os.path.basename(str(given)) if given else f"array{i}"
        else:
            blocks = open_blocks(clip, purpose="speaker enrollment")
            src = os.path.basename(os.fspath(clip))
        feeders = [self.builder.feeder(blocks.sr)] if self.builder is not None else []
        e = self.encoder.embed_blocks(tee_blocks(blocks, *feeders), blocks.sr, telephone=True)
        if e.speech_s < min_speech_s or not e.has_speech:
            raise EnrollmentError(f"{src}: only {e.speech_s:.1f} s of speech detected; each enrollment clip needs "
                                  f"at least {min_speech_s:g} s: use a longer or cleaner recording")
        sp = detector_result(self.detector, blocks)
        flags = []
        override = False
        if sp.verdict == "spoof":
            flags.append("spoof")
            msg = (f"{src}: the spoof detector calls this clip synthetic (spoof_probability "
                   f"{sp.spoof_probability:.3f}, LLR {sp.llr:+.2f}, {self.checked_by})")
            if allow_spoof:
                override = True
                self.warnings.append(msg + "; enrolled anyway (allow_spoof), recorded in the store")
            else:
                self.spoofed.append(msg)
        if e.single_voice is False:
            flags.append("multiple_voices")
            self.problems.append(f"{src} seems to hold more than one voice (voice consistency {e.consistency:.2f})")
        self.records.append(ClipRecord(
            src, e.vector, e.telephone_vector if e.telephone_vector is not None else e.vector, e.speech_s,
            e.duration_s, e.sample_rate, e.channel, checked_by=self.checked_by, spoof_llr=sp.llr,
            spoof_verdict=sp.verdict, spoof_override=override))
        self.infos.append({"source": src, "speech_s": round(e.speech_s, 2), "channel": e.channel,
                           "single_voice": e.single_voice, "similarity": None,
                           "spoof_llr": None if sp.llr is None else round(sp.llr, 4),
                           "spoof_probability": None if sp.spoof_probability is None else round(sp.spoof_probability,
                                                                                                 6),
                           "spoof_verdict": sp.verdict, "flags": flags})
        if self.builder is not None:
            self.builder.end_clip()

    def refuse_duplicates(self) -> None:
        """The same audio twice (one file named twice, or copies of it) is not two takes of the
        speaker: it would only make the clips agree with themselves (similarity 1.000)."""
        V = np.stack([r.embedding for r in self.records]).astype(np.float64) if self.records else np.zeros((0, 1))
        V /= np.linalg.norm(V, axis=1, keepdims=True).clip(1e-12)
        same = [(self.records[i].source, self.records[j].source) for i in range(len(V)) for j in range(i + 1, len(V))
                if float(V[i] @ V[j]) >= DUPLICATE_SIMILARITY]
        if same:
            pairs = ", ".join(f"{a} and {b}" for a, b in same)
            raise EnrollmentError(f"{pairs}: the same audio given more than once (speaker similarity 1.000); enroll "
                                  "different recordings of the speaker")

    def check_agreement(self) -> None:
        """With two or more clips: each against the mean of the others (speaker LLR)."""
        if len(self.records) < 2:
            return
        cal = self.calibration
        V = np.stack([r.embedding for r in self.records]).astype(np.float64)
        for i, r in enumerate(self.records):
            others = np.delete(V, i, axis=0).mean(axis=0)
            others /= np.linalg.norm(others) or 1.0
            s = float(V[i] @ others)
            llr = cal.llr(cal.normalise(s, others, V[i], CLEAN_CLEAN), CLEAN_CLEAN)
            self.infos[i]["similarity_vs_others"] = round(s, 4)
            self.infos[i]["llr_vs_others"] = round(llr, 3)
            if llr < cal.threshold:
                self.infos[i]["flags"].append("disagrees")
                self.problems.append(f"{r.source} disagrees with the other clips (similarity {s:.2f}, speaker LLR "
                                     f"{llr:.1f}): they may not all be the same person")
