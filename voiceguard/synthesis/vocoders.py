"""Copy-synthesis spoofs: bona fide speech re-generated through signal-processing vocoders.

Each function analyses a real recording and re-synthesises it with a vocoder, with
settings drawn at random, so the result has the speaker, words, prosody and (mostly)
channel of the original and differs only by the vocoder's artefacts. Training on such
pairs forces a detector to learn synthesis artefacts rather than speaker or content
(X. Wang and J. Yamagishi, "Spoofed training data for speech spoofing countermeasure can
be efficiently created using neural vocoders", ICASSP 2023).

All functions share the signature ``(y, sr, rng) -> y_spoof``: ``y`` a mono float
signal, ``sr`` its rate, ``rng`` a :class:`numpy.random.Generator`. The output is float32
at ``sr``, exactly ``len(y)`` samples, RMS-matched to the input. The settings drawn are
returned alongside when ``return_settings=True``.

==================  ====================================================================
system id           vocoder
==================  ====================================================================
``voc-world``       WORLD (pyworld): DIO or Harvest f0, CheapTrick, D4C; spectral envelope
                    and aperiodicity optionally compressed to few coefficients and
                    smoothed over time, as an acoustic model would produce
``voc-gl-mel``      Griffin-Lim phase reconstruction from a mel magnitude spectrogram
``voc-gl-linear``   Griffin-Lim from a linear magnitude spectrogram, optionally quantised
                    in dB and smoothed
``voc-lpc``         LPC source-filter vocoder written here: Burg LPC per frame, impulse
                    train or glottal-pulse excitation from the f0 contour, noise in
                    unvoiced frames, time-varying all-pole synthesis
``voc-mlsa``        mel-cepstrum + MLSA filter (pysptk) with pulse/noise excitation
==================  ====================================================================
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.signal

from voiceguard.errors import InputTooShortError, InvalidAudioError, SampleRateError, VoiceguardError

__all__ = [
    "VOCODERS",
    "VocoderUnavailableError",
    "VocoderFailedError",
    "world_vocoder",
    "griffin_lim_mel",
    "griffin_lim_linear",
    "lpc_vocoder",
    "mlsa_vocoder",
    "available_vocoders",
]

Vocoder = Callable[..., Any]


class VocoderUnavailableError(VoiceguardError, ImportError):
    """A vocoder's optional dependency (pyworld, pysptk) is not installed."""


class VocoderFailedError(VoiceguardError, RuntimeError):
    """A vocoder produced no usable signal (silent, unstable filter); retry with other settings."""


def _unavailable(package: str, exc: ImportError) -> VocoderUnavailableError:
    """The error for a vocoder package that cannot be imported, saying why."""
    if getattr(exc, "name", None) == "pkg_resources":
        # pyworld 0.3.5 (the newest release) and pysptk 1.0.1 import setuptools'
        # pkg_resources, which setuptools >= 81 no longer ships; the data extra pins
        # setuptools < 81 rather than faking the module for the whole process
        return VocoderUnavailableError(
            f"{package} needs setuptools' pkg_resources (setuptools < 81): "
            "pip install -c constraints.txt 'setuptools<81' (the data extra pins it)")
    return VocoderUnavailableError(
        f"{package} is not installed: pip install -r requirements/data.txt -c constraints.txt "
        "(or scripts/install-data-deps.sh)")


def _import_pyworld():
    try:
        with warnings.catch_warnings():
            # pyworld 0.3.x imports pkg_resources, which setuptools flags as deprecated.
            warnings.simplefilter("ignore")
            import pyworld
    except ImportError as exc:
        raise _unavailable("pyworld", exc) from exc
    return pyworld


def _import_pysptk():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pysptk
            import pysptk.synthesis
    except ImportError as exc:
        raise _unavailable("pysptk", exc) from exc
    return pysptk


def _check(y: np.ndarray, sr: int, min_s: float = 0.1) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise InvalidAudioError(f"expected a mono 1-D signal, got shape {y.shape}; mix down first")
    if not np.issubdtype(y.dtype, np.floating):
        raise InvalidAudioError(f"expected float samples, got {y.dtype}")
    if not np.all(np.isfinite(y)):
        raise InvalidAudioError("signal contains NaN or infinite samples")
    if not isinstance(sr, (int, np.integer)) or not 8000 <= sr <= 96000:
        raise SampleRateError(f"sample rate must be an integer in [8000, 96000] Hz, got {sr!r}")
    if len(y) < int(min_s * sr):
        raise InputTooShortError(f"signal of {len(y)} samples is shorter than {min_s} s; vocoders need more")
    if not np.any(y):
        raise InvalidAudioError("signal is all zeros; nothing to vocode")
    return y.astype(np.float64)


