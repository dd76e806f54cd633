"""Reading audio files and bringing them to the rate and channel layout the detector uses."""

from __future__ import annotations

import math
import os
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from voiceguard.audio.convert import to_mono, to_mono_array
from voiceguard.audio.resample import resample, resampled_blocks
from voiceguard.errors import AudioReadError, InvalidAudioError, InvalidParameterError, TruncatedAudioWarning

PathLike = Union[str, os.PathLike]

#: Highest sample rate accepted (a rate beyond it is a corrupt header or a wrong ``sr``).
MAX_SR = 768000


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
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from exc
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
    path = Path(audio)
    f = _open_sound_file(path, min_sr=min_sr, purpose=purpose)
    announced = max(0, int(f.frames))
    return AudioStream(_file_blocks(f, path, block_frames, announced), int(f.samplerate), int(f.channels),
                       os.fspath(audio), announced)


def _open_sound_file(path: Path, *, min_sr: int, purpose: str) -> Any:
    """An open ``soundfile.SoundFile`` of ``path``, checked as :func:`load` checks files."""
    import soundfile as sf

    if not path.is_file():
        raise AudioReadError(f"{path}: no such file")
    for problem in check_file(path):  # empty (raises) or truncated (warns), as load() does
        warnings.warn(problem, TruncatedAudioWarning, stacklevel=3)
    try:
        f = sf.SoundFile(str(path))
    except Exception as exc:  # libsndfile raises several types for undecodable input
        raise AudioReadError(f"{path}: cannot decode audio ({exc})") from exc
    try:
        _refuse_headerless(f, path)
        file_sr = int(f.samplerate)
        if file_sr > MAX_SR:
            raise InvalidAudioError(f"sample rate {file_sr} Hz is above the {MAX_SR} Hz voiceguard reads; "
                                    "resample the audio first")
        if file_sr < min_sr:
            raise InvalidAudioError(f"sample rate {file_sr} Hz is too low for {purpose} (need >= {min_sr} Hz)")
    except (AudioReadError, InvalidAudioError):
        f.close()
        raise
    return f


def _file_blocks(f: Any, path: Path, block_frames: int, announced: int) -> Iterator[np.ndarray]:
    """Mono blocks of an open file (closed at the end)."""
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
            except Exception as exc:
                raise AudioReadError(f"{path}: cannot decode audio ({exc})") from exc
            if y.size == 0:
                break
            n += len(y)
            try:
                yield to_mono(y, frames_first=True)
            except InvalidAudioError as exc:
                raise AudioReadError(f"{path}: {exc}") from exc
            if len(y) < want:  # a short read is the end (a damaged MP3 decodes more on a retry)
                break
    if n == 0:
        raise AudioReadError(f"{path}: the file holds no audio samples")


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
        raise AudioReadError(f"{path}: {exc}") from exc
    if sr is not None and sr != file_sr:
        y = resample(y, file_sr, sr)
        file_sr = int(sr)
    return y, file_sr
