"""Fuzz target ``voiceprints``: the voiceprint export format and foreign database files.

Byte 0 picks the mode:

* **export** (even): the bytes as an export file (``voiceguard speakers export``) through
  :func:`voiceguard.store.read_export`; what it accepts is imported into a fresh
  store and exported again: same speakers, same clips, embeddings within float32
  rounding of the export's 7 digits.
* **database** (odd): the bytes as the database file itself (``--db`` pointing at
  anything): :class:`VoiceprintStore` must open it or refuse it with a
  :class:`VoiceprintStoreError`, and on a store it opened, listing, reading and exporting
  every speaker must work or fail the same way.
"""

from __future__ import annotations

import numpy as np
from _harness import _SCRATCH, expected_errors

from voiceguard import store as vps


def _fresh(name: str):
    db = _SCRATCH / name
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            p.unlink()
    return db


def _export_roundtrip(data: bytes) -> None:
    with expected_errors():
        got = vps.read_export(data)
        for vp in got:
            assert vp.clips and vp.embedding.dtype == np.float32 and np.isfinite(vp.embedding).all()
        if not got:
            return
        with vps.VoiceprintStore(_fresh("import.db"), key=b"") as st:
            st.import_voiceprints(got)
            back = vps.read_export(st.export())
        assert [v.name for v in back] == sorted(v.name for v in got)
        by = {v.name: v for v in got}
        for v in back:
            src = by[v.name]
            assert len(v.clips) == len(src.clips)
            for a, b in zip(v.clips, src.clips):
                np.testing.assert_allclose(a.embedding, b.embedding, rtol=1e-6, atol=1e-6)


def _open_db(data: bytes) -> None:
    db = _fresh("fuzzed.db")
    db.write_bytes(data)
    with expected_errors():
        with vps.VoiceprintStore(db, key=b"", create=False, timeout=0.5) as st:
            with expected_errors():
                for row in st.list():
                    with expected_errors():
                        st.get(row["name"])
            with expected_errors():
                st.export()


def one_input(data: bytes) -> None:
    if not data:
        return
    if data[0] % 2 == 0:
        _export_roundtrip(data[1:])
    else:
        _open_db(data[1:])

