"""Aligning a copy with a registered original, frame by frame.

Look-up (:func:`rank_candidates`) turns key hits into time offsets: a copy that is the
original, re-encoded or trimmed, has most of its hits at one offset ``original frame -
copy frame``; a copy with audio inserted or removed has one offset per piece.

Alignment (:func:`align`) then labels every frame of the copy with one of those offsets
or as *unmatched*, by Viterbi decoding of a hidden Markov model: in a matched state the
sub-fingerprint bits of the copy and of the original frame at that offset differ with a
small probability (:data:`P_MATCH`), in the unmatched state they agree by chance (1/2);
changing state costs :data:`SWITCH_COST`, so a few noisy frames do not break a match
and a one-frame coincidence does not make one. Frames that are quiet in both recordings
say almost nothing: they lean slightly towards a match (silence matches silence). The
runs of equal labels are the timeline; :func:`classify` names what happened between two
matched runs (inserted, replaced, removed audio) from the copy's gap and the original's
gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voiceguard.provenance.fingerprint import HOP_S, N_BITS, QUIET_DB, Fingerprint, bit_errors

__all__ = ["Run", "rank_candidates", "support", "align", "classify", "P_MATCH", "SWITCH_COST"]

#: Bit error probability of a matching frame in the model (codec copies measure 0.01-0.15).
P_MATCH = 0.15
#: Upper bound of the adapted bit error probability (unrelated audio measures 0.5).
P_MATCH_MAX = 0.3
#: Sub-fingerprints overlap (0.2 s frames every 16 ms): evidence per frame is divided by this.
REDUNDANCY = 6.0
#: Log-likelihood cost of changing state (a run must bring this much evidence).
SWITCH_COST = 12.0
#: Per-frame preference for "matched" where both recordings are quiet (breaks ties).
QUIET_BONUS = 0.02
#: Offsets closer than this (frames) are one offset.
OFFSET_TOLERANCE = 2
#: Unmatched audio at the very start or end of a copy shorter than this is padding.
EDGE_S = 0.3
#: Unmatched audio between two matches shorter than this is the junction of a removal.
JUNCTION_S = 0.25


@dataclass
class Run:
    """Consecutive copy frames with one label.

    Attributes
    ----------
    start, end : int
        Copy frames ``[start, end)``.
    offset : int or None
        Original frame minus copy frame, ``None`` for unmatched audio.
    bit_error_rate : float or None
        Mean bit error rate against the original over the run's informative frames.
    """

    start: int
    end: int
    offset: int | None
    bit_error_rate: float | None = None


def rank_candidates(original_ids: np.ndarray, query_frames: np.ndarray, original_frames: np.ndarray, *,
                    min_hits: int = 4, max_candidates: int = 5,
                    max_offsets: int = 8) -> list[tuple[int, list[tuple[int, int]]]]:
    """The originals that key hits point to, with the offsets the hits support.

    An offset's *hits* are the distinct copy frames whose keys hit the original at that
    offset or one frame beside it (codec delays are not whole frames).

    Parameters
    ----------
    original_ids, query_frames, original_frames : np.ndarray [shape=(n_hits,)], int
        For every key hit: the original's id, the copy's frame and the original's frame.
    min_hits : int
        Hits an offset needs.
    max_candidates : int
        Originals returned (those with the best-supported offsets).
    max_offsets : int
        Offsets returned per original, at least :data:`OFFSET_TOLERANCE` + 1 frames apart.

    Returns
    -------
    list of (original id, [(offset, hits), ...])
        Best first; offsets best first. Offset = original frame - copy frame.
    """
    ids = np.asarray(original_ids, np.int64)
    qf = np.asarray(query_frames, np.int64)
    if ids.size == 0:
        return []
    key = (ids << 32) | (np.asarray(original_frames, np.int64) - qf + (1 << 31))
    order = np.lexsort((qf, key))
    key, qf = key[order], qf[order]
    first = np.r_[True, (np.diff(key) != 0) | (np.diff(qf) != 0)]  # one vote per (offset, copy frame)
    uk, counts = np.unique(key[first], return_counts=True)

    def count_at(k: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(uk, k), 0, uk.size - 1)
        return np.where(uk[i] == k, counts[i], 0)

    votes = counts + count_at(uk - 1) + count_at(uk + 1)
    uid = uk >> 32
    strong = votes >= min_hits
    if not strong.any():
        return []
    uk, uid, votes, counts = uk[strong], uid[strong], votes[strong], counts[strong]
    best: dict[int, int] = {}
    for i, v in zip(uid.tolist(), votes.tolist()):
        if v > best.get(i, 0):
            best[i] = v
    chosen = sorted(best, key=lambda i: -best[i])[:max_candidates]
    out = []
    for oid in chosen:
        m = uid == oid
        offs = (uk[m] & 0xFFFFFFFF) - (1 << 31)
        o_order = np.lexsort((-counts[m], -votes[m]))
        picked: list[tuple[int, int]] = []
        for j in o_order:
            o = int(offs[j])
            if len(picked) >= max_offsets:
                break
            if all(abs(o - p) > OFFSET_TOLERANCE for p, _ in picked):
                picked.append((o, int(votes[m][j])))
        out.append((int(oid), picked))
    return out


def _frame_errors(query: Fingerprint, original: Fingerprint, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Bit errors of every copy frame at ``offset`` (-1 where the original has no frame) and
    whether the frame is informative (loud in the copy or in the original)."""
    n = query.n_frames
    errs = np.full(n, -1, np.int16)
    info = np.zeros(n, bool)
    lo = max(0, -offset)
    hi = min(n, original.n_frames - offset)
    if hi > lo:
        errs[lo:hi] = bit_errors(query.bits[lo:hi], original.bits[lo + offset:hi + offset])
        info[lo:hi] = (query.level_db[lo:hi] > QUIET_DB) | (original.level_db[lo + offset:hi + offset] > QUIET_DB)
    return errs, info


