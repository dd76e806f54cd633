"""The registry of originals: fingerprints and exact hashes in the voiceprint database.

Registered originals live in their own tables of the same SQLite file as the voiceprints
(:class:`voiceguard.store.VoiceprintStore` opens it, with its location rules, WAL
mode, locking and optional encryption check):

* ``provenance_originals``: one row per original: name, note, time of registration, the
  SHA-256 of the file's bytes and of its decoded samples, length and rate, the
  fingerprint (:mod:`voiceguard.provenance.fingerprint`) and an Ed25519 signature of all
  of it (:mod:`voiceguard.provenance.signing`);
* ``provenance_index``: the inverted index, ``(key, original, frame)`` for every fourth
  loud frame of every original, clustered on the key (``WITHOUT ROWID``) so that a
  look-up reads only the rows of the keys it asks for;
* ``provenance_keys``: the public keys that signed records.

No audio is stored. The signing key is a PEM file beside the database
(``<database>.provenance-key.pem``, mode 0600).
"""

from __future__ import annotations

import base64
import builtins
import datetime as _dt
import functools
import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, Union

import numpy as np

from voiceguard.errors import InvalidParameterError, VoiceguardError
from voiceguard.provenance import signing
from voiceguard.provenance.fingerprint import VERSION, Fingerprint

__all__ = ["Registry", "Original", "RegistryError", "UnknownOriginalError", "INDEX_STRIDE", "EXPORT_FORMAT",
           "verify_export", "key_path_for"]

PathLike = Union[str, os.PathLike]
T = TypeVar("T")

SCHEMA = 1
EXPORT_FORMAT = "voiceguard-provenance-export"
#: Every n-th loud frame of an original goes into the index.
INDEX_STRIDE = 4
_MAX_NOTE = 2000
_LOOKUP_BATCH = 20000  # distinct keys per SQL query

_TABLES = """
CREATE TABLE IF NOT EXISTS provenance_originals (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    note TEXT NOT NULL,
    registered TEXT NOT NULL,
    file_sha256 TEXT,
    pcm_sha256 TEXT NOT NULL,
    n_samples INTEGER NOT NULL,
    sample_rate INTEGER NOT NULL,
    channels INTEGER NOT NULL,
    fp_version TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    key_id TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS provenance_originals_file ON provenance_originals(file_sha256);
CREATE INDEX IF NOT EXISTS provenance_originals_pcm ON provenance_originals(pcm_sha256);
CREATE TABLE IF NOT EXISTS provenance_index (
    key INTEGER NOT NULL,
    original_id INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    PRIMARY KEY (key, original_id, frame)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS provenance_keys (
    key_id TEXT PRIMARY KEY,
    public_key BLOB NOT NULL,
    created TEXT NOT NULL
);
"""


class RegistryError(VoiceguardError, RuntimeError):
    """The registry cannot do what was asked (schema, signature, foreign export...)."""


