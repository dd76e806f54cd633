"""Scores, calibration and the fused decision of spoof-aware speaker verification.

Scores (each a calibrated natural-log likelihood ratio)
-------------------------------------------------------
``speaker_llr``
    ``a_c * s + b_c``: target speaker over another speaker, calibrated per **trial
    condition** ``c`` (``models/speaker_calibration.json``), where ``s`` is the cosine
    between the test embedding and the voiceprint, S-normalised against a cohort of
    speakers when the calibration says so (:meth:`SpeakerCalibration.normalise`):

    * ``clean-clean``: wideband enrollment, wideband test;
    * ``clean-phone``: the test is telephone audio (8 kHz, or band-limited to 4 kHz). It
      is compared with the voiceprint's *telephone embedding* (the enrollment clips passed
      through a simulated telephone channel at enrollment time, see
      :func:`voiceguard.voiceprint.channel.telephone_simulation`), which matches the channels; a
      telephone enrollment tested on wideband audio takes the same route with the test put
      through the simulated channel.
``spoof_llr``
    The generic detector's calibrated LLR, bona fide over spoof, read from whatever
    detector is loaded (its own calibration), never hard-coded here.
``clone_llr``
    The per-speaker clone check's LLR, bona fide over clone
    (:mod:`voiceguard.voiceprint.clone_check`): does the recording carry the fine detail of
    this speaker's genuine enrollment audio rather than that of copies of it? ``None`` when
    the voiceprint has no clone model.

Fused decision (in this order)
------------------------------
1. ``no_speech``: less than ``min_speech_s`` (1 s) of speech, or the detector found none;
2. ``reject_spoof``: the detector's verdict is spoof (``spoof_probability >= threshold``
   at its prior; defaults ``spoof_llr <= 0``);
3. ``reject_clone``: ``clone_llr < clone_threshold`` (default 0.0);
4. ``reject_speaker``: ``speaker_llr < speaker_threshold`` (default 0.0: the Bayes decision
   for equal priors and costs);
5. ``accept`` otherwise.

An AND of calibrated tests: a strong voice match can never outvote a spoof or clone alarm,
which is the property a fraud check needs (a clone *is* a strong voice match). The result
also carries ``fused_score = min(speaker_llr - t_spk, spoof_llr - t_spoof, clone_llr -
t_clone)``, positive exactly when every test passes (up to ties): the single score used for
SASV-EER. Summing raw scores of different scales fails (SASV 2022: 19.3 % SASV-EER vs
1.7 % after calibration); ``docs/voiceprints.md`` compares the AND rule with the sum of
calibrated LLRs.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from voiceguard.detect.result import NO_SPEECH  # the detector's verdict doubles as the decision
from voiceguard.errors import ModelError

__all__ = [
    "ACCEPT",
    "REJECT_SPOOF",
    "REJECT_CLONE",
    "REJECT_SPEAKER",
    "NO_SPEECH",
    "CLEAN_CLEAN",
    "CLEAN_PHONE",
    "SPEAKER_CALIBRATION",
    "SpeakerCalibration",
    "fuse",
    "spoof_llr_threshold",
]

PathLike = Union[str, os.PathLike]

ACCEPT = "accept"
REJECT_SPOOF = "reject_spoof"
REJECT_CLONE = "reject_clone"
REJECT_SPEAKER = "reject_speaker"

CLEAN_CLEAN = "clean-clean"
CLEAN_PHONE = "clean-phone"

#: Calibration file shipped in the ``voiceguard.models`` package.
SPEAKER_CALIBRATION = "speaker_calibration.json"


@dataclass(frozen=True)
class SpeakerCalibration:
    """Per-condition affine maps from (normalised) similarity to speaker LLR.

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
    cohort : dict
        ``{condition: np.ndarray [shape=(n, dim)]}`` unit-norm cohort embeddings for
        S-normalisation of the conditions listed in ``snorm`` (empty: raw cosine).
    snorm : frozenset of str
        Conditions whose score is S-normalised before calibration.
    snorm_top : int
        Number of closest cohort speakers used (adaptive S-norm); 0: all of them.
    clone : Calibration or None
        Affine map from the clone check's mean frame LLR to ``clone_llr``; ``None``: the
        file has none, and the clone check is not used.
    """

    encoder: str
    conditions: dict[str, Any]
    threshold: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    cohort: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    snorm: frozenset = frozenset()
    snorm_top: int = 0
    clone: Any = None

    def clone_llr(self, score: float) -> float | None:
        """Calibrated clone-check LLR (bona fide over clone) of a mean frame LLR."""
        return None if self.clone is None else float(self.clone.llr(float(score)))

    def normalise(self, similarity: float, enrolled: np.ndarray, test: np.ndarray, condition: str) -> float:
        """The score the calibration of ``condition`` expects for a trial.

        Raw cosine, or for S-normalised conditions ``0.5 * ((s - m_e) / d_e + (s - m_t) /
        d_t)`` with ``m_e, d_e`` (``m_t, d_t``) the mean and standard deviation of the
        enrolled (test) embedding's cosines with the cohort (the ``snorm_top`` closest).

        Parameters
        ----------
        similarity : float
            Cosine between ``enrolled`` and ``test``.
        enrolled, test : np.ndarray [shape=(dim,)]
        condition : str

        Returns
        -------
        float
        """
        if condition not in self.snorm:
            return float(similarity)
        c = self.cohort[condition]

        def stats(v: np.ndarray) -> tuple[float, float]:
            v = np.asarray(v, np.float64)
            s = c @ (v / (np.linalg.norm(v) or 1.0))
            if 0 < self.snorm_top < s.size:
                s = np.partition(s, s.size - self.snorm_top)[-self.snorm_top:]
            return float(s.mean()), float(s.std() + 1e-6)

        me, de = stats(enrolled)
        mt, dt = stats(test)
        return 0.5 * ((similarity - me) / de + (similarity - mt) / dt)

    def llr(self, score: float, condition: str) -> float:
        """Speaker LLR of a (normalised, see :meth:`normalise`) score in a condition."""
        cal = self.conditions.get(condition)
        if cal is None:
            raise ModelError(f"the speaker calibration has no {condition!r} condition "
                             f"(has {sorted(self.conditions)})")
        return float(cal.llr(float(score)))

    def trial_llr(self, enrolled: np.ndarray, test: np.ndarray, condition: str) -> tuple[float, float]:
        """Cosine and speaker LLR of one trial.

        Returns
        -------
        similarity : float
        speaker_llr : float
        """
        from voiceguard.voiceprint.embedding import cosine_similarity

        sim = float(cosine_similarity(test, enrolled))
        return sim, self.llr(self.normalise(sim, enrolled, test, condition), condition)

    @classmethod
    def load(cls, path: PathLike | None = None) -> SpeakerCalibration:
        """Read a calibration file (default: the shipped ``speaker_calibration.json``).

        A file may name a cohort (``"cohort": "speaker_cohort.npz"``, beside it) whose
        arrays ``clean-clean`` and ``clean-phone`` hold cohort embeddings; the conditions
        listed in ``"snorm"`` are then S-normalised.

        Raises
        ------
        ModelError
            Missing or malformed file.
        """
        from voiceguard.detect.calibration import Calibration

        try:
            if path is None:
                from voiceguard.detect.model import shipped_files

                res: Any = shipped_files()
                text = (res / SPEAKER_CALIBRATION).read_text(encoding="utf-8")
                where = f"voiceguard/models/{SPEAKER_CALIBRATION}"
            else:
                res = Path(path).parent
                text = Path(path).read_text(encoding="utf-8")
                where = os.fspath(path)
        except (OSError, FileNotFoundError) as exc:
            raise ModelError(f"speaker calibration {path or SPEAKER_CALIBRATION} cannot be read ({exc}); "
                             "reinstall voiceguard or pass a calibration file") from exc
        try:
            d = json.loads(text)
            if d.get("format") != "voiceguard-speaker-calibration":
                raise ValueError(f"format {d.get('format')!r}")
            conds = {k: Calibration.from_dict(v) for k, v in d["conditions"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ModelError(f"{where} is not a valid speaker calibration ({exc})") from exc
        for need in (CLEAN_CLEAN, CLEAN_PHONE):
            if need not in conds:
                raise ModelError(f"{where} lacks the {need!r} condition")
        snorm = frozenset(d.get("snorm", []))
        cohort: dict[str, np.ndarray] = {}
        if snorm:
            name = d.get("cohort")
            try:
                import io

                data = (res / str(name)).read_bytes()
                with np.load(io.BytesIO(data), allow_pickle=False) as z:
                    for c in snorm:
                        m = np.asarray(z[c], np.float64)
                        cohort[c] = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
            except (OSError, KeyError, ValueError, TypeError) as exc:
                raise ModelError(f"{where}: its cohort file {name!r} cannot be read ({exc}); reinstall "
                                 "voiceguard") from exc
        clone = None
        if d.get("clone_check"):
            try:
                clone = Calibration.from_dict(d["clone_check"])
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ModelError(f"{where}: invalid clone_check calibration ({exc})") from exc
        return cls(str(d.get("encoder", "")), conds, float(d.get("threshold", 0.0)),
                   {k: v for k, v in d.items() if k not in ("conditions",)}, cohort, snorm,
                   int(d.get("snorm_top", 0)), clone)


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
         spoof_threshold: float = 0.0, spoof_verdict: str | None = None, clone_llr: float | None = None,
         clone_threshold: float = 0.0) -> tuple[str, float | None]:
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
    clone_llr : float, optional
        The per-speaker clone check's LLR (``None``: no clone model, the test is skipped).
    clone_threshold : float
        Reject as a clone when ``clone_llr < clone_threshold``.

    Returns
    -------
    decision : str
        ``'accept'``, ``'reject_spoof'``, ``'reject_clone'``, ``'reject_speaker'`` or
        ``'no_speech'``.
    fused_score : float or None
        ``min(speaker_llr - speaker_threshold, spoof_llr - spoof_threshold[, clone_llr -
        clone_threshold])``.
    """
    if speaker_llr is None or spoof_llr is None or spoof_verdict == NO_SPEECH:
        return NO_SPEECH, None
    parts = [speaker_llr - speaker_threshold, spoof_llr - spoof_threshold]
    if clone_llr is not None:
        parts.append(clone_llr - clone_threshold)
    fused = min(parts)
    is_spoof = (spoof_verdict == "spoof") if spoof_verdict is not None else spoof_llr <= spoof_threshold
    if is_spoof:
        return REJECT_SPOOF, fused
    if clone_llr is not None and clone_llr < clone_threshold:
        return REJECT_CLONE, fused
    if speaker_llr < speaker_threshold:
        return REJECT_SPEAKER, fused
    return ACCEPT, fused
