"""kill -9 the voiceprint store at random points of enroll, replace and delete; check what is left.

Usage::

    nice -n 5 python benchmarks/store_crash.py [--trials 300] [--seed 0] [--out benchmarks/results/store_crash.json]

Each trial starts a fresh database holding a baseline (speaker ``keep``, speaker ``a`` at
version 0), then a child process that performs one kind of write in a tight loop, each
write being one :class:`voiceguard.store.VoiceprintStore` call:

* ``enroll``: a new speaker ``e<k>`` (3 clips) per iteration;
* ``replace``: speaker ``a`` re-enrolled at version ``k`` (``replace=True``; the clip count
  changes with the version, so a mix of two versions shows);
* ``delete``: speaker ``d<k>`` enrolled, then deleted (the delete is the write under test).

The child prints ``b k`` before and ``c k`` after each call returned; the parent sends
SIGKILL after a random delay (uniform over ``--max-delay-s``) and then checks, on the files
exactly as the killed process left them:

1. the database opens, and ``PRAGMA integrity_check`` is ``ok``;
2. ``keep`` is intact; every speaker is complete and equal to one version that was
   written (embeddings of every clip and the clip count match that version exactly); for
   ``replace``, ``a`` is the last returned version or the one in progress; for
   ``enroll``, every returned ``e<k>`` is there and at most the one in progress besides;
3. for ``delete``: no returned-deleted speaker is there, and **no float32 bytes of its
   embeddings occur in the database file or the -wal file** (searched raw, before and
   after reopening the store).

A trial that fails prints why; the exit code is 1 if any did. Results (per operation:
trials, kills that landed inside a call, failures) are written as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 256

_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[4])
from store_crash import clips_for
from voiceguard.store import VoiceprintStore
db, op, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
st = VoiceprintStore(db, key=b"")
print("ready", flush=True)
k = start
while True:
    if op == "delete":
        st.save(f"d{k}", "enc", clips_for(f"d{k}", 0))
    print(f"b {k}", flush=True)
    if op == "enroll":
        st.save(f"e{k}", "enc", clips_for(f"e{k}", 0))
    elif op == "replace":
        st.save("a", "enc", clips_for("a", k), replace=True)
    else:
        st.delete(f"d{k}")
    print(f"c {k}", flush=True)
    k += 1
"""


def clips_for(name: str, version: int):
    """The clips of ``name`` at ``version``: deterministic, 1 + version % 3 of them (3 for e<k>)."""
    from voiceguard.store import ClipRecord

    n = 3 if name[0] in "ed" or name == "keep" else 1 + version % 3
    seed = int.from_bytes(f"{name}/{version}".encode(), "little") % (2 ** 63)
    rng = np.random.default_rng(seed)
    out = []
    for j in range(n):
        emb = rng.standard_normal(DIM).astype(np.float32)
        tel = rng.standard_normal(DIM).astype(np.float32)
        out.append(ClipRecord(f"{name}-{version}-{j}.wav", emb, tel, 4.0, 4.0, 16000, "wideband"))
    return out


def _matches(vp, name: str, version: int) -> bool:
    want = clips_for(name, version)
    return len(vp.clips) == len(want) and all(
        np.array_equal(a.embedding, b.embedding) and np.array_equal(a.telephone_embedding, b.telephone_embedding)
        for a, b in zip(vp.clips, want))


def _raw(db: Path) -> bytes:
    out = b""
    for p in (db, db.with_name(db.name + "-wal")):
        if p.exists():
            out += p.read_bytes()
    return out


def _traces(blob: bytes, name: str) -> bool:
    """Whether any embedding of ``name`` (16-byte prefixes of every vector) is in ``blob``."""
    return any(c.embedding[:4].tobytes() in blob or c.telephone_embedding[:4].tobytes() in blob
               for c in clips_for(name, 0))


