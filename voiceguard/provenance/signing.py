"""Ed25519 signatures of registered originals and of registry exports.

The registry signs every record it stores with a local Ed25519 key (``cryptography``),
kept in a PEM file beside the database and created owner-only (mode 0600, never
overwritten). An export carries the public key, every record with its signature, and a
signature over the whole document, so that someone else can check, with nothing but the
export (and, to know *whose* it is, the key id published by its owner), that no record
was changed, added or removed.

What is signed is a canonical serialisation: ``DOMAIN`` + JSON with sorted keys, no
spaces, ASCII only; binary fields enter it as their SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from voiceguard.errors import VoiceguardError

__all__ = ["LocalKey", "ProvenanceSignatureError", "canonical", "key_id", "verify_signature", "DOMAIN_RECORD",
           "DOMAIN_EXPORT"]

DOMAIN_RECORD = b"voiceguard-provenance-record-v1\n"
DOMAIN_EXPORT = b"voiceguard-provenance-export-v1\n"


class ProvenanceSignatureError(VoiceguardError, ValueError):
    """A signature does not verify, or a key cannot be used."""


def canonical(obj: Any) -> bytes:
    """The bytes that are signed for a JSON-ready object."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode("ascii")


def key_id(public_raw: bytes) -> str:
    """Short public identifier of an Ed25519 public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def verify_signature(public_raw: bytes, signature: bytes, message: bytes) -> bool:
    """Whether ``signature`` is a valid Ed25519 signature of ``message`` under ``public_raw``."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(bytes(public_raw)).verify(bytes(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True


class LocalKey:
    """The registry's signing key.

    Parameters
    ----------
    path : str or os.PathLike
        PEM file (PKCS#8, unencrypted) holding the Ed25519 private key.
    create : bool
        Make a new key when the file does not exist (mode 0600 in a 0700 folder).

    Raises
    ------
    ProvenanceSignatureError
        The file exists but is not an Ed25519 private key, or cannot be created.
    """

    def __init__(self, path: str | os.PathLike, *, create: bool = True) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise ProvenanceSignatureError(f"no provenance signing key at {self.path}")
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(pem)
            except FileExistsError:
                pass  # another process made it first: use that one
            except OSError as exc:
                raise ProvenanceSignatureError(f"cannot create the provenance signing key {self.path} "
                                               f"({exc.strerror})") from exc
        try:
            data = self.path.read_bytes()
            loaded: Any = serialization.load_pem_private_key(data, password=None)
            key = loaded
        except (OSError, ValueError, TypeError) as exc:
            raise ProvenanceSignatureError(f"{self.path} is not a usable Ed25519 private key ({exc}); move it "
                                           "away to make a new key (records signed with it then no longer "
                                           "verify)") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ProvenanceSignatureError(f"{self.path} holds a {type(key).__name__}, not an Ed25519 key")
        self._key = key
        self.public_raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = key_id(self.public_raw)

    @property
    def public_b64(self) -> str:
        """str : the raw 32-byte public key, base64."""
        return base64.b64encode(self.public_raw).decode("ascii")

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature (64 bytes) of ``message``."""
        return self._key.sign(message)
