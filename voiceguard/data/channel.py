"""The randomised recording/transmission channel applied alike to both classes.

Clean text-to-speech differs from recorded speech in its channel as much as in its
synthesis: no room, no microphone colouring, no background noise, digital silence. A
detector trained on raw corpora learns "studio-clean means fake" (and, per Müller et al.,
Interspeech 2021, even "long leading silence means bona fide"). Every clip voiceguard
builds, real or spoofed, therefore goes through :func:`apply_channel`, drawn from the
same distribution, so that channel, silence, level, duration and sample rate carry no
label.

The chain, in order (each step drawn with its own probability from a seeded
:class:`numpy.random.Generator`):

1. silence randomisation -- leading/trailing silence found by an energy VAD is cut and
   replaced by a random 0.05-0.6 s of (later noise-filled) padding on each side;
2. room -- convolution with a synthetic room impulse response
   (:func:`synthetic_rir`: direct path, a few early reflections, exponentially decaying
   noise tail with random RT60 and frequency-dependent damping);
3. microphone / handset EQ -- random high-pass, shelving and peaking biquads
   (RBJ cookbook), optional low-pass band-limiting;
4. background noise at a random SNR of 5-35 dB (p=0.6; pink, brown, coloured, hum, rarely
   white, or babble made from other bona fide clips) and always a low noise floor, so no clip keeps digital silence;
5. transmission -- ``wideband`` profile: none, or a voicemail/messaging codec at a
   voice bit rate: MP3 at 24-48 kbit/s, AAC at 24-64 kbit/s, Opus at 12-32 kbit/s (through
   ``ffmpeg`` when it is installed, at exact bit rates; otherwise MP3/Opus through
   libsndfile at a random quality); ``telephone`` profile: 300-3400 Hz band-pass, 8 kHz
   resampling, G.711 mu-law / A-law (implemented here from ITU-T G.711), 8 kHz Opus or
   linear PCM, and back to the output rate;
6. level -- random RMS level, peak-limited below full scale.

Every call returns a :class:`ChannelInfo` with a coarse ``condition`` tag
(``wideband``, ``wideband-mp3``, ``wideband-aac``, ``wideband-opus``, ``tel-8k-ulaw``,
``tel-8k-alaw``, ``tel-8k-opus``, ``tel-8k-pcm``) and the full ``chain`` description.
"""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.signal

from voiceguard.audio.g711 import alaw_decode, alaw_encode, g711_roundtrip, mulaw_decode, mulaw_encode
from voiceguard.errors import InvalidAudioError, InvalidParameterError, SampleRateError

__all__ = [
    "ChannelInfo",
    "apply_channel",
    "mulaw_encode",
    "mulaw_decode",
    "alaw_encode",
    "alaw_decode",
    "g711_roundtrip",
    "codec_roundtrip",
    "codec_available",
    "ffmpeg_roundtrip",
    "trim_silence",
    "randomise_silence",
    "synthetic_rir",
    "random_eq",
    "coloured_noise",
    "add_noise",
    "set_level",
    "resample",
    "PROFILES",
]

log = logging.getLogger(__name__)

PROFILES = ("wideband", "telephone")


@dataclass(frozen=True)
class ChannelInfo:
    """What :func:`apply_channel` did.

    Attributes
    ----------
    condition : str
        Coarse tag (``'wideband'``, ``'wideband-mp3'``, ``'tel-8k-ulaw'``...).
    chain : str
        ``'+'``-separated list of the steps applied with their drawn settings.
    """

    condition: str
    chain: str


# --------------------------------------------------------------------------------------
# G.711 (ITU-T Recommendation G.711, 1988): 8-bit logarithmic PCM.
# Both laws are segmented (8 chords of 16 steps). The encoders below take 16-bit linear
# PCM integers; mu-law works on a 14-bit magnitude with a bias of 33 (132 at 16-bit
# scale), A-law on 13 bits. Code words are returned as transmitted: mu-law with all bits
# inverted, A-law with even bits inverted (XOR 0x55) and the sign bit set for positive.
# --------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------
# Perceptual codecs through libsndfile (MP3: LAME/mpg123; Opus: libopus in OGG).
# --------------------------------------------------------------------------------------