def _finish(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.asarray(out, np.float64)
    with np.errstate(all="ignore"):
        ok = bool(np.all(np.isfinite(out))) and 0 < float(np.max(np.abs(out), initial=0.0)) < 1e6
    if not ok:
        raise VocoderFailedError("the vocoder output is silent or unstable (NaN, inf or huge values)")
    if len(out) < len(y):
        out = np.pad(out, (0, len(y) - len(out)))
    out = out[: len(y)]
    ref = np.sqrt(np.mean(y**2))
    cur = np.sqrt(np.mean(out**2))
    if cur > 0:
        out = out * (ref / cur)
    peak = np.max(np.abs(out))
    if peak > 0.999:  # keep in range; loudness then slightly below the original
        out *= 0.999 / peak
    return out.astype(np.float32)


def _f0(x: np.ndarray, sr: int, frame_period: float, method: str = "dio") -> tuple[np.ndarray, np.ndarray]:
    pw = _import_pyworld()
    if method == "harvest":
        f0, t = pw.harvest(x, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=frame_period)
    else:
        f0, t = pw.dio(x, sr, f0_floor=60.0, f0_ceil=600.0, frame_period=frame_period)
        f0 = pw.stonemask(x, f0, t, sr)
    return f0, t


def _dither(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x + rng.standard_normal(len(x)) * 1e-5 * (np.max(np.abs(x)) + 1e-9)


def world_vocoder(y: np.ndarray, sr: int, rng: np.random.Generator, *, return_settings: bool = False):
    """WORLD analysis/synthesis with random settings.

    Parameters
    ----------
    y : np.ndarray
        Mono float signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
        Random source.
    return_settings : bool
        Also return the drawn settings.

    Returns
    -------
    y_spoof : np.ndarray of float32
        ``len(y)`` samples at ``sr``, RMS matched to ``y``.
    settings : dict, optional
        f0 method, frame period, envelope / aperiodicity coding, smoothing.
    """
    pw = _import_pyworld()
    x = _dither(_check(y, sr), rng)
    s: dict[str, Any] = {
        "f0": str(rng.choice(["dio", "harvest"], p=[0.9, 0.1])),  # Harvest is ~5x slower
        "frame_period": float(rng.choice([5.0, 8.0, 10.0, 12.5, 15.0])),
    }
    f0, t = _f0(x, sr, s["frame_period"], s["f0"])
    sp = pw.cheaptrick(x, f0, t, sr)
    ap = pw.d4c(x, f0, t, sr)
    fft_size = (sp.shape[1] - 1) * 2
    if rng.random() < 0.8:
        s["sp_dims"] = int(rng.integers(20, 61))
        coded = pw.code_spectral_envelope(sp, sr, s["sp_dims"])
        sp = pw.decode_spectral_envelope(np.ascontiguousarray(coded), sr, fft_size)
    if rng.random() < 0.4:
        s["sp_smooth"] = int(rng.integers(2, 5))
        k = np.ones(s["sp_smooth"]) / s["sp_smooth"]
        sp = np.exp(scipy.signal.filtfilt(k, [1.0], np.log(sp + 1e-16), axis=0, padlen=0))
    if rng.random() < 0.5:
        coded = pw.code_aperiodicity(ap, sr)
        ap = pw.decode_aperiodicity(np.ascontiguousarray(coded), sr, fft_size)
        s["ap_coded"] = True
    if rng.random() < 0.3:
        s["f0_median"] = 5
        voiced = f0 > 0
        f0 = np.where(voiced, scipy.signal.medfilt(f0, 5), 0.0)
    out = pw.synthesize(
        np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(np.clip(ap, 0, 1)), sr,
        s["frame_period"],
    )
    res = _finish(out, y)
    return (res, s) if return_settings else res


def _stft_params(rng: np.random.Generator, sr: int) -> tuple[int, int]:
    scale = sr / 16000
    n_fft = int(rng.choice([512, 1024])) if scale <= 1.5 else int(rng.choice([1024, 2048]))
    hop = int(rng.choice([n_fft // 4, int(0.01 * sr), int(0.0125 * sr)]))
    return n_fft, max(hop, 1)


def griffin_lim_mel(y: np.ndarray, sr: int, rng: np.random.Generator, *, return_settings: bool = False):
    """Griffin-Lim reconstruction from a mel magnitude spectrogram.

    The mel spectrogram (random n_fft, hop_length, n_mels, fmax, power) is mapped back to a
    linear magnitude by the filterbank's pseudo-inverse and its phase re-estimated by the fast
    Griffin-Lim algorithm (random n_iter and momentum). This is the vocoder of early
    neural TTS (Tacotron 1).

    Parameters
    ----------
    y : np.ndarray
        Mono float signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
    return_settings : bool
        Also return the drawn settings.

    Returns
    -------
    y_spoof : np.ndarray of float32
    settings : dict, optional
    """
    import librosa

    x = _check(y, sr)
    n_fft, hop = _stft_params(rng, sr)
    s = {
        "n_fft": n_fft,
        "hop_length": hop,
        "n_mels": int(rng.choice([40, 64, 80, 128])),
        "n_iter": int(rng.choice([8, 16, 24, 32])),
        "power": float(rng.choice([1.0, 2.0])),
        "fmax": float(sr / 2 * rng.uniform(0.85, 1.0)),
        "momentum": float(rng.uniform(0.9, 0.99)),
    }
    M = librosa.feature.melspectrogram(
        y=x, sr=sr, n_fft=n_fft, hop_length=hop, n_mels=int(s["n_mels"]), fmax=s["fmax"], power=s["power"]
    )
    # Mel -> linear magnitude by the clipped pseudo-inverse of the filterbank (librosa's
    # NNLS inversion is ~10x slower and makes no audible difference after Griffin-Lim).
    basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=int(s["n_mels"]), fmax=s["fmax"])
    S = np.maximum(np.linalg.pinv(basis) @ M, 0.0) ** (1.0 / s["power"])
    out = librosa.griffinlim(
        S,
        n_iter=int(s["n_iter"]),
        hop_length=hop,
        n_fft=n_fft,
        momentum=s["momentum"],
        length=len(x),
        random_state=int(rng.integers(2**31)),
    )
    res = _finish(out, y)
    return (res, s) if return_settings else res


def griffin_lim_linear(y: np.ndarray, sr: int, rng: np.random.Generator, *, return_settings: bool = False):
    """Griffin-Lim reconstruction from a linear magnitude spectrogram.

    The magnitude is optionally quantised in dB (as a low-precision acoustic model
    output would be) and smoothed along time before phase reconstruction.

    Parameters
    ----------
    y : np.ndarray
        Mono float signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
    return_settings : bool
        Also return the drawn settings.

    Returns
    -------
    y_spoof : np.ndarray of float32
    settings : dict, optional
    """
    import librosa

    x = _check(y, sr)
    n_fft, hop = _stft_params(rng, sr)
    s: dict[str, Any] = {
        "n_fft": n_fft,
        "hop_length": hop,
        "n_iter": int(rng.choice([8, 16, 24, 32])),
        "momentum": float(rng.uniform(0.9, 0.99)),
    }
    S = np.abs(librosa.stft(x, n_fft=n_fft, hop_length=hop))
    if rng.random() < 0.5:
        s["db_step"] = float(rng.uniform(0.5, 3.0))
        db = 20 * np.log10(S + 1e-8)
        db = np.maximum(np.round(db / s["db_step"]) * s["db_step"], db.max() - 80)
        S = 10 ** (db / 20)
    if rng.random() < 0.3:
        s["t_smooth"] = 3
        S = scipy.signal.convolve2d(S, np.ones((1, 3)) / 3, mode="same")
    out = librosa.griffinlim(
        S,
        n_iter=s["n_iter"],
        hop_length=hop,
        n_fft=n_fft,
        momentum=s["momentum"],
        length=len(x),
        random_state=int(rng.integers(2**31)),
    )
    res = _finish(out, y)
    return (res, s) if return_settings else res


def _excitation(
    f0_samples: np.ndarray, sr: int, rng: np.random.Generator, glottal: bool, noise_mix: float
) -> np.ndarray:
    """Pulse train following a per-sample f0 (0 = unvoiced), noise where unvoiced."""
    voiced = f0_samples > 0
    phase = np.cumsum(np.where(voiced, f0_samples, 0.0) / sr)
    pulses = np.zeros_like(f0_samples)
    idx = np.flatnonzero(np.diff(np.floor(phase)) > 0) + 1
    idx = idx[voiced[idx]]
    # Unit-power pulse train: amplitude sqrt(period).
    pulses[idx] = np.sqrt(sr / f0_samples[idx])
    if glottal:
        # Crude glottal flow derivative shape: a two-pole low-pass on the pulses.
        r = 0.95
        pulses = scipy.signal.lfilter([1.0 - r], [1.0, -2 * r * np.cos(0.02), r * r], pulses)
        pulses /= np.sqrt(np.mean(pulses[voiced] ** 2)) + 1e-9 if voiced.any() else 1.0
    noise = rng.standard_normal(len(f0_samples))
    return np.where(voiced, (1 - noise_mix) * pulses + noise_mix * noise, noise)


def lpc_vocoder(y: np.ndarray, sr: int, rng: np.random.Generator, *, return_settings: bool = False):
    """Linear-prediction source-filter vocoder (pulse / noise excitation).

    Frame-wise LPC (Burg's method, :func:`librosa.lpc`) of the pre-emphasised signal, the
    prediction-error gain of each frame, and the f0 contour (WORLD DIO, or librosa's YIN
    when pyworld is missing) drive a time-varying all-pole filter excited by an impulse
    or glottal-pulse train in voiced frames and white noise in unvoiced ones, with a
    random noise admixture -- the classic LPC-10 style vocoder.

    Parameters
    ----------
    y : np.ndarray
        Mono float signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
    return_settings : bool
        Also return the drawn settings.

    Returns
    -------
    y_spoof : np.ndarray of float32
    settings : dict, optional
    """
    import librosa

    x = _dither(_check(y, sr), rng)
    s: dict[str, Any] = {
        "order": int(rng.integers(10, 25)) if sr <= 16000 else int(rng.integers(16, 33)),
        "frame_s": float(rng.uniform(0.02, 0.035)),
        "hop_s": float(rng.choice([0.005, 0.01])),
        "glottal": bool(rng.random() < 0.5),
        "noise_mix": float(rng.uniform(0.0, 0.3)),
        "preemph": float(rng.choice([0.0, 0.9, 0.97])),
    }
    hop = int(s["hop_s"] * sr)
    frame_length = max(int(s["frame_s"] * sr), 2 * hop)
    xe = np.append(x[0], x[1:] - s["preemph"] * x[:-1]) if s["preemph"] else x
    pad = frame_length // 2
    xp = np.pad(xe, (pad, pad + frame_length))
    frames = librosa.util.frame(xp, frame_length=frame_length, hop_length=hop)
    n_frames = int(np.ceil(len(x) / hop)) + 1
    frames = frames[:, :n_frames] * np.hanning(frame_length)[:, None]
    frames = frames + rng.standard_normal(frames.shape) * 1e-7
    a = librosa.lpc(np.ascontiguousarray(frames), order=s["order"], axis=0)  # (order+1, n_frames)
    # Prediction-error power of each frame by filtering it with its own inverse filter.
    p = s["order"]
    r = np.stack([np.sum(frames[: frame_length - k] * frames[k:], axis=0) for k in range(p + 1)])
    # e = a^T R a with R the Toeplitz autocorrelation matrix, for every frame at once
    err = np.zeros(frames.shape[1])
    for i in range(p + 1):
        for j in range(p + 1):
            err += a[i] * a[j] * r[abs(i - j)]
    err = np.maximum(err, 1e-20) / frame_length
    gain = np.sqrt(err / np.mean(np.hanning(frame_length) ** 2))
    try:
        f0, _ = _f0(x, sr, 1000.0 * hop / sr, "dio")
    except VocoderUnavailableError:
        f0 = librosa.yin(x, fmin=60, fmax=500, sr=sr, frame_length=max(2048, 8 * hop), hop_length=hop)
        rms = librosa.feature.rms(y=x, frame_length=max(2048, 8 * hop), hop_length=hop)[0][: len(f0)]
        f0 = np.where(rms > 0.05 * rms.max(), f0[: len(rms)], 0.0)
    f0 = np.pad(f0, (0, max(0, n_frames - len(f0))))[:n_frames]
    f0_samples = np.repeat(f0, hop)[: len(x)]
    exc = _excitation(f0_samples, sr, rng, s["glottal"], s["noise_mix"])
    out = np.zeros(len(x))
    zi = np.zeros(s["order"])
    g = np.repeat(gain, hop)[: len(x)]
    smooth = np.convolve(g, np.ones(hop) / hop, mode="same")
    for i in range(int(np.ceil(len(x) / hop))):
        sl = slice(i * hop, min(len(x), (i + 1) * hop))
        seg, zi = scipy.signal.lfilter([1.0], a[:, i], exc[sl] * smooth[sl], zi=zi)
        if not np.all(np.isfinite(seg)) or np.max(np.abs(zi), initial=0.0) > 1e4:
            zi = np.zeros(s["order"])  # an ill-conditioned frame: restart the filter
            seg = np.zeros_like(seg)
        out[sl] = seg
    if s["preemph"]:
        out = scipy.signal.lfilter([1.0], [1.0, -s["preemph"]], out)
    res = _finish(out, y)
    return (res, s) if return_settings else res


def _sp_to_mcep(sp: np.ndarray, order: int, alpha: float) -> np.ndarray:
    """Mel-cepstrum of power spectra (frames x bins) by frequency warping, all frames at once.

    The log amplitude spectrum is resampled on a grid uniform in the warped frequency of
    the first-order all-pass ``(z^-1 - alpha) / (1 - alpha z^-1)`` and its real cepstrum
    taken: ``log|H(w~)| = c~0 + sum_m c~m cos(m w~)``. Equivalent to SPTK's ``sp2mc``
    (``freqt`` of the cepstrum) up to interpolation error, and vectorised.
    """
    n_bins = sp.shape[1]
    w_lin = np.linspace(0.0, np.pi, n_bins)
    w_warp = np.linspace(0.0, np.pi, n_bins)
    # inverse warping: the linear frequency that maps to each warped grid point
    w_src = w_warp - 2 * np.arctan(alpha * np.sin(w_warp) / (1 + alpha * np.cos(w_warp)))
    pos = np.interp(w_src, w_lin, np.arange(n_bins, dtype=float))
    i0 = np.clip(np.floor(pos).astype(int), 0, n_bins - 2)
    frac = pos - i0
    log_amp = 0.5 * np.log(np.maximum(sp, 1e-30))
    warped = log_amp[:, i0] * (1 - frac) + log_amp[:, i0 + 1] * frac
    c = np.fft.irfft(warped, axis=1)[:, : order + 1]
    c[:, 1:] *= 2.0
    return np.ascontiguousarray(c)


def mlsa_vocoder(y: np.ndarray, sr: int, rng: np.random.Generator, *, return_settings: bool = False):
    """Mel-cepstral analysis and MLSA-filter synthesis (pysptk).

    Mel-cepstra of random order (20-40) and all-pass constant near the rate's usual value,
    pulse/noise excitation from the f0 contour (SPTK ``excite``), MLSA filtering -- the
    vocoder of HMM-based speech synthesis (HTS).

    Parameters
    ----------
    y : np.ndarray
        Mono float signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
    return_settings : bool
        Also return the drawn settings.

    Returns
    -------
    y_spoof : np.ndarray of float32
    settings : dict, optional
    """
    pysptk = _import_pysptk()
    import librosa

    x = _dither(_check(y, sr), rng)
    base_alpha = {8000: 0.31, 16000: 0.41, 22050: 0.455, 24000: 0.466, 44100: 0.544, 48000: 0.554}.get(sr, 0.42)
    hop = int(rng.choice([0.005, 0.01]) * sr)
    s: dict[str, Any] = {
        "order": int(rng.integers(20, 41)),
        "alpha": float(base_alpha + rng.uniform(-0.04, 0.04)),
        "frame_length": 512 if sr <= 16000 else 1024,
        "hop_length": hop,
        "gaussian": bool(rng.random() < 0.5),
    }
    n_frames = int(np.ceil(len(x) / hop)) + 1
    f0, t = _f0(x, sr, 1000.0 * hop / sr, "dio")
    if rng.random() < 0.3:
        # SPTK's iterative mel-cepstral analysis of Blackman-windowed frames (slow: ~1 ms a
        # frame, so analysed every 10 ms and repeated to the synthesis hop).
        s["envelope"] = "mcep"
        fl = s["frame_length"]
        a_hop = int(0.01 * sr)
        xp = np.pad(x, (fl // 2, fl))
        frames = librosa.util.frame(xp, frame_length=fl, hop_length=a_hop)
        n_a = int(np.ceil(len(x) / a_hop)) + 1
        frames = np.ascontiguousarray((frames[:, :n_a] * np.blackman(fl)[:, None]).T)
        frames += rng.standard_normal(frames.shape) * 1e-6
        mc = pysptk.mcep(frames, order=s["order"], alpha=s["alpha"], etype=1, eps=1e-8, maxiter=15)
        idx = np.minimum((np.arange(n_frames) * hop) // a_hop, n_a - 1)
        mc = mc[idx]
    else:
        # WORLD CheapTrick envelope converted to mel-cepstrum (fast, smoother).
        s["envelope"] = "cheaptrick-sp2mc"
        pw = _import_pyworld()
        sp = pw.cheaptrick(x, f0, t, sr)
        # Bound each frame's dynamic range to 60 dB: deep spectral valleys (band-limited or
        # clipped recordings) give cepstra the MLSA filter cannot follow stably.
        sp = np.maximum(sp, sp.max(axis=1, keepdims=True) * 1e-6)
        sp = np.maximum(sp, sp.max() * 1e-9)
        mc = _sp_to_mcep(sp, s["order"], s["alpha"])
        mc = np.pad(mc, ((0, max(0, n_frames - len(mc))), (0, 0)), mode="edge")[:n_frames]
    f0 = np.pad(f0, (0, max(0, n_frames - len(f0))))[:n_frames]
    pitch = np.where(f0 > 0, sr / np.maximum(f0, 1e-3), 0.0).astype(np.float64)
    source = pysptk.excite(pitch, hopsize=hop, gaussian=s["gaussian"], seed=int(rng.integers(1, 2**31)))
    # The 5th-order Pade MLSA filter is accurate and stable while the log amplitude it
    # realises stays within about 6.2 nepers of c0; compress the frames that go beyond
    # 5 nepers (deep valleys of band-limited or clipped recordings).
    w = np.linspace(0.0, np.pi, 256)
    log_shape = mc[:, 1:] @ np.cos(np.outer(np.arange(1, s["order"] + 1), w))
    peak = np.max(np.abs(log_shape), axis=1)
    mc[:, 1:] *= np.minimum(1.0, 5.0 / np.maximum(peak, 1e-9))[:, None]
    b = pysptk.mc2b(mc, s["alpha"])
    synth = pysptk.synthesis.Synthesizer(pysptk.synthesis.MLSADF(order=s["order"], alpha=s["alpha"], pd=5), hop)
    out = synth.synthesis(source.astype(np.float64), np.ascontiguousarray(b.astype(np.float64)))
    res = _finish(out, y)
    return (res, s) if return_settings else res


#: Registry: system id -> vocoder function.
VOCODERS: dict[str, Vocoder] = {
    "voc-world": world_vocoder,
    "voc-gl-mel": griffin_lim_mel,
    "voc-gl-linear": griffin_lim_linear,
    "voc-lpc": lpc_vocoder,
    "voc-mlsa": mlsa_vocoder,
}


def available_vocoders() -> list[str]:
    """System ids of the vocoders whose dependencies are installed.

    Returns
    -------
    list of str
        Subset of :data:`VOCODERS` (Griffin-Lim needs only librosa; LPC prefers pyworld
        for f0 but falls back to YIN; WORLD needs pyworld; MLSA needs pysptk and pyworld).
    """
    ok = ["voc-gl-mel", "voc-gl-linear", "voc-lpc"]
    have_pw = have_sptk = True
    try:
        _import_pyworld()
    except VocoderUnavailableError:
        have_pw = False
    try:
        _import_pysptk()
    except VocoderUnavailableError:
        have_sptk = False
    if have_pw:
        ok.insert(0, "voc-world")
        if have_sptk:
            ok.append("voc-mlsa")
    return ok
