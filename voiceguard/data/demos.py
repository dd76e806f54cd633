"""Import real synthesizer outputs from demo-page repositories into a corpus folder.

Published speech-synthesis systems show their output on demo pages whose audio is
committed to public git repositories. ``../shared/data/spoof-demos`` holds a sample of
them; its ``ALLOWED.tsv`` lists every file of those repositories that may be used
(``repo commit path label system family seconds orig_sr``; other files are systems kept
out on purpose). This module turns those files into a folder in the shared corpus layout
that :func:`voiceguard.data.build.build_corpus` reads (``--real-outputs DIR``):

``DIR/MANIFEST.tsv`` with ``path label system family repo commit source_path orig_sr
orig_format duration_s md5 source speaker``, and ``DIR/<label>/<repo>/<name>.flac`` at
16 kHz mono 16-bit.

Audio is read straight from the repositories' git objects (``git show COMMIT:PATH``), so
a bare mirror is enough; a plain checkout at the right commit works too. Nothing else of
the repositories is read.

Families are normalised to the four that leave-one-family-out holds out:
``tts`` (also speech-to-speech translation), ``vc`` (also pages that mix zero-shot TTS
and VC), ``vocoder`` and ``codec``.

``python -m voiceguard.data import-demos --allowed ALLOWED.tsv --repos DIR --out OUT``
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
import subprocess
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = ["AllowedFile", "read_allowed", "normalise_family", "import_demos", "DEMO_FAMILIES"]

log = logging.getLogger("voiceguard.data.demos")

SR = 16000

#: Families of real synthesizer outputs, as leave-one-family-out uses them.
DEMO_FAMILIES = ("tts", "vc", "vocoder", "codec")

_FAMILY_MAP = {
    "tts": "tts",
    "s2st": "tts",  # speech-to-speech translation: a TTS back end speaks the translation
    "vc": "vc",
    "tts/vc": "vc",  # zero-shot pages that clone a reference voice
    "vocoder": "vocoder",
    "codec": "codec",
    "bonafide": "bonafide",
}

_MANIFEST_COLUMNS = ("path", "label", "system", "family", "repo", "commit", "source_path", "orig_sr",
                     "orig_format", "duration_s", "md5", "source", "speaker")


class DemoImportError(VoiceguardError):
    """A demo repository or one of its files cannot be read."""


@dataclass(frozen=True)
class AllowedFile:
    """One row of ``ALLOWED.tsv``."""

    repo: str
    commit: str
    path: str
    label: str
    system: str
    family: str
    seconds: float


def normalise_family(family: str, label: str) -> str:
    """Map a demo page's family name to one of :data:`DEMO_FAMILIES` (or ``bonafide``)."""
    if label == "bonafide":
        return "bonafide"
    key = family.strip().lower()
    if key not in _FAMILY_MAP:
        raise InvalidParameterError(
            f"unknown synthesizer family {family!r}; expected one of {sorted(_FAMILY_MAP)}"
        )
    return _FAMILY_MAP[key]


def read_allowed(path: str | os.PathLike) -> list[AllowedFile]:
    """Read an ``ALLOWED.tsv`` (``repo commit path label system family seconds orig_sr``)."""
    path = Path(path)
    if not path.is_file():
        raise DemoImportError(f"{path}: no such file (the list of allowed demo files, ALLOWED.tsv)")
    out = []
    with path.open(newline="", encoding="utf-8") as f:
        for i, rec in enumerate(csv.DictReader(f, delimiter="\t")):
            try:
                label = rec["label"].strip()
                out.append(AllowedFile(rec["repo"], rec["commit"], rec["path"], label,
                                       rec["system"], normalise_family(rec["family"], label),
                                       float(rec["seconds"])))
            except (KeyError, ValueError) as exc:
                raise DemoImportError(f"{path}:{i + 2}: malformed row ({exc})") from exc
    return out


def _repo_dir(repos_root: Path, repo: str) -> tuple[Path, bool]:
    """Where a repository lies under ``repos_root``; returns (path, is_git_dir)."""
    owner_name = repo.replace("/", "+")
    # a snapshot is a bare git directory, or a clone whose git directory is repo/.git
    for cand in (repos_root / owner_name / "repo", repos_root / owner_name / "repo" / ".git", repos_root / owner_name):
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand, True
    for cand in (repos_root / repo, repos_root / owner_name):
        if cand.is_dir():
            return cand, False
    raise DemoImportError(
        f"repository {repo} not found under {repos_root} (looked for {owner_name}/repo, "
        f"{owner_name} and {repo}: a git mirror or a checkout at the listed commit)"
    )