_CODECS = {"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS")}
_codec_ok: dict[str, bool] = {}


def codec_available(codec: str) -> bool:
    """Whether the installed libsndfile can encode and decode ``codec``.

    Parameters
    ----------
    codec : {'mp3', 'opus'}

    Returns
    -------
    bool
        The answer is cached; a missing codec is logged once.
    """
    if codec not in _CODECS:
        raise InvalidParameterError(f"codec must be one of {sorted(_CODECS)}, got {codec!r}")
    if codec not in _codec_ok:
        try:
            codec_roundtrip(np.zeros(1600, np.float32), 16000, codec, _check=False)
            _codec_ok[codec] = True
        except Exception as exc:  # noqa: BLE001 - any libsndfile failure means "not usable"
            log.warning("%s round trips skipped: libsndfile cannot do it here (%s)", codec, exc)
            _codec_ok[codec] = False
    return _codec_ok[codec]


def codec_roundtrip(
    y: np.ndarray, sr: int, codec: str, quality: float = 0.5, *, _check: bool = True
) -> np.ndarray:
    """Encode and decode a signal with MP3 or Opus in memory.

    Parameters
    ----------
    y : np.ndarray
        Float mono signal.
    sr : int
        Sample rate (Opus: 8000, 12000, 16000, 24000 or 48000).
    codec : {'mp3', 'opus'}
    quality : float
        libsndfile compression level in [0, 0.9]: 0 is the highest bit rate.

    Returns
    -------
    np.ndarray of float32
        Decoded signal, cropped or zero-padded to the input length.
    """
    import soundfile as sf

    if _check and not codec_available(codec):
        raise InvalidParameterError(f"{codec} is not supported by this libsndfile; skip it")
    fmt, subtype = _CODECS[codec]
    buf = io.BytesIO()
    x = np.clip(np.asarray(y, np.float32), -1.0, 1.0)
    sf.write(buf, x, sr, format=fmt, subtype=subtype, compression_level=float(np.clip(quality, 0, 0.9)))
    buf.seek(0)
    z, _ = sf.read(buf, dtype="float32")
    if z.ndim > 1:
        z = z.mean(axis=1)
    out = np.zeros(len(x), np.float32)
    n = min(len(x), len(z))
    out[:n] = z[:n]
    return out


#: ffmpeg encoder, output container and input demuxer of each codec it is used for.
_FFMPEG_CODECS = {"mp3": ("libmp3lame", "mp3", "mp3"), "aac": ("aac", "adts", "aac"), "opus": ("libopus", "ogg", "ogg")}


_FFMPEG_DELAY = {"mp3": 1105, "aac": 1024}


def ffmpeg_roundtrip(y: np.ndarray, sr: int, codec: str, kbps: float) -> np.ndarray:
    """Encode and decode a signal with ``ffmpeg`` at a fixed bit rate (a subprocess).

    Parameters
    ----------
    y : np.ndarray
        Float mono signal.
    sr : int
        Sample rate (kept: the codec runs at it, or ffmpeg resamples inside and back).
    codec : {'mp3', 'aac', 'opus'}
    kbps : float
        Target bit rate in kbit/s.

    Returns
    -------
    np.ndarray of float32
        Decoded signal, cropped or zero-padded to the input length.

    Raises
    ------
    InvalidParameterError
        ffmpeg is not installed (``scripts/install-data-deps.sh`` installs it) or failed.
    """
    if codec not in _FFMPEG_CODECS:
        raise InvalidParameterError(f"codec must be one of {sorted(_FFMPEG_CODECS)}, got {codec!r}")
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise InvalidParameterError("ffmpeg is not installed; run scripts/install-data-deps.sh")
    encoder, container, demuxer = _FFMPEG_CODECS[codec]
    x = np.clip(np.asarray(y, np.float32), -1.0, 1.0)
    extra = ["-application", "voip"] if codec == "opus" else []
    enc = subprocess.run(
        [exe, "-nostdin", "-loglevel", "error", "-f", "f32le", "-ar", str(sr), "-ac", "1", "-i", "pipe:0",
         "-c:a", encoder, "-b:a", f"{int(round(kbps))}k", *extra, "-f", container, "pipe:1"],
        input=x.tobytes(), capture_output=True, check=False)
    if enc.returncode != 0 or not enc.stdout:
        raise InvalidParameterError(f"ffmpeg could not encode {codec}: {enc.stderr.decode(errors='replace')[-200:]}")
    dec = subprocess.run(
        [exe, "-nostdin", "-loglevel", "error", "-f", demuxer, "-i", "pipe:0", "-f", "f32le", "-ar", str(sr),
         "-ac", "1", "pipe:1"], input=enc.stdout, capture_output=True, check=False)
    if dec.returncode != 0:
        raise InvalidParameterError(f"ffmpeg could not decode {codec}: {dec.stderr.decode(errors='replace')[-200:]}")
    # MP3 and AAC decoders from a pipe keep the encoder's priming samples (LAME: 576 +
    # 529 decoder delay; AAC: 1024): drop them so the output lines up with the input
    z = np.frombuffer(dec.stdout, np.float32)[_FFMPEG_DELAY.get(codec, 0):]
    out = np.zeros(len(x), np.float32)
    n = min(len(x), len(z))
    out[:n] = z[:n]
    return out