def _refine(query: Fingerprint, original: Fingerprint, offset: int, radius: int = 2) -> int:
    """The offset near ``offset`` where most informative frames match well."""
    best, best_n = offset, -1
    for o in range(offset - radius, offset + radius + 1):
        errs, info = _frame_errors(query, original, o)
        good = int(np.count_nonzero(info & (errs >= 0) & (errs <= 0.25 * N_BITS)))
        if good > best_n:
            best, best_n = o, good
    return best


def _match_probability(query: Fingerprint, original: Fingerprint, offset: int) -> float:
    """The model's bit error probability for matching frames, adapted to the copy's channel:
    :data:`P_MATCH`, or more for a copy whose well-matching seconds (the best quarter of its
    one-second windows at the main offset) already differ more (a far-field recording sent
    through G.711 or Opus measures 0.15-0.25)."""
    errs, info = _frame_errors(query, original, offset)
    ok = info & (errs >= 0)
    win = int(round(1.0 / HOP_S))
    if np.count_nonzero(ok) < win:
        return P_MATCH
    e = np.where(ok, errs, 0).astype(np.float64)
    c = np.convolve(ok.astype(np.float64), np.ones(win), "valid")
    s = np.convolve(e, np.ones(win), "valid")
    ber = s[c >= win / 2] / (N_BITS * c[c >= win / 2])
    if ber.size == 0:
        return P_MATCH
    return float(np.clip(1.5 * np.percentile(ber, 25), P_MATCH, P_MATCH_MAX))


def support(query: Fingerprint, original: Fingerprint, offsets: list[int], *, radius: int = 2,
            max_errors: int = 8) -> int:
    """Copy frames that agree closely with the original at one of ``offsets`` (+-``radius``):
    at most ``max_errors`` of 32 bits differ. A cheap test before :func:`align`: unrelated
    frames agree that closely with probability 0.0035, copies through codecs with
    probability 0.5-1.

    Returns
    -------
    int
        The best offset's count.
    """
    best = 0
    for o in offsets:
        for d in range(-radius, radius + 1):
            errs, info = _frame_errors(query, original, int(o) + d)
            best = max(best, int(np.count_nonzero(info & (errs >= 0) & (errs <= max_errors))))
    return best


