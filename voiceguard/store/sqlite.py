"""The voiceprint store itself: :class:`VoiceprintStore` over one SQLite file (see :mod:`voiceguard.store`)."""

from __future__ import annotations

import base64
import builtins
import contextlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Union

import numpy as np

from voiceguard.errors import InvalidParameterError
from voiceguard.store.errors import SpeakerExistsError, UnknownSpeakerError, VoiceprintStoreError
from voiceguard.store.keys import _KEY_CHECK, DB_NAME, KEY_ENV, default_db_path, parse_key
from voiceguard.store.records import ClipRecord, Voiceprint, check_name, mean_unit, unit_vector, utc_now
from voiceguard.store.schema import _SCHEMA, _SQLITE_MAGIC, FORMAT, SCHEMA_VERSION

__all__ = ["VoiceprintStore"]

PathLike = Union[str, os.PathLike]


#: Schema 1 -> 2: the detector's record per clip, the clone-check models.
_UPGRADE_1_2 = [
    "ALTER TABLE clips ADD COLUMN checked_by TEXT",
    "ALTER TABLE clips ADD COLUMN spoof_llr REAL",
    "ALTER TABLE clips ADD COLUMN spoof_verdict TEXT",
    "ALTER TABLE clips ADD COLUMN spoof_override INTEGER NOT NULL DEFAULT 0",
    "CREATE TABLE IF NOT EXISTS clone_models (id INTEGER PRIMARY KEY, speaker_id INTEGER NOT NULL "
    "REFERENCES speakers(id) ON DELETE CASCADE, position INTEGER NOT NULL, model BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS clone_models_speaker ON clone_models(speaker_id)",
    "UPDATE meta SET value = '2' WHERE key = 'schema'",
]