def _voice_codec(x: np.ndarray, sr: int, rng: np.random.Generator, r: float) -> tuple[np.ndarray, str, str]:
    """The wideband profile's codec step for a uniform draw ``r``: (signal, condition, tag)."""
    have_ffmpeg = shutil.which("ffmpeg") is not None
    if r < 0.25:  # MP3 voicemail / download
        kbps = float(rng.choice([24, 32, 40, 48]))
        if have_ffmpeg:
            return ffmpeg_roundtrip(x, sr, "mp3", kbps), "wideband-mp3", f"mp3-{kbps:.0f}k"
        if codec_available("mp3"):
            q = rng.uniform(0.3, 0.9)
            return codec_roundtrip(x, sr, "mp3", q), "wideband-mp3", f"mp3q{q:.2f}"
    elif r < 0.40 and have_ffmpeg:  # AAC: phone voice memos, messaging apps
        kbps = float(rng.choice([24, 32, 48, 64]))
        return ffmpeg_roundtrip(x, sr, "aac", kbps), "wideband-aac", f"aac-{kbps:.0f}k"
    elif r < 0.58:  # Opus: WhatsApp/Telegram voice notes, WebRTC
        if have_ffmpeg:
            kbps = float(rng.choice([12, 16, 24, 32]))
            return ffmpeg_roundtrip(x, sr, "opus", kbps), "wideband-opus", f"opus-{kbps:.0f}k"
        if codec_available("opus") and sr in (8000, 12000, 16000, 24000, 48000):
            q = rng.uniform(0.3, 0.95)
            return codec_roundtrip(x, sr, "opus", q), "wideband-opus", f"opusq{q:.2f}"
    return x, "wideband", ""


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------


