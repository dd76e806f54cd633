"""Feature presets (published front ends) and the validation of their parameters."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from voiceguard.errors import (
    InvalidParameterError,
    SampleRateError,
)

#: LFCC presets. Durations are in seconds and become samples as ``round(sr * seconds)``;
#: ``fmax=None`` means ``sr / 2``.
LFCC_PRESETS: dict[str, dict[str, Any]] = {
    # ASVspoof 2019 LFCC-GMM baseline front end (Sahidullah, Kinnunen & Hanilci, Interspeech
    # 2015; ASVspoof 2019 evaluation plan): 20 ms Hamming / 10 ms hop, NFFT 512, pre-emphasis
    # 0.97, 20 linear filters over 0..sr/2, log10, DCT, 20 coefficients with c0, + d + dd.
    "asvspoof2019": dict(
        preemphasis=0.97, win_seconds=0.020, hop_seconds=0.010, n_fft=512, window="hamming",
        periodic=False, n_filters=20, fmin=0.0, fmax=None, n_coeffs=20, deltas=True,
        delta_width=1,
    ),
    # ASVspoof 2021 LFCC-LCNN / LFCC-GMM baseline front end (Wang & Yamagishi 2021; ASVspoof
    # 2021 evaluation plan): 30 ms / 15 ms, NFFT 1024, no pre-emphasis, 70 linear filters over
    # 0..4 kHz, 20 coefficients with c0, + d + dd.
    "asvspoof2021": dict(
        preemphasis=0.0, win_seconds=0.030, hop_seconds=0.015, n_fft=1024, window="hamming",
        periodic=False, n_filters=70, fmin=0.0, fmax=4000.0, n_coeffs=20, deltas=True,
        delta_width=1,
    ),
}


#: CQCC presets. ``fmin=None`` means ``(sr / 2) / 2**n_octaves``; ``n_bins=None`` means every
#: bin from fmin up to (excluding) sr / 2.
CQCC_PRESETS: dict[str, dict[str, Any]] = {
    # Todisco, Delgado & Evans, Odyssey 2016 and Computer Speech & Language 2017: CQT with 96
    # bins per octave over nine octaves below Nyquist, log power, uniform resampling with
    # d = 16 samples in the first octave, DCT, 19 coefficients + log energy, + d + dd. The
    # 10 ms hop and the 1.5 bandwidth factor of the CQ-NSGT windows are voiceguard's choices.
    "todisco": dict(
        hop_seconds=0.010, fmin=None, n_octaves=9, n_bins=None, bins_per_octave=96,
        bandwidth=1.5, resample_d=16, n_coeffs=19, deltas=True, delta_width=1,
    ),
}


_LFCC_OVERRIDES = {
    "n_fft", "win_length", "hop_length", "window", "periodic", "preemphasis", "n_filters",
    "fmin", "fmax", "n_coeffs", "deltas", "delta_width",
}


_CQCC_OVERRIDES = {
    "hop_length", "fmin", "n_bins", "bins_per_octave", "bandwidth", "resample_d", "n_coeffs",
    "deltas", "delta_width",
}


_WINDOWS = ("hamming", "hann", "rect")


def _check_sr(sr: Any) -> float:
    if isinstance(sr, (bool, np.bool_)) or not isinstance(sr, (int, float, np.integer, np.floating)):
        raise SampleRateError(f"sr must be a number of samples per second, got {sr!r}")
    sr = float(sr)
    if not math.isfinite(sr) or sr <= 0:
        raise SampleRateError(f"sr must be a positive, finite sample rate in Hz, got {sr!r}")
    return sr


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidParameterError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise InvalidParameterError(f"{name} must be a positive integer, got {value}")
    return int(value)


def _number(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidParameterError(f"{name} must be finite, got {value}")
    return value


def _preset(table: dict[str, dict[str, Any]], kind: str, preset: str) -> dict[str, Any]:
    try:
        return dict(table[preset])
    except (KeyError, TypeError) as exc:
        raise InvalidParameterError(
            f"unknown {kind} preset {preset!r}; choose one of {sorted(table)}"
        ) from exc


def _unknown_overrides(kind: str, overrides: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(overrides) - allowed)
    if unknown:
        raise InvalidParameterError(
            f"unknown {kind} parameter(s) {unknown}; accepted overrides are {sorted(allowed)}"
        )


def _resolve_lfcc(preset: str, sr: float, overrides: dict[str, Any]) -> dict[str, Any]:
    _unknown_overrides("lfcc", overrides, _LFCC_OVERRIDES)
    base = _preset(LFCC_PRESETS, "lfcc", preset)
    p: dict[str, Any] = {
        "preemphasis": base["preemphasis"],
        "win_length": int(round(sr * base["win_seconds"])),
        "hop_length": int(round(sr * base["hop_seconds"])),
        "n_fft": base["n_fft"],
        "window": base["window"],
        "periodic": base["periodic"],
        "n_filters": base["n_filters"],
        "fmin": base["fmin"],
        "fmax": sr / 2.0 if base["fmax"] is None else base["fmax"],
        "n_coeffs": base["n_coeffs"],
        "deltas": base["deltas"],
        "delta_width": base["delta_width"],
    }
    p.update(overrides)
    for name in ("win_length", "hop_length", "n_fft", "n_filters", "n_coeffs", "delta_width"):
        if p[name] == 0 and name in ("win_length", "hop_length") and name not in overrides:
            raise SampleRateError(
                f"sr={sr:g} Hz is too low for preset {preset!r}: its {name} rounds to 0 samples"
            )
        p[name] = _positive_int(name, p[name])
    for name in ("preemphasis", "fmin", "fmax"):
        p[name] = _number(name, p[name])
    if p["window"] not in _WINDOWS:
        raise InvalidParameterError(f"window must be one of {_WINDOWS}, got {p['window']!r}")
    p["periodic"] = bool(p["periodic"])
    p["deltas"] = bool(p["deltas"])
    if not 0.0 <= p["preemphasis"] < 1.0:
        raise InvalidParameterError(
            f"preemphasis must be in [0, 1) (0 disables it), got {p['preemphasis']}"
        )
    if p["n_fft"] < p["win_length"]:
        msg = (
            f"n_fft={p['n_fft']} is shorter than the window ({p['win_length']} samples)"
        )
        if "n_fft" not in overrides and "win_length" not in overrides:
            raise SampleRateError(
                f"{msg} that preset {preset!r} uses at sr={sr:g} Hz; resample the audio to "
                f"16 kHz (voiceguard features --sr 16000) or use a larger FFT (Python: n_fft="
                f"{1 << (p['win_length'] - 1).bit_length()})"
            )
        raise InvalidParameterError(msg + "; n_fft must be >= win_length")
    if p["n_coeffs"] > p["n_filters"]:
        raise InvalidParameterError(
            f"n_coeffs={p['n_coeffs']} exceeds n_filters={p['n_filters']}; a DCT of "
            f"{p['n_filters']} filter energies has at most that many coefficients"
        )
    if p["fmin"] < 0 or p["fmax"] <= p["fmin"]:
        raise InvalidParameterError(
            f"need 0 <= fmin < fmax, got fmin={p['fmin']} Hz, fmax={p['fmax']} Hz"
        )
    if p["fmax"] > sr / 2.0 + 1e-9:
        raise SampleRateError(
            f"fmax={p['fmax']:g} Hz is above the Nyquist frequency of sr={sr:g} Hz "
            f"({sr / 2:g} Hz); use audio sampled at >= {2 * p['fmax']:g} Hz or lower fmax"
        )
    return p


def _resolve_cqcc(preset: str, sr: float, overrides: dict[str, Any]) -> dict[str, Any]:
    _unknown_overrides("cqcc", overrides, _CQCC_OVERRIDES)
    base = _preset(CQCC_PRESETS, "cqcc", preset)
    nyquist = sr / 2.0
    bins_per_octave = _number("bins_per_octave", overrides.get("bins_per_octave", base["bins_per_octave"]))
    if bins_per_octave <= 0:
        raise InvalidParameterError(f"bins_per_octave must be > 0, got {bins_per_octave}")
    if "fmin" in overrides:
        fmin = _number("fmin", overrides["fmin"])
    elif base["fmin"] is None:
        fmin = nyquist / 2.0 ** base["n_octaves"]
    else:
        fmin = float(base["fmin"])
    if fmin <= 0:
        raise InvalidParameterError(f"fmin must be > 0 Hz, got {fmin}")
    if fmin >= nyquist:
        raise SampleRateError(
            f"fmin={fmin:g} Hz is not below the Nyquist frequency ({nyquist:g} Hz) of sr={sr:g} Hz"
        )
    if "n_bins" in overrides:
        n_bins = _positive_int("n_bins", overrides["n_bins"])
    elif base["n_bins"] is None:
        n_bins = int(math.ceil(bins_per_octave * math.log2(nyquist / fmin) - 1e-9))
    else:
        n_bins = int(base["n_bins"])
    p: dict[str, Any] = {
        "hop_length": overrides.get("hop_length", int(round(sr * base["hop_seconds"]))),
        "fmin": fmin,
        "n_bins": n_bins,
        "bins_per_octave": bins_per_octave,
        "bandwidth": _number("bandwidth", overrides.get("bandwidth", base["bandwidth"])),
        "resample_d": overrides.get("resample_d", base["resample_d"]),
        "n_coeffs": overrides.get("n_coeffs", base["n_coeffs"]),
        "deltas": bool(overrides.get("deltas", base["deltas"])),
        "delta_width": overrides.get("delta_width", base["delta_width"]),
    }
    if p["hop_length"] == 0 and "hop_length" not in overrides:
        raise SampleRateError(f"sr={sr:g} Hz is too low for preset {preset!r}: its hop rounds to 0")
    for name in ("hop_length", "resample_d", "n_coeffs", "delta_width"):
        p[name] = _positive_int(name, p[name])
    if p["bandwidth"] <= 0:
        raise InvalidParameterError(f"bandwidth must be > 0, got {p['bandwidth']}")
    top = fmin * 2.0 ** ((n_bins - 1) / bins_per_octave)
    if not top < nyquist:
        raise SampleRateError(
            f"the top CQT bin ({top:.1f} Hz for fmin={fmin:g} Hz, n_bins={n_bins}, "
            f"bins_per_octave={bins_per_octave:g}) is not below the Nyquist frequency "
            f"({nyquist:g} Hz) of sr={sr:g} Hz; lower n_bins or fmin, or use a higher sr"
        )
    n_uniform = int(math.floor((top - fmin) * p["resample_d"] / fmin + 1e-9)) + 1
    if p["n_coeffs"] >= n_uniform:
        raise InvalidParameterError(
            f"n_coeffs={p['n_coeffs']} needs more than {n_uniform} uniform frequency samples; "
            "raise resample_d or n_bins, or lower n_coeffs"
        )
    return p


def resolve_params(kind: str, preset: str, sr: float, **overrides: Any) -> dict[str, Any]:
    """Resolve a preset plus overrides to concrete parameters (samples, Hz).

    Parameters
    ----------
    kind : {"lfcc", "cqcc"}
        ``"lfcc"`` also covers :func:`linear_spectrogram`; ``"cqcc"`` covers :func:`cqt`.
    preset : str
        A key of :data:`LFCC_PRESETS` or :data:`CQCC_PRESETS`.
    sr : float
        Sample rate in Hz.
    **overrides
        Parameters that replace the preset's values.

    Returns
    -------
    dict
        Every parameter, resolved.
    """
    sr = _check_sr(sr)
    if kind == "lfcc":
        return _resolve_lfcc(preset, sr, overrides)
    if kind == "cqcc":
        return _resolve_cqcc(preset, sr, overrides)
    raise InvalidParameterError(f"kind must be 'lfcc' or 'cqcc', got {kind!r}")
