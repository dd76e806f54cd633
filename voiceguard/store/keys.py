"""Where the store lives and the key that encrypts it (``VOICEGUARD_HOME``, ``VOICEGUARD_DB_KEY``)."""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from voiceguard.errors import InvalidParameterError

KEY_ENV = "VOICEGUARD_DB_KEY"


HOME_ENV = "VOICEGUARD_HOME"


DB_NAME = "voiceprints.db"


_KEY_CHECK = b"voiceguard key check v1"


def default_db_path() -> Path:
    """Where the store lives unless told otherwise.

    Returns
    -------
    pathlib.Path
        ``$VOICEGUARD_HOME/voiceprints.db`` when that variable is set, else
        ``<user data folder>/voiceguard/voiceprints.db`` (``platformdirs``).
    """
    home = os.environ.get(HOME_ENV)
    if home:
        return Path(home).expanduser() / DB_NAME
    try:
        from platformdirs import user_data_dir

        base = Path(user_data_dir("voiceguard", appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        base = Path.home() / ".local" / "share" / "voiceguard"
    return base / DB_NAME


def parse_key(text: str | bytes) -> bytes:
    """Decode an encryption key: 64 hex digits or base64 of exactly 32 bytes.

    Parameters
    ----------
    text : str or bytes

    Returns
    -------
    bytes
        The 32-byte AES-256 key.

    Raises
    ------
    InvalidParameterError
        Anything else (the message says how to make a key).
    """
    if isinstance(text, bytes):
        if len(text) == 32:
            return text
        text = text.decode("ascii", "replace")
    s = text.strip()
    key: bytes | None = None
    if len(s) == 64:
        try:
            key = bytes.fromhex(s)
        except ValueError:
            key = None
    if key is None:
        try:
            key = base64.b64decode(s + "=" * (-len(s) % 4), altchars=b"-_" if ("-" in s or "_" in s) else None,
                                   validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) != 32:
        raise InvalidParameterError(
            f"{KEY_ENV} must hold a 32-byte key as 64 hex digits or base64; make one with: "
            "python -c \"import secrets; print(secrets.token_hex(32))\""
        )
    return key
