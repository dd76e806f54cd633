"""C2PA manifests: reading and validating them, and signing registered originals.

Uses the official ``c2pa-python`` bindings (the Content Authenticity Initiative's C2PA
library; the optional ``provenance`` extra). Audio formats with C2PA support
there: WAV, FLAC, MP3 (and MP4/M4A audio). Everything runs offline: no time-stamp
authority and no OCSP fetching; the signer's certificate is checked against the trust
anchors passed in (``trust_anchors``), otherwise it is reported as untrusted while the
signature and the hard binding are still validated.

The *hard binding* is the C2PA data hash over the file's bytes outside the manifest: it
"still matches" when no byte of the audio was changed since signing.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Union

from voiceguard._version import install_hint
from voiceguard.errors import InvalidParameterError, VoiceguardError

__all__ = ["read", "sign", "available", "C2paUnavailableError", "ASSERTION_LABEL", "SIGNABLE"]

PathLike = Union[str, os.PathLike]

#: Label of the assertion voiceguard adds to the manifests it signs.
ASSERTION_LABEL = "org.voiceguard.provenance"
#: File extensions voiceguard signs, with their media types.
SIGNABLE = {".wav": "audio/wav", ".flac": "audio/flac", ".mp3": "audio/mpeg"}
_HASH_CODES = ("assertion.dataHash", "assertion.bmffHash", "assertion.boxesHash", "assertion.collectionHash")
_IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
_INSTALL = install_hint("provenance")
#: How the ``error`` of :func:`read` starts when c2pa-python is missing.
NOT_INSTALLED = "c2pa-python is not installed"


class C2paUnavailableError(VoiceguardError, RuntimeError):
    """c2pa-python is not installed, or C2PA cannot do what was asked."""


def available() -> bool:
    """Whether ``c2pa-python`` can be imported."""
    try:
        import c2pa  # noqa: F401
    except ImportError:
        return False
    return True


def _context(trust_anchors: PathLike | str | None) -> Any:
    import c2pa

    settings: dict[str, Any] = {"verify": {"ocsp_fetch": False, "remote_manifest_fetch": False}}
    if trust_anchors:
        text = str(trust_anchors)
        if "-----BEGIN" not in text:
            try:
                text = Path(trust_anchors).read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidParameterError(f"cannot read the C2PA trust anchors {trust_anchors} ({exc}); pass "
                                            "a PEM file of CA certificates") from exc
        settings["trust"] = {"trust_anchors": text}
    return c2pa.Context.from_dict(settings)


def _read_stream(c2pa: Any, stream: Any, ctx: Any) -> tuple[dict, str | None, dict, int] | None:
    reader = c2pa.Reader.try_create(None, stream, None, ctx)
    if reader is None:
        return None
    with reader:
        return (reader.get_active_manifest() or {}, reader.get_validation_state(),
                reader.get_validation_results() or {}, len(json.loads(reader.json()).get("manifests", {})))


def read(source: PathLike | bytes, *, trust_anchors: PathLike | str | None = None) -> dict[str, Any] | None:
    """Read and validate the C2PA manifest store of a file.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        The file, or its bytes.
    trust_anchors : str or os.PathLike, optional
        PEM file (or text) of CA certificates trusted as C2PA signers.

    Returns
    -------
    dict or None
        None when the file carries no manifest (or is of a format without C2PA support).
        Otherwise ``{'validation_state', 'trusted', 'hard_binding', 'title',
        'claim_generator', 'signer', 'assertions', 'actions', 'voiceguard', 'failures',
        'manifests'}``: ``validation_state`` is c2pa's (``'Invalid'``, ``'Valid'``:
        signature and bindings valid, ``'Trusted'``: also a trusted signer);
        ``hard_binding`` is ``'match'`` (the audio bytes are those signed),
        ``'mismatch'`` or ``'unknown'``; ``failures`` lists the failed validation codes.
        Without ``c2pa-python``: ``{'error': ...}`` saying how to install it.
    """
    try:
        import c2pa
    except ImportError:
        return {"error": f"{NOT_INSTALLED}, C2PA manifests were not read: {_INSTALL}"}
    try:
        ctx = _context(trust_anchors)
        if isinstance(source, (bytes, bytearray)):
            found = _read_stream(c2pa, io.BytesIO(bytes(source)), ctx)
        else:
            with open(source, "rb") as fh:  # c2pa reads what it needs from the stream
                found = _read_stream(c2pa, fh, ctx)
    except c2pa.C2paError as exc:
        if "NotSupported" in type(exc).__name__ or "unsupported" in str(exc).lower():
            return None
        return {"validation_state": "Invalid", "trusted": False, "hard_binding": "unknown",
                "failures": [{"code": "manifest.unreadable", "explanation": str(exc)}]}
    except OSError as exc:
        from voiceguard.errors import AudioReadError

        raise AudioReadError(f"{source!s}: cannot read ({exc.strerror})") from exc
    if found is None:
        return None
    active, state, results, n_manifests = found
    act = results.get("activeManifest", {}) if isinstance(results, dict) else {}
    success = [c.get("code", "") for c in act.get("success", [])]
    failures = [{"code": c.get("code", ""), "explanation": c.get("explanation", "")} for c in act.get("failure", [])]
    if any(f["code"].startswith(_HASH_CODES) and f["code"].endswith("mismatch") for f in failures):
        binding = "mismatch"
    elif any(c.startswith(_HASH_CODES) and c.endswith("match") for c in success):
        binding = "match"
    else:
        binding = "unknown"
    assertions = active.get("assertions", [])
    actions = [a.get("action") for x in assertions if str(x.get("label", "")).startswith("c2pa.actions")
               for a in (x.get("data") or {}).get("actions", [])]
    ours = next((x.get("data") for x in assertions if x.get("label") == ASSERTION_LABEL), None)
    gen = active.get("claim_generator_info") or []
    sig = active.get("signature_info") or {}
    return {
        "validation_state": state, "trusted": state == "Trusted", "hard_binding": binding,
        "title": active.get("title"), "label": active.get("label"),
        "claim_generator": ", ".join(f"{g.get('name')} {g.get('version', '')}".strip() for g in gen) or None,
        "signer": {k: sig.get(k) for k in ("issuer", "common_name", "alg", "time", "cert_serial_number") if k in sig},
        "assertions": [x.get("label") for x in assertions], "actions": actions, "voiceguard": ours,
        "failures": failures, "manifests": n_manifests,
    }


def _algorithm(key_pem: bytes) -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidParameterError(f"the C2PA private key is not an unencrypted PEM key ({exc})") from exc
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "ed25519"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algs = {"secp256r1": "es256", "secp384r1": "es384", "secp521r1": "es512"}
        if key.curve.name not in algs:
            raise InvalidParameterError(f"C2PA cannot sign with an EC key on {key.curve.name}; use P-256, P-384 "
                                        "or P-521")
        return algs[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey):
        return "ps256"
    raise InvalidParameterError(f"C2PA cannot sign with a {type(key).__name__}; use an EC, RSA or Ed25519 key")


def sign(src: PathLike, dest: PathLike, *, cert_chain: PathLike, private_key: PathLike, title: str | None = None,
         registration: dict[str, Any] | None = None, source_type: str = "digitalCapture") -> dict[str, Any]:
    """Write a copy of ``src`` carrying a signed C2PA manifest.

    Parameters
    ----------
    src, dest : str or os.PathLike
        The original (WAV, FLAC or MP3) and where to write the signed copy (same format).
    cert_chain : str or os.PathLike
        PEM file: the signing certificate first, then its issuers (not the root). C2PA
        wants an end-entity certificate (not a CA) with the digitalSignature key usage and
        an extended key usage such as emailProtection or documentSigning.
    private_key : str or os.PathLike
        The certificate's private key (unencrypted PEM: EC P-256/384/521, RSA or Ed25519).
    title : str, optional
        Manifest title (default: the file name).
    registration : dict, optional
        What the registry stored (uid, hashes, registry key id): kept in the manifest as
        the ``org.voiceguard.provenance`` assertion.
    source_type : str
        IPTC digital source type of the ``c2pa.created`` action, which C2PA requires:
        ``'digitalCapture'`` (a recording, the default: registering an original says so),
        ``'trainedAlgorithmicMedia'`` (generated), ``'composite'``... (a name from
        http://cv.iptc.org/newscodes/digitalsourcetype/).

    Returns
    -------
    dict
        ``{'file', 'label', 'signer'}`` of the signed copy.

    Raises
    ------
    C2paUnavailableError
        c2pa-python is missing, or refused the certificate or the file.
    InvalidParameterError
        Unsupported format, unreadable certificate or key.
    """
    try:
        import c2pa
    except ImportError as exc:
        raise C2paUnavailableError(f"signing with C2PA needs c2pa-python: {_INSTALL}") from exc
    from voiceguard._version import __version__

    src, dest = Path(src), Path(dest)
    mime = SIGNABLE.get(src.suffix.lower())
    if mime is None:
        raise InvalidParameterError(f"{src}: C2PA signing supports {', '.join(SIGNABLE)} files, not "
                                    f"{src.suffix or 'files without an extension'}")
    if dest.suffix.lower() != src.suffix.lower():
        raise InvalidParameterError(f"the signed copy {dest} must keep the extension {src.suffix}")
    try:
        chain = Path(cert_chain).read_bytes()
        key = Path(private_key).read_bytes()
    except OSError as exc:
        raise InvalidParameterError(f"cannot read the C2PA certificate or key ({exc.filename}: "
                                    f"{exc.strerror})") from exc
    alg = _algorithm(key)
    if not source_type.replace("_", "").isalnum():
        raise InvalidParameterError(f"{source_type!r} is not an IPTC digital source type name (e.g. digitalCapture)")
    manifest: dict[str, Any] = {
        "claim_generator_info": [{"name": "voiceguard", "version": __version__}],
        "title": title or src.name,
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created", "digitalSourceType": _IPTC + source_type}]}}],
    }
    if registration:
        manifest["assertions"].append({"label": ASSERTION_LABEL, "data": registration})
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg, chain, key, None))
        with signer, c2pa.Builder.from_json(manifest) as builder, open(src, "rb") as fin:
            buf = io.BytesIO()
            builder.sign(signer, mime, fin, buf)
    except c2pa.C2paError as exc:
        raise C2paUnavailableError(f"C2PA signing of {src} failed ({exc}); check that the certificate chain "
                                   "and key belong together and that the certificate may sign content "
                                   "(digitalSignature, an extended key usage such as emailProtection)") from exc
    except OSError as exc:
        raise InvalidParameterError(f"cannot read {src} ({exc.strerror})") from exc
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(buf.getvalue())
    except OSError as exc:
        raise InvalidParameterError(f"cannot write the signed copy {dest} ({exc.strerror})") from exc
    info = read(dest) or {}
    return {"file": str(dest), "label": info.get("label"), "signer": info.get("signer")}
