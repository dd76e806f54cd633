"""The store's SQLite schema and format markers."""

from __future__ import annotations

FORMAT = "voiceguard-voiceprints"


SCHEMA_VERSION = 2


_SQLITE_MAGIC = b"SQLite format 3\x00"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS speakers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    encoder TEXT NOT NULL,
    dim INTEGER NOT NULL,
    channel TEXT NOT NULL,
    n_clips INTEGER NOT NULL,
    speech_s REAL NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    embedding BLOB NOT NULL,
    telephone_embedding BLOB NOT NULL,
    quality TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS clips (
    id INTEGER PRIMARY KEY,
    speaker_id INTEGER NOT NULL REFERENCES speakers(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    source TEXT NOT NULL,
    speech_s REAL NOT NULL,
    duration_s REAL NOT NULL,
    sample_rate INTEGER NOT NULL,
    channel TEXT NOT NULL,
    similarity REAL,
    embedding BLOB NOT NULL,
    telephone_embedding BLOB NOT NULL,
    checked_by TEXT,
    spoof_llr REAL,
    spoof_verdict TEXT,
    spoof_override INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS clips_speaker ON clips(speaker_id);
CREATE TABLE IF NOT EXISTS clone_models (
    id INTEGER PRIMARY KEY,
    speaker_id INTEGER NOT NULL REFERENCES speakers(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    model BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS clone_models_speaker ON clone_models(speaker_id);
"""