def _check_audio(y: np.ndarray, sr: int) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise InvalidAudioError(f"expected a mono 1-D signal, got shape {y.shape}; mix down first")
    if y.size == 0:
        raise InvalidAudioError("empty signal")
    if not np.all(np.isfinite(y)):
        raise InvalidAudioError("signal contains NaN or infinite samples")
    if not isinstance(sr, (int, np.integer)) or sr < 8000:
        raise SampleRateError(f"sample rate must be an integer >= 8000 Hz, got {sr!r}")
    return y


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample with the one resampler inference uses (:func:`voiceguard.audio.resample`).

    The training corpus goes through exactly the filter that scoring applies, so a model
    never learns a resampling signature it will not meet at inference.
    """
    from voiceguard.audio import resample as _resample

    return _resample(y, orig_sr, target_sr)


def _frame_db(y: np.ndarray, frame: int) -> np.ndarray:
    n = len(y) // frame
    if n == 0:
        return np.array([10 * np.log10(np.mean(y**2) + 1e-12)])
    e = np.mean(y[: n * frame].reshape(n, frame) ** 2, axis=1)
    return 10 * np.log10(e + 1e-12)


def trim_silence(y: np.ndarray, sr: int, top_db: float = 35.0, frame_s: float = 0.02) -> np.ndarray:
    """Cut leading and trailing silence with an energy VAD.

    A frame is active when its energy is within ``top_db`` of the loudest frame (and above
    -70 dBFS). Everything before the first and after the last active frame is cut; the
    signal is kept whole when no frame is active.

    Parameters
    ----------
    y : np.ndarray
        Signal.
    sr : int
        Sample rate.
    top_db : float
        Threshold below the loudest frame, in dB.
    frame_s : float
        Frame length in seconds.

    Returns
    -------
    np.ndarray
        The trimmed signal (a view).
    """
    frame = max(1, int(frame_s * sr))
    db = _frame_db(np.asarray(y, np.float64), frame)
    active = np.flatnonzero(db > max(db.max() - top_db, -70.0))
    if active.size == 0:
        return y
    start = active[0] * frame
    stop = min(len(y), (active[-1] + 1) * frame)
    return y[start:stop]


def randomise_silence(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    pad_s: tuple[float, float] = (0.05, 0.6),
) -> tuple[np.ndarray, str]:
    """Trim leading/trailing silence, then pad each end with a random duration of zeros.

    The padding is filled later by the chain's background noise and noise floor, so the
    amount and level of silence is drawn from the same distribution for both classes.

    Parameters
    ----------
    y : np.ndarray
        Signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
        Random source.
    pad_s : (float, float)
        Range of the leading and of the trailing padding, in seconds.

    Returns
    -------
    y_out : np.ndarray
    tag : str
    """
    core = np.asarray(trim_silence(y, sr), np.float64)
    lead, trail = (int(rng.uniform(*pad_s) * sr) for _ in range(2))
    out = np.concatenate([_room_tone(core, sr, lead, rng), core, _room_tone(core, sr, trail, rng)])
    return out, f"sil{lead / sr:.2f}/{trail / sr:.2f}"


def _room_tone(y: np.ndarray, sr: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` samples of the clip's own background, by overlap-adding its quietest frames.

    Padding with zeros would leave a step from the recording's own noise to silence at the
    edges of noisy (mostly bona fide) clips; padding with their own background does not.
    Clean clips have a near-zero background, so they get near-silence, and the chain's
    noise then covers both alike.
    """
    if n <= 0:
        return np.zeros(0)
    frame = max(2, int(0.04 * sr))
    m = len(y) // frame
    if m < 2:
        return np.zeros(n)
    frames = y[: m * frame].reshape(m, frame)
    energy = np.mean(frames**2, axis=1)
    quiet = frames[np.argsort(energy)[: max(1, m // 5)]]
    hop = frame // 2
    win = np.hanning(frame + 1)[:frame]  # periodic Hann: overlap-adds to 1 at hop frame/2
    out = np.zeros(n + 2 * frame)
    for start in range(0, n + frame, hop):
        out[start : start + frame] += quiet[int(rng.integers(len(quiet)))] * win
    return out[hop : hop + n]


def synthetic_rir(sr: int, rng: np.random.Generator, rt60: float | None = None) -> tuple[np.ndarray, float]:
    """A synthetic room impulse response.

    Direct path at a random pre-delay, 3-8 sparse early reflections within 25 ms, and a
    Gaussian-noise tail whose energy decays by 60 dB in ``rt60`` seconds; the tail is
    low-passed progressively (high frequencies die faster, as in real rooms) by mixing a
    smoothed copy in with time. The direct-to-reverberant ratio follows from a random
    source distance.

    Parameters
    ----------
    sr : int
        Sample rate.
    rng : numpy.random.Generator
        Random source.
    rt60 : float, optional
        Reverberation time in seconds; drawn from [0.15, 1.0] s when omitted.

    Returns
    -------
    h : np.ndarray
        Impulse response normalised to a unit direct path.
    rt60 : float
    """
    if rt60 is None:
        rt60 = float(rng.uniform(0.15, 1.0))
    n = int(sr * min(1.2 * rt60, 1.2)) + 1
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)  # 10^(-3) amplitude at rt60
    smooth = scipy.signal.lfilter([0.25], [1.0, -0.75], tail)
    w = np.clip(t / rt60, 0.0, 1.0)
    tail = (1 - w) * tail + w * 2.0 * smooth
    onset = int(rng.uniform(0.002, 0.01) * sr)
    tail[: onset + int(0.002 * sr)] = 0.0
    distance = rng.uniform(0.3, 4.0)  # metres; larger -> more reverberant
    drr_gain = 0.05 * distance * np.sqrt(sr / 16000) / max(np.sqrt(np.mean(tail**2) * n / sr), 1e-9)
    h = tail * drr_gain * 0.1
    h[onset] += 1.0
    for _ in range(int(rng.integers(3, 9))):
        k = onset + int(rng.uniform(0.001, 0.025) * sr)
        if k < n:
            h[k] += rng.uniform(-0.6, 0.6) / (1 + distance)
    return h, rt60


def _biquad(kind: str, f0: float, sr: int, gain_db: float = 0.0, q: float = 0.707) -> tuple[np.ndarray, np.ndarray]:
    """RBJ audio-EQ-cookbook biquad coefficients (b, a)."""
    a_lin = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / (2 * q)
    if kind == "peak":
        b = [1 + alpha * a_lin, -2 * cw, 1 - alpha * a_lin]
        a = [1 + alpha / a_lin, -2 * cw, 1 - alpha / a_lin]
    elif kind in ("lowshelf", "highshelf"):
        sq = 2 * np.sqrt(a_lin) * alpha
        s = 1 if kind == "lowshelf" else -1
        b = [
            a_lin * ((a_lin + 1) - s * (a_lin - 1) * cw + sq),
            s * 2 * a_lin * ((a_lin - 1) - s * (a_lin + 1) * cw),
            a_lin * ((a_lin + 1) - s * (a_lin - 1) * cw - sq),
        ]
        a = [
            (a_lin + 1) + s * (a_lin - 1) * cw + sq,
            -s * 2 * ((a_lin - 1) + s * (a_lin + 1) * cw),
            (a_lin + 1) + s * (a_lin - 1) * cw - sq,
        ]
    else:  # pragma: no cover - internal
        raise InvalidParameterError(f"unknown biquad kind {kind!r}")
    b, a = np.asarray(b, float), np.asarray(a, float)
    return b / a[0], a / a[0]


def random_eq(y: np.ndarray, sr: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Random microphone / handset colouring.

    High-pass (p=0.5, 40-250 Hz), low and high shelves (+-8 dB), 1-3 peaking filters
    (+-9 dB, Q 0.5-4) and, with p=0.3, a band-limiting low-pass at 3.5-7.5 kHz.

    Parameters
    ----------
    y : np.ndarray
        Signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator

    Returns
    -------
    y_out : np.ndarray
    tag : str
    """
    parts = []
    out = np.asarray(y, np.float64)
    nyq = sr / 2
    if rng.random() < 0.5:
        fc = rng.uniform(40, 250)
        out = scipy.signal.sosfilt(scipy.signal.butter(2, fc, "highpass", fs=sr, output="sos"), out)
        parts.append(f"hp{fc:.0f}")
    b, a = _biquad("lowshelf", rng.uniform(100, 400), sr, rng.uniform(-8, 8))
    out = scipy.signal.lfilter(b, a, out)
    b, a = _biquad("highshelf", rng.uniform(2000, min(6000, 0.8 * nyq)), sr, rng.uniform(-8, 8))
    out = scipy.signal.lfilter(b, a, out)
    for _ in range(int(rng.integers(1, 4))):
        b, a = _biquad("peak", rng.uniform(200, 0.85 * nyq), sr, rng.uniform(-9, 9), rng.uniform(0.5, 4))
        out = scipy.signal.lfilter(b, a, out)
    parts.append("eq")
    if rng.random() < 0.3 and nyq > 4000:
        fc = rng.uniform(3500, min(7500, 0.95 * nyq))
        out = scipy.signal.sosfilt(
            scipy.signal.butter(int(rng.integers(4, 9)), fc, "lowpass", fs=sr, output="sos"), out
        )
        parts.append(f"lp{fc:.0f}")
    return out, "+".join(parts)


def coloured_noise(n: int, rng: np.random.Generator, exponent: float) -> np.ndarray:
    """Gaussian noise with a power spectrum proportional to ``1 / f**exponent``.

    Parameters
    ----------
    n : int
        Number of samples.
    rng : numpy.random.Generator
    exponent : float
        0 white, 1 pink, 2 brown.

    Returns
    -------
    np.ndarray
        Unit-RMS noise.
    """
    import scipy.fft

    m = scipy.fft.next_fast_len(max(int(n), 1), real=True)  # prime lengths make FFTs crawl
    spec = scipy.fft.rfft(rng.standard_normal(m))
    f = np.arange(spec.size, dtype=float)
    f[0] = 1.0
    spec *= f ** (-exponent / 2)
    spec[0] = 0.0
    x = scipy.fft.irfft(spec, m)[:n]
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _speech_power(y: np.ndarray, sr: int) -> float:
    db = _frame_db(y, max(1, int(0.02 * sr)))
    active = db[db > db.max() - 30]
    return float(np.mean(10 ** (active / 10))) if active.size else float(np.mean(y**2) + 1e-12)


def add_noise(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    snr_db: float,
    kind: str = "pink",
    babble: Sequence[np.ndarray] = (),
) -> np.ndarray:
    """Add noise at a given SNR relative to the active-speech power.

    Parameters
    ----------
    y : np.ndarray
        Signal.
    sr : int
        Sample rate.
    rng : numpy.random.Generator
    snr_db : float
        Signal-to-noise ratio in dB.
    kind : {'white', 'pink', 'brown', 'coloured', 'hum', 'babble'}
        Noise type; ``'babble'`` mixes 3-6 random excerpts of ``babble`` (falls back to
        pink when ``babble`` is empty).
    babble : sequence of np.ndarray
        Speech signals at ``sr`` to build babble from.

    Returns
    -------
    np.ndarray
    """
    n = len(y)
    if kind == "white":
        noise = coloured_noise(n, rng, 0.0)
    elif kind == "pink":
        noise = coloured_noise(n, rng, 1.0)
    elif kind == "brown":
        noise = coloured_noise(n, rng, 2.0)
    elif kind == "coloured":
        noise = coloured_noise(n, rng, rng.uniform(0, 2))
    elif kind == "hum":
        f0 = rng.choice([50.0, 60.0])
        t = np.arange(n) / sr
        noise = sum(
            rng.uniform(0.1, 1) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
            for k in range(1, 8)
        ) + 0.1 * coloured_noise(n, rng, 1.0)
        noise = noise / (np.sqrt(np.mean(noise**2)) + 1e-12)
    elif kind == "babble" and len(babble) > 0:
        noise = np.zeros(n)
        for _ in range(int(rng.integers(3, 7))):
            src = np.asarray(babble[int(rng.integers(len(babble)))], np.float64)
            if src.size == 0:
                continue
            reps = int(np.ceil(n / src.size)) + 1
            src = np.tile(src, reps)
            start = int(rng.integers(0, src.size - n + 1))
            seg = src[start : start + n]
            noise += seg / (np.sqrt(np.mean(seg**2)) + 1e-9)
        noise = noise / (np.sqrt(np.mean(noise**2)) + 1e-12)
    else:
        noise = coloured_noise(n, rng, 1.0)
    p = _speech_power(y, sr)
    return y + noise * np.sqrt(p / 10 ** (snr_db / 10))


def set_level(y: np.ndarray, level_db: float, peak: float = 0.98) -> np.ndarray:
    """Scale to an RMS level in dBFS, then down if the peak would exceed ``peak``.

    Parameters
    ----------
    y : np.ndarray
        Signal.
    level_db : float
        Target RMS level in dB relative to full scale.
    peak : float
        Largest allowed absolute sample value.

    Returns
    -------
    np.ndarray
    """
    rms = np.sqrt(np.mean(np.square(y))) + 1e-12
    out = y * (10 ** (level_db / 20) / rms)
    m = np.max(np.abs(out))
    if m > peak:
        out *= peak / m
    return out


# --------------------------------------------------------------------------------------
# The chain
# --------------------------------------------------------------------------------------


def apply_channel(
    y: np.ndarray,
    sr: int,
    rng: np.random.Generator,
    profile: str = "wideband",
    *,
    babble: Sequence[np.ndarray] = (),
    randomise_edges: bool = True,
) -> tuple[np.ndarray, ChannelInfo]:
    """Pass a clip through a random recording and transmission channel.

    Parameters
    ----------
    y : np.ndarray
        Mono float signal (any level).
    sr : int
        Its sample rate; the output has the same rate (telephone clips are band-limited
        and decoded at 8 kHz, then resampled back, so the rate carries no label).
    rng : numpy.random.Generator
        Random source; the same seed gives the same output.
    profile : {'wideband', 'telephone'}
        Transmission family.
    babble : sequence of np.ndarray
        Bona fide speech at ``sr`` for babble noise (use clips of the same split).
    randomise_edges : bool
        Trim and re-pad leading/trailing silence (default True).

    Returns
    -------
    y_out : np.ndarray of float32
        The processed clip, RMS level -38..-16 dBFS, peaks below 0.98.
    info : ChannelInfo
        Condition tag and the chain description.
    """
    if profile not in PROFILES:
        raise InvalidParameterError(f"profile must be one of {PROFILES}, got {profile!r}")
    x = _check_audio(y, sr)
    if not np.any(x):
        raise InvalidAudioError("signal is all zeros; nothing to pass through a channel")
    steps: list[str] = []
    x = x / (np.max(np.abs(x)) + 1e-12) * 0.5
    if randomise_edges:
        x, tag = randomise_silence(x, sr, rng)
        steps.append(tag)
    tel = profile == "telephone"
    if rng.random() < (0.4 if tel else 0.5):
        h, rt60 = synthetic_rir(sr, rng)
        x = scipy.signal.fftconvolve(x, h)[: len(x)]
        steps.append(f"rir{rt60:.2f}")
    if rng.random() < 0.8:
        x, tag = random_eq(x, sr, rng)
        steps.append(tag)
    if rng.random() < 0.6:
        # Real backgrounds are mostly pink-to-brown or speech; flat white noise, which masks
        # everything above 1 kHz at low SNR, is kept rare.
        kinds = ["white", "pink", "pink", "brown", "coloured", "coloured", "hum"] + (
            ["babble"] * 3 if len(babble) else []
        )
        kind = str(rng.choice(kinds))
        snr = float(rng.uniform(5, 35))
        x = add_noise(x, sr, rng, snr, kind, babble)
        steps.append(f"{kind}{snr:.0f}dB")
    floor_snr = float(rng.uniform(45, 70))
    x = add_noise(x, sr, rng, floor_snr, "coloured")
    steps.append(f"floor{floor_snr:.0f}dB")
    if tel:
        lo, hi = rng.uniform(200, 400), rng.uniform(3200, 3600)
        sos = scipy.signal.butter(int(rng.integers(3, 7)), [lo, hi], "bandpass", fs=sr, output="sos")
        x = scipy.signal.sosfilt(sos, x)
        x8 = resample(x, sr, 8000)
        x8 = set_level(x8, rng.uniform(-30, -16))
        r = rng.random()
        if r < 0.4:
            x8, cond = g711_roundtrip(x8, "mu"), "tel-8k-ulaw"
        elif r < 0.8:
            x8, cond = g711_roundtrip(x8, "a"), "tel-8k-alaw"
        elif r < 0.9 and codec_available("opus"):
            q = rng.uniform(0.5, 0.95)
            x8, cond = codec_roundtrip(x8, 8000, "opus", q), "tel-8k-opus"
            steps.append(f"opusq{q:.2f}")
        else:
            x8 = np.round(x8 * 32767) / 32767
            cond = "tel-8k-pcm"
        steps.append(f"bp{lo:.0f}-{hi:.0f}+8k+{cond.split('-')[-1]}")
        n = len(x)
        x = resample(x8, 8000, sr)[:n]
        x = np.pad(x, (0, n - len(x)))
    else:
        x = set_level(x, rng.uniform(-30, -16))
        x, cond, tag = _voice_codec(x, sr, rng, rng.random())
        if tag:
            steps.append(tag)
    level = float(rng.uniform(-38, -16))
    x = set_level(np.asarray(x, np.float64), level)
    steps.append(f"lvl{level:.0f}")
    return x.astype(np.float32), ChannelInfo(cond, "+".join(steps))