class UnknownOriginalError(VoiceguardError, LookupError):
    """No registered original has that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _db_errors(fn: Callable[..., T]) -> Callable[..., T]:
    """SQLite errors of the provenance tables as a :class:`RegistryError` that says what to do
    (the voiceprint store checks only its own tables when it opens the file)."""

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        try:
            return fn(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise RegistryError(f"{self.path}: the provenance registry cannot be read or written ({exc}); "
                                "if it is corrupt, restore the database from a backup, or import a "
                                "registry export into a new one") from exc

    return wrapper


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def key_path_for(db_path: PathLike) -> Path:
    """Where the signing key of the database ``db_path`` lives."""
    p = Path(db_path)
    return p.with_name(p.name + ".provenance-key.pem")


@dataclass
class Original:
    """A registered original (its fingerprint is loaded on demand).

    Attributes
    ----------
    id : int
        Row id in this database.
    uid : str
        Identifier that stays the same in exports.
    name, note, registered : str
    file_sha256 : str or None
        SHA-256 of the file's bytes (None when registered from samples).
    pcm_sha256 : str
        SHA-256 of the decoded samples mixed to mono (float64, little-endian).
    n_samples, sample_rate, channels : int
    fp_version, key_id : str
    signature : bytes
    fingerprint_bytes : bytes
    """

    id: int
    uid: str
    name: str
    note: str
    registered: str
    file_sha256: str | None
    pcm_sha256: str
    n_samples: int
    sample_rate: int
    channels: int
    fp_version: str
    key_id: str
    signature: bytes
    fingerprint_bytes: bytes

    @property
    def duration_s(self) -> float:
        """float : length of the original."""
        return self.n_samples / float(self.sample_rate)

    def fingerprint(self) -> Fingerprint:
        """The stored fingerprint."""
        return Fingerprint.from_bytes(self.fingerprint_bytes, self.duration_s)

    def signed_fields(self) -> dict[str, Any]:
        """What the record's signature covers."""
        return {"uid": self.uid, "name": self.name, "note": self.note, "registered": self.registered,
                "file_sha256": self.file_sha256, "pcm_sha256": self.pcm_sha256, "n_samples": self.n_samples,
                "sample_rate": self.sample_rate, "channels": self.channels, "fp_version": self.fp_version,
                "fingerprint_sha256": hashlib.sha256(self.fingerprint_bytes).hexdigest(), "key_id": self.key_id}

    def message(self) -> bytes:
        """The signed bytes."""
        return signing.DOMAIN_RECORD + signing.canonical(self.signed_fields())

    def info(self) -> dict[str, Any]:
        """JSON-ready description (no fingerprint)."""
        return {"uid": self.uid, "name": self.name, "note": self.note, "registered": self.registered,
                "duration_s": round(self.duration_s, 3), "sample_rate": self.sample_rate, "channels": self.channels,
                "file_sha256": self.file_sha256, "pcm_sha256": self.pcm_sha256, "key_id": self.key_id}


def pcm_sha256(y: np.ndarray) -> str:
    """SHA-256 of mono float64 samples (little-endian bytes)."""
    return hashlib.sha256(np.ascontiguousarray(y, dtype="<f8").tobytes()).hexdigest()


_COLUMNS = ("id, uid, name, note, registered, file_sha256, pcm_sha256, n_samples, sample_rate, channels, "
            "fp_version, key_id, signature, fingerprint")


def _row(r: tuple) -> Original:
    return Original(r[0], r[1], r[2], r[3], r[4], r[5], r[6], int(r[7]), int(r[8]), int(r[9]), r[10], r[11],
                    bytes(r[12]), bytes(r[13]))