def _read_bytes(repos_root: Path, item: AllowedFile) -> bytes:
    where, is_git = _repo_dir(repos_root, item.repo)
    if not is_git:
        return (where / item.path).read_bytes()
    res = subprocess.run(["git", f"--git-dir={where}", "show", f"{item.commit}:{item.path}"],
                         capture_output=True, check=False)
    if res.returncode != 0:
        raise DemoImportError(f"{item.repo}@{item.commit[:12]}:{item.path}: "
                              f"{res.stderr.decode(errors='replace').strip()}")
    return res.stdout


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80] or "x"


def _convert(args: tuple[Path, Path, AllowedFile]) -> dict[str, str] | None:
    import soundfile as sf

    from voiceguard.audio import resample, to_mono

    repos_root, out_dir, item = args
    data = _read_bytes(repos_root, item)
    md5 = hashlib.md5(data).hexdigest()
    try:
        y, sr = sf.read(io.BytesIO(data), dtype="float64", always_2d=False)
        y = to_mono(y)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        log.warning("skipping %s:%s (%s)", item.repo, item.path, exc)
        return None
    if y.size < sr // 4:
        log.warning("skipping %s:%s (shorter than 0.25 s)", item.repo, item.path)
        return None
    y = resample(y, sr, SR)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0.999:  # resampling overshoot; 16-bit FLAC would clip
        y = y * (0.999 / peak)
    stem = _slug(os.path.splitext(item.path)[0])
    rel = Path(item.label) / _slug(item.repo.split("/")[0]) / (
        ("gt" if item.label == "bonafide" else _slug(item.system)) + "/" + f"{stem}-{md5[:8]}.flac")
    dest = out_dir / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".tmp.flac")
    sf.write(str(tmp), y, SR, subtype="PCM_16", format="FLAC")
    os.replace(tmp, dest)
    return {
        "path": rel.as_posix(), "label": item.label, "system": item.system if item.label != "bonafide" else "-",
        "family": item.family, "repo": item.repo, "commit": item.commit, "source_path": item.path,
        "orig_sr": str(sr), "orig_format": os.path.splitext(item.path)[1].lstrip(".").lower(),
        "duration_s": f"{len(y) / SR:.3f}", "md5": md5, "source": "demo:" + item.repo,
        "speaker": "-",
    }


def import_demos(
    allowed: str | os.PathLike | Iterable[AllowedFile],
    repos_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    jobs: int = 1,
) -> Path:
    """Convert every allowed file into a corpus folder; returns the written ``MANIFEST.tsv``.

    Parameters
    ----------
    allowed : path or iterable of AllowedFile
        ``ALLOWED.tsv`` or its rows.
    repos_root : path
        Folder holding the repositories (``owner+name/repo`` git mirrors, or checkouts).
    out_dir : path
        Output folder (created). Files already converted are kept and not read again.
    jobs : int
        Worker processes.
    """
    items = read_allowed(allowed) if isinstance(allowed, (str, os.PathLike)) else list(allowed)
    if jobs < 1:
        raise InvalidParameterError(f"jobs must be >= 1, got {jobs}")
    repos_root, out_dir = Path(repos_root), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for repo in sorted({i.repo for i in items}):
        _repo_dir(repos_root, repo)  # fail early, before any work, on a missing repository
    tasks = [(repos_root, out_dir, it) for it in items]
    if jobs == 1:
        rows = [_convert(t) for t in tasks]
    else:
        with ProcessPoolExecutor(jobs) as pool:
            rows = list(pool.map(_convert, tasks, chunksize=8))
    kept = [r for r in rows if r is not None]
    manifest = out_dir / "MANIFEST.tsv"
    tmp = manifest.with_suffix(".tsv.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=_MANIFEST_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(kept)
    os.replace(tmp, manifest)
    log.info("imported %d of %d files into %s", len(kept), len(items), out_dir)
    return manifest
