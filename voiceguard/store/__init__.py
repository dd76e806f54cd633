"""The voiceprint store: enrolled speakers' embeddings in one SQLite file.

Voiceprints are biometric data. The store therefore keeps **embeddings only, never
audio**, and:

* lives in one SQLite file, by default ``$VOICEGUARD_HOME/voiceprints.db`` or, without
  ``VOICEGUARD_HOME``, the platform's user data folder (``~/.local/share/voiceguard`` on
  Linux, ``~/Library/Application Support/voiceguard`` on macOS, ``%LOCALAPPDATA%\\voiceguard``
  on Windows); the file is created **owner-only** (mode 0600, its folder 0700);
* runs in WAL mode with ``synchronous=FULL``; every enrollment and deletion is one
  transaction (``BEGIN IMMEDIATE``), so a crash or a killed process mid-write loses
  nothing that was committed and leaves no half-written speaker; concurrent writers wait
  for each other (busy timeout);
* really deletes: ``secure_delete`` overwrites freed pages with zeros and the write-ahead
  log is checkpointed and truncated after a deletion, and at the next open when a killed
  process left a log behind (benchmarks/store_crash.py kills writers at random);
* optionally **encrypts each embedding** at rest with AES-256-GCM (``cryptography``) under
  a 32-byte key taken from the environment variable ``VOICEGUARD_DB_KEY`` (64 hex digits
  or base64). The key is never stored; the store keeps a key check value so that a wrong
  key is reported as such. The associated data binds every ciphertext to its store,
  speaker and field, so blobs cannot be swapped between rows unnoticed. Speaker names and
  metadata (dates, clip counts, durations) are not encrypted.

Schema 2 adds, per enrollment clip, what the spoof detector said about it at enrollment
(``checked_by``: detector name and version, ``spoof_llr``, ``spoof_verdict``, and
``spoof_override`` when the clip was called spoof and enrolled anyway with
``--allow-spoof``), and a ``clone_models`` table with the per-speaker clone check's models
(:mod:`voiceguard.voiceprint.clone_check`; encrypted like the embeddings). A schema-1 store
is upgraded in place when opened (one transaction; its old clips have no detector record
and its speakers no clone model).

A store is encrypted or not from its creation (the mode is set by whether a key was given
then); opening an encrypted store without the key fails with a message saying so.
"""

from voiceguard.store.errors import (
    ExportFormatError,
    SpeakerExistsError,
    UnknownSpeakerError,
    VoiceprintStoreError,
)
from voiceguard.store.export import read_export
from voiceguard.store.keys import DB_NAME, HOME_ENV, KEY_ENV, default_db_path, parse_key
from voiceguard.store.records import ClipRecord, Voiceprint
from voiceguard.store.schema import FORMAT, SCHEMA_VERSION
from voiceguard.store.sqlite import VoiceprintStore

__all__ = [
    "DB_NAME",
    "FORMAT",
    "SCHEMA_VERSION",
    "KEY_ENV",
    "HOME_ENV",
    "VoiceprintStoreError",
    "UnknownSpeakerError",
    "SpeakerExistsError",
    "ClipRecord",
    "Voiceprint",
    "VoiceprintStore",
    "ExportFormatError",
    "read_export",
    "default_db_path",
    "parse_key",
]
