"""Speaker embeddings: front end, GE2E backend (real resemblyzer weights), channels,
single-voice check, lazy imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from voiceguard.audio import resample
from voiceguard.errors import InvalidAudioError, InvalidParameterError, ModelError
from voiceguard.features.mel import mel_filterbank
from voiceguard.voiceprint import channel as vch
from voiceguard.voiceprint import embedding as vemb
from voiceguard.voiceprint import encoder as venc


@pytest.fixture(scope="module")
def enc():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/conftest.py::one_torch_thread
    yield venc.default_encoder()
    torch.set_num_threads(before)


def test_import_stays_light() -> None:
    code = ("import sys, voiceguard, voiceguard.voiceprint.encoder, voiceguard.verify, voiceguard.store, voiceguard.cli; "
            "print(sorted(m for m in ('torch', 'scipy.signal', 'cryptography', 'resemblyzer', 'librosa') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_mel_filterbank_matches_librosa() -> None:
    librosa = pytest.importorskip("librosa")
    ref = librosa.filters.mel(sr=16000, n_fft=400, n_mels=40)
    assert np.allclose(mel_filterbank(), ref, atol=1e-7)


def test_embedding_basic(enc, speech) -> None:
    e = enc.embed(speech, 16000)
    assert e.vector.shape == (256,) and e.vector.dtype == np.float32
    assert abs(float(np.linalg.norm(e.vector)) - 1.0) < 1e-5
    assert e.has_speech and 2.0 < e.speech_s <= 3.0
    assert e.channel == vch.WIDEBAND and e.encoder == "ge2e-resemblyzer"
    assert e.partials.shape[1] == 256 and e.partials.shape[0] >= 1
    # deterministic and gain-invariant
    assert np.array_equal(enc.embed(speech, 16000).vector, e.vector)
    assert vemb.cosine_similarity(enc.embed(0.25 * speech, 16000).vector, e.vector) > 0.99


def test_same_voice_closer_than_other_voice(enc, speech, speech_b) -> None:
    ea = enc.embed(speech, 16000, telephone=True)
    eb = enc.embed(speech_b, 16000)
    e8 = enc.embed(resample(speech, 16000, 8000), 8000)
    assert e8.channel == vch.TELEPHONE
    assert ea.telephone_vector is not None
    same_tel = vemb.cosine_similarity(ea.telephone_vector, e8.vector)
    other = vemb.cosine_similarity(ea.vector, eb.vector)
    assert same_tel > 0.9 > other


def test_no_speech_gives_empty_embedding(enc, noise) -> None:
    for y in (np.zeros(16000 * 2), noise):
        e = enc.embed(y, 16000, telephone=True)
        assert not e.has_speech
        assert not e.vector.any()
        assert e.single_voice is None


def test_long_input_any_length(enc, speech) -> None:
    y = np.tile(speech, 12)  # 36 s
    e = enc.embed(y, 16000)
    assert e.partials.shape[0] > 30
    assert e.single_voice is True
    assert vemb.cosine_similarity(e.vector, enc.embed(speech, 16000).vector) > 0.9


def test_bad_input(enc) -> None:
    with pytest.raises(InvalidParameterError, match="too low"):
        enc.embed(np.zeros(4000), 4000)
    with pytest.raises(InvalidAudioError, match="mono"):
        enc.embed(np.zeros((100, 2)), 16000)
    with pytest.raises(InvalidAudioError, match="NaN"):
        enc.embed(np.full(16000, np.nan), 16000)


def test_detect_channel(speech) -> None:
    assert vch.detect_channel(speech, 16000) == vch.WIDEBAND
    assert vch.detect_channel(resample(speech, 16000, 8000), 8000) == vch.TELEPHONE
    up = resample(resample(speech, 16000, 8000), 8000, 16000)
    assert vch.detect_channel(up, 16000) == vch.TELEPHONE
    sim = vch.telephone_simulation(speech, 16000)
    assert sim.shape == speech.shape
    assert vch.detect_channel(sim, 16000) == vch.TELEPHONE


def test_voice_consistency_synthetic(rng) -> None:
    def group(center, n):
        v = center + 0.15 * rng.standard_normal((n, 256))
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    a = rng.standard_normal(256)
    b = rng.standard_normal(256)
    a /= np.linalg.norm(a)
    b /= np.linalg.norm(b)
    one, cos1 = vemb.voice_consistency(group(a * 10, 8))
    assert one is True and cos1 > 0.9
    two, cos2 = vemb.voice_consistency(np.concatenate([group(a * 10, 5), group(b * 10, 5)]))
    assert two is False and cos2 < 0.5
    assert vemb.voice_consistency(group(a * 10, 3)) == (None, None)


def test_missing_weights(tmp_path) -> None:
    with pytest.raises(ModelError, match="do not exist"):
        venc.GE2EEncoder(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot load"):
        venc.GE2EEncoder(bad)
    assert venc.resemblyzer_weights_path().name == "pretrained.pt"


def test_speaker_encoder_weights_are_verified(tmp_path, monkeypatch) -> None:
    """The GE2E weights come from a third-party package (resemblyzer): the installed file must
    be the pinned release's, a changed one is refused naming it (issue 23, item 3)."""
    import hashlib
    import shutil

    real = venc.resemblyzer_weights_path()
    assert hashlib.sha256(real.read_bytes()).hexdigest() == venc.RESEMBLYZER_SHA256
    assert venc.verify_resemblyzer_weights() == real
    fake = tmp_path / "resemblyzer" / "pretrained.pt"
    fake.parent.mkdir()
    shutil.copy(real, fake)
    with open(fake, "r+b") as fh:  # one bit of one weight, far from the header
        fh.seek(fake.stat().st_size - 4096)
        b = fh.read(1)
        fh.seek(-1, 1)
        fh.write(bytes([b[0] ^ 0x01]))
    monkeypatch.setattr(venc, "resemblyzer_weights_path", lambda: fake)
    with pytest.raises(ModelError) as err:
        venc.GE2EEncoder()
    msg = str(err.value)
    assert str(fake) in msg and "do not match the SHA-256" in msg and "--require-hashes" in msg
    assert venc.GE2EEncoder(fake).weights == str(fake)  # a file named by the caller is the caller's to vouch for
