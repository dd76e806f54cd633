"""Reading audio files and bringing them to the rate and channel layout the detector uses."""

from __future__ import annotations

import functools
import math
import os
import struct
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Union

import numpy as np

from voiceguard.errors import AudioReadError, InvalidAudioError, InvalidParameterError, TruncatedAudioWarning
from voiceguard.features import as_float_audio

PathLike = Union[str, os.PathLike]

#: Highest sample rate accepted (a rate beyond it is a corrupt header or a wrong ``sr``).
MAX_SR = 768000

#: File extensions `voiceguard score` picks up when given a folder.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg", ".opus", ".mp3", ".aiff", ".aif", ".au")


def check_file(path: PathLike) -> list[str]:
    """Problems of an audio file that decoding alone would hide.

    Parameters
    ----------
    path : str or os.PathLike
        An existing file.

    Returns
    -------
    list of str
        Warnings about a file that can still be used: a WAV file whose ``data`` chunk
        announces more audio than the file holds (an interrupted recording, download or
        copy); the decoder reads what is present without a word. Streaming writers'
        "length unknown" sizes (0 and 0xFFFFFFFF) are not problems.

    Raises
    ------
    AudioReadError
        The file is empty (0 bytes).
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise AudioReadError(f"{path}: the file is empty (0 bytes)")
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return []
        endian = "<" if head[:4] == b"RIFF" else ">"
        byte_rate = 0
        while True:
            chunk = fh.read(8)
            if len(chunk) < 8:
                return []
            cid, csize = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = fh.read(min(csize, 16))
                if len(fmt) >= 12:
                    byte_rate = struct.unpack(endian + "I", fmt[8:12])[0]
                fh.seek(csize - len(fmt) + (csize & 1), os.SEEK_CUR)
            elif cid == b"data":
                present = size - fh.tell()
                if csize in (0, 0xFFFFFFFF) or present >= csize:
                    return []
                if byte_rate:
                    what = f"{csize / byte_rate:.1f} s of audio but holds {present / byte_rate:.1f} s"
                else:
                    what = f"{csize} bytes of audio but holds {present}"
                return [f"{path}: truncated file: its header announces {what} (an interrupted recording, "
                        "download or copy?); only the audio present was used"]
            else:
                fh.seek(csize + (csize & 1), os.SEEK_CUR)


def load(path: PathLike) -> tuple[np.ndarray, int]:
    """Read an audio file as float64 samples in [-1, 1].

    Parameters
    ----------
    path : str or os.PathLike
        WAV, FLAC, OGG (Vorbis/Opus), MP3, AIFF or any other format libsndfile reads.

    Returns
    -------
    y : np.ndarray [shape=(n,) or (n, channels)]
        Samples as read, not yet mixed down.
    sr : int
        The file's sample rate.

    Raises
    ------
    AudioReadError
        The file is missing, empty (0 bytes), unreadable, not audio, or holds no samples.

    Warns
    -----
    TruncatedAudioWarning
        A WAV file holds less audio than its header announces (see :func:`check_file`).
    """
    import soundfile as sf

    path = Path(path)
    if not path.is_file():
        raise AudioReadError(f"{path}: no such file")
    for problem in check_file(path):
        warnings.warn(problem, TruncatedAudioWarning, stacklevel=2)
    try:
        with sf.SoundFile(str(path)) as f:
            _refuse_headerless(f, path)
            y, sr = f.read(dtype="float64", always_2d=False), f.samplerate
    except AudioReadError:
        raise
    except Exception as exc:  # libsndfile raises several types for undecodable input
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from None
    if y.size == 0:
        raise AudioReadError(f"{path}: the file holds no audio samples")
    return y, int(sr)


def _refuse_headerless(f, path: Path) -> None:
    """libsndfile takes any bytes named ``.au`` (and a few others) for header-less audio and
    decodes them as a guess (differently depending on read sizes, too): refuse them."""
    if f.format == "RAW":
        raise AudioReadError(f"{path}: no audio header, so its encoding and rate are unknown (libsndfile would "
                             f"guess header-less {f.subtype_info}); convert it to WAV, e.g. with "
                             "sox -t ul -r 8000 in.ul out.wav")


def to_mono_array(y: np.ndarray, *, frames_first: bool = False) -> tuple[np.ndarray, int]:
    """Mix an array down to mono.

    Accepts ``[n]``, soundfile's ``[n, channels]`` and librosa's ``[channels, n]``
    (recognised as the layout whose first axis is at most 8 and shorter than the second).
    Integer PCM is scaled as :func:`voiceguard.features.as_float_audio` does.

    Parameters
    ----------
    y : np.ndarray
    frames_first : bool
        ``y`` is known to be ``[n, channels]`` (decoded from a file): no layout guess, which
        would take a few frames of many channels, e.g. a file's last block, for the other one.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64
    channels : int
    """
    y = np.asarray(y)
    if y.ndim == 1:
        return as_float_audio(y), 1
    if y.ndim != 2:
        raise InvalidAudioError(f"expected audio as [n], [n, channels] or [channels, n], got shape {y.shape}")
    if not frames_first and y.shape[0] <= 8 and y.shape[0] < y.shape[1]:
        y = y.T
    channels = int(y.shape[1])
    # scale integer PCM per channel (as_float_audio takes 1-D input), then average
    flat = as_float_audio(np.ascontiguousarray(y).reshape(-1)).reshape(y.shape)
    return np.ascontiguousarray(flat.mean(axis=1)), channels


def to_mono(y: np.ndarray, *, frames_first: bool = False) -> np.ndarray:
    """Mix ``[n]``, ``[n, channels]`` or ``[channels, n]`` audio down to ``[n]``."""
    return to_mono_array(y, frames_first=frames_first)[0]


def read_input(
    audio: PathLike | np.ndarray, sr: float | None, *, min_sr: int, purpose: str
) -> tuple[np.ndarray, int, str | None, int]:
    """A file path or an array with its rate, as mono float64 audio.

    Parameters
    ----------
    audio : str, os.PathLike or np.ndarray
        A file to decode, or samples (any layout :func:`to_mono_array` accepts).
    sr : float or None
        The array's sample rate (ignored for files, whose rate is read from the file).
    min_sr : int
        The lowest sample rate ``purpose`` can work with.
    purpose : str
        What the audio is for, used in error messages ("spoof scoring", ...).

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64
    sr : int
    name : str or None
        The path as given, None for arrays.
    channels : int

    Raises
    ------
    AudioReadError, InvalidAudioError, InvalidParameterError
    """
    if isinstance(audio, (str, os.PathLike)):
        y, file_sr = load(audio)
        name: str | None = os.fspath(audio)
    else:
        if sr is None:
            raise InvalidParameterError(
                f"{purpose} of an array needs its sample rate: pass sr=16000 (or the array's rate)"
            )
        if isinstance(sr, bool) or not isinstance(sr, (int, float, np.integer, np.floating)) or \
                not math.isfinite(sr) or sr <= 0:
            raise InvalidParameterError(f"sample rate must be a positive number of Hz, got {sr!r}")
        y, file_sr, name = np.asarray(audio), int(sr), None
    if file_sr > MAX_SR:
        raise InvalidAudioError(f"sample rate {file_sr} Hz is above the {MAX_SR} Hz voiceguard reads; "
                                "resample the audio first")
    if file_sr < min_sr:
        raise InvalidAudioError(
            f"sample rate {file_sr} Hz is too low for {purpose} (need >= {min_sr} Hz)"
        )
    y, channels = to_mono_array(y, frames_first=name is not None)
    if y.size == 0:
        raise InvalidAudioError("the audio holds no samples")
    return y, int(file_sr), name, channels


def resample(y: np.ndarray, orig_sr: float, target_sr: float) -> np.ndarray:
    """Resample with a polyphase FIR (scipy.signal.resample_poly, Kaiser window).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    orig_sr, target_sr : float
        Rates in Hz; their ratio is approximated by a fraction with denominator <= 1000.

    Returns
    -------
    np.ndarray [shape=(about n * target_sr / orig_sr,)], float64
    """
    from scipy.signal import resample_poly

    if orig_sr == target_sr:
        return np.asarray(y, dtype=np.float64)
    up, down = _ratio(orig_sr, target_sr)
    out = resample_poly(np.asarray(y, dtype=np.float64), up, down, window=_poly_filter(up, down))
    return out[: _resampled_length(len(y), orig_sr, target_sr)]


@functools.lru_cache(maxsize=16)
def _poly_filter(up: int, down: int) -> np.ndarray:
    """The low-pass FIR that ``resample_poly(x, up, down)`` designs by default (Kaiser, beta 5,
    10 * max(up, down) taps each side), designed once per ratio: designing it took half the
    time of scoring a 10 s 44.1 kHz file, once per block. resample_poly copies it before use."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    h = firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    h.setflags(write=False)
    return h


