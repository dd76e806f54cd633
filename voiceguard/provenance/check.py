"""Registering originals and checking copies against them.

:func:`register` fingerprints recordings and stores them, signed, in a
:class:`~voiceguard.provenance.registry.Registry`. :func:`check` answers "which
registered original is this, and what was changed?": exact hashes first, then the
fingerprint look-up, the frame-by-frame alignment of each candidate original
(:mod:`voiceguard.provenance.align`), and the detector's score of every stretch of the
copy that does not come from the original (public :class:`voiceguard.detect.Detector`
API only).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Union

import numpy as np

from voiceguard.errors import VoiceguardError
from voiceguard.provenance.align import align, classify, rank_candidates, support
from voiceguard.provenance.fingerprint import HOP_S, VERSION, Fingerprint, fingerprint, fingerprint_blocks
from voiceguard.provenance.registry import Original, Registry, pcm_sha256

__all__ = ["register", "check", "score_segments", "RegisterResult", "ProvenanceResult", "MIN_MATCH_S", "file_sha256"]

PathLike = Union[str, os.PathLike]

#: Matched audio a copy needs to be called a copy of an original (or half of a shorter copy).
MIN_MATCH_S = 1.0
#: Originals with the most key hits aligned in full.
MAX_CANDIDATES = 5
#: Non-matching copy audio shorter than this is not given to the detector.
MIN_SCORED_S = 0.5

IDENTICAL = "identical"
SAME_AUDIO = "same_audio"
MATCH = "match"
ALTERED = "altered"
NO_MATCH = "no_match"
#: Statuses meaning "this is a registered original, unaltered".
UNALTERED = (IDENTICAL, SAME_AUDIO, MATCH)


def file_sha256(path: PathLike) -> str:
    """SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class _Audio:
    """A recording read once, block by block: its fingerprint and exact hashes."""

    source: Any
    fp: Fingerprint
    pcm_sha256: str
    n_samples: int
    sr: int
    channels: int
    name: str | None
    file_sha256: str | None

    @property
    def duration_s(self) -> float:
        return self.n_samples / float(self.sr)

    def segment(self, start_s: float, end_s: float) -> np.ndarray:
        """Mono samples of ``[start_s, end_s)`` (read from the file again for files)."""
        a, b = int(round(start_s * self.sr)), int(round(end_s * self.sr))
        if isinstance(self.source, np.ndarray):
            return self.source[a:b]
        import soundfile as sf

        from voiceguard.audio import to_mono
        from voiceguard.errors import AudioReadError

        try:
            y, _ = sf.read(str(self.source), start=a, stop=b, dtype="float64", always_2d=False)
        except Exception as exc:  # libsndfile raises several types
            raise AudioReadError(f"{self.source}: cannot decode audio ({exc})") from exc
        return to_mono(y)


def _read(audio: PathLike | np.ndarray, sr: int | None, data: bytes | None, *, query: bool) -> _Audio:
    from voiceguard.audio import open_stream, read_input
    from voiceguard.errors import AudioReadError

    if not isinstance(audio, (str, os.PathLike)):
        y, file_sr, _, channels = read_input(audio, sr, min_sr=4000, purpose="fingerprinting")
        digest = hashlib.sha256(data).hexdigest() if data is not None else None
        return _Audio(y, fingerprint(y, file_sr, query=query), pcm_sha256(y), y.size, file_sr, channels, None, digest)
    stream = open_stream(audio, None, min_sr=4000, purpose="fingerprinting")
    h = hashlib.sha256()
    n = 0

    def hashed() -> Any:
        nonlocal n
        for block in stream.blocks:
            h.update(np.ascontiguousarray(block, dtype="<f8").tobytes())
            n += block.size
            yield block

    fp = fingerprint_blocks(hashed(), stream.sr, query=query)
    try:
        digest = hashlib.sha256(data).hexdigest() if data is not None else file_sha256(audio)
    except OSError as exc:
        raise AudioReadError(f"{audio}: cannot read ({exc.strerror})") from exc
    return _Audio(audio, fp, h.hexdigest(), n, stream.sr, stream.channels, os.fspath(audio), digest)


