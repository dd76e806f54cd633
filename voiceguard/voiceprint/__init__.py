"""Voiceprints: enrollment as a security boundary, spoof-aware verification.

"Is this caller really our customer?" needs three answers, each a calibrated LLR:

* is it the customer's **voice**? (speaker embedding, :mod:`~voiceguard.voiceprint.encoder`);
* is it **live human speech** rather than a synthesis? (the generic spoof detector,
  :mod:`voiceguard.detect`);
* does it carry **this customer's fine detail** rather than a clone's? (the per-speaker
  clone check, :mod:`voiceguard.voiceprint.clone_check`).

Layout:

* :mod:`~voiceguard.voiceprint.encoder`: the GE2E speaker encoder (:mod:`~.embedding`: what
  it returns, similarity, the single-voice check; :mod:`~.channel`: wideband or telephone);
* :mod:`~voiceguard.voiceprint.decision`: calibration of the speaker score and the fused
  decision (AND rule; ``fusion`` elsewhere in voiceguard means score-level fusion of
  detectors, :mod:`voiceguard.detect.backends.fusion`);
* :mod:`~voiceguard.voiceprint.enroll`: enrollment; every clip is scored by the detector
  and a clip called spoof is refused unless deliberately overridden;
* :mod:`~voiceguard.voiceprint.verify`: :class:`Verifier`;
* :mod:`~voiceguard.voiceprint.clone_check`: the per-speaker clone model;
* :mod:`~voiceguard.voiceprint.longaudio`: one block-wise pass over long recordings;
* :mod:`~voiceguard.voiceprint.cli`: ``enroll``, ``verify``, ``speakers``;
* the SQLite store is :mod:`voiceguard.store`, the copy-synthesis vocoders of the clone
  check :mod:`voiceguard.synthesis`.
"""

from voiceguard.voiceprint.decision import (
    ACCEPT,
    CLEAN_CLEAN,
    CLEAN_PHONE,
    NO_SPEECH,
    REJECT_CLONE,
    REJECT_SPEAKER,
    REJECT_SPOOF,
    SPEAKER_CALIBRATION,
    SpeakerCalibration,
    fuse,
    spoof_llr_threshold,
)
from voiceguard.voiceprint.enroll import (
    MIN_ENROLL_SPEECH_S,
    EnrollmentError,
    EnrollmentReport,
    SpoofedEnrollmentError,
    detector_version,
    enroll,
)
from voiceguard.voiceprint.verify import MIN_VERIFY_SPEECH_S, SpeakerEvidence, Verifier, VerifyResult, verify

__all__ = [
    "ACCEPT",
    "REJECT_SPOOF",
    "REJECT_CLONE",
    "REJECT_SPEAKER",
    "NO_SPEECH",
    "CLEAN_CLEAN",
    "CLEAN_PHONE",
    "SPEAKER_CALIBRATION",
    "MIN_ENROLL_SPEECH_S",
    "MIN_VERIFY_SPEECH_S",
    "SpeakerCalibration",
    "EnrollmentError",
    "SpoofedEnrollmentError",
    "EnrollmentReport",
    "VerifyResult",
    "SpeakerEvidence",
    "Verifier",
    "enroll",
    "verify",
    "fuse",
    "spoof_llr_threshold",
    "detector_version",
]