def _ratio(orig_sr: float, target_sr: float) -> tuple[int, int]:
    ratio = Fraction(target_sr / orig_sr).limit_denominator(1000)
    return ratio.numerator, ratio.denominator


def _resampled_length(n: int, orig_sr: float, target_sr: float) -> int:
    return int(math.ceil(n * target_sr / orig_sr))


class StreamResampler:
    """:func:`resample` of a signal fed in consecutive pieces, bit-identical to the whole.

    Each output sample of the polyphase filter depends on the input samples within the
    filter's reach only, so the input is processed in stretches that start at multiples
    of the decimation factor, each with a margin of context on both sides beyond that
    reach; the outputs of a stretch are then exactly those of the whole signal. Memory
    holds the samples of one push plus the margins.

    Parameters
    ----------
    orig_sr, target_sr : float
        Rates in Hz (as for :func:`resample`).
    """

    def __init__(self, orig_sr: float, target_sr: float) -> None:
        if orig_sr <= 0 or target_sr <= 0:
            raise InvalidParameterError(f"sample rates must be positive, got {orig_sr} and {target_sr}")
        self.orig_sr, self.target_sr = orig_sr, target_sr
        self._identity = orig_sr == target_sr
        self._up, self._down = (1, 1) if self._identity else _ratio(orig_sr, target_sr)
        # scipy's resample_poly filter has 10 * max(up, down) taps on each side at the
        # upsampled rate: that many / up input samples, rounded up to whole decimation steps
        reach = 10 * max(self._up, self._down) / self._up + 2
        self._margin = self._down * int(math.ceil(reach / self._down))
        self._buf = np.zeros(0)
        self._buf_start = 0  # input index of self._buf[0]
        self._next = 0  # input index (multiple of down) whose outputs come next
        self._n_in = 0
        self._n_out = 0
        self._done = False

    def push(self, y: np.ndarray) -> np.ndarray:
        """Add input samples; returns the output samples that are now final (maybe none)."""
        if self._done:
            raise InvalidParameterError("StreamResampler.push after finish()")
        y = np.asarray(y, dtype=np.float64)
        self._n_in += y.size
        if self._identity:
            self._n_out += y.size
            return y
        self._buf = np.concatenate([self._buf, y]) if self._buf.size else y
        end = self._buf_start + self._buf.size
        stop = (end - self._margin) // self._down * self._down  # last input index fully covered
        if stop <= self._next:
            return np.zeros(0)
        return self._emit(stop, end)

    def finish(self) -> np.ndarray:
        """The remaining output samples (ends the stream)."""
        if self._done:
            return np.zeros(0)
        self._done = True
        if self._identity:
            return np.zeros(0)
        end = self._buf_start + self._buf.size
        if end == 0:
            return np.zeros(0)
        return self._emit(None, end)

    def _emit(self, stop: int | None, end: int) -> np.ndarray:
        from scipy.signal import resample_poly

        up, down = self._up, self._down
        lo = max(0, self._next - self._margin)
        hi = end if stop is None else min(end, stop + self._margin)
        seg = self._buf[lo - self._buf_start: hi - self._buf_start]
        out = resample_poly(seg, up, down, window=_poly_filter(up, down))
        first = self._next * up // down - lo * up // down
        if stop is None:
            total = _resampled_length(self._n_in, self.orig_sr, self.target_sr)
            last = total - lo * up // down
        else:
            last = stop * up // down - lo * up // down
        res = out[first:last]
        self._n_out += res.size
        if stop is not None:
            self._next = stop
            keep_from = max(0, stop - self._margin)
            self._buf = self._buf[keep_from - self._buf_start:].copy()
            self._buf_start = keep_from
        return res