def align(query: Fingerprint, original: Fingerprint, offsets: list[int]) -> list[Run]:
    """Label every copy frame with an offset into the original, or as unmatched.

    Parameters
    ----------
    query, original : Fingerprint
    offsets : list of int
        Candidate offsets (original frame - copy frame), e.g. from :func:`rank_candidates`.

    Returns
    -------
    list of Run
        Covering copy frames ``0 .. query.n_frames`` in order.
    """
    n = query.n_frames
    offs: list[int] = []
    for o in offsets:
        r = _refine(query, original, int(o))
        if all(abs(r - p) > OFFSET_TOLERANCE for p in offs):
            offs.append(r)
    k = len(offs)
    p_match = _match_probability(query, original, offs[0]) if offs else P_MATCH
    # emissions, scaled log-likelihood ratios against "unmatched": [n, k + 1]
    emis = np.zeros((n, k + 1))
    errs_all = np.zeros((n, k), np.int16)
    info_all = np.zeros((n, k), bool)
    l_err = np.log(p_match / 0.5) / REDUNDANCY
    l_ok = np.log((1 - p_match) / 0.5) / REDUNDANCY
    for j, o in enumerate(offs):
        errs, info = _frame_errors(query, original, o)
        errs_all[:, j], info_all[:, j] = errs, info
        e = errs.astype(np.float64)
        ll = e * l_err + (N_BITS - e) * l_ok
        ll[~info] = QUIET_BONUS  # silence in both: no evidence, but silence does match silence
        ll[errs < 0] = -1e9  # no original frame there
        emis[:, j + 1] = ll
    # Viterbi (state 0 = unmatched)
    # a jump between two offsets costs as much as leaving a match and entering another
    cost = np.full((k + 1, k + 1), 2 * SWITCH_COST)
    cost[0, :] = cost[:, 0] = SWITCH_COST
    np.fill_diagonal(cost, 0.0)
    back = np.zeros((n, k + 1), np.int16)
    score = emis[0].copy()
    for t in range(1, n):
        cand = score[:, None] - cost  # [from, to]
        prev = np.argmax(cand, axis=0)
        back[t] = prev
        score = cand[prev, np.arange(k + 1)] + emis[t]
    states = np.empty(n, np.int64)
    states[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        states[t - 1] = back[t, states[t]]
    runs: list[Run] = []
    start = 0
    for t in range(1, n + 1):
        if t == n or states[t] != states[start]:
            s = int(states[start])
            off = None if s == 0 else offs[s - 1]
            ber = None
            if s > 0:
                m = info_all[start:t, s - 1] & (errs_all[start:t, s - 1] >= 0)
                if m.any():
                    ber = float(errs_all[start:t, s - 1][m].mean() / N_BITS)
            runs.append(Run(start, t, off, ber))
            start = t
    return runs


def _tidy(runs: list[Run], query: Fingerprint) -> list[Run]:
    """Drop unmatched runs that are not inserted audio.

    * at the copy's very start or end, shorter than :data:`EDGE_S`: codec padding (an MP3
      encoder's delay) and frame smear; the neighbouring match takes them;
    * between two matched runs, shorter than :data:`JUNCTION_S`: the few frames where the
      copy jumps from one offset to another (removed audio); split between the two.
    """
    edge = int(round(EDGE_S / HOP_S))
    junction = int(round(JUNCTION_S / HOP_S))
    runs = list(runs)
    if len(runs) > 1 and runs[0].offset is None and runs[0].end - runs[0].start < edge:
        runs[1] = Run(0, runs[1].end, runs[1].offset, runs[1].bit_error_rate)
        runs.pop(0)
    if len(runs) > 1 and runs[-1].offset is None and runs[-1].end - runs[-1].start < edge:
        runs[-2] = Run(runs[-2].start, runs[-1].end, runs[-2].offset, runs[-2].bit_error_rate)
        runs.pop()
    i = 1
    while i < len(runs) - 1:
        r, a, b = runs[i], runs[i - 1], runs[i + 1]
        if r.offset is None and a.offset is not None and b.offset is not None and r.end - r.start < junction:
            mid = (r.start + r.end) // 2
            runs[i - 1] = Run(a.start, mid, a.offset, a.bit_error_rate)
            runs[i + 1] = Run(mid, b.end, b.offset, b.bit_error_rate)
            runs.pop(i)
            if a.offset == b.offset:  # one run again
                runs[i - 1] = Run(a.start, b.end, a.offset, a.bit_error_rate)
                runs.pop(i)
            continue
        i += 1
    return runs


def classify(runs: list[Run], query: Fingerprint, original: Fingerprint, *,
             tolerance_s: float = 0.15, smear_s: float = 0.3) -> list[dict]:
    """The timeline of a copy in seconds: matched runs and what lies between them.

    Parameters
    ----------
    runs : list of Run
        From :func:`align`.
    query, original : Fingerprint
    tolerance_s : float
        Jumps in the original shorter than this (between two matched runs) count as none.
    smear_s : float
        Unmatched copy audio is ``'replaced'`` when the original lost more than this
        around it, else ``'inserted'`` (the frames straddling a cut match neither side).

    Returns
    -------
    list of dict
        In copy order, each ``{'kind', 'start_s', 'end_s', 'original_start_s',
        'original_end_s'}`` (times in the copy and in the original; empty when nothing
        matches), ``kind`` one of

        * ``'match'``: the copy is the original here (plus ``offset_s``, original time
          minus copy time, and ``bit_error_rate``);
        * ``'inserted'``: copy audio that is not in the original, where the original goes
          on without a gap (the original times are the point of insertion);
        * ``'replaced'``: copy audio in place of original audio;
        * ``'removed'``: original audio missing from the copy (a point in the copy);
        * ``'reordered'``: the copy jumps back in the original and repeats it.
    """
    runs = _tidy(runs, query)
    if all(r.offset is None for r in runs):
        return []
    dur_q, dur_o = query.duration_s, original.duration_s

    def t_q(frame: int) -> float:
        if frame <= 0:
            return 0.0
        if frame >= query.n_frames:
            return dur_q
        return float(np.clip(query.frame_time(frame) - HOP_S / 2, 0.0, dur_q))

    def t_o(t: float) -> float:
        return float(np.clip(t, 0.0, dur_o))

    out: list[dict] = []
    for i, r in enumerate(runs):
        s, e = t_q(r.start), t_q(r.end)
        if r.offset is not None:
            off = r.offset * HOP_S
            out.append({"kind": "match", "start_s": s, "end_s": e, "original_start_s": t_o(s + off),
                        "original_end_s": t_o(e + off), "offset_s": off, "bit_error_rate": r.bit_error_rate})
            next_offset = runs[i + 1].offset if i + 1 < len(runs) else None
            if next_offset is not None:  # two offsets side by side
                jump = (next_offset - r.offset) * HOP_S
                if abs(jump) > tolerance_s:
                    a, b = sorted((t_o(e + off), t_o(e + off + jump)))
                    out.append({"kind": "removed" if jump > 0 else "reordered", "start_s": e, "end_s": e,
                                "original_start_s": a, "original_end_s": b})
            continue
        prev = runs[i - 1] if i > 0 else None
        nxt = runs[i + 1] if i + 1 < len(runs) else None
        o_start = t_o(s + prev.offset * HOP_S) if prev is not None else None  # type: ignore[operator]
        o_end = t_o(e + nxt.offset * HOP_S) if nxt is not None else None  # type: ignore[operator]
        if o_start is None:
            o_start = 0.0 if (o_end or 0.0) > smear_s else o_end
        if o_end is None:
            o_end = dur_o if dur_o - (o_start or 0.0) > smear_s else o_start
        # the frames straddling each cut (0.2 s long) match neither side, so an insertion
        # leaves up to ``smear_s`` of the original apparently missing too
        kind = "replaced" if o_end - o_start > smear_s else "inserted"  # type: ignore[operator]
        if kind == "inserted":
            o_end = o_start
        out.append({"kind": kind, "start_s": s, "end_s": e, "original_start_s": o_start, "original_end_s": o_end})
    return out
