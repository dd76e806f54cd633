"""The voiceprint store: permissions, transactions, concurrency, crashes, corruption,
encryption at rest, deletion. Synthetic embeddings only (no model)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from voiceguard.errors import InvalidParameterError, VoiceguardError
from voiceguard.store import (
    ClipRecord,
    SpeakerExistsError,
    UnknownSpeakerError,
    VoiceprintStore,
    VoiceprintStoreError,
    default_db_path,
    parse_key,
)

KEY = "11" * 32


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)


def _clip(seed: int, source: str = "clip.wav", dim: int = 256) -> ClipRecord:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    v /= np.linalg.norm(v)
    return ClipRecord(source, v, v[::-1].copy(), 4.0, 5.0, 16000, "wideband")


def test_create_owner_only_wal(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "vp.db"
    with VoiceprintStore(db) as st:
        st.save("alice", "enc", [_clip(1)])
        mode = st._db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert stat.S_IMODE(db.parent.stat().st_mode) == 0o700


def test_save_get_list_roundtrip(tmp_path: Path) -> None:
    with VoiceprintStore(tmp_path / "vp.db") as st:
        vp = st.save("alice", "enc", [_clip(1, "a.wav"), _clip(2, "b.wav")], quality={"x": 1})
        assert vp.n_clips == 2 and vp.channel == "wideband"
        assert abs(np.linalg.norm(vp.embedding) - 1) < 1e-5
        expect = _clip(1).embedding + _clip(2).embedding
        assert np.allclose(vp.embedding, expect / np.linalg.norm(expect), atol=1e-6)
        got = st.get("alice")
        assert [c.source for c in got.clips] == ["a.wav", "b.wav"]
        assert np.array_equal(got.clips[0].embedding, _clip(1).embedding)
        rows = st.list()
        assert rows[0]["name"] == "alice" and rows[0]["n_clips"] == 2 and rows[0]["quality"]["x"] == 1
        assert "alice" in st and "bob" not in st


def test_unknown_and_invalid_names(tmp_path: Path) -> None:
    with VoiceprintStore(tmp_path / "vp.db") as st:
        with pytest.raises(UnknownSpeakerError, match="store is empty"):
            st.get("nobody")
        st.save("alice", "enc", [_clip(1)])
        with pytest.raises(UnknownSpeakerError, match=r"no speaker named 'bob'.*enrolled: alice"):
            st.get("bob")
        with pytest.raises(UnknownSpeakerError):
            st.delete("bob")
        for bad in ["", "  ", "a\nb", "x" * 129]:
            with pytest.raises(InvalidParameterError, match="invalid speaker name"):
                st.get(bad)


def test_replace_add_and_exists(tmp_path: Path) -> None:
    with VoiceprintStore(tmp_path / "vp.db") as st:
        st.save("alice", "enc", [_clip(1)])
        with pytest.raises(SpeakerExistsError, match="already enrolled"):
            st.save("alice", "enc", [_clip(2)])
        assert st.save("alice", "enc", [_clip(2)], add=True).n_clips == 2
        assert st.save("alice", "enc", [_clip(3)], replace=True).n_clips == 1
        with pytest.raises(SpeakerExistsError, match="encoder"):
            st.save("alice", "other", [_clip(4)], add=True)
        # clip rows of replaced versions are gone
        assert st._db.execute("SELECT COUNT(*) FROM clips").fetchone()[0] == 1


def test_delete_really_deletes_and_reenroll(tmp_path: Path) -> None:
    db = tmp_path / "vp.db"
    marker = np.full(256, 1234.5678, np.float32)
    rec = ClipRecord("m.wav", marker, marker, 4.0, 4.0, 16000, "wideband")
    with VoiceprintStore(db) as st:
        st.save("keep", "enc", [_clip(9)])
        st.save("alice", "enc", [rec])
        st.checkpoint()
        pattern = marker[:8].tobytes()
        assert pattern in db.read_bytes()
        st.delete("alice")
        assert "alice" not in st
        blobs = db.read_bytes() + (db.with_name(db.name + "-wal").read_bytes()
                                   if db.with_name(db.name + "-wal").exists() else b"")
        assert pattern not in blobs
        assert b"m.wav" not in blobs
        assert st._db.execute("SELECT COUNT(*) FROM clips").fetchone()[0] == 1
        st.save("alice", "enc", [_clip(5)])
        assert st.get("alice").n_clips == 1
        assert st.integrity_check() == "ok"


def test_export(tmp_path: Path) -> None:
    with VoiceprintStore(tmp_path / "vp.db") as st:
        st.save("alice", "enc", [_clip(1)])
        st.save("bob", "enc", [_clip(2)])
        data = st.export(["bob"])
    assert [s["name"] for s in data["speakers"]] == ["bob"]
    assert len(data["speakers"][0]["embedding"]) == 256
    assert "biometric" in data["notice"]
    json.dumps(data)


def test_corrupt_and_foreign_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(VoiceprintStoreError, match="not an SQLite file"):
        VoiceprintStore(junk)
    foreign = tmp_path / "foreign.db"
    c = sqlite3.connect(foreign)
    c.execute("CREATE TABLE songs (title TEXT)")
    c.commit()
    c.close()
    with pytest.raises(VoiceprintStoreError, match="another application"):
        VoiceprintStore(foreign)
    # a real store with its pages overwritten
    good = tmp_path / "good.db"
    with VoiceprintStore(good) as st:
        for i in range(20):
            st.save(f"s{i}", "enc", [_clip(i)])
        st.checkpoint()
    data = bytearray(good.read_bytes())
    for off in range(4096, len(data), 1024):
        data[off:off + 200] = os.urandom(200)
    good.write_bytes(bytes(data))
    for ext in ("-wal", "-shm"):
        Path(str(good) + ext).unlink(missing_ok=True)
    with pytest.raises(VoiceprintStoreError, match="corrupt"):
        with VoiceprintStore(good) as st:
            for n in st.names():
                st.get(n)
    # a meta table with another format
    other = tmp_path / "other.db"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
    c.execute("INSERT INTO meta VALUES ('format', 'something-else')")
    c.commit()
    c.close()
    with pytest.raises(VoiceprintStoreError, match="not a voiceguard voiceprint database"):
        VoiceprintStore(other)
    with pytest.raises(VoiceprintStoreError, match="no voiceprint database"):
        VoiceprintStore(tmp_path / "missing.db", create=False)
    with pytest.raises(VoiceprintStoreError, match="folder"):
        VoiceprintStore(tmp_path)


def test_default_path_uses_voiceguard_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / "voiceprints.db"
    with VoiceprintStore() as st:
        assert st.path == tmp_path / "home" / "voiceprints.db"
    monkeypatch.delenv("VOICEGUARD_HOME")
    assert default_db_path().name == "voiceprints.db"


def test_encryption_at_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "enc.db"
    monkeypatch.setenv("VOICEGUARD_DB_KEY", KEY)
    marker = np.full(256, 1234.5678, np.float32)
    with VoiceprintStore(db) as st:
        assert st.encrypted
        st.save("alice", "enc", [ClipRecord("a.wav", marker, marker, 4.0, 4.0, 16000, "wideband")])
        st.checkpoint()
        assert np.allclose(st.get("alice").embedding, marker / np.linalg.norm(marker))
    assert marker[:8].tobytes() not in db.read_bytes()
    monkeypatch.delenv("VOICEGUARD_DB_KEY")
    with pytest.raises(VoiceprintStoreError, match="is encrypted; set VOICEGUARD_DB_KEY"):
        VoiceprintStore(db)
    with pytest.raises(VoiceprintStoreError, match="not the key"):
        VoiceprintStore(db, key="22" * 32)
    # a ciphertext moved to another speaker's row fails authentication
    with VoiceprintStore(db, key=KEY) as st:
        st.save("bob", "enc", [_clip(3)])
        st._db.execute("UPDATE speakers SET embedding = (SELECT embedding FROM speakers WHERE name='alice') "
                       "WHERE name='bob'")
        with pytest.raises(VoiceprintStoreError, match="fails authentication"):
            st.get("bob")
    # a key given for an unencrypted store is refused rather than silently ignored
    plain = tmp_path / "plain.db"
    VoiceprintStore(plain).close()
    with pytest.raises(VoiceprintStoreError, match="without encryption"):
        VoiceprintStore(plain, key=KEY)


def test_parse_key() -> None:
    import base64

    raw = bytes(range(32))
    assert parse_key(raw.hex()) == raw
    assert parse_key(base64.b64encode(raw).decode()) == raw
    assert parse_key(base64.urlsafe_b64encode(raw).decode()) == raw
    for bad in ["abc", "zz" * 32, base64.b64encode(b"short").decode()]:
        with pytest.raises(InvalidParameterError, match="secrets.token_hex"):
            parse_key(bad)


_WRITER = r"""
import sys, numpy as np
from voiceguard.store import VoiceprintStore, ClipRecord
db, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
st = VoiceprintStore(db, key=b"")
i = 0
while n < 0 or i < n:
    clips = []
    for k in range(5):
        v = np.random.default_rng(i * 10 + k).standard_normal(256).astype(np.float32)
        clips.append(ClipRecord(f"c{k}.wav", v, v, 4.0, 4.0, 16000, "wideband"))
    st.save(f"{prefix}{i}", "enc", clips)
    i += 1
    if n < 0:
        print(i, flush=True)