@dataclass
class AudioStream:
    """A recording as consecutive blocks of mono samples at its own rate.

    Attributes
    ----------
    blocks : iterator of np.ndarray [shape=(k,)], float64
        Mono samples in [-1, 1], in order; their concatenation is the recording.
    sr : int
        Its sample rate.
    channels : int
        Channel count before mixing down.
    name : str or None
        The path as given, None for arrays.
    frames : int
        Samples per channel the header announces (0 when unknown).
    """

    blocks: Iterator[np.ndarray]
    sr: int
    channels: int
    name: str | None
    frames: int


def open_stream(
    audio: PathLike | np.ndarray, sr: float | None, *, min_sr: int, purpose: str, block_frames: int = 1 << 16
) -> AudioStream:
    """:func:`read_input` as a stream of blocks, for any length with bounded memory.

    Parameters
    ----------
    audio : str, os.PathLike or np.ndarray
        A file to decode block by block, or samples (any layout :func:`to_mono_array` accepts).
    sr : float or None
        The array's sample rate (ignored for files).
    min_sr : int
        The lowest sample rate ``purpose`` can work with.
    purpose : str
        What the audio is for, used in error messages.
    block_frames : int
        Samples per block read from a file.

    Returns
    -------
    AudioStream
        The concatenated blocks equal :func:`read_input`'s samples exactly.

    Raises
    ------
    AudioReadError, InvalidAudioError, InvalidParameterError
        As :func:`read_input`; a decoding error in the middle of a file is raised while
        iterating.
    """
    if not isinstance(audio, (str, os.PathLike)):
        y, file_sr, name, channels = read_input(audio, sr, min_sr=min_sr, purpose=purpose)
        step = max(1, int(block_frames))
        return AudioStream((y[i: i + step] for i in range(0, len(y), step)), file_sr, channels, name, len(y))
    import soundfile as sf

    path = Path(audio)
    if not path.is_file():
        raise AudioReadError(f"{path}: no such file")
    for problem in check_file(path):  # empty (raises) or truncated (warns), as load() does
        warnings.warn(problem, TruncatedAudioWarning, stacklevel=2)
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:  # libsndfile raises several types for undecodable input
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from None
    try:
        _refuse_headerless(f, path)
    except AudioReadError:
        f.close()
        raise
    file_sr, channels = int(f.samplerate), int(f.channels)
    if file_sr > MAX_SR:
        f.close()
        raise InvalidAudioError(f"sample rate {file_sr} Hz is above the {MAX_SR} Hz voiceguard reads; "
                                "resample the audio first")
    if file_sr < min_sr:
        f.close()
        raise InvalidAudioError(f"sample rate {file_sr} Hz is too low for {purpose} (need >= {min_sr} Hz)")

    announced = max(0, int(f.frames))

    def blocks() -> Iterator[np.ndarray]:
        n = 0
        with f:
            while True:
                # never past the frames the header announces, and no further after a short
                # read: exactly what load() reads in one call
                want = block_frames if announced == 0 else min(block_frames, announced - n)
                if want <= 0:
                    break
                try:
                    y = f.read(want, dtype="float64", always_2d=False)
                except Exception as exc:  # noqa: BLE001
                    raise AudioReadError(f"{path}: cannot decode audio ({exc})") from None
                if y.size == 0:
                    break
                n += len(y)
                try:
                    yield to_mono(y, frames_first=True)
                except InvalidAudioError as exc:
                    raise AudioReadError(f"{path}: {exc}") from None
                if len(y) < want:  # a short read is the end (a damaged MP3 decodes more on a retry)
                    break
        if n == 0:
            raise AudioReadError(f"{path}: the file holds no audio samples")

    return AudioStream(blocks(), file_sr, channels, os.fspath(audio), announced)


