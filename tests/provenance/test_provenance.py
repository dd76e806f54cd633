"""Provenance: registering originals, finding them again after channels, locating edits,
signed exports, C2PA manifests, the commands and the HTTP endpoints.

The original is real speech (LibriSpeech, CC BY 4.0): the 6 s example clip followed by the
3 s test clip (9 s, two speakers). The other test clip (another speaker) is the unrelated
recording; the committed espeak clip is the TTS that replaces 3 s of the original.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import io
import json
import os
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voiceguard.audio import load_mono, resample
from voiceguard.audio.g711 import g711_roundtrip
from voiceguard.data.channel import codec_available
from voiceguard.provenance import Registry, check, register, verify_export
from voiceguard.provenance.fingerprint import HOP_S, fingerprint
from voiceguard.provenance.signing import ProvenanceSignatureError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
DATA = ROOT / "tests" / "assets"
SR = 16000


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOICEGUARD_DB_KEY", raising=False)
    monkeypatch.setenv("VOICEGUARD_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def original() -> np.ndarray:
    a, _ = load_mono(EXAMPLES / "bonafide_librispeech_1898.flac")
    b, _ = load_mono(DATA / "librispeech_118-121721-0000_3s.flac")
    return np.concatenate([a, b])


@pytest.fixture(scope="module")
def tts() -> np.ndarray:
    y, sr = load_mono(EXAMPLES / "spoof_espeak.flac")
    assert sr == SR
    return y


@pytest.fixture()
def reg(tmp_path: Path, original: np.ndarray):
    """A registry holding the original (registered from its WAV file)."""
    path = tmp_path / "original.wav"
    sf.write(path, original, SR, subtype="PCM_16")
    with Registry(tmp_path / "vg.db") as r:
        res = register(path, r, note="interview, take 1")
        assert res.new
        yield r


class _StubDetector:
    """Stands in for the detector where its score is not what a test is about."""

    name = "stub"

    def __init__(self) -> None:
        self.calls: list[float] = []

    def score_mono(self, y, sr, *, name=None, channels=1):
        from voiceguard.detect.result import ScoreResult

        self.calls.append(len(y) / sr)
        return ScoreResult(name, "spoof", 0.9, -2.2, len(y) / sr, len(y) / sr, sr, channels, 0.5, 0.5)


def _encode(y: np.ndarray, sr: int, fmt: str, subtype: str | None, level: float) -> bytes:
    buf = io.BytesIO()
    kw = {"bitrate_mode": "CONSTANT"} if fmt == "MP3" else {}
    sf.write(buf, np.clip(y, -1, 1), sr, format=fmt, subtype=subtype, compression_level=level, **kw)
    return buf.getvalue()


def _channel(name: str, y: np.ndarray, tmp_path: Path) -> Path:
    """Write ``y`` through one channel; returns the file."""
    if name in ("mp3", "opus") and not codec_available(name):
        pytest.skip(f"this libsndfile has no {name} encoder")
    if name == "mp3":  # 32 kbps constant bit rate (libsndfile level 0.84 at 16 kHz)
        data = _encode(y, SR, "MP3", "MPEG_LAYER_III", 0.84)
        assert 28 <= len(data) * 8 / (len(y) / SR) / 1000 <= 36, "not a 32 kbps MP3"
        p = tmp_path / "copy.mp3"
    elif name == "opus":  # 16 kbps (libsndfile level 0.96: 256 - 0.96 * 250 kbps), Ogg overhead included
        data = _encode(y, SR, "OGG", "OPUS", 0.96)
        assert 12 <= len(data) * 8 / (len(y) / SR) / 1000 <= 21, "not a 16 kbps Opus stream"
        p = tmp_path / "copy.opus"
    else:
        p = tmp_path / "copy.wav"
        if name == "g711-mu" or name == "g711-a":
            z = g711_roundtrip(resample(y, SR, 8000), name[-1] if name == "g711-a" else "mu")
            sf.write(p, z, 8000, subtype="ULAW" if name == "g711-mu" else "ALAW")
        elif name == "resample-44k":
            sf.write(p, resample(y, SR, 44100), 44100, subtype="PCM_16")
        elif name == "level-20dB":
            sf.write(p, 0.1 * y, SR, subtype="PCM_16")
        return p
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("channel", ["mp3", "opus", "g711-mu", "g711-a", "resample-44k", "level-20dB"])
def test_original_matches_after_channel(channel, reg, original, tmp_path):
    res = check(_channel(channel, original, tmp_path), reg, c2pa=False)
    assert res.status == "match", res.to_dict()["timeline"]
    assert res.original is not None and res.original.name == "original.wav"
    assert res.signature_valid is True
    assert res.segments == []
    assert abs(res.offset_s) <= 0.1  # codec delays only (MP3: about 0.06 s)
    assert res.matched_fraction == 1.0 and res.original_coverage > 0.97


def test_trimmed_copy_matches_with_its_offset(reg, original, tmp_path):
    p = tmp_path / "trimmed.flac"
    sf.write(p, original[int(1.3 * SR):-int(0.7 * SR)], SR)
    res = check(p, reg, c2pa=False)
    assert res.status == "match"
    assert res.offset_s == pytest.approx(1.3, abs=HOP_S)
    assert res.original_coverage == pytest.approx(7.0 / 9.0, abs=0.02)
    [m] = res.timeline
    assert m["original_start_s"] == pytest.approx(1.3, abs=0.05) and m["original_end_s"] == pytest.approx(8.3, abs=0.05)


@pytest.mark.parametrize("channel", ["wav", "mp3"])
def test_replaced_by_tts_is_located(channel, reg, original, tts, tmp_path):
    """3 s of the original (4.0-7.0 s) replaced by TTS at the same level: the span is found
    within 0.5 s, and the default detector scores it."""
    from voiceguard.detect.detector import shared_detector

    z = original.copy()
    seg = tts[: 3 * SR]
    z[4 * SR:7 * SR] = seg * (np.std(original[4 * SR:7 * SR]) / np.std(seg))
    if channel == "wav":
        p = tmp_path / "spliced.wav"
        sf.write(p, z, SR, subtype="PCM_16")
    else:
        p = _channel("mp3", z, tmp_path)
    det = shared_detector() if channel == "wav" else _StubDetector()
    res = check(p, reg, detector=det, c2pa=False)
    assert res.status == "altered" and res.original is not None
    [seg_] = res.segments
    assert seg_["kind"] == "replaced"
    assert abs(seg_["start_s"] - 4.0) <= 0.5 and abs(seg_["end_s"] - 7.0) <= 0.5
    assert abs(seg_["original_start_s"] - 4.0) <= 0.5 and abs(seg_["original_end_s"] - 7.0) <= 0.5
    assert res.matched_fraction == pytest.approx(6.0 / 9.0, abs=0.06)
    score = seg_["detector"]
    assert score["verdict"] in ("bonafide", "spoof") and 0.0 <= score["spoof_probability"] <= 1.0
    assert res.detector == det.name
    d = res.to_dict()
    assert [s["kind"] for s in d["timeline"]] == ["match", "replaced", "match"]
    json.dumps(d)


def test_inserted_and_removed_audio(reg, original, tts, tmp_path):
    det = _StubDetector()
    ins = np.concatenate([original[:5 * SR], 0.3 * tts[:2 * SR], original[5 * SR:]])
    sf.write(tmp_path / "ins.wav", ins, SR)
    res = check(tmp_path / "ins.wav", reg, detector=det, c2pa=False)
    [s] = res.segments
    assert s["kind"] == "inserted" and abs(s["start_s"] - 5.0) <= 0.5 and abs(s["end_s"] - 7.0) <= 0.5
    assert s["original_start_s"] == pytest.approx(5.0, abs=0.5)
    assert res.original_coverage > 0.97 and det.calls and s["detector"]["verdict"] == "spoof"

    rem = np.concatenate([original[:3 * SR], original[5 * SR:]])
    sf.write(tmp_path / "rem.wav", rem, SR)
    res = check(tmp_path / "rem.wav", reg, detector=det, c2pa=False)
    [s] = res.segments
    assert s["kind"] == "removed" and abs(s["start_s"] - 3.0) <= 0.5 and s["end_s"] == s["start_s"]
    assert abs(s["original_start_s"] - 3.0) <= 0.5 and abs(s["original_end_s"] - 5.0) <= 0.5
    assert "detector" not in s  # nothing of the copy to score
    assert res.matched_fraction == 1.0 and res.original_coverage == pytest.approx(7.0 / 9.0, abs=0.03)


def test_unrelated_recordings_match_nothing(reg, tts, tmp_path):
    other = DATA / "librispeech_1034-121119-0000_2.5s.flac"  # another speaker, not registered
    for p in (other, EXAMPLES / "spoof_espeak.flac"):
        res = check(p, reg, detector=_StubDetector(), c2pa=False)
        assert res.status == "no_match" and res.original is None and res.timeline == []
        assert res.to_dict()["original"] is None


def test_exact_hashes(reg, original, tmp_path):
    res = check(tmp_path / "original.wav", reg, c2pa=False)
    assert res.status == "identical" and res.unaltered
    sf.write(tmp_path / "same.flac", original, SR, subtype="PCM_16")  # same samples, other bytes
    res = check(tmp_path / "same.flac", reg, c2pa=False)
    assert res.status == "same_audio" and res.file_sha256 != res.original.file_sha256
    again = register(tmp_path / "original.wav", reg)
    assert not again.new and len(reg) == 1


def test_export_verifies_and_tampering_fails(reg, original, tmp_path):
    sf.write(tmp_path / "second.flac", original[: 4 * SR], SR)
    register(tmp_path / "second.flac", reg, note="excerpt")
    doc = json.loads(json.dumps(reg.export()))  # through JSON, as it travels
    recs = verify_export(doc, expect_key_id=reg.key.key_id)
    assert [r.name for r in recs] == ["original.wav", "second.flac"]
    assert oct(os.stat(reg.key.path).st_mode & 0o777) == "0o600"

    def tampered(edit) -> dict:
        d = copy.deepcopy(doc)
        edit(d)
        return d

    fp = base64.b64decode(doc["originals"][0]["fingerprint"])
    flipped = base64.b64encode(bytes([fp[0] ^ 1]) + fp[1:]).decode()
    for edit in (lambda d: d["originals"][0].update(note="interview, take 2"),
                 lambda d: d["originals"][1].update(file_sha256="0" * 64),
                 lambda d: d["originals"][0].update(fingerprint=flipped),
                 lambda d: d["originals"].pop(0),
                 lambda d: d.update(exported="2000-01-01T00:00:00+00:00")):
        with pytest.raises(ProvenanceSignatureError):
            verify_export(tampered(edit))
    # a record re-signed with another key while the export names that key: the export's own
    # signature (by the exporter) still fails; and a pinned key id catches a wholesale re-signing
    with Registry(tmp_path / "other.db") as other:
        sf.write(tmp_path / "x.wav", original[: 2 * SR], SR)
        register(tmp_path / "x.wav", other)
        with pytest.raises(ProvenanceSignatureError, match="not by the expected"):
            verify_export(other.export(), expect_key_id=reg.key.key_id)
        assert other.import_export(doc, expect_key_id=reg.key.key_id) == 2
        res = check(tmp_path / "original.wav", other, c2pa=False)
        assert res.status == "identical" and res.signature_valid is True


def test_tampered_record_in_the_database_is_reported(reg, tmp_path):
    with reg.store.transaction() as conn:
        conn.execute("UPDATE provenance_originals SET note = 'forged'")
    res = check(tmp_path / "original.wav", reg, c2pa=False)
    assert res.status == "identical" and res.signature_valid is False


def test_corrupt_registry_pages_give_a_message_not_a_traceback(tmp_path, original, capsys):
    db = tmp_path / "c.db"
    for i in range(3):
        sf.write(tmp_path / f"o{i}.wav", np.roll(original, i * SR), SR)
        assert _cli(["register", str(tmp_path / f"o{i}.wav"), "--db", str(db)])[0] == 0
    with Registry(db) as r:
        r.store.checkpoint()
        [(roots,)] = r.store.connection.execute("SELECT MAX(rootpage) FROM sqlite_master").fetchall()
    data = bytearray(db.read_bytes())
    for off in range((roots + 1) * 4096, len(data), 512):  # the provenance tables' data pages
        data[off:off + 100] = os.urandom(100)
    db.write_bytes(bytes(data))
    for ext in ("-wal", "-shm"):
        Path(str(db) + ext).unlink(missing_ok=True)
    rc, out = _cli(["provenance", str(tmp_path / "o1.wav"), "--db", str(db), "--no-c2pa"])
    err = capsys.readouterr().err
    assert rc == 2 and "registry cannot be read" in out + err and "Traceback" not in out + err


def test_registry_lives_in_the_voiceprint_database(tmp_path, original):
    from voiceguard.store import VoiceprintStore

    db = tmp_path / "home" / "voiceprints.db"
    sf.write(tmp_path / "o.wav", original[: 3 * SR], SR)
    with Registry() as r:  # default location: $VOICEGUARD_HOME/voiceprints.db
        register(tmp_path / "o.wav", r)
        assert r.path == db
    with VoiceprintStore(db, create=False) as store:
        assert store.list() == [] and store.integrity_check() == "ok"
        tables = {t for (t,) in store.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"speakers", "clips", "provenance_originals", "provenance_index", "provenance_keys"} <= tables
    with Registry(db) as r:  # reopening creates nothing twice
        assert len(r) == 1


def _cli(argv: list[str]) -> tuple[int, str]:
    from voiceguard.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(argv)
    return rc, buf.getvalue()


def test_cli_register_provenance_registry(tmp_path, original, tts, capsys):
    sf.write(tmp_path / "orig.flac", original, SR)
    z = original.copy()
    z[4 * SR:7 * SR] = tts[: 3 * SR] * 0.5
    sf.write(tmp_path / "edit.wav", z, SR)
    sf.write(tmp_path / "other.wav", tts, SR)
    db = str(tmp_path / "cli.db")
    rc, out = _cli(["register", str(tmp_path / "orig.flac"), "--note", "board meeting", "--db", db,
                    "--format", "jsonl"])
    assert rc == 0 and json.loads(out)["note"] == "board meeting"
    rc, out = _cli(["provenance", str(tmp_path / "orig.flac"), "--db", db, "--format", "jsonl", "--no-score"])
    assert rc == 0 and json.loads(out)["status"] == "identical"
    rc, out = _cli(["provenance", str(tmp_path / "edit.wav"), str(tmp_path / "other.wav"), "--db", db,
                    "--format", "jsonl", "--no-score"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 1 and [r["status"] for r in rows] == ["altered", "no_match"]
    assert rows[0]["segments"][0]["kind"] == "replaced" and rows[0]["original"]["note"] == "board meeting"
    rc, out = _cli(["provenance", str(tmp_path / "edit.wav"), "--db", db, "--no-score", "--report",
                    str(tmp_path / "rep")])
    assert rc == 1 and "replaced" in out and "original orig.flac" in out
    page = (tmp_path / "rep" / "edit.html").read_text()  # the report draws the provenance timeline
    assert '<svg class="provenance"' in page and "orig.flac" in page
    import re

    [(a, b)] = re.findall(r'class="span replaced" data-start="([\d.]+)" data-end="([\d.]+)"', page)
    assert abs(float(a) - 4.0) <= 0.5 and abs(float(b) - 7.0) <= 0.5
    rc, _ = _cli(["provenance", str(tmp_path / "missing.wav"), "--db", db])
    assert rc == 2
    # a finding wins over errors (voiceguard.exit_codes): an altered copy beside an unreadable file is 1
    rc, out = _cli(["provenance", str(tmp_path / "edit.wav"), str(tmp_path / "missing.wav"), "--db", db,
                    "--format", "jsonl", "--no-score"])
    rows = [json.loads(line) for line in out.splitlines()]
    assert rc == 1 and rows[0]["status"] == "altered" and "error" in rows[1]
    rc, _ = _cli(["provenance", str(tmp_path / "orig.flac"), "--db", str(tmp_path / "none.db")])
    assert rc == 2 and "no registry database" in capsys.readouterr().err

    exp = tmp_path / "export.json"
    rc, _ = _cli(["registry", "export", "-o", str(exp), "--db", db])
    assert rc == 0
    rc, out = _cli(["registry", "key", "--db", db])
    kid = json.loads(out)["key_id"]
    rc, out = _cli(["registry", "verify", str(exp), "--key-id", kid])
    assert rc == 0 and "verifies" in out
    doc = json.loads(exp.read_text())
    doc["originals"][0]["note"] = "shareholder meeting"
    exp.write_text(json.dumps(doc))
    rc, out = _cli(["registry", "verify", str(exp)])
    assert rc == 1 and "does NOT verify" in out
    rc, out = _cli(["registry", "list", "--db", db, "--format", "json"])
    [row] = json.loads(out)
    rc, out = _cli(["registry", "delete", row["uid"][:8], "--db", db])
    assert rc == 0 and _cli(["registry", "list", "--db", db, "--format", "json"])[1].strip() == "[]"


def test_fingerprint_is_level_invariant_and_validates(original):
    a = fingerprint(original, SR)
    b = fingerprint(0.05 * original, SR)
    assert np.array_equal(a.bits, b.bits) and np.array_equal(a.level_db, b.level_db)
    from voiceguard.errors import InputTooShortError, InvalidAudioError

    with pytest.raises(InputTooShortError):
        fingerprint(original[:1000], SR)
    with pytest.raises(InvalidAudioError):
        fingerprint(np.full(SR, np.nan), SR)


# --------------------------------------------------------------------------------------
# C2PA
# --------------------------------------------------------------------------------------


def _test_chain(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A throw-away CA and an end-entity signing certificate (EC P-256), as PEM files."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "voiceguard tests")])

    now = dt.datetime.now(dt.timezone.utc)
    usage = dict(content_commitment=False, key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("test CA")).issuer_name(name("test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, key_cert_sign=True, crl_sign=True, **usage),
                         critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("newsroom signer")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=False, crl_sign=False, **usage),
                           critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain, kp, anchors = tmp_path / "chain.pem", tmp_path / "signer.key", tmp_path / "ca.pem"
    chain.write_bytes(cert.public_bytes(pem))  # the signer only: the root is the trust anchor
    kp.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    anchors.write_bytes(ca.public_bytes(pem))
    return chain, kp, anchors


def test_c2pa_signed_original_is_read_validated_and_tamper_evident(tmp_path, original):
    pytest.importorskip("c2pa")
    chain, key, anchors = _test_chain(tmp_path)
    sf.write(tmp_path / "take.wav", original, SR, subtype="PCM_16")
    db = str(tmp_path / "c2pa.db")
    rc, out = _cli(["register", str(tmp_path / "take.wav"), "--db", db, "--format", "jsonl",
                    "--c2pa-cert", str(chain), "--c2pa-key", str(key), "--c2pa-out", str(tmp_path / "signed")])
    assert rc == 0
    reg_row = json.loads(out)
    signed = tmp_path / "signed" / "take.c2pa.wav"
    assert reg_row["c2pa"]["file"] == str(signed) and signed.exists()

    rc, out = _cli(["provenance", str(signed), "--db", db, "--format", "jsonl", "--c2pa-trust", str(anchors)])
    row = json.loads(out)
    assert rc == 0 and row["status"] == "same_audio"  # the manifest changed the bytes, not the samples
    c = row["c2pa"]
    assert c["validation_state"] == "Trusted" and c["hard_binding"] == "match" and c["failures"] == []
    assert c["voiceguard"]["uid"] == reg_row["uid"] and c["voiceguard"]["pcm_sha256"] == reg_row["pcm_sha256"]
    assert c["signer"]["common_name"] == "newsroom signer" and "c2pa.created" in c["actions"]
    rc, out = _cli(["provenance", str(signed), "--db", db, "--format", "jsonl"])  # no trust anchors given
    c = json.loads(out)["c2pa"]
    assert c["validation_state"] == "Valid" and not c["trusted"] and c["hard_binding"] == "match"
    assert [f["code"] for f in c["failures"]] == ["signingCredential.untrusted"]

    data = bytearray(signed.read_bytes())
    data[2000] ^= 0x40  # one audio sample's bit, inside the hard-bound data
    (tmp_path / "tampered.wav").write_bytes(bytes(data))
    rc, out = _cli(["provenance", str(tmp_path / "tampered.wav"), "--db", db, "--format", "jsonl", "--no-score",
                    "--c2pa-trust", str(anchors)])
    row = json.loads(out)
    c = row["c2pa"]
    assert c["validation_state"] == "Invalid" and c["hard_binding"] == "mismatch"
    assert row["status"] == "match"  # one changed sample: the fingerprint still finds the original

    rc, out = _cli(["provenance", str(tmp_path / "take.wav"), "--db", db, "--format", "jsonl"])
    assert json.loads(out)["c2pa"] is None  # the unsigned original has no manifest
    with pytest.raises(Exception, match="supports"):
        from voiceguard.provenance.c2pa_manifest import sign

        sign(tmp_path / "take.ogg", tmp_path / "x.ogg", cert_chain=chain, private_key=key)


# --------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------


def test_http_register_and_provenance(tmp_path, original, tts):
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from voiceguard.service import RunningService, ServiceConfig

    cfg = ServiceConfig(http=("127.0.0.1", 0), audiosocket=None, token="t" * 24, workers=1,
                        db=str(tmp_path / "svc.db"))
    cfg.validate()
    auth = {"Authorization": "Bearer " + "t" * 24}
    buf = io.BytesIO()
    sf.write(buf, original, SR, format="FLAC")
    orig = buf.getvalue()
    z = original.copy()
    z[4 * SR:7 * SR] = tts[: 3 * SR] * 0.5
    buf = io.BytesIO()
    sf.write(buf, z, SR, format="WAV")
    edit = buf.getvalue()
    det = _StubDetector()

    async def main():
        async with RunningService(cfg, detector=det) as rs:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rs.http_port}", timeout=60) as h:
                out = {"reg": await h.post("/v1/register?note=keynote", headers=auth,
                                           files={"file": ("keynote.flac", orig, "audio/flac")}),
                       "same": await h.post("/v1/provenance", content=orig,
                                            headers={**auth, "Content-Type": "audio/flac"}),
                       "edit": await h.post("/v1/provenance", headers=auth,
                                            files={"file": ("edit.wav", edit, "audio/wav")}),
                       "noscore": await h.post("/v1/provenance?score=false", content=edit,
                                               headers={**auth, "Content-Type": "audio/wav"}),
                       "empty": await h.post("/v1/register", content=b"", headers={**auth,
                                                                                  "Content-Type": "audio/wav"}),
                       "short": await h.post("/v1/provenance", content=orig[:100],
                                             headers={**auth, "Content-Type": "audio/flac"}),
                       "noauth": await h.post("/v1/provenance", content=orig)}
                return out

    out = asyncio.run(asyncio.wait_for(main(), 120))
    reg = out["reg"].json()
    assert out["reg"].status_code == 200 and reg["name"] == "keynote.flac" and reg["note"] == "keynote"
    same = out["same"].json()
    assert same["status"] == "identical" and same["original"]["uid"] == reg["uid"]
    edit_row = out["edit"].json()
    assert edit_row["status"] == "altered" and edit_row["file"] == "edit.wav"
    [s] = edit_row["segments"]
    assert s["kind"] == "replaced" and abs(s["start_s"] - 4.0) <= 0.5 and s["detector"]["verdict"] == "spoof"
    assert edit_row["detector"] == "stub"
    assert "detector" not in out["noscore"].json()["segments"][0]
    for k, code in (("empty", 422), ("short", 422), ("noauth", 401)):
        assert out[k].status_code == code and out[k].json()["status"] == code and out[k].json()["error"]