def _db_errors(method: Any) -> Any:
    """Report SQLite failures of a store method (a corrupt or foreign file, a lock held too
    long) as VoiceprintStoreError naming the file, not as sqlite3 tracebacks."""
    import functools

    @functools.wraps(method)
    def wrapper(self: VoiceprintStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        # a corrupt text cell fails to decode, or holds JSON that does not parse (a quality record)
        except (sqlite3.Error, UnicodeDecodeError, json.JSONDecodeError) as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise VoiceprintStoreError(f"{self.path} is locked by another process ({exc}); retry") from exc
            raise VoiceprintStoreError(f"{self.path} is corrupt or unreadable ({exc}); restore it from a backup "
                                       "or move it away and enroll again") from exc

    return wrapper


class VoiceprintStore:
    """Enrolled voiceprints in one SQLite file (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike, optional
        Database file (default: :func:`default_db_path`). Created with its folder when
        missing, unless ``create`` is False.
    key : bytes or str, optional
        Encryption key (32 bytes, or its hex/base64 text). Default: the value of
        ``VOICEGUARD_DB_KEY`` if set. Pass ``key=b""`` to ignore the environment.
    create : bool
        Create a missing database. With False a missing file raises
        :class:`VoiceprintStoreError`.
    timeout : float
        Seconds to wait for another process's write lock.

    Raises
    ------
    VoiceprintStoreError
        The file is not a SQLite database, is a SQLite database of something else, is
        corrupt, is encrypted and no/wrong key was given, or cannot be created.
    """

    def __init__(self, path: PathLike | None = None, *, key: bytes | str | None = None, create: bool = True,
                 timeout: float = 30.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        if key is None:
            env = os.environ.get(KEY_ENV)
            key = env if env else None
        self._key = parse_key(key) if key else None
        self._conn: sqlite3.Connection | None = None
        self._open(create, timeout)

    # -- opening ------------------------------------------------------------------------

    def _open(self, create: bool, timeout: float) -> None:
        p = self.path
        if p.is_dir():
            raise VoiceprintStoreError(f"{p} is a folder; pass the database file, e.g. {p / DB_NAME}")
        if not p.exists():
            if not create:
                raise VoiceprintStoreError(f"no voiceprint database at {p}; enroll a speaker first "
                                           "(voiceguard enroll NAME clip.wav) or pass --db")
            try:
                p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                os.close(fd)
            except FileExistsError:
                pass  # another process created it first
            except OSError as exc:
                raise VoiceprintStoreError(f"cannot create the voiceprint database {p} ({exc.strerror}); "
                                           "pass a writable location with --db or VOICEGUARD_HOME") from exc
        try:
            with open(p, "rb") as fh:
                head = fh.read(16)
        except OSError as exc:
            raise VoiceprintStoreError(f"cannot read {p} ({exc.strerror})") from exc
        if head and head != _SQLITE_MAGIC:
            raise VoiceprintStoreError(
                f"{p} is not a voiceguard voiceprint database (not an SQLite file); pass another "
                "--db or move that file away")
        try:
            conn = sqlite3.connect(str(p), timeout=timeout, isolation_level=None)
        except sqlite3.Error as exc:
            raise VoiceprintStoreError(f"cannot open {p} ({exc})") from exc
        self._conn = conn
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA secure_delete = ON")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "meta" not in tables:
                raise VoiceprintStoreError(
                    f"{p} is an SQLite database of another application (tables: "
                    f"{', '.join(sorted(tables)[:5])}); pass another --db")
            mode = self._set_wal(conn)
            if str(mode).lower() != "wal":
                raise VoiceprintStoreError(f"{p}: cannot switch the database to WAL mode (got {mode})")
            conn.execute("PRAGMA synchronous = FULL")
            if not tables:
                self._initialise()
            self._check_meta()
            # the voiceprint tables only: other tables in this file (the provenance registry's
            # index) can be large, and every open would read them all
            own = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                   if t in ("meta", "speakers", "clips", "clone_models")]
            ok = next((r for r in (conn.execute(f"PRAGMA quick_check({t})").fetchone()[0] for t in own)
                       if r != "ok"), "ok")
            if ok != "ok":
                raise VoiceprintStoreError(f"{p} is corrupt ({ok}); restore it from a backup or "
                                           "move it away and enroll again")
            self._purge_log(timeout)
        except (sqlite3.DatabaseError, UnicodeDecodeError, KeyError, ValueError, TypeError) as exc:
            # also a damaged meta table (a key missing, a schema that is not a number...)
            self.close()
            raise VoiceprintStoreError(
                f"{p} is corrupt or not a voiceprint database ({exc}); restore it from a backup or "
                "move it away and enroll again") from exc
        except VoiceprintStoreError:
            self.close()
            raise

    def _purge_log(self, timeout: float) -> None:
        """Checkpoint and truncate a write-ahead log left behind, without waiting for anyone.

        A process killed between a deletion's commit and its checkpoint (or in the middle of
        any write) leaves old page images in the -wal file; the next open removes them when
        no other connection is using the store (otherwise that connection's next deletion
        does)."""
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            conn = self._db
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.OperationalError:
                pass  # busy: another connection holds the log
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def _set_wal(self, conn: sqlite3.Connection) -> str:
        import time

        for attempt in range(50):  # a concurrent first open may hold the lock briefly
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(0.05 * (1 + attempt % 5))
        raise VoiceprintStoreError(f"{self.path} stays locked by another process; retry later")

    def _initialise(self) -> None:
        conn = self._db
        with self._transaction():
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    conn.execute(stmt)
            have = conn.execute("SELECT COUNT(*) FROM meta").fetchone()[0]
            if have == 0:
                store_id = uuid.uuid4().hex
                rows = [("format", FORMAT), ("schema", str(SCHEMA_VERSION)), ("store_id", store_id),
                        ("created", utc_now()), ("encryption", "aes-256-gcm" if self._key else "none")]
                if self._key:
                    rows.append(("key_check", base64.b64encode(
                        self._encrypt_raw(_KEY_CHECK, f"{store_id}|key-check")).decode("ascii")))
                conn.executemany("INSERT INTO meta(key, value) VALUES (?, ?)", rows)

    def _check_meta(self) -> None:
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != FORMAT:
            raise VoiceprintStoreError(f"{self.path} is not a voiceguard voiceprint database "
                                       f"(format {meta.get('format')!r}); pass another --db")
        if int(meta.get("schema", "0")) > SCHEMA_VERSION:
            raise VoiceprintStoreError(f"{self.path} was written by a newer voiceguard (schema "
                                       f"{meta.get('schema')}); upgrade voiceguard")
        self.store_id = meta["store_id"]
        self.encrypted = meta.get("encryption") == "aes-256-gcm"
        if self.encrypted:
            if self._key is None:
                raise VoiceprintStoreError(f"{self.path} is encrypted; set {KEY_ENV} to its key")
            try:
                ok = self._decrypt_raw(base64.b64decode(meta["key_check"]), f"{self.store_id}|key-check")
            except VoiceprintStoreError:
                ok = b""
            if ok != _KEY_CHECK:
                raise VoiceprintStoreError(f"{KEY_ENV} is not the key of the encrypted database {self.path}")
        elif self._key is not None:
            raise VoiceprintStoreError(
                f"{self.path} was created without encryption but {KEY_ENV} is set; unset it, or "
                "export the speakers, delete the file and enroll again with the key set")
        if int(meta.get("schema", "0")) < SCHEMA_VERSION:
            self._upgrade(int(meta.get("schema", "0")))

    def _upgrade(self, schema: int) -> None:
        if schema != 1:
            raise VoiceprintStoreError(f"{self.path} has an unknown schema {schema}; restore it from a backup")
        with self._transaction() as conn:
            have = {r[1] for r in conn.execute("PRAGMA table_info(clips)")}
            for stmt in _UPGRADE_1_2:
                col = stmt.split("ADD COLUMN ")[1].split()[0] if "ADD COLUMN" in stmt else None
                if col is None or col not in have:
                    conn.execute(stmt)

    # -- plumbing -----------------------------------------------------------------------

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise VoiceprintStoreError("the voiceprint store is closed")
        return self._conn

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._db
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise VoiceprintStoreError(f"{self.path} is locked by another process ({exc}); retry") from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection, for other tables kept in this file (provenance registry)."""
        return self._db

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction (rolled back on error), for those tables."""
        return self._transaction()

    def _encrypt_raw(self, data: bytes, aad: str) -> bytes:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        assert self._key is not None
        nonce = os.urandom(12)
        return nonce + AESGCM(self._key).encrypt(nonce, data, aad.encode("utf-8"))

    def _decrypt_raw(self, blob: bytes, aad: str) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        assert self._key is not None
        try:
            return AESGCM(self._key).decrypt(blob[:12], blob[12:], aad.encode("utf-8"))
        except (InvalidTag, ValueError) as exc:
            raise VoiceprintStoreError(f"an embedding in {self.path} fails authentication: wrong key, or the "
                                       "record was tampered with") from exc

    def _pack_bytes(self, data: bytes, name: str, what: str) -> bytes:
        return self._encrypt_raw(data, f"{self.store_id}|{name}|{what}") if self.encrypted else bytes(data)

    def _pack(self, v: np.ndarray, name: str, what: str) -> bytes:
        data = np.asarray(v, dtype="<f4").tobytes()
        return self._encrypt_raw(data, f"{self.store_id}|{name}|{what}") if self.encrypted else data

    def _unpack_bytes(self, blob: bytes, name: str, what: str) -> bytes:
        return self._decrypt_raw(bytes(blob), f"{self.store_id}|{name}|{what}") if self.encrypted else bytes(blob)

    def _unpack(self, blob: bytes, name: str, what: str) -> np.ndarray:
        data = self._decrypt_raw(bytes(blob), f"{self.store_id}|{name}|{what}") if self.encrypted else bytes(blob)
        if len(data) % 4:
            raise VoiceprintStoreError(f"a stored embedding of {name!r} is malformed; delete and re-enroll it")
        return np.frombuffer(data, dtype="<f4").astype(np.float32)

    def close(self) -> None:
        """Close the database (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> VoiceprintStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- API ----------------------------------------------------------------------------

    @_db_errors
    def names(self) -> builtins.list[str]:
        """Enrolled speaker names, sorted."""
        return [r[0] for r in self._db.execute("SELECT name FROM speakers ORDER BY name")]

    @_db_errors
    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._db.execute(
            "SELECT 1 FROM speakers WHERE name = ?", (name.strip(),)).fetchone() is not None

    @_db_errors
    def list(self) -> builtins.list[dict[str, Any]]:
        """Metadata of every speaker (no embeddings), sorted by name."""
        rows = self._db.execute(
            "SELECT name, encoder, channel, n_clips, speech_s, created, updated, quality FROM speakers "
            "ORDER BY name").fetchall()
        return [{"name": r[0], "encoder": r[1], "channel": r[2], "n_clips": r[3], "speech_s": round(r[4], 2),
                 "created": r[5], "updated": r[6], "quality": json.loads(r[7])} for r in rows]

    @_db_errors
    def get(self, name: str) -> Voiceprint:
        """The voiceprint enrolled as ``name``.

        Raises
        ------
        UnknownSpeakerError
            No such speaker (the message lists how to see the enrolled ones).
        """
        n = check_name(name)
        row = self._db.execute(
            "SELECT id, name, encoder, channel, speech_s, created, updated, quality, embedding, "
            "telephone_embedding FROM speakers WHERE name = ?", (n,)).fetchone()
        if row is None:
            raise UnknownSpeakerError(self._unknown_message(n), n)
        clips = [
            ClipRecord(c[0], self._unpack(c[6], n, f"clip{c[7]}"), self._unpack(c[8], n, f"clip{c[7]}-tel"),
                       c[1], c[2], c[3], c[4], c[5], c[9], c[10], c[11], bool(c[12]))
            for c in self._db.execute(
                "SELECT source, speech_s, duration_s, sample_rate, channel, similarity, embedding, position, "
                "telephone_embedding, checked_by, spoof_llr, spoof_verdict, spoof_override FROM clips "
                "WHERE speaker_id = ? ORDER BY position", (row[0],))
        ]
        models = [self._unpack_bytes(m[0], n, f"clone{m[1]}") for m in self._db.execute(
            "SELECT model, position FROM clone_models WHERE speaker_id = ? ORDER BY position", (row[0],))]
        return Voiceprint(row[1], row[2], row[3], self._unpack(row[8], n, "mean"),
                          self._unpack(row[9], n, "mean-tel"), row[4], clips, row[5], row[6], json.loads(row[7]),
                          models)

    def _unknown_message(self, name: str) -> str:
        names = self.names()
        hint = (f"enrolled: {', '.join(names[:10])}{' ...' if len(names) > 10 else ''}" if names
                else "the store is empty")
        return (f"no speaker named {name!r} in {self.path} ({hint}); enroll one with "
                f"'voiceguard enroll {name} clip.wav'")

    @_db_errors
    def save(self, name: str, encoder: str, clips: Sequence[ClipRecord], *, quality: dict[str, Any] | None = None,
             replace: bool = False, add: bool = False, clone_model: bytes | None = None) -> Voiceprint:
        """Store a voiceprint from clip embeddings in one transaction.

        The voiceprint is the unit-norm mean of the clips' embeddings (with ``add``, of the
        stored clips and the new ones).

        Parameters
        ----------
        name : str
        encoder : str
            Encoder name; adding clips of another encoder to a speaker is refused.
        clips : sequence of ClipRecord
        quality : dict, optional
            Enrollment checks to keep with the voiceprint.
        replace : bool
            Replace an existing speaker of that name.
        add : bool
            Add the clips to an existing speaker (creates it when missing).
        clone_model : bytes, optional
            Serialised clone-check model of these clips; with ``add`` it joins the stored
            ones, otherwise it replaces them.

        Returns
        -------
        Voiceprint

        Raises
        ------
        SpeakerExistsError
            The name is taken and neither ``replace`` nor ``add`` was given.
        """
        n = check_name(name)
        if not clips:
            raise InvalidParameterError("a voiceprint needs at least one clip")
        with self._transaction() as conn:
            old, old_models, created = self._take_existing(conn, n, encoder, replace=replace, add=add)
            allc = list(old) + list(clips)
            sid = self._insert_speaker(conn, n, encoder, allc, created, quality)
            conn.executemany(
                "INSERT INTO clips(speaker_id, position, source, speech_s, duration_s, sample_rate, channel, "
                "similarity, embedding, telephone_embedding, checked_by, spoof_llr, spoof_verdict, spoof_override) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(sid, i, c.source, float(c.speech_s), float(c.duration_s), int(c.sample_rate), c.channel,
                  c.similarity, self._pack(c.embedding, n, f"clip{i}"), self._pack(c.telephone_embedding, n,
                                                                                    f"clip{i}-tel"),
                  c.checked_by, None if c.spoof_llr is None else float(c.spoof_llr), c.spoof_verdict,
                  int(bool(c.spoof_override)))
                 for i, c in enumerate(allc)])
            models = list(old_models) + ([clone_model] if clone_model is not None else [])
            conn.executemany(
                "INSERT INTO clone_models(speaker_id, position, model) VALUES (?,?,?)",
                [(sid, i, self._pack_bytes(m, n, f"clone{i}")) for i, m in enumerate(models)])
        return self.get(n)

    def _take_existing(self, conn: sqlite3.Connection, n: str, encoder: str, *, replace: bool,
                       add: bool) -> tuple[builtins.list[ClipRecord], builtins.list[bytes], str]:
        """Remove speaker ``n`` for a save (inside its transaction); returns the clips and clone
        models to keep (``add``) and the creation date to keep."""
        row = conn.execute("SELECT id, encoder FROM speakers WHERE name = ?", (n,)).fetchone()
        if row is None:
            return [], [], utc_now()
        if not (replace or add):
            raise SpeakerExistsError(
                f"a speaker named {n!r} is already enrolled: re-enroll it from these clips (replace) or "
                "add these clips to it (add)", n, "exists")
        old: builtins.list[ClipRecord] = []
        old_models: builtins.list[bytes] = []
        if add:
            if row[1] != encoder:
                raise SpeakerExistsError(f"{n!r} was enrolled with encoder {row[1]}, not {encoder}: clips "
                                         "cannot be added; re-enroll it from new clips (replace)", n, "encoder")
            prev = self.get(n)
            old, old_models = prev.clips, prev.clone_models
        created = conn.execute("SELECT created FROM speakers WHERE id = ?", (row[0],)).fetchone()[0]
        conn.execute("DELETE FROM speakers WHERE id = ?", (row[0],))
        return old, old_models, created

    def _insert_speaker(self, conn: sqlite3.Connection, n: str, encoder: str, allc: builtins.list[ClipRecord],
                        created: str, quality: dict[str, Any] | None) -> int:
        """The speaker row of ``allc``: mean embeddings, each clip's similarity with them."""
        emb = mean_unit([c.embedding for c in allc])
        tel = mean_unit([c.telephone_embedding for c in allc])
        for c in allc:
            c.similarity = float(np.dot(unit_vector(c.embedding), emb))
        channel = "wideband" if all(c.channel == "wideband" for c in allc) else "telephone"
        q = dict(quality or {})
        q["min_clip_similarity"] = round(min(c.similarity for c in allc if c.similarity is not None), 4)
        speech = float(sum(c.speech_s for c in allc))
        cur = conn.execute(
            "INSERT INTO speakers(name, encoder, dim, channel, n_clips, speech_s, created, updated, embedding, "
            "telephone_embedding, quality) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (n, encoder, int(emb.size), channel, len(allc), speech, created, utc_now(), self._pack(emb, n, "mean"),
             self._pack(tel, n, "mean-tel"), json.dumps(q)))
        return int(cur.lastrowid or 0)  # set by every INSERT

    @_db_errors
    def delete(self, name: str) -> None:
        """Delete a speaker and every embedding of it, for good.

        The rows are deleted in one transaction with ``secure_delete`` on (freed pages are
        overwritten), then the write-ahead log is checkpointed and truncated so no copy of
        the old pages stays in it.

        Raises
        ------
        UnknownSpeakerError
        """
        n = check_name(name)
        with self._transaction() as conn:
            cur = conn.execute("DELETE FROM speakers WHERE name = ?", (n,))
            if cur.rowcount == 0:
                raise UnknownSpeakerError(self._unknown_message(n), n)
        self.checkpoint()

    @_db_errors
    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database and truncate it (best effort when
        other connections are reading)."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @_db_errors
    def export(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        """Everything stored about some or all speakers, embeddings included (decrypted).

        Parameters
        ----------
        names : sequence of str, optional
            Default: every speaker.

        Returns
        -------
        dict
            ``{'format', 'schema', 'exported', 'notice', 'speakers': [...]}``, JSON-ready.
        """
        names = self.names() if not names else [check_name(n) for n in names]
        return {
            "format": FORMAT + "-export", "schema": SCHEMA_VERSION, "exported": utc_now(),
            "notice": "biometric data: voiceprint embeddings; store and share accordingly",
            "speakers": [self.get(n).info(embeddings=True) for n in names],
        }

    @_db_errors
    def import_voiceprints(self, voiceprints: Sequence[Voiceprint], *, replace: bool = False) -> builtins.list[str]:
        """Store voiceprints read by :func:`read_export` (a backup, another store's export).

        Each speaker is stored in one transaction, from its clips (the voiceprint is their
        mean, as at enrollment). Existing names are refused before anything is written,
        unless ``replace``.

        Returns
        -------
        list of str
            The names stored.

        Raises
        ------
        SpeakerExistsError
        """
        taken = [vp.name for vp in voiceprints if vp.name in self]
        if taken and not replace:
            raise SpeakerExistsError(f"already enrolled: {', '.join(taken[:10])}; pass replace=True "
                                     "(--replace) to overwrite them")
        for vp in voiceprints:
            self.save(vp.name, vp.encoder, vp.clips, quality=vp.quality, replace=replace)
        return [vp.name for vp in voiceprints]

    @_db_errors
    def integrity_check(self) -> str:
        """SQLite's full ``integrity_check`` result (``'ok'`` when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