@dataclass
class RegisterResult:
    """Outcome of registering one recording."""

    file: str | None
    original: Original
    new: bool
    c2pa: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        d = {"file": self.file, "registered": self.new, **self.original.info()}
        if not self.new:
            d["already_registered"] = True
        if self.c2pa is not None:
            d["c2pa"] = self.c2pa
        return d


def register(audio: PathLike | np.ndarray, registry: Registry, *, sr: int | None = None, note: str = "",
             name: str | None = None, data: bytes | None = None) -> RegisterResult:
    """Fingerprint one recording and store it, signed, in the registry.

    Parameters
    ----------
    audio : str, os.PathLike or np.ndarray
        A file, or samples (with ``sr``).
    registry : Registry
    sr : int, optional
        Sample rate of an array.
    note : str
        Free text kept (and signed) with the original.
    name : str, optional
        Label (default: the file's base name, ``'audio'`` for arrays).
    data : bytes, optional
        The file's bytes when ``audio`` was decoded from an upload: its exact hash.

    Returns
    -------
    RegisterResult
        ``new`` is False when the same file (same bytes; for arrays the same samples)
        was registered before.
    """
    rd = _read(audio, sr, data, query=False)
    label = name or (os.path.basename(rd.name) if rd.name else "audio")
    rec, new = registry.add(rd.fp, name=label, pcm_sha256=rd.pcm_sha256, n_samples=rd.n_samples,
                            sample_rate=rd.sr, channels=rd.channels, file_sha256=rd.file_sha256, note=note)
    return RegisterResult(rd.name if name is None else name, rec, new)