def trial(tmp: Path, op: str, rng: random.Random, max_delay_s: float) -> dict:
    """One kill: returns {'op', 'killed_in_call', 'returned', 'error'}."""
    from voiceguard.store import VoiceprintStore

    db = tmp / f"t{rng.randrange(10 ** 9)}.db"
    start = rng.randrange(1, 1000)
    with VoiceprintStore(db, key=b"") as st:
        st.save("keep", "enc", clips_for("keep", 0))
        st.save("a", "enc", clips_for("a", start - 1))
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(db), op, str(start), str(Path(__file__).parent)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    if first != "ready":
        proc.kill()
        raise SystemExit(f"child failed to start: {first} {proc.stderr.read() if proc.stderr else ''}")
    time.sleep(rng.uniform(0, max_delay_s))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    lines = proc.stdout.read().split()
    proc.stdout.close()
    if proc.stderr is not None:
        err = proc.stderr.read()
        proc.stderr.close()
        if err.strip():
            return {"op": op, "killed_in_call": None, "returned": 0, "error": f"child error: {err[-300:]}"}
    marks = list(zip(lines[0::2], map(int, lines[1::2])))
    returned = [k for m, k in marks if m == "c"]
    in_call = bool(marks) and marks[-1][0] == "b"
    last = returned[-1] if returned else start - 1
    error = None
    try:
        raw_before = _raw(db)
        if op == "delete":
            for k in returned:
                if _traces(raw_before, f"d{k}"):
                    raise AssertionError(f"deleted d{k}: its embedding bytes are still in the files")
        with VoiceprintStore(db, key=b"", create=False) as st:
            ok = st.integrity_check()
            if ok != "ok":
                raise AssertionError(f"integrity_check: {ok}")
            names = set(st.names())
            if "keep" not in names or not _matches(st.get("keep"), "keep", 0):
                raise AssertionError("the untouched speaker 'keep' changed")
            if op == "replace":
                vp = st.get("a")
                if not (_matches(vp, "a", last) or (in_call and _matches(vp, "a", last + 1))):
                    raise AssertionError(f"'a' is neither version {last} nor {last + 1} complete")
            if op == "enroll":
                want = {f"e{k}" for k in returned}
                extra = names - want - {"keep", "a"}
                if not want <= names or extra - {f"e{last + 1}"} or (extra and not in_call):
                    raise AssertionError(f"enrolled speakers {sorted(names)} vs returned {sorted(want)}")
                for n in names & (want | extra):
                    if not _matches(st.get(n), n, 0):
                        raise AssertionError(f"{n} is half-written")
            if op == "delete":
                gone = {f"d{k}" for k in returned}
                if names & gone:
                    raise AssertionError(f"deleted speakers are back: {sorted(names & gone)}")
                for n in names - {"keep", "a"}:
                    if not _matches(st.get(n), n, 0):
                        raise AssertionError(f"{n} is half-written")
                present = names - {"keep", "a"}
        if op == "delete":
            # after reopening (which checkpoints a log left by a crash), no deleted speaker, the
            # one whose delete was in flight included when it committed, leaves a trace
            raw_after = _raw(db)
            for k in [*returned, last + 1]:
                if f"d{k}" not in present and _traces(raw_after, f"d{k}"):
                    raise AssertionError(f"deleted d{k}: embedding bytes left after reopening")
    except Exception as exc:  # every failure is reported
        error = f"{type(exc).__name__}: {exc}"
    for suffix in ("", "-wal", "-shm"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            p.unlink()
    return {"op": op, "killed_in_call": in_call, "returned": len(returned), "error": error}


def run(trials: int, seed: int = 0, max_delay_s: float = 0.4, ops=("enroll", "replace", "delete")) -> dict:
    rng = random.Random(seed)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(trials):
            r = trial(Path(tmp), ops[i % len(ops)], rng, max_delay_s)
            results.append(r)
            if r["error"]:
                print(f"trial {i} ({r['op']}): FAILED: {r['error']}", flush=True)
    summary: dict = {"trials": trials, "seed": seed, "max_delay_s": max_delay_s, "per_op": {}}
    for op in ops:
        rs = [r for r in results if r["op"] == op]
        summary["per_op"][op] = {
            "trials": len(rs), "killed_inside_a_call": sum(bool(r["killed_in_call"]) for r in rs),
            "calls_returned": sum(r["returned"] for r in rs), "failures": sum(bool(r["error"]) for r in rs)}
    summary["failures"] = [r for r in results if r["error"]]
    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-delay-s", type=float, default=0.4)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    t0 = time.monotonic()
    s = run(args.trials, args.seed, args.max_delay_s)
    s["wall_s"] = round(time.monotonic() - t0, 1)
    for op, r in s["per_op"].items():
        print(f"{op:>8}: {r['trials']} trials, {r['killed_inside_a_call']} killed inside a call, "
              f"{r['calls_returned']} calls completed before the kill, {r['failures']} failures")
    if args.out:
        Path(args.out).write_text(json.dumps(s, indent=2) + "\n")
    return 1 if s["failures"] else 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