class Registry:
    """Registered originals in the voiceprint database (see the module docstring).

    Parameters
    ----------
    db : str, os.PathLike or VoiceprintStore, optional
        The database file (default: the voiceprint store's default location) or an open
        store whose connection to share (same thread).
    key_path : str or os.PathLike, optional
        Signing key (default: :func:`key_path_for` the database).
    create : bool
        Create a missing database (and key).

    Raises
    ------
    VoiceprintStoreError
        The database cannot be opened (see :class:`~voiceguard.store.VoiceprintStore`).
    """

    def __init__(self, db: Any = None, *, key_path: PathLike | None = None, create: bool = True) -> None:
        from voiceguard.store import VoiceprintStore

        if isinstance(db, VoiceprintStore):
            self.store, self._own = db, False
        else:
            if not create:
                from voiceguard.store import default_db_path

                p = Path(db).expanduser() if db is not None else default_db_path()
                if not p.exists():
                    raise RegistryError(f"no registry database at {p}; register an original first "
                                        "(voiceguard register FILE) or pass --db")
            self.store, self._own = VoiceprintStore(db, create=create), True
        self.path = self.store.path
        self._key_path = Path(key_path) if key_path is not None else key_path_for(self.path)
        self._key: signing.LocalKey | None = None
        try:
            have = self._create_tables()
        except BaseException:
            self.close()
            raise
        if int(have) > SCHEMA:
            self.close()
            raise RegistryError(f"{self.path}: the provenance tables were written by a newer voiceguard (schema "
                                f"{have}); upgrade voiceguard")

    @_db_errors
    def _create_tables(self) -> str:
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"provenance_originals", "provenance_index", "provenance_keys"} <= tables:
            with self.store.transaction() as conn:  # idempotent: IF NOT EXISTS, OR IGNORE
                for stmt in _TABLES.strip().split(";"):
                    if stmt.strip():
                        conn.execute(stmt)
                conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('provenance_schema', ?)",
                             (str(SCHEMA),))
        return str(self._db.execute("SELECT value FROM meta WHERE key = 'provenance_schema'").fetchone()[0])

    @property
    def _db(self) -> sqlite3.Connection:
        return self.store.connection

    @property
    @_db_errors
    def key(self) -> signing.LocalKey:
        """The local signing key (created on first use, and recorded in ``provenance_keys``)."""
        if self._key is None:
            self._key = signing.LocalKey(self._key_path)
            with self.store.transaction() as conn:
                conn.execute("INSERT OR IGNORE INTO provenance_keys(key_id, public_key, created) VALUES (?, ?, ?)",
                             (self._key.key_id, self._key.public_raw, _now()))
        return self._key

    def close(self) -> None:
        """Close the database if this registry opened it."""
        if self._own:
            self.store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------

    @_db_errors
    def add(self, fp: Fingerprint, *, name: str, pcm_sha256: str, n_samples: int, sample_rate: int, channels: int = 1,
            file_sha256: str | None = None, note: str = "") -> tuple[Original, bool]:
        """Store and sign one original, unless the same file (or samples) is already there.

        Parameters
        ----------
        fp : Fingerprint
        name : str
            A label, normally the file's base name.
        pcm_sha256, file_sha256 : str
            Exact hashes of the samples and of the file.
        n_samples, sample_rate, channels : int
        note : str

        Returns
        -------
        original : Original
        new : bool
            False when an original with the same file hash (or, for samples, the same
            sample hash) was already registered; that one is returned unchanged.
        """
        if not isinstance(note, str) or len(note) > _MAX_NOTE:
            raise InvalidParameterError(f"the note must be text of at most {_MAX_NOTE} characters")
        name = os.path.basename(str(name)) or "audio"
        existing = self.find_exact(file_sha256=file_sha256, pcm_sha256=None if file_sha256 else pcm_sha256)
        if existing:
            return existing[0], False
        key = self.key
        rec = Original(0, uuid.uuid4().hex, name, note, _now(), file_sha256, pcm_sha256, int(n_samples),
                       int(sample_rate), int(channels), VERSION, key.key_id, b"", fp.to_bytes())
        rec.signature = key.sign(rec.message())
        self._insert([rec])
        return self.get(rec.uid), True

    def _insert(self, recs: builtins.list[Original]) -> None:
        with self.store.transaction() as conn:
            for rec in recs:
                cur = conn.execute(
                    "INSERT INTO provenance_originals(uid, name, note, registered, file_sha256, pcm_sha256, "
                    "n_samples, sample_rate, channels, fp_version, fingerprint, key_id, signature) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (rec.uid, rec.name, rec.note, rec.registered, rec.file_sha256, rec.pcm_sha256, rec.n_samples,
                     rec.sample_rate, rec.channels, rec.fp_version, rec.fingerprint_bytes, rec.key_id, rec.signature))
                oid = int(cur.lastrowid or 0)  # set by every INSERT
                frames = _index_frames(rec.fingerprint())
                keys = rec.fingerprint().keys()[frames]
                conn.executemany("INSERT OR IGNORE INTO provenance_index(key, original_id, frame) VALUES (?, ?, ?)",
                                 zip(keys.tolist(), [oid] * len(frames), frames.tolist()))

    @_db_errors
    def delete(self, uid: str) -> None:
        """Remove an original and its index rows.

        Raises
        ------
        UnknownOriginalError
        """
        rec = self.get(uid)
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM provenance_index WHERE original_id = ?", (rec.id,))
            conn.execute("DELETE FROM provenance_originals WHERE id = ?", (rec.id,))
        self.store.checkpoint()

    # -- reading ------------------------------------------------------------------------

    @_db_errors
    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM provenance_originals").fetchone()[0])

    @_db_errors
    def get(self, uid: str) -> Original:
        """The original registered as ``uid`` (or a unique prefix of at least 6 digits of it).

        Raises
        ------
        UnknownOriginalError
        """
        uid = str(uid).strip().lower()
        rows = []
        if len(uid) >= 6:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM provenance_originals WHERE uid LIKE ? LIMIT 2",
                                    (uid.replace("%", "").replace("_", "") + "%",)).fetchall()
        if len(rows) != 1:
            what = "several originals" if len(rows) > 1 else "no original"
            raise UnknownOriginalError(f"{what} registered as {uid!r} in {self.path}; list them with "
                                       "'voiceguard registry list'")
        return _row(rows[0])

    @_db_errors
    def by_id(self, oid: int) -> Original:
        """The original with row id ``oid``."""
        r = self._db.execute(f"SELECT {_COLUMNS} FROM provenance_originals WHERE id = ?", (int(oid),)).fetchone()
        if r is None:
            raise UnknownOriginalError(f"no original with row id {oid} in {self.path}")
        return _row(r)

    @_db_errors
    def originals(self) -> Iterator[Original]:
        """Every registered original, in registration order."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM provenance_originals ORDER BY id").fetchall()
        return (_row(r) for r in rows)

    @_db_errors
    def list(self) -> builtins.list[dict[str, Any]]:
        """Descriptions of every original, in registration order."""
        return [o.info() for o in self.originals()]

    @_db_errors
    def find_exact(self, *, file_sha256: str | None = None, pcm_sha256: str | None = None) -> builtins.list[Original]:
        """Originals with exactly these bytes, or else exactly these samples."""
        for col, val in (("file_sha256", file_sha256), ("pcm_sha256", pcm_sha256)):
            if val:
                rows = self._db.execute(f"SELECT {_COLUMNS} FROM provenance_originals WHERE {col} = ? ORDER BY id",
                                        (val,)).fetchall()
                if rows:
                    return [_row(r) for r in rows]
        return []

    @_db_errors
    def lookup(self, keys: np.ndarray, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Key hits of a query.

        Parameters
        ----------
        keys, frames : np.ndarray [shape=(n,)], int
            Query keys and the query frame each comes from
            (:meth:`Fingerprint.query_keys`).

        Returns
        -------
        original_ids, query_frames, original_frames : np.ndarray [shape=(n_hits,)], int64
            Every hit: the original's row id, the query frame and the original's frame.
        """
        keys = np.asarray(keys, np.int64)
        frames = np.asarray(frames, np.int64)
        empty = np.zeros(0, np.int64)
        if keys.size == 0:
            return empty, empty, empty
        order = np.argsort(keys, kind="stable")
        ks, fs = keys[order], frames[order]
        uniq = np.unique(ks)
        parts: builtins.list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for i in range(0, uniq.size, _LOOKUP_BATCH):  # bounded Python-object memory for long queries
            rows = self._db.execute(
                "SELECT key, original_id, frame FROM provenance_index WHERE key IN (SELECT value FROM json_each(?))",
                (json.dumps(uniq[i:i + _LOOKUP_BATCH].tolist()),)).fetchall()
            if not rows:
                continue
            hit = np.asarray(rows, np.int64)
            lo = np.searchsorted(ks, hit[:, 0], "left")
            reps = np.searchsorted(ks, hit[:, 0], "right") - lo
            # every query frame with that key: positions lo .. lo + reps - 1
            qpos = np.repeat(lo, reps) + (np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps))
            parts.append((np.repeat(hit[:, 1], reps), fs[qpos], np.repeat(hit[:, 2], reps)))
        if not parts:
            return empty, empty, empty
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]

    # -- signatures and exports ---------------------------------------------------------

    @_db_errors
    def public_key(self, kid: str) -> bytes | None:
        """The public key ``kid`` recorded in this database."""
        r = self._db.execute("SELECT public_key FROM provenance_keys WHERE key_id = ?", (kid,)).fetchone()
        return None if r is None else bytes(r[0])

    def verify(self, rec: Original) -> bool:
        """Whether a record's signature verifies under the key that made it (and that key is
        the one in this database's key table under that id)."""
        pub = self.public_key(rec.key_id)
        return pub is not None and signing.key_id(pub) == rec.key_id and signing.verify_signature(
            pub, rec.signature, rec.message())

    @_db_errors
    def export(self) -> dict[str, Any]:
        """Every original with its fingerprint and signature, signed as a whole.

        Returns
        -------
        dict
            ``{'format', 'schema', 'exported', 'database', 'key_id', 'public_key',
            'originals': [...], 'signature'}``, JSON-ready; verify it with
            :func:`verify_export`.
        """
        key = self.key
        keys = {r[0]: base64.b64encode(bytes(r[1])).decode("ascii")
                for r in self._db.execute("SELECT key_id, public_key FROM provenance_keys ORDER BY key_id")}
        recs = []
        for o in self.originals():
            d = o.signed_fields()
            d.pop("fingerprint_sha256")
            d["fingerprint"] = base64.b64encode(o.fingerprint_bytes).decode("ascii")
            d["signature"] = base64.b64encode(o.signature).decode("ascii")
            recs.append(d)
        doc = {"format": EXPORT_FORMAT, "schema": SCHEMA, "exported": _now(), "database": self.store.store_id,
               "key_id": key.key_id, "public_key": key.public_b64, "keys": keys, "originals": recs}
        doc["signature"] = base64.b64encode(key.sign(signing.DOMAIN_EXPORT + signing.canonical(doc))).decode("ascii")
        return doc

    @_db_errors
    def import_export(self, doc: dict[str, Any], *, expect_key_id: str | None = None) -> int:
        """Add the originals of a verified export (those not yet here, by uid).

        Returns
        -------
        int
            Originals added.

        Raises
        ------
        ProvenanceSignatureError
            The export does not verify (see :func:`verify_export`).
        """
        recs = verify_export(doc, expect_key_id=expect_key_id)
        have = {r[0] for r in self._db.execute("SELECT uid FROM provenance_originals")}
        new = [r for r in recs if r.uid not in have]
        with self.store.transaction() as conn:
            for kid, pub in doc["keys"].items():
                conn.execute("INSERT OR IGNORE INTO provenance_keys(key_id, public_key, created) VALUES (?, ?, ?)",
                             (kid, base64.b64decode(pub), _now()))
        self._insert(new)
        return len(new)