@dataclass
class ProvenanceResult:
    """What :func:`check` found.

    Attributes
    ----------
    file : str or None
    status : str
        ``'identical'`` (the same bytes as a registered original), ``'same_audio'`` (the
        same decoded samples), ``'match'`` (a copy of an original, re-encoded or trimmed,
        with nothing inserted, replaced or removed), ``'altered'`` (a copy with changes)
        or ``'no_match'``.
    duration_s : float
    original : Original or None
        The registered original it comes from.
    signature_valid : bool or None
        Whether the original's record verifies under its registry key.
    offset_s : float or None
        Original time minus copy time in the longest matching stretch.
    matched_s : float
        Copy audio that matches the original.
    original_coverage : float or None
        Share of the original's duration present in the copy.
    timeline : list of dict
        Matching and non-matching spans in copy order (see
        :func:`voiceguard.provenance.align.classify`), non-matching ones with the
        detector's score.
    other_matches : list of dict
        Other originals that part of the copy matches.
    c2pa : dict or None
        The C2PA manifest report, if the file carries one.
    """

    file: str | None
    status: str
    duration_s: float
    sample_rate: int
    channels: int
    file_sha256: str | None
    pcm_sha256: str
    original: Original | None = None
    signature_valid: bool | None = None
    offset_s: float | None = None
    matched_s: float = 0.0
    original_coverage: float | None = None
    bit_error_rate: float | None = None
    timeline: list[dict[str, Any]] = field(default_factory=list)
    other_matches: list[dict[str, Any]] = field(default_factory=list)
    c2pa: dict[str, Any] | None = None
    detector: str | None = None
    _audio: Any = field(default=None, repr=False, compare=False)

    @property
    def matched_fraction(self) -> float:
        """float : share of the copy's duration that matches the original."""
        return min(1.0, self.matched_s / self.duration_s) if self.duration_s > 0 else 0.0

    @property
    def segments(self) -> list[dict[str, Any]]:
        """list of dict : the non-matching spans of the timeline."""
        return [s for s in self.timeline if s["kind"] != "match"]

    @property
    def unaltered(self) -> bool:
        """bool : a registered original, or a copy of one with nothing changed."""
        return self.status in UNALTERED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, keys in a stable order (``file`` first)."""
        def r(x: float | None, n: int = 3) -> float | None:
            return None if x is None else round(float(x), n)

        def span(s: dict[str, Any]) -> dict[str, Any]:
            d = {k: (r(v) if isinstance(v, float) and k != "bit_error_rate" else v) for k, v in s.items()}
            if d.get("bit_error_rate") is not None:
                d["bit_error_rate"] = r(d["bit_error_rate"], 4)
            d["duration_s"] = r(s["end_s"] - s["start_s"])
            return d

        orig = None
        if self.original is not None:
            orig = {**self.original.info(), "signature_valid": self.signature_valid}
        timeline = [span(s) for s in self.timeline]
        return {
            "file": self.file, "status": self.status, "duration_s": r(self.duration_s),
            "sample_rate": self.sample_rate, "channels": self.channels, "file_sha256": self.file_sha256,
            "pcm_sha256": self.pcm_sha256, "original": orig, "offset_s": r(self.offset_s),
            "matched_s": r(self.matched_s), "matched_fraction": r(self.matched_fraction, 4),
            "original_coverage": r(self.original_coverage, 4), "bit_error_rate": r(self.bit_error_rate, 4),
            "segments": [s for s in timeline if s["kind"] != "match"], "timeline": timeline,
            "other_matches": self.other_matches, "c2pa": self.c2pa, "fingerprint": VERSION,
            "detector": self.detector,
        }


def _summarise(timeline: list[dict[str, Any]], original: Original) -> tuple[float, float, float | None, float | None]:
    """matched copy seconds, share of the original covered, longest run's offset, mean BER."""
    matches = [s for s in timeline if s["kind"] == "match"]
    matched = sum(s["end_s"] - s["start_s"] for s in matches)
    spans = sorted((s["original_start_s"], s["original_end_s"]) for s in matches)
    covered, reach = 0.0, 0.0
    for a, b in spans:
        a = max(a, reach)
        if b > a:
            covered += b - a
            reach = b
    longest = max(matches, key=lambda s: s["end_s"] - s["start_s"]) if matches else None
    bers = [(s["bit_error_rate"], s["end_s"] - s["start_s"]) for s in matches if s["bit_error_rate"] is not None]
    ber = sum(b * w for b, w in bers) / sum(w for _, w in bers) if bers and sum(w for _, w in bers) > 0 else None
    return (matched, min(1.0, covered / original.duration_s) if original.duration_s else 0.0,
            None if longest is None else longest["offset_s"], ber)


