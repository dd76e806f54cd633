"""Neural mel-to-waveform vocoders for copy-synthesis spoofs: models, losses, training.

The signal-processing vocoders of :mod:`voiceguard.data.vocoders` leave artefacts (buzzy
pulse excitation, Griffin-Lim phasiness) that modern text-to-speech no longer has: TTS
systems end in a *neural* vocoder. Copy-synthesis through neural vocoders -- the bona
fide recording's mel spectrogram re-synthesised by a vocoder trained here -- gives spoofs
with the speaker, words, prosody and channel of the original that differ only by the
artefacts of the vocoder families real attacks use (X. Wang and J. Yamagishi, ICASSP
2023). Everything below is written from the papers' descriptions.

Families
--------
==========  ===============================================================================
family      generator (input: log-mel ``[B, 80, T]``; output: waveform ``[B, 1, T * 256]``)
==========  ===============================================================================
``melgan``  :class:`MelGANGenerator` -- transposed-convolution upsampling (8, 8, 4) each
            followed by a stack of dilated residual blocks (dilations 1, 3, 9), weight norm,
            tanh output (Kumar et al., NeurIPS 2019).
``hifigan`` :class:`HiFiGANGenerator` -- transposed-convolution upsampling (8, 8, 2, 2) each
            followed by multi-receptive-field fusion: the mean of residual blocks of kernels
            3, 7, 11 with dilations 1, 3, 5 (Kong et al., NeurIPS 2020; a V2-sized config).
``istft``   :class:`ISTFTGenerator` -- a ConvNeXt backbone at frame rate predicts each
            frame's log-magnitude and phase; an inverse STFT (1024-point, hop 256) makes the
            waveform (Vocos, Siuzdak 2023; iSTFTNet, Kaneko et al., ICASSP 2022, with the
            upsampling layers removed entirely).
``nsf``     :class:`NSFGenerator` -- harmonic-plus-noise neural source-filter model: a sine
            excitation (fundamental and harmonics) from the f0 contour plus noise, shaped by
            dilated-convolution filter blocks conditioned on the mel spectrogram; harmonic
            and noise branches mixed by voicing-dependent low/high-pass filters (Wang,
            Takaki & Yamagishi, IEEE/ACM TASLP 2019). Needs f0, extracted with pyworld.
==========  ===============================================================================

The four differ in where the waveform's fine structure comes from (learnt upsampling
filters, a learnt spectrum through a fixed inverse STFT, a sinusoidal source), so their
artefacts differ: periodic upsampling patterns in the first two, frame-wise phase
inconsistencies in the third, over-regular harmonics in the fourth.

Losses and schedule
-------------------
The generator is trained on random 0.5 s segments with

* ``lambda_mel`` (45) x the L1 distance of log-mel spectrograms (HiFi-GAN);
* ``lambda_stft`` (1) x the multi-resolution STFT loss -- spectral convergence plus
  log-magnitude L1 at (n_fft, hop) = (512, 128), (1024, 256), (2048, 512) (Parallel
  WaveGAN, Yamamoto et al. 2020);

and, from step ``adversarial_start_step`` on, least-squares GAN losses (``lambda_adv``, 1)
against a multi-period discriminator (periods 2, 3, 5, 7, 11; HiFi-GAN) and a multi-scale
discriminator (3 scales, average-pool downsampling; MelGAN), plus ``lambda_fm`` (2) x the
L1 feature-matching loss on the discriminators' intermediate feature maps.

Why the discriminators, and why a warm-up: spectral losses alone give *over-smoothed*
copies -- the phase and fine temporal structure that no magnitude loss constrains come out
noisy or buzzy, and the high bands lose their detail. A detector trained on such spoofs
learns that shortcut ("blurred high band = fake") and misses real neural TTS, whose
vocoders were adversarially trained. The adversarial terms remove the shortcut, so that
only the vocoder's subtler family-specific traces remain to learn. The warm-up (reconstruction
losses only) first brings the generator near the data, so that the discriminators do not
win trivially at the start and the GAN training is stable.

Training writes to ``out_dir``: ``generator.pt`` (the generator's ``state_dict``) with
``vocoder.json`` beside it (family, rate, mel settings, generator arguments, training
config and step: the configuration lives beside the weights, as in SpeechBrain), a full
``training_state.pt`` to resume from (generator, discriminators, optimisers, schedulers,
random states) and ``train_log.jsonl`` (one JSON line of mean losses per ``log_every``
steps). Run it again on the same folder with more ``steps`` and it continues.

Command line::

    python -m voiceguard.data.neural_vocoders train --family hifigan --out runs/voc-hifigan \\
        --steps 100000 --device cuda --corpus ../shared/data/speech
    python -m voiceguard.data.neural_vocoders copy --vocoder runs/voc-hifigan IN.wav OUT.wav

:func:`neural_copy_synthesis` follows the contract of :mod:`voiceguard.data.vocoders`:
``(y, sr, rng) -> y_spoof``, float32, exactly ``len(y)`` samples, RMS-matched.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import weight_norm

from voiceguard.errors import InputTooShortError, InvalidAudioError, InvalidParameterError, ModelError
from voiceguard.speaker import mel_filterbank  # the Slaney filters (librosa defaults), re-exported

__all__ = [
    "FAMILIES",
    "mel_filterbank",
    "log_mel",
    "MelGANGenerator",
    "HiFiGANGenerator",
    "ISTFTGenerator",
    "NSFGenerator",
    "build_generator",
    "MultiPeriodDiscriminator",
    "MultiScaleDiscriminator",
    "discriminator_loss",
    "generator_adversarial_loss",
    "feature_matching_loss",
    "multi_resolution_stft_loss",
    "mel_loss",
    "extract_f0",
    "VocoderTrainConfig",
    "train_vocoder",
    "load_vocoder",
    "neural_copy_synthesis",
    "main",
]

#: Weights and configuration file names inside a vocoder folder.
WEIGHTS_NAME = "generator.pt"
CONFIG_NAME = "vocoder.json"
STATE_NAME = "training_state.pt"
LOG_NAME = "train_log.jsonl"

#: Peak level every training file (and every copy-synthesis input) is brought to before the
#: mel analysis, so that the vocoder sees one level distribution in training and in use.
_PEAK = 0.95


# --------------------------------------------------------------------------------------
# Mel analysis
# --------------------------------------------------------------------------------------


_WINDOWS: dict[tuple[int, str, torch.dtype], torch.Tensor] = {}
_MEL_BASES: dict[tuple[Any, ...], torch.Tensor] = {}


def _hann(n: int, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    key = (n, str(device), dtype)
    if key not in _WINDOWS:
        _WINDOWS[key] = torch.hann_window(n, device=device, dtype=dtype)
    return _WINDOWS[key]


def _as_batch(y: torch.Tensor) -> torch.Tensor:
    """``[N]``, ``[B, N]`` or ``[B, 1, N]`` -> ``[B, N]``."""
    if y.dim() == 3 and y.shape[1] == 1:
        return y[:, 0]
    if y.dim() == 1:
        return y[None]
    if y.dim() != 2:
        raise InvalidAudioError(f"expected a waveform [N], [B, N] or [B, 1, N], got shape {tuple(y.shape)}")
    return y


def log_mel(
    y: torch.Tensor,
    sr: int = 16000,
    n_fft: int = 1024,
    hop_length: int = 256,
    n_mels: int = 80,
    fmin: float = 0.0,
    fmax: float | None = 8000.0,
) -> torch.Tensor:
    """Log-mel magnitude spectrogram, one frame per ``hop_length`` samples.

    The signal is reflect-padded by ``(n_fft - hop_length) / 2`` on each side and framed
    without centring (the HiFi-GAN convention), so ``N`` samples give exactly
    ``N // hop_length`` frames and frame ``t`` is centred on sample
    ``t * hop_length + hop_length / 2``: a generator upsampling by ``hop_length`` maps
    ``T`` frames back to the ``T * hop_length`` samples they came from.

    Parameters
    ----------
    y : torch.Tensor [shape=(N,), (B, N) or (B, 1, N)]
        Waveform(s) in [-1, 1].
    sr, n_fft, hop_length, n_mels : int
    fmin, fmax : float
        Mel band edges in Hz (``fmax=None``: ``sr / 2``).

    Returns
    -------
    torch.Tensor [shape=(B, n_mels, N // hop_length)]
        ``log(max(mel magnitude, 1e-5))`` (magnitude, not power: Hann window, no
        normalisation, Slaney filters of :func:`mel_filterbank`).
    """
    y = _as_batch(y)
    pad = (n_fft - hop_length) // 2
    if y.shape[-1] <= pad or y.shape[-1] < hop_length:
        raise InputTooShortError(
            f"{y.shape[-1]} samples are too few for a mel frame (n_fft={n_fft}, hop={hop_length})"
        )
    x = F.pad(y[:, None], (pad, pad), mode="reflect")[:, 0]
    spec = torch.stft(
        x, n_fft, hop_length, n_fft, _hann(n_fft, x.device, x.dtype), center=False, return_complex=True
    )
    mag = torch.sqrt(spec.real.square() + spec.imag.square() + 1e-9)  # +eps: finite gradient at 0
    key = (sr, n_fft, n_mels, float(fmin), fmax, str(x.device), x.dtype)
    if key not in _MEL_BASES:
        fb = mel_filterbank(int(sr), int(n_fft), int(n_mels), float(fmin), fmax)
        _MEL_BASES[key] = torch.tensor(fb, dtype=x.dtype, device=x.device)
    mel = torch.matmul(_MEL_BASES[key], mag)
    return torch.log(torch.clamp(mel, min=1e-5))


# --------------------------------------------------------------------------------------
# Generators
# --------------------------------------------------------------------------------------


def _wn(module: nn.Module, init_std: float | None = None) -> nn.Module:
    """Weight-normalised layer (the parametrisation API: the old hook one is deprecated).

    ``init_std``: draw the weight from N(0, init_std^2) first -- the small initial weights
    of MelGAN / HiFi-GAN keep the deep upsampling stacks near identity at the start.
    """
    if init_std is not None:
        nn.init.normal_(module.weight, 0.0, init_std)
    return weight_norm(module)


def _remove_weight_norm(model: nn.Module) -> nn.Module:
    """Fold every weight-norm parametrisation into a plain weight (faster inference)."""
    for m in model.modules():
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)
    return model


def _upsample_padding(rate: int, kernel: int) -> tuple[int, int]:
    """Padding and output padding for which a transposed conv maps ``T`` to ``T * rate``."""
    extra = kernel - rate
    if extra < 0:
        raise InvalidParameterError(f"upsampling kernel {kernel} is shorter than its rate {rate}")
    return (extra + 1) // 2, extra % 2


class _MelGANResBlock(nn.Module):
    """``x + conv1x1(lrelu(conv_k3,dilation d(lrelu(x))))``, reflection padding, ``[B, C, L]``."""

    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.ReflectionPad1d(dilation),
            _wn(nn.Conv1d(channels, channels, 3, dilation=dilation), 0.02),
            nn.LeakyReLU(0.2),
            _wn(nn.Conv1d(channels, channels, 1), 0.02),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class MelGANGenerator(nn.Module):
    """MelGAN generator: upsampling transposed convolutions with dilated residual stacks.

    Parameters
    ----------
    n_mels : int
        Mel channels of the input.
    channels : int
        Width after the input convolution; each upsampling stage halves it.
    upsample_rates : sequence of int
        Upsampling factor of each stage (their product is the hop length).
    dilations : sequence of int
        Dilations of the residual blocks after each stage (receptive field grows 3^k).

    Notes
    -----
    Shapes for the defaults (hop 256)::

        mel      [B, 80, T]
        conv7    [B, 192, T]
        up x8    [B, 96, 8T]      + res stack (dilations 1, 3, 9)
        up x8    [B, 48, 64T]     + res stack
        up x4    [B, 24, 256T]    + res stack
        conv7    [B, 1, 256T]     tanh

    Reflection padding needs ``T >= 4`` frames.
    """

    needs_f0 = False

    def __init__(
        self,
        *,
        n_mels: int = 80,
        channels: int = 192,
        upsample_rates: Sequence[int] = (8, 8, 4),
        dilations: Sequence[int] = (1, 3, 9),
    ) -> None:
        super().__init__()
        upsample_rates, dilations = [int(r) for r in upsample_rates], [int(d) for d in dilations]
        if channels // 2 ** len(upsample_rates) < 1:
            raise InvalidParameterError(f"channels={channels} is too narrow for {len(upsample_rates)} halvings")
        self.config = dict(n_mels=n_mels, channels=channels, upsample_rates=upsample_rates, dilations=dilations)
        self.hop_length = int(np.prod(upsample_rates))
        layers: list[nn.Module] = [nn.ReflectionPad1d(3), _wn(nn.Conv1d(n_mels, channels, 7), 0.02)]
        c = channels
        for r in upsample_rates:
            pad, out_pad = _upsample_padding(r, 2 * r)
            layers += [
                nn.LeakyReLU(0.2),
                _wn(nn.ConvTranspose1d(c, c // 2, 2 * r, r, pad, out_pad), 0.02),
            ]
            c //= 2
            layers += [_MelGANResBlock(c, d) for d in dilations]
        layers += [nn.LeakyReLU(0.2), nn.ReflectionPad1d(3), _wn(nn.Conv1d(c, 1, 7), 0.02), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, n_mels, T] -> [B, 1, T * hop_length]``."""
        return self.net(mel)


class _MRFResBlock(nn.Module):
    """HiFi-GAN residual block ("ResBlock1"): for each dilation ``d``,
    ``x = x + conv_k,1(lrelu(conv_k,d(lrelu(x))))``; ``[B, C, L] -> [B, C, L]``."""

    def __init__(self, channels: int, kernel_size: int, dilations: Sequence[int]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            _wn(nn.Conv1d(channels, channels, kernel_size, dilation=d, padding=d * (kernel_size - 1) // 2), 0.01)
            for d in dilations
        )
        self.convs2 = nn.ModuleList(
            _wn(nn.Conv1d(channels, channels, kernel_size, padding=(kernel_size - 1) // 2), 0.01) for _ in dilations
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, 0.1)), 0.1))
        return x


class HiFiGANGenerator(nn.Module):
    """HiFi-GAN generator: transposed-convolution upsampling with multi-receptive-field fusion.

    Parameters
    ----------
    n_mels : int
    upsample_initial_channel : int
        Width after the input convolution; each upsampling stage halves it.
    upsample_rates, upsample_kernel_sizes : sequence of int
        Factor and kernel of each transposed convolution (product of rates = hop length).
    resblock_kernel_sizes : sequence of int
        Kernels of the parallel residual blocks whose outputs are averaged after each stage
        (multi-receptive-field fusion).
    resblock_dilations : sequence of sequence of int
        Dilations inside each of those blocks.

    Notes
    -----
    Shapes for the defaults (a V2-sized model, hop 256)::

        mel      [B, 80, T]
        conv7    [B, 128, T]
        up x8    [B, 64, 8T]     MRF: mean of ResBlocks k=3, 7, 11 (dilations 1, 3, 5)
        up x8    [B, 32, 64T]    MRF
        up x2    [B, 16, 128T]   MRF
        up x2    [B, 8, 256T]    MRF
        conv7    [B, 1, 256T]    tanh
    """

    needs_f0 = False

    def __init__(
        self,
        *,
        n_mels: int = 80,
        upsample_initial_channel: int = 128,
        upsample_rates: Sequence[int] = (8, 8, 2, 2),
        upsample_kernel_sizes: Sequence[int] = (16, 16, 4, 4),
        resblock_kernel_sizes: Sequence[int] = (3, 7, 11),
        resblock_dilations: Sequence[Sequence[int]] = ((1, 3, 5), (1, 3, 5), (1, 3, 5)),
    ) -> None:
        super().__init__()
        rates, kernels = [int(r) for r in upsample_rates], [int(k) for k in upsample_kernel_sizes]
        rk = [int(k) for k in resblock_kernel_sizes]
        rd = [[int(d) for d in ds] for ds in resblock_dilations]
        if len(rates) != len(kernels) or len(rk) != len(rd):
            raise InvalidParameterError("upsample_rates/upsample_kernel_sizes and resblock kernels/dilations must pair up")
        if upsample_initial_channel // 2 ** len(rates) < 1:
            raise InvalidParameterError(f"upsample_initial_channel={upsample_initial_channel} is too narrow")
        self.config = dict(
            n_mels=n_mels, upsample_initial_channel=upsample_initial_channel, upsample_rates=rates,
            upsample_kernel_sizes=kernels, resblock_kernel_sizes=rk, resblock_dilations=rd,
        )
        self.hop_length = int(np.prod(rates))
        self.conv_pre = _wn(nn.Conv1d(n_mels, upsample_initial_channel, 7, padding=3))
        self.ups = nn.ModuleList()
        self.mrfs = nn.ModuleList()
        c = upsample_initial_channel
        for r, k in zip(rates, kernels):
            pad, out_pad = _upsample_padding(r, k)
            self.ups.append(_wn(nn.ConvTranspose1d(c, c // 2, k, r, pad, out_pad), 0.01))
            c //= 2
            self.mrfs.append(nn.ModuleList(_MRFResBlock(c, kk, dd) for kk, dd in zip(rk, rd)))
        self.conv_post = _wn(nn.Conv1d(c, 1, 7, padding=3), 0.01)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, n_mels, T] -> [B, 1, T * hop_length]``."""
        x = self.conv_pre(mel)
        for up, mrf in zip(self.ups, self.mrfs):
            x = up(F.leaky_relu(x, 0.1))
            x = sum(block(x) for block in mrf) / len(mrf)
        # The reference recipe's last activation uses PyTorch's default slope (0.01).
        return torch.tanh(self.conv_post(F.leaky_relu(x, 0.01)))


class _ConvNeXtBlock(nn.Module):
    """ConvNeXt block over time: depthwise conv k7, LayerNorm, pointwise MLP (GELU),
    layer scale, residual; ``[B, C, T] -> [B, C, T]``."""

    def __init__(self, dim: int, intermediate_dim: int, layer_scale: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, intermediate_dim)
        self.pw2 = nn.Linear(intermediate_dim, dim)
        # Layer scale: residual branches start nearly closed, so the deep stack starts as
        # an identity and trains stably without normalising the residual stream.
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.dwconv(x).transpose(1, 2))
        h = self.pw2(F.gelu(self.pw1(h))) * self.gamma
        return x + h.transpose(1, 2)


def _istft_same(spec: torch.Tensor, n_fft: int, hop_length: int) -> torch.Tensor:
    """Inverse STFT for frames laid out as :func:`log_mel` frames them.

    ``[B, n_fft // 2 + 1, T]`` complex -> ``[B, T * hop_length]``: windowed overlap-add,
    divided by the summed squared window, with ``(n_fft - hop) / 2`` samples trimmed on
    each side. ``torch.istft`` cannot do this layout: with ``center=False`` it rejects the
    zero edge of the Hann window (NOLA check), and with ``center=True`` its frame ``t`` is
    centred half a hop earlier than the mel frame ``t`` and it leaves the last hop of
    the output empty.
    """
    b, _, t = spec.shape
    window = _hann(n_fft, spec.device, spec.real.dtype)
    frames = torch.fft.irfft(spec, n=n_fft, dim=1) * window[None, :, None]  # [B, n_fft, T]
    length = (t - 1) * hop_length + n_fft
    y = F.fold(frames, (1, length), (1, n_fft), stride=(1, hop_length))[:, 0, 0]  # [B, length]
    env = F.fold(window.square()[None, :, None].expand(1, n_fft, t), (1, length), (1, n_fft), stride=(1, hop_length))
    pad = (n_fft - hop_length) // 2
    return y[:, pad : pad + t * hop_length] / env[0, 0, 0, pad : pad + t * hop_length].clamp_min(1e-11)


class ISTFTGenerator(nn.Module):
    """Vocos-style generator: frame-rate ConvNeXt backbone, magnitude and phase heads, iSTFT.

    Parameters
    ----------
    n_mels : int
    dim : int
        Backbone width.
    intermediate_dim : int
        Hidden width of each block's pointwise MLP.
    n_layers : int
        ConvNeXt blocks.
    n_fft, hop_length : int
        Inverse STFT frame and hop (the hop must be the mel hop).
    phase : {'direct', 'atan2'}
        ``'direct'``: one head gives the phase angle ``p`` and the spectrum is
        ``mag * (cos p + i sin p)`` (Vocos: no wrap-around discontinuity to learn).
        ``'atan2'``: two heads give ``(re, im)`` and the phase is ``atan2(im, re)``,
        computed as the normalised vector ``(re, im) / |(re, im)|`` (identical value, finite
        gradient at the origin).
    layer_scale : float
        Initial layer-scale of the residual branches.

    Notes
    -----
    Shapes for the defaults::

        mel      [B, 80, T]
        conv7    [B, 128, T]     LayerNorm
        blocks   [B, 128, T]     8 ConvNeXt blocks, LayerNorm
        heads    [B, 513, T] x2  log-magnitude (exp, clamped at 100) and phase
        iSTFT    [B, 1, 256T]    1024-point, hop 256, Hann
    """

    needs_f0 = False

    def __init__(
        self,
        *,
        n_mels: int = 80,
        dim: int = 128,
        intermediate_dim: int = 384,
        n_layers: int = 8,
        n_fft: int = 1024,
        hop_length: int = 256,
        phase: str = "direct",
        layer_scale: float | None = None,
    ) -> None:
        super().__init__()
        if phase not in ("direct", "atan2"):
            raise InvalidParameterError(f"phase must be 'direct' or 'atan2', got {phase!r}")
        if n_fft < hop_length or (n_fft - hop_length) % 2:
            raise InvalidParameterError(f"need n_fft >= hop_length with an even difference, got {n_fft}, {hop_length}")
        layer_scale = 1.0 / n_layers if layer_scale is None else float(layer_scale)
        self.config = dict(
            n_mels=n_mels, dim=dim, intermediate_dim=intermediate_dim, n_layers=n_layers, n_fft=n_fft,
            hop_length=hop_length, phase=phase, layer_scale=layer_scale,
        )
        self.hop_length = hop_length
        self.n_fft = n_fft
        self.phase = phase
        self.embed = nn.Conv1d(n_mels, dim, 7, padding=3)
        self.norm_in = nn.LayerNorm(dim, eps=1e-6)
        self.blocks = nn.ModuleList(_ConvNeXtBlock(dim, intermediate_dim, layer_scale) for _ in range(n_layers))
        self.norm_out = nn.LayerNorm(dim, eps=1e-6)
        n_bins = n_fft // 2 + 1
        self.head = nn.Linear(dim, n_bins * (2 if phase == "direct" else 3))

    def spectrum(self, mel: torch.Tensor) -> torch.Tensor:
        """Predicted complex STFT, ``[B, n_mels, T] -> [B, n_fft // 2 + 1, T]``."""
        x = self.norm_in(self.embed(mel).transpose(1, 2)).transpose(1, 2)
        for block in self.blocks:
            x = block(x)
        h = self.head(self.norm_out(x.transpose(1, 2))).transpose(1, 2)  # [B, k * n_bins, T]
        n_bins = self.n_fft // 2 + 1
        # exp of a clamped log: the magnitude cannot overflow early in training (Vocos clips at 1e2)
        mag = torch.exp(torch.clamp(h[:, :n_bins], max=math.log(1e2)))
        if self.phase == "direct":
            p = h[:, n_bins:]
            cos, sin = torch.cos(p), torch.sin(p)
        else:
            re, im = h[:, n_bins : 2 * n_bins], h[:, 2 * n_bins :]
            norm = torch.sqrt(re.square() + im.square() + 1e-8)
            cos, sin = re / norm, im / norm
        return torch.complex(mag * cos, mag * sin)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """``[B, n_mels, T] -> [B, 1, T * hop_length]``."""
        return _istft_same(self.spectrum(mel), self.n_fft, self.hop_length)[:, None]


def _fir_lowpass(n_taps: int, cutoff: float, sr: int) -> np.ndarray:
    """Hamming-windowed sinc low-pass FIR, unit DC gain."""
    n = np.arange(n_taps) - (n_taps - 1) / 2
    h = 2 * cutoff / sr * np.sinc(2 * cutoff / sr * n) * np.hamming(n_taps)
    return h / h.sum()


class _NSFFilterBlock(nn.Module):
    """One neural filter block of NSF: ``[B, 1, N] -> [B, 1, N]``.

    The excitation is expanded to ``channels``, passed through ``n_layers`` dilated
    convolutions (dilation ``2^i``) with gated (tanh x sigmoid) activations, each
    conditioned by a 1x1 projection of the frame-rate condition (applied at frame rate
    and then repeated ``hop`` times: a 1x1 projection commutes with repetition, and this
    is ``hop`` times cheaper), and mapped back to one channel. The block's input is added
    to its output: a block starts as (nearly) a pass-through of the excitation.
    """

    def __init__(self, channels: int, cond_channels: int, n_layers: int, kernel_size: int) -> None:
        super().__init__()
        self.channels = channels
        self.inp = nn.Conv1d(1, channels, 1)
        self.convs = nn.ModuleList(
            _wn(nn.Conv1d(channels, 2 * channels, kernel_size, dilation=2**i, padding=2**i * (kernel_size - 1) // 2))
            for i in range(n_layers)
        )
        self.conds = nn.ModuleList(nn.Conv1d(cond_channels, 2 * channels, 1) for _ in range(n_layers))
        self.res = nn.ModuleList(_wn(nn.Conv1d(channels, channels, 1)) for _ in range(n_layers))
        self.out = nn.Sequential(
            nn.Conv1d(channels, channels // 2, 1), nn.Tanh(), nn.Conv1d(channels // 2, 1, 1)
        )

    def forward(self, e: torch.Tensor, cond: torch.Tensor, hop: int) -> torch.Tensor:
        h = torch.tanh(self.inp(e))
        skip = torch.zeros_like(h)
        for conv, cproj, res in zip(self.convs, self.conds, self.res):
            a = conv(h) + cproj(cond).repeat_interleave(hop, dim=2)
            z = torch.tanh(a[:, : self.channels]) * torch.sigmoid(a[:, self.channels :])
            h = (h + res(z)) * math.sqrt(0.5)  # keeps the residual stream's scale constant
            skip = skip + z
        return e + self.out(skip / math.sqrt(len(self.convs)))


class NSFGenerator(nn.Module):
    """Harmonic-plus-noise neural source-filter (hn-NSF) waveform model.

    Parameters
    ----------
    n_mels : int
    sr : int
        Sample rate (sets the harmonics' phase increments and the mixing filters).
    hop_length : int
        Samples per mel / f0 frame.
    cond_channels : int
        Width of the frame-rate condition network (mel, log-f0 and voicing in).
    channels : int
        Width of the harmonic branch's filter blocks.
    n_blocks, n_layers : int
        Filter blocks of the harmonic branch and dilated layers per block (dilations 1..2^(n-1)).
    noise_channels, noise_layers : int
        Width and depth of the noise branch's single filter block.
    n_harmonics : int
        Sines in the source: the fundamental and ``n_harmonics - 1`` overtones (those above
        Nyquist are dropped sample by sample).
    sine_amp, noise_std : float
        Source amplitudes ``alpha`` and ``sigma`` of the paper: voiced samples are
        ``alpha sin(phase) + N(0, sigma^2)``, unvoiced ``N(0, (alpha / 3)^2)``.
    voiced_cutoff_hz, unvoiced_cutoff_hz : float
        Maximum voicing frequency: the harmonic branch is low-passed and the noise branch
        high-passed at this frequency (voiced samples: 5 kHz, unvoiced: 1 kHz).
    fir_taps : int
        Length of those fixed FIR filters.

    Notes
    -----
    Shapes (N = T * hop)::

        mel, f0        [B, 80, T], [B, T]          f0 in Hz, 0 = unvoiced
        condition      [B, cond, T]                conv k3 x2 of [mel, log-f0, voicing]
        source         [B, n_harmonics, N] -> [B, 1, N]   sines + noise, merged by linear + tanh
        harmonic       [B, 1, N]                   n_blocks filter blocks on the source
        noise          [B, 1, N]                   one filter block on Gaussian noise
        mix            [B, 1, N]                   LP(harmonic) + HP(noise), cut-off by voicing
    """

    needs_f0 = True

    def __init__(
        self,
        *,
        n_mels: int = 80,
        sr: int = 16000,
        hop_length: int = 256,
        cond_channels: int = 64,
        channels: int = 32,
        n_blocks: int = 3,
        n_layers: int = 10,
        noise_channels: int = 16,
        noise_layers: int = 5,
        n_harmonics: int = 8,
        sine_amp: float = 0.1,
        noise_std: float = 0.003,
        voiced_cutoff_hz: float = 5000.0,
        unvoiced_cutoff_hz: float = 1000.0,
        fir_taps: int = 31,
    ) -> None:
        super().__init__()
        if not 0 < unvoiced_cutoff_hz < sr / 2 or not 0 < voiced_cutoff_hz < sr / 2:
            raise InvalidParameterError(f"voicing cut-offs must lie in (0, {sr / 2}) Hz")
        if fir_taps % 2 != 1:
            raise InvalidParameterError(f"fir_taps must be odd, got {fir_taps}")
        self.config = dict(
            n_mels=n_mels, sr=sr, hop_length=hop_length, cond_channels=cond_channels, channels=channels,
            n_blocks=n_blocks, n_layers=n_layers, noise_channels=noise_channels, noise_layers=noise_layers,
            n_harmonics=n_harmonics, sine_amp=sine_amp, noise_std=noise_std, voiced_cutoff_hz=voiced_cutoff_hz,
            unvoiced_cutoff_hz=unvoiced_cutoff_hz, fir_taps=fir_taps,
        )
        self.sr, self.hop_length, self.n_harmonics = sr, hop_length, n_harmonics
        self.sine_amp, self.noise_std = sine_amp, noise_std
        self.cond = nn.Sequential(
            _wn(nn.Conv1d(n_mels + 2, cond_channels, 3, padding=1)),
            nn.LeakyReLU(0.1),
            _wn(nn.Conv1d(cond_channels, cond_channels, 3, padding=1)),
            nn.LeakyReLU(0.1),
        )
        self.merge = nn.Linear(n_harmonics, 1)
        self.harmonic = nn.ModuleList(_NSFFilterBlock(channels, cond_channels, n_layers, 3) for _ in range(n_blocks))
        self.noise = _NSFFilterBlock(noise_channels, cond_channels, noise_layers, 3)
        # Fixed mixing filters [4, 1, taps]: LP voiced, HP voiced, LP unvoiced, HP unvoiced.
        filters = []
        for fc in (voiced_cutoff_hz, unvoiced_cutoff_hz):
            lp = _fir_lowpass(fir_taps, fc, sr)
            hp = -lp
            hp[fir_taps // 2] += 1.0  # spectral inversion: delta - low-pass
            filters += [lp, hp]
        self.register_buffer("mix_filters", torch.tensor(np.stack(filters)[:, None], dtype=torch.float32))

    def source(self, f0: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Sine-plus-noise excitation at the sample rate.

        Parameters
        ----------
        f0 : torch.Tensor [shape=(B, T)]
            Frame f0 in Hz, 0 where unvoiced.
        generator : torch.Generator, optional
            Random source of the noise and the harmonics' initial phases.

        Returns
        -------
        excitation : torch.Tensor [shape=(B, n_harmonics, N)]
        voiced : torch.Tensor [shape=(B, 1, N)], float 0/1
        """
        f0s = f0.repeat_interleave(self.hop_length, dim=1)  # [B, N]
        b, n = f0s.shape
        voiced = (f0s > 0).to(f0s.dtype)[:, None]
        harmonics = torch.arange(1, self.n_harmonics + 1, device=f0.device, dtype=f0.dtype)
        freq = f0s[:, None] * harmonics[None, :, None]  # [B, H, N]
        # Phase in cycles by a float64 cumulative sum, wrapped to [0, 1): in float32 the
        # sum of thousands of cycles loses the fraction that matters.
        inc = (freq / self.sr).double()
        phi0 = torch.rand(b, self.n_harmonics, 1, generator=generator, device=f0.device, dtype=torch.float64)
        cycles = torch.remainder(torch.cumsum(inc, dim=2) + phi0, 1.0).to(f0.dtype)
        below_nyquist = (freq < self.sr / 2).to(f0.dtype)
        sines = self.sine_amp * torch.sin(2 * math.pi * cycles) * below_nyquist * voiced
        noise_amp = voiced * self.noise_std + (1 - voiced) * self.sine_amp / 3
        noise = torch.randn(b, self.n_harmonics, n, generator=generator, device=f0.device, dtype=f0.dtype)
        return sines + noise_amp * noise, voiced

    def forward(self, mel: torch.Tensor, f0: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[B, n_mels, T]``, f0 ``[B, T]`` (Hz, 0 unvoiced) -> ``[B, 1, T * hop_length]``."""
        if f0.shape != (mel.shape[0], mel.shape[2]):
            raise InvalidParameterError(f"f0 must be [B, T] = {(mel.shape[0], mel.shape[2])}, got {tuple(f0.shape)}")
        f0 = f0.to(mel.dtype)
        vuv = (f0 > 0).to(mel.dtype)
        lf0 = vuv * (torch.log(torch.clamp(f0, min=1.0)) - math.log(150.0))  # ~zero-mean for speech
        cond = self.cond(torch.cat([mel, lf0[:, None], vuv[:, None]], dim=1))  # [B, C, T]
        exc, voiced = self.source(f0, generator)
        e = torch.tanh(self.merge(exc.transpose(1, 2))).transpose(1, 2)  # [B, 1, N]
        for block in self.harmonic:
            e = block(e, cond, self.hop_length)
        noise_src = torch.randn(e.shape, generator=generator, device=e.device, dtype=e.dtype) * (self.sine_amp / 3)
        nz = self.noise(noise_src, cond, self.hop_length)
        pad = self.mix_filters.shape[-1] // 2
        fh = F.conv1d(F.pad(e, (pad, pad)), self.mix_filters[[0, 2]])  # [B, 2, N] LP voiced / unvoiced
        fn = F.conv1d(F.pad(nz, (pad, pad)), self.mix_filters[[1, 3]])  # [B, 2, N] HP voiced / unvoiced
        mixed = fh + fn
        return voiced * mixed[:, :1] + (1 - voiced) * mixed[:, 1:]


#: Family name -> generator class.
FAMILIES: dict[str, type[nn.Module]] = {
    "melgan": MelGANGenerator,
    "hifigan": HiFiGANGenerator,
    "istft": ISTFTGenerator,
    "nsf": NSFGenerator,
}


def build_generator(family: str, *, n_mels: int = 80, hop_length: int = 256, sr: int = 16000, **kwargs: Any) -> nn.Module:
    """Build a family's generator with its defaults overridden by ``kwargs``.

    Parameters
    ----------
    family : {'melgan', 'hifigan', 'istft', 'nsf'}
    n_mels, hop_length, sr : int
        The mel analysis the generator must invert (passed to the families that take them;
        for the transposed-convolution families the upsampling product is checked instead).
    **kwargs
        Constructor arguments of the family's class.

    Returns
    -------
    nn.Module
        With ``.config`` (its full constructor arguments), ``.hop_length`` and ``.needs_f0``.
    """
    if family not in FAMILIES:
        raise InvalidParameterError(f"unknown vocoder family {family!r}; choose from {sorted(FAMILIES)}")
    kwargs = dict(kwargs, n_mels=n_mels)
    if family == "istft":
        kwargs["hop_length"] = hop_length
    elif family == "nsf":
        kwargs.update(hop_length=hop_length, sr=sr)
    try:
        model = FAMILIES[family](**kwargs)
    except TypeError as exc:
        raise InvalidParameterError(f"bad {family} generator arguments: {exc}") from None
    if model.hop_length != hop_length:
        raise InvalidParameterError(
            f"the {family} generator upsamples by {model.hop_length}, the mel hop is {hop_length}"
        )
    return model


# --------------------------------------------------------------------------------------
# Discriminators
# --------------------------------------------------------------------------------------


class _PeriodDiscriminator(nn.Module):
    """One period sub-discriminator: the waveform folded to ``[B, 1, N / p, p]`` and seen by
    2-D convolutions with ``(k, 1)`` kernels, i.e. 1-D convolutions over every p-th sample."""

    def __init__(self, period: int, channels: Sequence[int], kernel_size: int = 5, stride: int = 3) -> None:
        super().__init__()
        self.period = period
        convs = []
        c_in = 1
        for i, c in enumerate(channels):
            s = stride if i < len(channels) - 1 else 1
            convs.append(_wn(nn.Conv2d(c_in, c, (kernel_size, 1), (s, 1), ((kernel_size - 1) // 2, 0))))
            c_in = c
        self.convs = nn.ModuleList(convs)
        self.post = _wn(nn.Conv2d(c_in, 1, (3, 1), 1, (1, 0)))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        b, c, n = x.shape
        if n % self.period:
            x = F.pad(x, (0, self.period - n % self.period), mode="reflect")
        h = x.view(b, c, -1, self.period)
        fmaps = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.1)
            fmaps.append(h)
        h = self.post(h)
        fmaps.append(h)
        return h.flatten(1), fmaps


class MultiPeriodDiscriminator(nn.Module):
    """HiFi-GAN's multi-period discriminator.

    Parameters
    ----------
    periods : sequence of int
        One sub-discriminator per period (primes, so the periodic patterns overlap little).
    channels : sequence of int
        Widths of each sub-discriminator's convolutions (all but the last with stride 3);
        the paper's are (32, 128, 512, 1024, 1024), narrower here for CPU training.

    Notes
    -----
    ``forward(y)`` with ``y [B, 1, N]`` returns ``(logits, fmaps)``: ``logits[i]`` is
    ``[B, L_i]`` (one least-squares score per position), ``fmaps[i]`` the list of the
    ``i``-th sub-discriminator's activations, for feature matching.
    """

    def __init__(self, *, periods: Sequence[int] = (2, 3, 5, 7, 11), channels: Sequence[int] = (32, 64, 128, 256, 256)) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(_PeriodDiscriminator(int(p), list(channels)) for p in periods)

    def forward(self, y: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        logits, fmaps = [], []
        for d in self.discriminators:
            s, f = d(y)
            logits.append(s)
            fmaps.append(f)
        return logits, fmaps


class _ScaleDiscriminator(nn.Module):
    """MelGAN's sub-discriminator: a k15 convolution, strided grouped k41 convolutions
    (4 input channels per group: wide receptive field, few weights), k5 and k3 convolutions."""

    def __init__(self, channels: Sequence[int]) -> None:
        super().__init__()
        convs = [_wn(nn.Conv1d(1, channels[0], 15, 1, 7))]
        c_in = channels[0]
        for c in channels[1:]:
            groups = max(1, c_in // 4)
            if c % groups:
                raise InvalidParameterError(f"scale discriminator: {c} channels do not split into {groups} groups")
            convs.append(_wn(nn.Conv1d(c_in, c, 41, 4, 20, groups=groups)))
            c_in = c
        convs.append(_wn(nn.Conv1d(c_in, c_in, 5, 1, 2)))
        self.convs = nn.ModuleList(convs)
        self.post = _wn(nn.Conv1d(c_in, 1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        fmaps = []
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
            fmaps.append(x)
        x = self.post(x)
        fmaps.append(x)
        return x.flatten(1), fmaps


class MultiScaleDiscriminator(nn.Module):
    """MelGAN's multi-scale discriminator: identical sub-discriminators on the waveform
    and on its 2x and 4x average-pooled versions.

    Parameters
    ----------
    n_scales : int
    channels : sequence of int
        Widths: the k15 input convolution, then each strided grouped convolution (the
        paper's are (16, 64, 256, 1024, 1024); narrower here for CPU training).

    Notes
    -----
    ``forward(y)``, ``y [B, 1, N]`` -> ``(logits, fmaps)`` as for
    :class:`MultiPeriodDiscriminator`.
    """

    def __init__(self, *, n_scales: int = 3, channels: Sequence[int] = (16, 64, 256, 256, 256)) -> None:
        super().__init__()
        self.discriminators = nn.ModuleList(_ScaleDiscriminator(list(channels)) for _ in range(n_scales))
        self.pool = nn.AvgPool1d(4, 2, padding=1, count_include_pad=False)

    def forward(self, y: torch.Tensor) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        logits, fmaps = [], []
        for i, d in enumerate(self.discriminators):
            if i > 0:
                y = self.pool(y)
            s, f = d(y)
            logits.append(s)
            fmaps.append(f)
        return logits, fmaps


# --------------------------------------------------------------------------------------
# Losses
# --------------------------------------------------------------------------------------


def discriminator_loss(real_logits: Sequence[torch.Tensor], fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN loss of the discriminators: ``sum_k mean((1 - D_k(y))^2) + mean(D_k(G(x))^2)``.

    Parameters
    ----------
    real_logits, fake_logits : sequence of torch.Tensor
        Sub-discriminator outputs on real and generated audio (generated detached).
    """
    return sum(torch.mean((1 - r) ** 2) + torch.mean(f**2) for r, f in zip(real_logits, fake_logits))


def generator_adversarial_loss(fake_logits: Sequence[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN loss of the generator: ``sum_k mean((1 - D_k(G(x)))^2)``."""
    return sum(torch.mean((1 - f) ** 2) for f in fake_logits)


def feature_matching_loss(
    real_fmaps: Sequence[Sequence[torch.Tensor]], fake_fmaps: Sequence[Sequence[torch.Tensor]]
) -> torch.Tensor:
    """L1 distance of the discriminators' feature maps on real and generated audio.

    ``sum_k sum_l mean|F_kl(y) - F_kl(G(x))|``, the real maps detached: the generator is
    pulled towards the real audio's features at every depth, which gives it a gradient
    richer than one score (MelGAN, HiFi-GAN).
    """
    return sum(
        torch.mean(torch.abs(r.detach() - f)) for rs, fs in zip(real_fmaps, fake_fmaps) for r, f in zip(rs, fs)
    )


#: (n_fft, hop_length) of the multi-resolution STFT loss; the window is n_fft long.
STFT_RESOLUTIONS = ((512, 128), (1024, 256), (2048, 512))


def multi_resolution_stft_loss(
    y_hat: torch.Tensor, y: torch.Tensor, resolutions: Sequence[tuple[int, int]] = STFT_RESOLUTIONS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spectral convergence and log-magnitude L1 averaged over STFT resolutions.

    Parameters
    ----------
    y_hat, y : torch.Tensor [shape=(B, N) or (B, 1, N)]
        Generated and reference waveforms (``N > n_fft / 2`` for the largest n_fft).
    resolutions : sequence of (n_fft, hop_length)

    Returns
    -------
    sc : torch.Tensor
        Mean over resolutions of ``||Y| - |Y_hat||_F / ||Y||_F`` (emphasises the large,
        spectral-peak components).
    mag : torch.Tensor
        Mean over resolutions of ``mean |log|Y| - log|Y_hat||`` (emphasises the low-energy
        regions the first term ignores).
    """
    y_hat, y = _as_batch(y_hat), _as_batch(y)
    sc = mag = y.new_zeros(())
    for n_fft, hop in resolutions:
        w = _hann(n_fft, y.device, y.dtype)
        s_hat = torch.stft(y_hat, n_fft, hop, n_fft, w, return_complex=True)
        s = torch.stft(y, n_fft, hop, n_fft, w, return_complex=True)
        m_hat = torch.sqrt(torch.clamp(s_hat.real.square() + s_hat.imag.square(), min=1e-7))
        m = torch.sqrt(torch.clamp(s.real.square() + s.imag.square(), min=1e-7))
        sc = sc + torch.linalg.norm(m - m_hat) / torch.linalg.norm(m)
        mag = mag + torch.mean(torch.abs(torch.log(m) - torch.log(m_hat)))
    return sc / len(resolutions), mag / len(resolutions)


def mel_loss(y_hat: torch.Tensor, y: torch.Tensor, **mel_kwargs: Any) -> torch.Tensor:
    """L1 distance of the log-mel spectrograms (:func:`log_mel` with ``mel_kwargs``)."""
    return F.l1_loss(log_mel(y_hat, **mel_kwargs), log_mel(y, **mel_kwargs))


# --------------------------------------------------------------------------------------
# f0
# --------------------------------------------------------------------------------------


def extract_f0(y: np.ndarray, sr: int, hop_length: int, n_frames: int, method: str = "dio") -> np.ndarray:
    """f0 at the centres of the :func:`log_mel` frames, with pyworld.

    Parameters
    ----------
    y : np.ndarray
        Mono signal.
    sr, hop_length : int
    n_frames : int
        Frames wanted (the output is zero-padded or cut to this).
    method : {'dio', 'harvest'}
        DIO + StoneMask (fast) or Harvest (better voicing decisions, ~10x slower).

    Returns
    -------
    np.ndarray [shape=(n_frames,)], float32
        Hz, 0 where unvoiced.

    Notes
    -----
    Mel frame ``t`` is centred on sample ``(t + 1/2) hop``; pyworld's frame ``k`` on
    ``k * frame_period``. Analysing at half the hop and keeping the odd frames puts the two
    on the same instants.
    """
    from voiceguard.data.vocoders import _import_pyworld

    pw = _import_pyworld()
    if method not in ("dio", "harvest"):
        raise InvalidParameterError(f"f0 method must be 'dio' or 'harvest', got {method!r}")
    x = np.ascontiguousarray(y, dtype=np.float64)
    period_ms = 500.0 * hop_length / sr
    if method == "harvest":
        f0, _ = pw.harvest(x, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=period_ms)
    else:
        f0, t = pw.dio(x, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=period_ms)
        f0 = pw.stonemask(x, f0, t, sr)
    f0 = f0[1::2][:n_frames]
    return np.pad(f0, (0, n_frames - len(f0))).astype(np.float32)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------


@dataclass
class VocoderTrainConfig:
    """Everything that defines a vocoder training run (saved in ``vocoder.json``).

    Attributes
    ----------
    family : {'melgan', 'hifigan', 'istft', 'nsf'}
    sr : int
        Rate the corpus is resampled to and the vocoder works at.
    n_fft, hop_length, n_mels, fmin, fmax
        The mel analysis (:func:`log_mel`) the vocoder inverts.
    segment_s : float
        Training segment length (rounded down to whole hops).
    batch_size : int
    lr, betas, weight_decay : float, (float, float), float
        AdamW settings of both generator and discriminators (HiFi-GAN's).
    lr_decay : float
        Exponential decay of the learning rates per step (0.99999: halved every ~69k steps).
    lambda_mel, lambda_stft, lambda_adv, lambda_fm : float
        Loss weights (see the module docstring).
    steps : int
        Total generator updates (a resumed run continues up to this).
    adversarial_start_step : int
        Steps of warm-up with reconstruction losses only before the discriminators join.
    seed : int
    threads : int
        ``torch.set_num_threads`` for the run (0: leave as is).
    checkpoint_every, log_every : int
        Steps between checkpoints / log lines (a checkpoint is also written at the end).
    device : str
        ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
    f0_method : {'dio', 'harvest'}
        pyworld f0 extractor for the NSF family.
    generator_kwargs, mpd_kwargs, msd_kwargs : dict
        Overrides of the generator's / discriminators' constructor defaults.
    """

    family: str = "hifigan"
    sr: int = 16000
    n_fft: int = 1024
    hop_length: int = 256
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = 8000.0
    segment_s: float = 0.5
    batch_size: int = 8
    lr: float = 2e-4
    betas: tuple[float, float] = (0.8, 0.99)
    weight_decay: float = 0.01
    lr_decay: float = 0.99999
    lambda_mel: float = 45.0
    lambda_stft: float = 1.0
    lambda_adv: float = 1.0
    lambda_fm: float = 2.0
    steps: int = 100_000
    adversarial_start_step: int = 5_000
    seed: int = 0
    threads: int = 1
    checkpoint_every: int = 1_000
    log_every: int = 50
    device: str = "cpu"
    f0_method: str = "dio"
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    mpd_kwargs: dict[str, Any] = field(default_factory=dict)
    msd_kwargs: dict[str, Any] = field(default_factory=dict)

    #: Fields that define the models: a run cannot resume with other values.
    MODEL_FIELDS = ("family", "sr", "n_fft", "hop_length", "n_mels", "fmin", "fmax", "f0_method",
                    "generator_kwargs", "mpd_kwargs", "msd_kwargs")

    def __post_init__(self) -> None:
        self.betas = (float(self.betas[0]), float(self.betas[1]))
        # JSON-normal form (tuples -> lists): a config equals its reloaded self, which the
        # resume check relies on
        for name in ("generator_kwargs", "mpd_kwargs", "msd_kwargs"):
            setattr(self, name, json.loads(json.dumps(dict(getattr(self, name)))))
        if self.family not in FAMILIES:
            raise InvalidParameterError(f"unknown vocoder family {self.family!r}; choose from {sorted(FAMILIES)}")
        if self.batch_size < 1 or self.steps < 0 or self.adversarial_start_step < 0:
            raise InvalidParameterError("batch_size must be >= 1, steps and adversarial_start_step >= 0")
        if self.checkpoint_every < 1 or self.log_every < 1:
            raise InvalidParameterError("checkpoint_every and log_every must be >= 1")
        if self.f0_method not in ("dio", "harvest"):
            raise InvalidParameterError(f"f0_method must be 'dio' or 'harvest', got {self.f0_method!r}")
        largest = max(n for n, _ in STFT_RESOLUTIONS)
        if self.segment_samples <= largest // 2:
            raise InvalidParameterError(
                f"segment_s={self.segment_s} gives {self.segment_samples} samples; the {largest}-point "
                f"STFT loss needs more than {largest // 2}"
            )

    @property
    def segment_samples(self) -> int:
        """Segment length in samples: a whole number of hops."""
        return int(self.segment_s * self.sr) // self.hop_length * self.hop_length

    @property
    def mel_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of :func:`log_mel`."""
        return dict(sr=self.sr, n_fft=self.n_fft, hop_length=self.hop_length, n_mels=self.n_mels,
                    fmin=self.fmin, fmax=self.fmax)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VocoderTrainConfig:
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise InvalidParameterError(f"unknown vocoder training settings: {sorted(unknown)}")
        return cls(**d)


class _Corpus:
    """All training audio in memory at the vocoder's rate, with random segment batches.

    Every file is peak-normalised to 0.95 (as copy-synthesis inputs are); each segment then
    gets a random gain of -6..0 dB so the vocoder does not learn a single level. Segments
    start on whole hops so that a file's f0 frames line up with the segment's mel frames.
    """

    def __init__(self, paths: Sequence[str | os.PathLike], config: VocoderTrainConfig) -> None:
        from voiceguard.audio import load_mono

        self.seg = config.segment_samples
        self.hop = config.hop_length
        self.audio: list[np.ndarray] = []
        self.f0: list[np.ndarray] = []
        for p in paths:
            y, _ = load_mono(p, config.sr)
            peak = float(np.max(np.abs(y), initial=0.0))
            if len(y) < config.hop_length * 4 or peak <= 0:
                continue  # too short or silent: nothing to learn
            y = (y * (_PEAK / peak)).astype(np.float32)
            self.audio.append(y)
            if config.family == "nsf":
                self.f0.append(extract_f0(y, config.sr, self.hop, len(y) // self.hop, config.f0_method))
        if not self.audio:
            raise InvalidParameterError("no usable training audio (every file was missing, silent or too short)")
        lengths = np.array([len(y) for y in self.audio], dtype=np.float64)
        self.p = lengths / lengths.sum()

    def batch(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, np.ndarray | None]:
        """``([B, segment], [B, segment / hop] or None)`` float32 waveforms and f0."""
        wav = np.zeros((batch_size, self.seg), np.float32)
        n_frames = self.seg // self.hop
        f0 = np.zeros((batch_size, n_frames), np.float32) if self.f0 else None
        for i, k in enumerate(rng.choice(len(self.audio), size=batch_size, p=self.p)):
            y = self.audio[k]
            start_frame = int(rng.integers(0, max(1, (len(y) - self.seg) // self.hop + 1)))
            seg = y[start_frame * self.hop : start_frame * self.hop + self.seg]
            wav[i, : len(seg)] = seg * np.float32(10 ** (rng.uniform(-6.0, 0.0) / 20))
            if f0 is not None:
                fr = self.f0[k][start_frame : start_frame + n_frames]
                f0[i, : len(fr)] = fr
        return wav, f0


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _write_json(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2) + "\n")
    os.replace(tmp, path)


def _device(name: str) -> torch.device:
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InvalidParameterError(f"device {name!r} requested but CUDA is not available")
    return dev


def _set_requires_grad(model: nn.Module, flag: bool) -> None:
    for p in model.parameters():
        p.requires_grad_(flag)


def train_vocoder(
    config: VocoderTrainConfig, wav_paths: Sequence[str | os.PathLike], out_dir: str | os.PathLike
) -> Path:
    """Train (or resume training) a vocoder on a corpus.

    Parameters
    ----------
    config : VocoderTrainConfig
    wav_paths : sequence of path
        Training audio files (any format :func:`voiceguard.audio.load_mono` reads); resampled
        to ``config.sr``.
    out_dir : path
        Created if missing. If it holds a ``training_state.pt`` of the same model
        configuration, training continues from its step up to ``config.steps``.

    Returns
    -------
    Path
        ``out_dir``, holding ``generator.pt`` and ``vocoder.json`` (load it with
        :func:`load_vocoder`), ``training_state.pt`` and ``train_log.jsonl``.

    Notes
    -----
    One step: a batch of random segments and their log-mels; the generator's waveform;
    from ``adversarial_start_step`` on, one discriminator update (least squares on real
    vs detached generated audio, both discriminators); then one generator update on
    ``lambda_mel * mel L1 + lambda_stft * (SC + log-mag)`` plus, after the warm-up,
    ``lambda_adv * adversarial + lambda_fm * feature matching``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = _device(config.device)
    prev_threads = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    try:
        return _train(config, list(wav_paths), out, dev)
    finally:
        torch.set_num_threads(prev_threads)


def _train(config: VocoderTrainConfig, wav_paths: list, out: Path, dev: torch.device) -> Path:
    torch.manual_seed(config.seed)
    gen = build_generator(config.family, n_mels=config.n_mels, hop_length=config.hop_length, sr=config.sr,
                          **config.generator_kwargs).to(dev)
    mpd = MultiPeriodDiscriminator(**config.mpd_kwargs).to(dev)
    msd = MultiScaleDiscriminator(**config.msd_kwargs).to(dev)
    opt_g = torch.optim.AdamW(gen.parameters(), config.lr, betas=config.betas, weight_decay=config.weight_decay)
    d_params = list(mpd.parameters()) + list(msd.parameters())
    opt_d = torch.optim.AdamW(d_params, config.lr, betas=config.betas, weight_decay=config.weight_decay)
    sched_g = torch.optim.lr_scheduler.ExponentialLR(opt_g, config.lr_decay)
    sched_d = torch.optim.lr_scheduler.ExponentialLR(opt_d, config.lr_decay)
    rng = np.random.default_rng(config.seed)
    step = 0

    state_path = out / STATE_NAME
    if state_path.exists():
        try:
            # on the CPU: load_state_dict moves weights and optimiser moments to the models'
            # device, and the random-generator states must stay CPU byte tensors
            state = torch.load(state_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ModelError(f"{state_path}: cannot read the training state ({exc})") from None
        saved = state["config"]
        now = config.to_dict()
        diff = [k for k in VocoderTrainConfig.MODEL_FIELDS if saved.get(k) != now.get(k)]
        if diff:
            raise InvalidParameterError(
                f"{out} holds a run with other model settings ({', '.join(diff)}); use another folder"
            )
        gen.load_state_dict(state["generator"])
        mpd.load_state_dict(state["mpd"])
        msd.load_state_dict(state["msd"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        sched_g.load_state_dict(state["sched_g"])
        sched_d.load_state_dict(state["sched_d"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        if dev.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], dev)
        step = int(state["step"])
    if step >= config.steps:
        return out

    corpus = _Corpus(wav_paths, config)
    mel_kw = config.mel_kwargs

    def save() -> None:
        state = {
            "step": step, "config": config.to_dict(), "generator": gen.state_dict(), "mpd": mpd.state_dict(),
            "msd": msd.state_dict(), "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
            "sched_g": sched_g.state_dict(), "sched_d": sched_d.state_dict(),
            "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
        }
        if dev.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(dev)
        _atomic_save(state, out / STATE_NAME)
        # Weights first, then the JSON that points to them: a reader that finds the JSON
        # finds weights at least as new.
        _atomic_save(gen.state_dict(), out / WEIGHTS_NAME)
        _write_json(
            {
                "format": 1, "family": config.family, "sr": config.sr, "mel": mel_kw,
                "f0_method": config.f0_method, "generator": gen.config, "step": step,
                "weights": WEIGHTS_NAME, "train": config.to_dict(),
            },
            out / CONFIG_NAME,
        )

    sums: dict[str, float] = {}
    n_logged = 0
    t_log = time.perf_counter()
    gen.train()
    mpd.train()
    msd.train()
    with (out / LOG_NAME).open("a") as log:
        while step < config.steps:
            wav_np, f0_np = corpus.batch(rng, config.batch_size)
            wav = torch.from_numpy(wav_np).to(dev)[:, None]  # [B, 1, N]
            mel = log_mel(wav, **mel_kw)  # [B, n_mels, T]
            y_hat = gen(mel, torch.from_numpy(f0_np).to(dev)) if gen.needs_f0 else gen(mel)
            adversarial = step >= config.adversarial_start_step
            logs: dict[str, float] = {}

            if adversarial:
                _set_requires_grad(mpd, True)
                _set_requires_grad(msd, True)
                opt_d.zero_grad(set_to_none=True)
                fake = y_hat.detach()
                loss_d = discriminator_loss(mpd(wav)[0], mpd(fake)[0]) + discriminator_loss(msd(wav)[0], msd(fake)[0])
                loss_d.backward()
                opt_d.step()
                logs["loss_d"] = loss_d.item()

            l_mel = F.l1_loss(log_mel(y_hat, **mel_kw), mel)
            sc, lmag = multi_resolution_stft_loss(y_hat, wav)
            loss_g = config.lambda_mel * l_mel + config.lambda_stft * (sc + lmag)
            logs.update(mel=l_mel.item(), stft_sc=sc.item(), stft_mag=lmag.item())
            if adversarial:
                # The discriminators are fixed for this update: no gradients for their weights.
                _set_requires_grad(mpd, False)
                _set_requires_grad(msd, False)
                with torch.no_grad():
                    real_p, real_s = mpd(wav)[1], msd(wav)[1]
                fake_p, fake_s = mpd(y_hat), msd(y_hat)
                adv = generator_adversarial_loss(fake_p[0]) + generator_adversarial_loss(fake_s[0])
                fm = feature_matching_loss(real_p, fake_p[1]) + feature_matching_loss(real_s, fake_s[1])
                loss_g = loss_g + config.lambda_adv * adv + config.lambda_fm * fm
                logs.update(adv=adv.item(), fm=fm.item())
            if not torch.isfinite(loss_g):
                raise ModelError(f"the generator loss became non-finite at step {step + 1}: {logs}")
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            sched_g.step()
            if adversarial:
                sched_d.step()  # the discriminators' rate decays with their own updates
            logs["loss_g"] = loss_g.item()
            step += 1

            for k, v in logs.items():
                sums[k] = sums.get(k, 0.0) + v
            n_logged += 1
            if step % config.log_every == 0 or step == config.steps:
                now = time.perf_counter()
                rec = {"step": step, "lr": sched_g.get_last_lr()[0], "adversarial": adversarial}
                rec.update({k: v / n_logged for k, v in sorted(sums.items())})
                rec["s_per_step"] = (now - t_log) / n_logged
                log.write(json.dumps(rec) + "\n")
                log.flush()
                sums, n_logged, t_log = {}, 0, now
            if step % config.checkpoint_every == 0 or step == config.steps:
                save()
    return out


# --------------------------------------------------------------------------------------
# Inference
# --------------------------------------------------------------------------------------


def load_vocoder(path: str | os.PathLike, *, device: str = "cpu") -> nn.Module:
    """Load a trained generator for inference.

    Parameters
    ----------
    path : path
        A folder written by :func:`train_vocoder`, or its ``vocoder.json`` / ``generator.pt``.
    device : str

    Returns
    -------
    nn.Module
        The generator in eval mode, weight norm folded into plain weights, with
        ``.vocoder_info`` = the ``vocoder.json`` contents (family, sr, mel settings, step).

    Raises
    ------
    ModelError
        Missing or unreadable files, or weights that do not fit the configuration.
    """
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    cfg_path = folder / CONFIG_NAME
    try:
        info = json.loads(cfg_path.read_text())
        weights = folder / info.get("weights", WEIGHTS_NAME)
        state = torch.load(weights, map_location=_device(device), weights_only=True)
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"{folder}: not a vocoder folder ({exc})") from None
    mel = info["mel"]
    gen_kwargs = {k: v for k, v in info["generator"].items() if k not in ("n_mels", "hop_length", "sr")}
    model = build_generator(info["family"], n_mels=mel["n_mels"], hop_length=mel["hop_length"], sr=info["sr"],
                            **gen_kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise ModelError(f"{weights}: weights do not fit the {info['family']} configuration ({exc})") from None
    model = _remove_weight_norm(model).to(_device(device)).eval()
    model.vocoder_info = info
    return model


@functools.lru_cache(maxsize=4)
def _cached_vocoder(path: str) -> nn.Module:
    return load_vocoder(path)


def neural_copy_synthesis(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    *,
    vocoder: nn.Module | str | os.PathLike,
    return_settings: bool = False,
):
    """Copy-synthesis through a trained neural vocoder.

    The input is resampled to the vocoder's rate, peak-normalised as in training, analysed
    into the log-mel spectrogram the vocoder was trained on (and, for NSF, an f0 contour
    by pyworld) and re-generated; the result is resampled back and RMS-matched to ``y``.

    Parameters
    ----------
    y : np.ndarray
        Mono float signal (at least 0.1 s).
    sr : int
        Its sample rate.
    rng : numpy.random.Generator
        Seeds the generator's noise (NSF's excitation); other families are deterministic.
    vocoder : nn.Module or path
        From :func:`load_vocoder`, or a vocoder folder (loaded once and cached).
    return_settings : bool
        Also return ``{'family', 'step', 'vocoder_sr'}``.

    Returns
    -------
    y_spoof : np.ndarray of float32
        ``len(y)`` samples at ``sr``, RMS-matched to ``y``.
    settings : dict, optional
    """
    from voiceguard.data.channel import resample
    from voiceguard.data.vocoders import _check, _finish

    x = _check(y, sr)
    model = vocoder if isinstance(vocoder, nn.Module) else _cached_vocoder(str(Path(vocoder).resolve()))
    info = getattr(model, "vocoder_info", None)
    if info is None:
        raise InvalidParameterError("vocoder has no .vocoder_info: load it with load_vocoder()")
    vsr, mel_kw = int(info["sr"]), info["mel"]
    hop = int(mel_kw["hop_length"])
    xv = resample(x, sr, vsr)
    n = len(xv)
    xv = xv * (_PEAK / np.max(np.abs(xv)))
    xv = np.pad(xv, (0, -n % hop))  # whole frames
    param = next(model.parameters())
    seed = int(rng.integers(2**62))
    with torch.inference_mode():
        wav = torch.as_tensor(xv, dtype=torch.float32, device=param.device)
        mel = log_mel(wav, **mel_kw)
        if model.needs_f0:
            f0 = extract_f0(xv, vsr, hop, mel.shape[-1], info.get("f0_method", "dio"))
            gen = torch.Generator(device=param.device).manual_seed(seed)
            out = model(mel, torch.as_tensor(f0, device=param.device)[None], gen)
        else:
            out = model(mel)
    z = out[0, 0, :n].double().cpu().numpy()
    res = _finish(resample(z, vsr, sr), x)
    settings = {"family": info["family"], "step": info.get("step"), "vocoder_sr": vsr}
    return (res, settings) if return_settings else res


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m voiceguard.data.neural_vocoders {train,copy} ...``."""
    ap = argparse.ArgumentParser(prog="python -m voiceguard.data.neural_vocoders",
                                 description="Train neural vocoders and copy-synthesise speech through them.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train (or resume) a vocoder")
    tr.add_argument("--family", choices=sorted(FAMILIES), required=True)
    tr.add_argument("--out", required=True, help="output folder (resumed if it holds a run)")
    tr.add_argument("--steps", type=int, required=True)
    tr.add_argument("--corpus", action="append",
                    help="folder searched for **/*.flac (repeatable; default ../shared/data/speech)")
    tr.add_argument("--device", default="cpu")
    tr.add_argument("--batch-size", type=int, default=VocoderTrainConfig.batch_size)
    tr.add_argument("--segment-s", type=float, default=VocoderTrainConfig.segment_s)
    tr.add_argument("--adversarial-start", type=int, default=None,
                    help=f"warm-up steps before the discriminators join (default: the resumed "
                         f"run's, else {VocoderTrainConfig.adversarial_start_step} but at most steps / 2)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--threads", type=int, default=1)
    tr.add_argument("--checkpoint-every", type=int, default=VocoderTrainConfig.checkpoint_every)
    tr.add_argument("--log-every", type=int, default=VocoderTrainConfig.log_every)
    tr.add_argument("--f0-method", choices=("dio", "harvest"), default="dio")
    cp = sub.add_parser("copy", help="copy-synthesise one file")
    cp.add_argument("--vocoder", required=True, help="vocoder folder")
    cp.add_argument("--seed", type=int, default=0)
    cp.add_argument("input")
    cp.add_argument("output")
    args = ap.parse_args(argv)

    if args.cmd == "train":
        corpora = args.corpus or ["../shared/data/speech"]
        paths: list[str] = []
        for c in corpora:
            if not Path(c).is_dir():
                ap.error(f"corpus folder {c} does not exist")
            paths += sorted(str(p) for p in Path(c).glob("**/*.flac"))
        if not paths:
            ap.error(f"no .flac files under {', '.join(corpora)}")
        adv_start = args.adversarial_start
        saved = Path(args.out) / CONFIG_NAME
        if adv_start is None and saved.is_file():
            # resuming: keep the run's warm-up rather than re-deriving it from the new --steps
            adv_start = int(json.loads(saved.read_text())["train"]["adversarial_start_step"])
        if adv_start is None:
            adv_start = min(VocoderTrainConfig.adversarial_start_step, args.steps // 2)
        config = VocoderTrainConfig(
            family=args.family, steps=args.steps, device=args.device, batch_size=args.batch_size,
            segment_s=args.segment_s, adversarial_start_step=adv_start, seed=args.seed, threads=args.threads,
            checkpoint_every=args.checkpoint_every, log_every=args.log_every, f0_method=args.f0_method,
        )
        print(f"training {args.family} on {len(paths)} files -> {args.out}", file=sys.stderr)
        out = train_vocoder(config, paths, args.out)
        print(out)
        return 0

    import soundfile as sf

    from voiceguard.audio import load_mono

    y, sr = load_mono(args.input)
    z = neural_copy_synthesis(y, sr, np.random.default_rng(args.seed), vocoder=load_vocoder(args.vocoder))
    sf.write(args.output, z, sr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
