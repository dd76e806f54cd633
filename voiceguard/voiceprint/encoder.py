"""Speaker embeddings (voiceprints): the interface and its GE2E backend.

A speaker encoder turns speech into a fixed-size unit vector; two recordings of the same
voice give vectors with a high cosine similarity. voiceguard ships one backend,
:class:`GE2EEncoder`, which runs the pretrained GE2E speaker encoder (Wan et al.,
"Generalized end-to-end loss for speaker verification", ICASSP 2018) whose weights ship
inside the ``resemblyzer`` PyPI package (``resemblyzer/pretrained.pt``, Apache-2.0). The
network (3-layer LSTM, 256 units, linear projection, ReLU, L2 normalisation) and its
front end (40 Slaney mel bands of a 25 ms / 10 ms power spectrogram at 16 kHz) are
implemented here; only the weights file is read from the package, which is never imported
(its import pulls ``librosa`` and ``webrtcvad``), so loading works offline and fast.

Pipeline of :meth:`GE2EEncoder.embed` for one recording:

1. mix to mono (done by the caller), **resample to 16 kHz** -- 8 kHz telephone audio is
   upsampled and so carries nothing above 4 kHz;
2. **speech activity** (:func:`voiceguard.audio.vad.speech_activity`): only speech frames are
   kept and concatenated; ``speech_s`` is their duration;
3. **level**: the kept speech is scaled to an RMS of -30 dBFS (the level the encoder was
   trained at), so the embedding does not depend on the recording's gain;
4. mel spectrogram, cut into **partial windows** of 1.6 s every 0.8 s; each window is
   embedded; the recording's embedding is the L2-normalised mean of the partial
   embeddings (any length works: long recordings are embedded in batches);
5. **single-voice check** (:func:`voice_consistency`): the partial embeddings are split
   into two groups (spherical 2-means); a recording is flagged as holding more than one
   voice when both groups are substantial and their centroids are dissimilar.

The channel of a recording (:func:`detect_channel`) is ``'telephone'`` when its rate is
at most 8 kHz or it carries (almost) no energy above 4 kHz, else ``'wideband'``. To make a
clean enrollment comparable with telephone calls, :meth:`GE2EEncoder.embed` can also
return the embedding of a **simulated telephone version** of the same audio
(:func:`telephone_simulation`: 300-3400 Hz band-pass, 8 kHz, G.711 mu-law, back to
16 kHz); telephone input is itself band-passed to 300-3400 Hz before embedding, so both
sides of a clean-to-phone trial share one channel. See :mod:`voiceguard.voiceprint`.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Union

import numpy as np

from voiceguard.errors import InvalidAudioError, InvalidParameterError, ModelError
from voiceguard.features.mel import mel_filterbank
from voiceguard.threads import check_threads, torch_threads
from voiceguard.voiceprint.channel import TELEPHONE, WIDEBAND, detect_channel, telephone_band, telephone_simulation
from voiceguard.voiceprint.embedding import SPEAKER_SR, SpeakerEmbedding, unit_vector, voice_consistency

__all__ = ["GE2EEncoder", "RESEMBLYZER_SHA256", "default_encoder", "log_mel_free_spectrogram",
           "resemblyzer_weights_path", "verify_resemblyzer_weights"]

PathLike = Union[str, os.PathLike]


_N_FFT = 400  # 25 ms at 16 kHz
_HOP = 160  # 10 ms
_N_MELS = 40
_PARTIAL_FRAMES = 160  # 1.6 s
_PARTIAL_HOP = 80  # 0.8 s
_TARGET_DBFS = -30.0
_BATCH = 64


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Signal helpers
# --------------------------------------------------------------------------------------


_FB_CACHE: dict[tuple[int, int, int], np.ndarray] = {}


def log_mel_free_spectrogram(y: np.ndarray) -> np.ndarray:
    """Mel power spectrogram (no logarithm) of a 16 kHz signal, as the encoder expects.

    Hann-windowed 25 ms frames every 10 ms, the signal reflect-padded by half a frame on
    both sides (frame ``t`` is centred on sample ``160 t``), 40 mel bands of the power
    spectrum.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]

    Returns
    -------
    np.ndarray [shape=(n // 160 + 1, 40)], float32
    """
    key = (SPEAKER_SR, _N_FFT, _N_MELS)
    fb = _FB_CACHE.get(key)
    if fb is None:
        fb = _FB_CACHE[key] = mel_filterbank()
    y = np.asarray(y, np.float64)
    pad = _N_FFT // 2
    yp = np.pad(y, (pad, pad), mode="reflect") if len(y) > pad else np.pad(y, (pad, pad))
    n = 1 + (len(yp) - _N_FFT) // _HOP
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(_N_FFT) / _N_FFT)  # periodic Hann
    out = np.empty((n, _N_MELS), np.float32)
    for c in range(0, n, 4096):
        t = np.arange(c, min(n, c + 4096))
        frames = yp[t[:, None] * _HOP + np.arange(_N_FFT)[None, :]] * window
        spec = np.fft.rfft(frames, axis=1)
        out[t] = ((spec.real**2 + spec.imag**2) @ fb.T).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------
# GE2E backend
# --------------------------------------------------------------------------------------


def resemblyzer_weights_path() -> Path:
    """Locate ``pretrained.pt`` inside the installed ``resemblyzer`` package, without
    importing the package.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ModelError
        ``resemblyzer`` is not installed or its weights file is missing.
    """
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the speaker encoder's weights come with the 'resemblyzer' package, which is not "
            f"installed; run: {_RESEMBLYZER_REINSTALL}"
        )
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "pretrained.pt"
        if p.is_file():
            return p
    raise ModelError(f"the resemblyzer package has no pretrained.pt; reinstall it: {_RESEMBLYZER_REINSTALL}")


#: SHA-256 of ``resemblyzer/pretrained.pt`` in the pinned release (resemblyzer 0.1.4, whose
#: wheel ``requirements/weights.txt`` pins by hash): the speaker encoder's weights come
#: from a third-party package, so they are checked before use like the detector's
#: (issue 23).
RESEMBLYZER_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
#: The command that puts the published file back (run in the voiceguard clone).
_RESEMBLYZER_REINSTALL = ("pip install --force-reinstall --no-deps --require-hashes -r requirements/weights.txt "
                          "(in the voiceguard clone: the weight packages pinned by version and hash)")

_digests: dict[tuple[str, int, int], str] = {}
_digests_lock = threading.Lock()


def verify_resemblyzer_weights(path: PathLike | None = None, expected: str = RESEMBLYZER_SHA256) -> Path:
    """Refuse a speaker encoder weights file that is not the pinned release's.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The file (default: ``pretrained.pt`` of the installed ``resemblyzer``).
    expected : str
        Its SHA-256 (hex); default :data:`RESEMBLYZER_SHA256`.

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    ModelError
        The file is missing or its digest differs: the message names it, both digests and
        how to reinstall the published package.
    """
    import hashlib

    p = Path(path) if path is not None else resemblyzer_weights_path()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    with _digests_lock:
        if key not in _digests:
            h = hashlib.sha256()
            with open(p, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            _digests[key] = h.hexdigest()
        got = _digests[key]
    if got != expected.lower():
        raise ModelError(f"the speaker encoder weights {p} do not match the SHA-256 voiceguard pins (expected "
                         f"{expected.lower()}, found {got}): not the published file of resemblyzer 0.1.4 (modified, "
                         f"damaged or another release); reinstall it: {_RESEMBLYZER_REINSTALL}")
    return p


def _build_net(state: dict[str, Any]) -> Any:
    import torch
    from torch import nn

    class _GE2E(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(_N_MELS, 256, num_layers=3, batch_first=True)
            self.linear = nn.Linear(256, 256)

        def forward(self, mels: torch.Tensor) -> torch.Tensor:
            _, (hidden, _) = self.lstm(mels)
            e = torch.relu(self.linear(hidden[-1]))
            return e / torch.linalg.vector_norm(e, dim=1, keepdim=True).clamp_min(1e-12)

    net = _GE2E()
    keep = {k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))}
    net.load_state_dict(keep, strict=True)
    net.eval()
    return net


class GE2EEncoder:
    """The pretrained GE2E speaker encoder (weights from the ``resemblyzer`` package).

    Parameters
    ----------
    weights : str or os.PathLike, optional
        A ``pretrained.pt`` file (a dict with ``model_state``, or a bare state dict).
        Default: the one inside the installed ``resemblyzer`` package, refused unless its
        SHA-256 is :data:`RESEMBLYZER_SHA256` (:func:`verify_resemblyzer_weights`); a file
        named here is the caller's to vouch for.
    threads : int, optional
        torch threads while the network runs (:func:`voiceguard.threads.torch_threads`: set
        around each pass and restored, never for the whole process); default: torch's own.
    min_speech_s : float
        Speech below which the embedding is not computed (``has_speech`` is False).

    Notes
    -----
    Measured on the ten LibriSpeech test-other speakers: see ``docs/voiceprints.md``.
    """

    name = "ge2e-resemblyzer"
    dim = 256

    def __init__(self, weights: PathLike | None = None, *, threads: int | None = None,
                 min_speech_s: float = 0.5) -> None:
        import torch

        path = Path(weights) if weights is not None else verify_resemblyzer_weights()
        if not path.is_file():
            raise ModelError(f"speaker encoder weights {path} do not exist")
        self.threads = check_threads(threads)
        try:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
            state = obj.get("model_state", obj) if isinstance(obj, dict) else None
            if not isinstance(state, dict):
                raise TypeError("not a state dict")
            self._net = _build_net(state)
        except Exception as exc:  # any failure means an unusable file
            raise ModelError(f"cannot load the speaker encoder weights {path} ({exc}); "
                             f"reinstall resemblyzer: {_RESEMBLYZER_REINSTALL}") from exc
        self.weights = str(path)
        self.min_speech_s = float(min_speech_s)

    # -- embedding ----------------------------------------------------------------------

    def embed_mels(self, mels: np.ndarray) -> np.ndarray:
        """Embed the partial windows of a mel spectrogram.

        Parameters
        ----------
        mels : np.ndarray [shape=(n_frames, 40)]

        Returns
        -------
        np.ndarray [shape=(n_windows, 256)], float32
            One unit vector per 160-frame window (hop 80, the last one aligned to the
            end); a spectrogram shorter than one window is one window.
        """
        import torch

        t = mels.shape[0]
        if t == 0:
            return np.zeros((0, self.dim), np.float32)
        if t <= _PARTIAL_FRAMES:
            starts = [0]
            length = t
        else:
            starts = list(range(0, t - _PARTIAL_FRAMES + 1, _PARTIAL_HOP))
            if starts[-1] + _PARTIAL_FRAMES < t:
                starts.append(t - _PARTIAL_FRAMES)
            length = _PARTIAL_FRAMES
        out = []
        with torch_threads(self.threads), torch.inference_mode():
            for c in range(0, len(starts), _BATCH):
                batch = np.stack([mels[s : s + length] for s in starts[c : c + _BATCH]])
                out.append(self._net(torch.from_numpy(batch)).numpy())
        return np.concatenate(out).astype(np.float32)

    def _embed16(self, y16: np.ndarray) -> np.ndarray:
        parts = self.embed_mels(log_mel_free_spectrogram(y16))
        return parts

    def embed(self, y: np.ndarray, sr: int, *, telephone: bool = False) -> SpeakerEmbedding:
        """Embed a mono signal.

        Parameters
        ----------
        y : np.ndarray [shape=(n,)]
            Mono float signal in [-1, 1].
        sr : int
            Its rate (>= 8000 Hz; resampled to 16 kHz).
        telephone : bool
            Also embed a simulated telephone version (:func:`telephone_simulation`) of
            wideband input, for comparison with telephone calls.

        Returns
        -------
        SpeakerEmbedding
        """
        return self.embed_blocks([y], sr, telephone=telephone)

    def embed_blocks(self, blocks: Iterable[np.ndarray], sr: int, *, telephone: bool = False) -> SpeakerEmbedding:
        """Embed a recording given as consecutive blocks, in memory bounded by one block.

        Each block goes through the pipeline of the module docstring on its own (speech
        activity, level, partial windows); the recording's embedding is the normalised
        mean of all blocks' partial embeddings. The channel is decided on the first block
        (a recording does not change channel). For the single-voice check at most
        :data:`MAX_KEPT_PARTIALS` partial embeddings are kept, evenly spread over the
        recording. One block gives exactly :meth:`embed`'s result.

        Parameters
        ----------
        blocks : iterable of np.ndarray [shape=(n_i,)]
            Mono float blocks at ``sr``, in order.
        sr : int
        telephone : bool
            See :meth:`embed`.

        Returns
        -------
        SpeakerEmbedding
            ``partials`` holds the kept partial embeddings.
        """
        if sr < 8000:
            raise InvalidParameterError(f"sample rate {sr} Hz is too low for speaker verification "
                                        "(need >= 8000 Hz)")
        acc = _PartialAccumulator(self.dim)
        tel_acc = _PartialAccumulator(self.dim)
        n_samples = 0
        speech_s = 0.0
        channel: str | None = None
        for y in blocks:
            y = np.asarray(y, np.float64)
            if y.ndim != 1:
                raise InvalidAudioError(f"embed expects mono [n] audio, got shape {y.shape}")
            if not np.all(np.isfinite(y)):
                raise InvalidAudioError("the audio contains NaN or infinite samples")
            n_samples += len(y)
            if channel is None:
                channel = detect_channel(y, sr)
            sp, speech = self._speech(y, sr, channel)
            speech_s += sp
            if speech is None:
                continue
            acc.add(self._embed16(speech))
            if telephone and channel != TELEPHONE:
                sim = telephone_simulation(speech, SPEAKER_SR)
                r = float(np.sqrt(np.mean(sim**2)))
                if r > 0:
                    sim = sim * (10.0 ** (_TARGET_DBFS / 20.0) / r)
                tel_acc.add(self._embed16(sim))
        duration = n_samples / float(sr)
        channel = channel or WIDEBAND
        empty = np.zeros(self.dim, np.float32)
        if speech_s < self.min_speech_s or acc.count == 0:
            return SpeakerEmbedding(empty, speech_s, duration, int(sr), channel,
                                    np.zeros((0, self.dim), np.float32), None, None,
                                    empty.copy() if telephone else None, self.name)
        vec = unit_vector(acc.total)
        parts = acc.kept()
        single, cons = voice_consistency(parts)
        tel = None
        if telephone:
            tel = vec.copy() if channel == TELEPHONE else unit_vector(tel_acc.total)
        return SpeakerEmbedding(vec, speech_s, duration, int(sr), channel, parts, single, cons, tel, self.name)

    def _speech(self, y: np.ndarray, sr: int, channel: str) -> tuple[float, np.ndarray | None]:
        """Speech seconds of a block and its speech samples at 16 kHz, level-normalised
        (``None`` when the block holds too little speech)."""
        from voiceguard.audio import resample
        from voiceguard.audio.vad import speech_activity

        y16 = resample(y, sr, SPEAKER_SR) if sr != SPEAKER_SR else y
        if len(y16) < _N_FFT:
            return 0.0, None
        act = speech_activity(y16, SPEAKER_SR)
        hop = int(round(act.hop_s * SPEAKER_SR))
        keep = np.zeros(len(y16), bool)
        for t in np.flatnonzero(act.mask):
            keep[t * hop : t * hop + 2 * hop] = True
        speech = y16[keep]
        if act.speech_s < min(self.min_speech_s, 0.2) or speech.size < _N_FFT:
            return float(act.speech_s), None
        if channel == TELEPHONE:
            speech = telephone_band(speech, SPEAKER_SR)
        rms = float(np.sqrt(np.mean(speech**2)))
        if rms > 0:
            speech = speech * (10.0 ** (_TARGET_DBFS / 20.0) / rms)
        return float(act.speech_s), speech


#: Partial embeddings kept for the single-voice check of a long recording.
MAX_KEPT_PARTIALS = 1024


class _PartialAccumulator:
    """Running sum of partial embeddings and an evenly thinned subset of them (bounded)."""

    def __init__(self, dim: int, cap: int = MAX_KEPT_PARTIALS) -> None:
        self.total = np.zeros(dim, np.float64)
        self.count = 0
        self.cap = cap
        self.stride = 1
        self._kept: list[np.ndarray] = []

    def add(self, parts: np.ndarray) -> None:
        if parts.shape[0] == 0:
            return
        self.total += parts.astype(np.float64).sum(axis=0)
        idx = np.arange(self.count, self.count + parts.shape[0])
        self.count += parts.shape[0]
        self._kept.extend(parts[idx % self.stride == 0])
        while len(self._kept) > self.cap:  # keep every other one, from then on every 2*stride-th
            self._kept = self._kept[::2]
            self.stride *= 2

    def kept(self) -> np.ndarray:
        return np.stack(self._kept).astype(np.float32) if self._kept else np.zeros((0, self.total.size), np.float32)


_DEFAULT: dict[Any, GE2EEncoder] = {}
_DEFAULT_LOCK = threading.Lock()


def default_encoder(threads: int | None = None) -> GE2EEncoder:
    """The shared :class:`GE2EEncoder` for ``threads`` (loaded once per process on first use;
    thread-safe: ``serve`` scores from several threads, and they all get the one instance)."""
    with _DEFAULT_LOCK:
        enc = _DEFAULT.get(threads)
        if enc is None:
            enc = _DEFAULT[threads] = GE2EEncoder(threads=threads)
        return enc