def check(audio: PathLike | np.ndarray, registry: Registry, *, sr: int | None = None, detector: Any = None,
          data: bytes | None = None, name: str | None = None, c2pa: bool | dict[str, Any] = True) -> ProvenanceResult:
    """Find the registered original of a recording and what differs from it.

    Parameters
    ----------
    audio : str, os.PathLike or np.ndarray
        A file, or samples (with ``sr``).
    registry : Registry
    sr : int, optional
        Sample rate of an array.
    detector : Detector, callable or None
        Scores each inserted or replaced span (``score_mono``); a callable without
        ``score_mono`` is called once to make the detector when there is something to
        score. None: no scores.
    data : bytes, optional
        The file's bytes when ``audio`` was decoded from an upload (exact hash, C2PA).
    name : str, optional
        Label for the result (default: the path).
    c2pa : bool or dict
        Read a C2PA manifest from the file when ``c2pa-python`` is installed; a dict
        passes options (``trust_anchors``) to :func:`voiceguard.provenance.c2pa_manifest.read`.

    Returns
    -------
    ProvenanceResult
    """
    rd = _read(audio, sr, data, query=True)
    res = ProvenanceResult(name if name is not None else rd.name, NO_MATCH, rd.duration_s, rd.sr, rd.channels,
                           rd.file_sha256, rd.pcm_sha256)
    res._audio = rd
    if c2pa is not False and (rd.name is not None or data is not None):
        from voiceguard.provenance import c2pa_manifest

        opts = c2pa if isinstance(c2pa, dict) else {}
        res.c2pa = c2pa_manifest.read(data if data is not None else rd.name, **opts)  # type: ignore[arg-type]
    exact = registry.find_exact(file_sha256=rd.file_sha256, pcm_sha256=res.pcm_sha256)
    if exact:
        o = exact[0]
        res.status = IDENTICAL if rd.file_sha256 is not None and o.file_sha256 == rd.file_sha256 else SAME_AUDIO
        res.original, res.signature_valid = o, registry.verify(o)
        res.offset_s, res.matched_s, res.original_coverage, res.bit_error_rate = 0.0, res.duration_s, 1.0, 0.0
        res.timeline = [{"kind": "match", "start_s": 0.0, "end_s": res.duration_s, "original_start_s": 0.0,
                         "original_end_s": o.duration_s, "offset_s": 0.0, "bit_error_rate": 0.0}]
        return res
    q = rd.fp
    candidates = rank_candidates(*registry.lookup(*q.query_keys()), max_candidates=MAX_CANDIDATES)
    found = []
    need = int(0.5 * min(MIN_MATCH_S, 0.5 * res.duration_s) / HOP_S)  # half the frames of a minimal match
    for oid, offs in candidates:
        orig = registry.by_id(oid)
        ofp = orig.fingerprint()
        if support(q, ofp, [o for o, _ in offs]) < need:
            continue
        timeline = classify(align(q, ofp, [o for o, _ in offs]), q, ofp)
        matched, coverage, offset, ber = _summarise(timeline, orig)
        if matched >= min(MIN_MATCH_S, 0.5 * res.duration_s):
            found.append((matched, orig, timeline, coverage, offset, ber))
    if not found:
        return res
    found.sort(key=lambda f: -f[0])
    matched, orig, timeline, coverage, offset, ber = found[0]
    res.original, res.signature_valid = orig, registry.verify(orig)
    res.matched_s, res.timeline, res.original_coverage, res.offset_s, res.bit_error_rate = (
        matched, timeline, coverage, offset, ber)
    res.other_matches = [{"uid": o.uid, "name": o.name, "matched_s": round(m, 3)} for m, o, *_ in found[1:]]
    res.status = ALTERED if res.segments else MATCH
    if detector is not None:
        score_segments(res, detector)
    return res


def score_segments(res: ProvenanceResult, detector: Any) -> str | None:
    """Give every inserted or replaced span of at least :data:`MIN_SCORED_S` to the detector.

    Parameters
    ----------
    res : ProvenanceResult
        Its timeline entries gain a ``detector`` entry (``verdict``, ``spoof_probability``,
        ``llr``; or ``skipped`` / ``error``).
    detector : Detector or callable
        See :func:`check`.

    Returns
    -------
    str or None
        The detector's name, also set as ``res.detector`` (None when nothing was scored).
    """
    det: Any = None
    for seg in res.timeline:
        if seg["kind"] not in ("inserted", "replaced"):
            continue
        if seg["end_s"] - seg["start_s"] < MIN_SCORED_S:
            seg["detector"] = {"skipped": f"shorter than {MIN_SCORED_S:g} s"}
            continue
        if det is None:
            det = detector() if callable(detector) and not hasattr(detector, "score_mono") else detector
        try:
            r = det.score_mono(res._audio.segment(seg["start_s"], seg["end_s"]), res.sample_rate, name=res.file)
        except VoiceguardError as exc:
            seg["detector"] = {"error": str(exc)}
            continue
        seg["detector"] = {"verdict": r.verdict, "spoof_probability": None if r.spoof_probability is None else
                           round(r.spoof_probability, 6), "llr": None if r.llr is None else round(r.llr, 4)}
    if det is not None:
        res.detector = str(getattr(det, "name", type(det).__name__))
    return res.detector


