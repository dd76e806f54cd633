"""Crash safety of the voiceprint store (benchmarks/store_crash.py; docs/reliability.md).

A handful of kill -9 trials per write (enroll, replace, delete) here; the long run is the
benchmark script's (``--trials 300``). Plus the one crash window random kills rarely hit:
killed after a deletion committed but before its checkpoint, the -wal file still holds the
deleted embedding until the store is opened again.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import store_crash  # noqa: E402


def test_kill9_during_enroll_replace_delete_leaves_old_or_new_and_no_trace():
    s = store_crash.run(trials=9, seed=1, max_delay_s=0.3)
    assert s["failures"] == [], s["failures"]
    for op, r in s["per_op"].items():
        assert r["trials"] == 3 and r["calls_returned"] > 0, (op, r)
    assert sum(r["killed_inside_a_call"] for r in s["per_op"].values()) >= 3


_COMMIT_THEN_DIE = r"""
import os, sys
sys.path.insert(0, sys.argv[2])
from store_crash import clips_for
from voiceguard.store import VoiceprintStore
st = VoiceprintStore(sys.argv[1], key=b"")
st.save("gone", "enc", clips_for("d1", 0))
st.save("kept", "enc", clips_for("keep", 0))
with st._transaction() as conn:  # what delete() does, up to its commit
    conn.execute("DELETE FROM speakers WHERE name = 'gone'")
os._exit(0)  # dies before delete() would checkpoint and truncate the log
"""


def test_log_left_by_a_crash_after_a_delete_is_purged_at_open(tmp_path):
    from voiceguard.store import VoiceprintStore

    db = tmp_path / "vp.db"
    subprocess.run([sys.executable, "-c", _COMMIT_THEN_DIE, str(db), str(ROOT / "benchmarks")], check=True)
    wal = db.with_name(db.name + "-wal")
    assert wal.stat().st_size > 0 and store_crash._traces(store_crash._raw(db), "d1")  # the crash window
    with VoiceprintStore(db, key=b"") as st:
        assert st.names() == ["kept"]
        assert not store_crash._traces(store_crash._raw(db), "d1")
        assert np.array_equal(st.get("kept").clips[0].embedding, store_crash.clips_for("keep", 0)[0].embedding)
