"""Speaker-disjoint splits, held-out sources and leave-one-out folds.

* :func:`assign_speaker_splits` gives every speaker one split (``train``/``val``/``test``)
  so that the minutes per split approach the requested fractions; a speaker never
  appears in two splits, so a detector cannot pass validation by recognising voices.
* :func:`choose_holdout_sources` picks whole sources (recording domains) to keep out of
  training entirely, for cross-domain validation (split ``xdomain``).
* :func:`leave_one_out` yields folds that hold out one synthesizer (``column='system'``)
  or one synthesizer family (``column='family'``): train on every other spoofing system,
  evaluate on the held-out one against bona fide speech of the evaluation split.
* :func:`check_speaker_disjoint` verifies a manifest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

from voiceguard.data.manifest import BONAFIDE, Manifest, ManifestError
from voiceguard.errors import InvalidParameterError

__all__ = [
    "SPLITS",
    "assign_speaker_splits",
    "choose_holdout_sources",
    "check_speaker_disjoint",
    "leave_one_out",
]

SPLITS = ("train", "val", "test")


def assign_speaker_splits(
    speaker_minutes: Mapping[str, float],
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    names: Sequence[str] = SPLITS,
) -> dict[str, str]:
    """Assign each speaker to one split, balancing minutes.

    Speakers are visited from the longest to the shortest (ties in a seeded random
    order) and each goes to the split furthest below its target share. When there are
    at least as many speakers as splits with a non-zero fraction, every such split gets at
    least one speaker.

    Parameters
    ----------
    speaker_minutes : mapping of str to float
        Minutes of audio per speaker.
    fractions : sequence of float
        Target share of minutes per split (normalised to sum 1).
    seed : int
        Tie-breaking seed.
    names : sequence of str
        Split names, same length as ``fractions``.

    Returns
    -------
    dict of str to str
        Speaker -> split name.
    """
    if len(fractions) != len(names):
        raise InvalidParameterError(f"{len(fractions)} fractions for {len(names)} split names")
    frac = np.asarray(fractions, float)
    if np.any(frac < 0) or frac.sum() <= 0:
        raise InvalidParameterError(f"split fractions must be >= 0 with a positive sum, got {fractions}")
    frac = frac / frac.sum()
    rng = np.random.default_rng(seed)
    speakers = sorted(speaker_minutes)
    order = rng.permutation(len(speakers))
    speakers = [speakers[i] for i in order]
    speakers.sort(key=lambda s: -float(speaker_minutes[s]))
    total = float(sum(speaker_minutes.values())) or 1.0
    have = np.zeros(len(names))
    out: dict[str, str] = {}
    # Seed the non-empty splits with one mid-sized speaker each (largest go to train).
    needy = [i for i in np.argsort(-frac) if frac[i] > 0]
    if len(speakers) >= len(needy):
        for i, spk in zip(needy[1:], reversed(speakers[len(speakers) // 2 :])):
            out[spk] = names[i]
            have[i] += speaker_minutes[spk]
    for spk in speakers:
        if spk in out:
            continue
        deficit = frac * (total) - have
        deficit[frac == 0] = -np.inf
        i = int(np.argmax(deficit))
        out[spk] = names[i]
        have[i] += speaker_minutes[spk]
    return out


def choose_holdout_sources(
    source_minutes: Mapping[str, float],
    fraction: float = 0.1,
    seed: int = 0,
    max_share: float = 0.15,
) -> list[str]:
    """Pick whole sources to hold out for cross-domain validation.

    Sources holding more than ``max_share`` of all minutes are never held out (training
    keeps its big corpora); the others are taken in seeded random order until the held-out
    minutes reach ``fraction`` of the total.

    Parameters
    ----------
    source_minutes : mapping of str to float
        Minutes per source.
    fraction : float
        Target share of minutes to hold out (0 disables).
    seed : int
        Random seed.
    max_share : float
        Largest share one held-out source may have.

    Returns
    -------
    list of str
        Held-out sources, sorted.
    """
    if fraction <= 0 or not source_minutes:
        return []
    total = float(sum(source_minutes.values()))
    rng = np.random.default_rng(seed + 7919)
    cands = sorted(s for s, m in source_minutes.items() if m <= max_share * total)
    cands = [cands[i] for i in rng.permutation(len(cands))]
    chosen, got = [], 0.0
    for s in cands:
        if got >= fraction * total:
            break
        if got + source_minutes[s] > 1.5 * fraction * total:
            continue
        chosen.append(s)
        got += source_minutes[s]
    return sorted(chosen)


def check_speaker_disjoint(manifest: Manifest, splits: Sequence[str] = SPLITS) -> None:
    """Raise if a speaker appears in more than one of ``splits``.

    Parameters
    ----------
    manifest : Manifest
    splits : sequence of str
        Splits that must not share speakers.

    Raises
    ------
    ManifestError
        Naming the first speakers found in several splits.
    """
    where: dict[str, set[str]] = defaultdict(set)
    for r in manifest:
        if r.split in splits:
            where[r.speaker].add(r.split)
    shared = {s: sorted(v) for s, v in where.items() if len(v) > 1}
    if shared:
        some = ", ".join(f"{k} in {v}" for k, v in list(shared.items())[:5])
        raise ManifestError(f"{len(shared)} speakers appear in several splits: {some}")


def leave_one_out(
    manifest: Manifest,
    column: str = "system",
    train_split: str = "train",
    eval_split: str = "val",
) -> Iterator[tuple[str, Manifest, Manifest]]:
    """Leave-one-synthesizer-out (or -family-out) folds.

    For every spoof value ``v`` of ``column`` present in ``eval_split``: the training
    manifest is ``train_split`` without the spoofs whose ``column`` is ``v``; the evaluation
    manifest is the bona fide clips of ``eval_split`` plus its spoofs with ``column == v``.

    Parameters
    ----------
    manifest : Manifest
    column : {'system', 'family'}
        What to hold out.
    train_split, eval_split : str
        Splits to train and evaluate on.

    Yields
    ------
    held_out : str
    train : Manifest
    evaluation : Manifest
    """
    if column not in ("system", "family"):
        raise InvalidParameterError(f"column must be 'system' or 'family', got {column!r}")
    values = sorted({getattr(r, column) for r in manifest if r.is_spoof and r.split == eval_split})
    if not values:
        raise ManifestError(f"no spoofed clips in split {eval_split!r} to hold out")
    for v in values:
        train = [r for r in manifest if r.split == train_split and not (r.is_spoof and getattr(r, column) == v)]
        ev = [
            r
            for r in manifest
            if r.split == eval_split and (r.label == BONAFIDE or getattr(r, column) == v)
        ]
        yield v, Manifest(train, manifest.root), Manifest(ev, manifest.root)