def _index_frames(fp: Fingerprint) -> np.ndarray:
    loud = np.flatnonzero(fp.loud)
    return loud[loud % INDEX_STRIDE == 0]


def verify_export(doc: Any, *, expect_key_id: str | None = None) -> builtins.list[Original]:
    """Check a registry export: its own signature and every record's.

    Parameters
    ----------
    doc : dict
        The parsed JSON of :meth:`Registry.export`.
    expect_key_id : str, optional
        The exporter's key id as published by them; without it the export only proves
        that it is intact, not who made it.

    Returns
    -------
    list of Original
        The verified records (row ids 0).

    Raises
    ------
    ProvenanceSignatureError
        Not an export, signed by another key than expected, or any signature fails (the
        message names the first record that does not verify).
    """
    err = signing.ProvenanceSignatureError
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise err("not a voiceguard provenance export (missing format "
                  f"{EXPORT_FORMAT!r}); export one with 'voiceguard registry export'")
    try:
        pub = base64.b64decode(doc["public_key"], validate=True)
        sig = base64.b64decode(doc["signature"], validate=True)
        keys = {k: base64.b64decode(v, validate=True) for k, v in doc["keys"].items()}
        body = {k: v for k, v in doc.items() if k != "signature"}
        message = signing.DOMAIN_EXPORT + signing.canonical(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise err(f"the export is malformed ({type(exc).__name__}: {exc})") from exc
    if signing.key_id(pub) != doc.get("key_id"):
        raise err("the export's key id does not match its public key: it was altered")
    if expect_key_id and doc["key_id"] != expect_key_id.strip().lower():
        raise err(f"the export is signed by key {doc['key_id']}, not by the expected {expect_key_id}")
    if not signing.verify_signature(pub, sig, message):
        raise err("the export's signature does not verify: it was altered after export (or signed by someone "
                  "else)")
    out = []
    for i, d in enumerate(doc["originals"]):
        try:
            fpb = base64.b64decode(d["fingerprint"], validate=True)
            rec = Original(0, d["uid"], d["name"], d["note"], d["registered"], d["file_sha256"], d["pcm_sha256"],
                           int(d["n_samples"]), int(d["sample_rate"]), int(d["channels"]), d["fp_version"],
                           d["key_id"], base64.b64decode(d["signature"], validate=True), fpb)
        except (KeyError, TypeError, ValueError) as exc:
            raise err(f"original #{i + 1} of the export is malformed ({type(exc).__name__}: {exc})") from exc
        kp = keys.get(rec.key_id)
        if kp is None or signing.key_id(kp) != rec.key_id or not signing.verify_signature(kp, rec.signature,
                                                                                         rec.message()):
            raise err(f"original #{i + 1} ({rec.name}, {rec.uid}) does not verify: its record was altered")
        out.append(rec)
    return out