st.close()
"""


def test_concurrent_enrollments(tmp_path: Path) -> None:
    db = tmp_path / "vp.db"
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), f"p{j}_", "8"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for j in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
    with VoiceprintStore(db) as st:
        names = st.names()
        assert len(names) == 32
        assert st.integrity_check() == "ok"
        assert all(st.get(n).n_clips == 5 for n in names)


def test_killed_mid_enrollment_loses_nothing_committed(tmp_path: Path) -> None:
    db = tmp_path / "vp.db"
    p = subprocess.Popen([sys.executable, "-c", _WRITER, str(db), "k", "-1"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    committed = 0
    deadline = time.time() + 60
    assert p.stdout is not None
    while committed < 15 and time.time() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        committed = int(line)
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    err = p.stderr.read() if p.stderr else ""
    for stream in (p.stdout, p.stderr):
        if stream is not None:
            stream.close()
    assert committed >= 15, err
    with VoiceprintStore(db) as st:
        assert st.integrity_check() == "ok"
        names = st.names()
        assert len(names) >= committed  # everything reported as committed is there
        for n in names:  # and nothing is half-written
            assert st.get(n).n_clips == 5
        n_clips = st._db.execute("SELECT COUNT(*) FROM clips").fetchone()[0]
        assert n_clips == 5 * len(names)


def test_errors_are_voiceguard_errors() -> None:
    assert issubclass(VoiceprintStoreError, VoiceguardError)
    assert issubclass(UnknownSpeakerError, LookupError)
    assert str(UnknownSpeakerError("no speaker named 'x'")) == "no speaker named 'x'"