def resampled_blocks(blocks: Iterable[np.ndarray], orig_sr: float, target_sr: float) -> Iterator[np.ndarray]:
    """Blocks of :func:`resample` of the concatenated ``blocks`` (bit-identical), in order."""
    rs = StreamResampler(orig_sr, target_sr)
    for b in blocks:
        out = rs.push(b)
        if out.size:
            yield out
    out = rs.finish()
    if out.size:
        yield out


@dataclass
class AudioBlock:
    """One block of :func:`iter_blocks`: ``y`` starts at sample ``start`` (at ``sr``)."""

    start: int
    y: np.ndarray


def iter_blocks(
    source: PathLike | np.ndarray, *, sr: int, block_s: float, overlap_s: float = 0.0,
    source_sr: float | None = None,
) -> Iterator[AudioBlock]:
    """A recording as overlapping blocks of mono samples at ``sr``, with bounded memory.

    Parameters
    ----------
    source : str, os.PathLike or np.ndarray
        A file, or samples (then ``source_sr`` is required).
    sr : int
        Rate of the blocks (the recording is resampled with :func:`resample`).
    block_s : float
        Block length in seconds.
    overlap_s : float
        Each block starts ``block_s - overlap_s`` seconds after the previous one.
    source_sr : float, optional
        Sample rate of an array.

    Yields
    ------
    AudioBlock
        ``block.y`` equals ``resample(mono(source))[block.start: block.start + n]`` exactly;
        the last block may be shorter.
    """
    size = int(round(block_s * sr))
    step = size - int(round(overlap_s * sr))
    if size <= 0 or step <= 0:
        raise InvalidParameterError(f"need block_s > overlap_s >= 0, got block_s={block_s}, overlap_s={overlap_s}")
    stream = open_stream(source, source_sr, min_sr=1, purpose="reading")
    buf = np.zeros(0)
    start = 0  # index of buf[0]
    for piece in resampled_blocks(stream.blocks, stream.sr, sr):
        buf = np.concatenate([buf, piece])
        while len(buf) >= size:
            yield AudioBlock(start, buf[:size].copy())
            buf = buf[step:]
            start += step
    if len(buf) > (size - step) or start == 0:
        if len(buf):
            yield AudioBlock(start, buf.copy())


def load_mono(path: PathLike, sr: float | None = None) -> tuple[np.ndarray, int]:
    """Read a file, mix it to mono and optionally resample it to ``sr``.

    Returns
    -------
    y : np.ndarray [shape=(n,)], float64, finite
    sr : int
    """
    y, file_sr = load(path)
    try:
        # to_mono validates too (finite samples): a file holding NaN is a read error
        y = to_mono(y, frames_first=True)
    except InvalidAudioError as exc:
        raise AudioReadError(f"{path}: {exc}") from None
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = int(sr)
    return y, file_sr
