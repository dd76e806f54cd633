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
from voiceguard.audio.quiet import c_stderr_filtered, looks_like_mpeg
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
        return wav_problems(fh, size, str(path))


def wav_problems(fh: Any, size: int, name: str) -> list[str]:
    """:func:`check_file` of an open binary file of ``size`` bytes (an upload in memory...);
    ``name`` starts each message."""
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
            return [f"{name}: truncated file: its header announces {what} (an interrupted recording, "
                    "download or copy?); only the audio present was used"]
        else:
            fh.seek(csize + (csize & 1), os.SEEK_CUR)


#: Float samples beyond this magnitude are not audio in [-1, 1] but integer-scaled values
#: (16-bit PCM written as float without dividing by 32768, a common export mistake).
MAX_FLOAT_PEAK = 2.0


def check_range(y: np.ndarray, name: str) -> None:
    """Refuse float samples far outside [-1, 1] (see :data:`MAX_FLOAT_PEAK`).

    Scored as they are, such samples make the detector judge noise: the model sees a
    clipped, distorted signal, and the default model calls real speech spoof.

    Raises
    ------
    InvalidAudioError
        The peak is above :data:`MAX_FLOAT_PEAK`; the message says how to rescale.
    """
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > MAX_FLOAT_PEAK:
        hint = ("divide by 32768 (16-bit values)" if peak <= 32768 * 1.01 else
                "divide by 8388608 (24-bit values) or 2147483648 (32-bit values)")
        raise InvalidAudioError(
            f"{name}: float samples reach {peak:.6g}, far outside [-1, 1]: integer PCM values stored as float "
            f"(a common export mistake)? Scoring them would judge a clipped, distorted signal; rescale the audio "
            f"({hint}) and score it again")


def _not_a_file(path: Path) -> AudioReadError:
    """The error for a path that is not a regular file, saying what it is."""
    if not path.exists():
        return AudioReadError(f"{path}: no such file")
    if path.is_dir():
        return AudioReadError(f"{path}: is a folder, not an audio file (this command reads files; score, verify, "
                              "report and batch also take folders)")
    return AudioReadError(f"{path}: is not a regular file (a pipe, FIFO, socket or device): voiceguard reads audio "
                          "files; save the stream to a file first, or send raw PCM to voiceguard stream -")


def _decode_failure(path: Path, exc: BaseException) -> AudioReadError:
    """libsndfile's error, without its misleading "possibly a pipe?" for a regular file."""
    why = str(exc)
    if "possibly a pipe" in why or "does not exist or is not a regular file" in why:
        why = "not an audio format libsndfile recognises, or damaged: no valid audio frames found"
    return AudioReadError(f"{path}: cannot decode audio ({why})")


def _via_pyav(path: Path) -> bool:
    """Whether a file libsndfile refused should go to PyAV (:mod:`voiceguard.audio.pyav`)."""
    from voiceguard.audio.pyav import AV_EXTENSIONS

    if path.suffix.lower() in AV_EXTENSIONS:
        return True
    with open(path, "rb") as fh:
        head = fh.read(12)
    return head[4:8] == b"ftyp" or head[:5] == b"#!AMR"


def _open_pyav(path: Path, exc: BaseException) -> tuple[Iterator[np.ndarray], int, int, int]:
    """The PyAV fallback for a file libsndfile refused with ``exc``."""
    from voiceguard.audio import pyav

    if not pyav.available():
        raise AudioReadError(pyav.missing_message(path)) from exc
    return pyav.open_file(path)


def _sndfile(path: Path) -> Any:
    """``soundfile.SoundFile`` of a file, libmpg123's chatter filtered (:mod:`.quiet`)."""
    import soundfile as sf

    with open(path, "rb") as fh:
        mpeg = looks_like_mpeg(fh.read(4), path.name)
    with c_stderr_filtered(mpeg):
        f = sf.SoundFile(str(path))
    f._vg_mpeg = mpeg  # reads of this file are filtered too
    return f


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
    path = Path(path)
    if not path.is_file():
        raise _not_a_file(path)
    for problem in check_file(path):
        warnings.warn(problem, TruncatedAudioWarning, stacklevel=2)
    try:
        with _sndfile(path) as f:
            _refuse_headerless(f, path)
            with c_stderr_filtered(f._vg_mpeg):
                y, sr = f.read(dtype="float64", always_2d=False), f.samplerate
    except AudioReadError:
        raise
    except Exception as exc:  # libsndfile raises several types for undecodable input
        if not _via_pyav(path):
            raise _decode_failure(path, exc) from exc
        blocks, sr, channels, _ = _open_pyav(path, exc)
        parts = list(blocks)
        y = np.concatenate(parts) if parts else np.zeros((0, channels))
        y = y[:, 0] if channels == 1 else y
    if y.size == 0:
        raise AudioReadError(f"{path}: the file holds no audio samples")
    try:
        check_range(y, str(path))
    except InvalidAudioError as exc:
        raise AudioReadError(str(exc)) from exc
    return y, int(sr)


def _refuse_headerless(f, path: Path) -> None:
    """libsndfile takes any bytes named ``.au`` (and a few others) for header-less audio and
    decodes them as a guess (differently depending on read sizes, too): refuse them."""
    if f.format == "RAW":
        ext = path.suffix.lower()
        sox = _SOX_RAW.get(ext, "-t raw -e signed -b 16 -c 1 -r 8000")
        raise AudioReadError(f"{path}: no audio header, so its encoding and rate are unknown (libsndfile would "
                             f"guess header-less {f.subtype_info}); convert it to WAV naming its encoding and rate, "
                             f"e.g. sox {sox} {path.name} out.wav" + ("" if ext in _SOX_RAW else
                                                                      " for 16-bit PCM at 8 kHz"))


#: sox's options for header-less files by extension (their usual encoding and rate).
_SOX_RAW = {".ul": "-t ul -r 8000", ".ulaw": "-t ul -r 8000", ".mu": "-t ul -r 8000", ".al": "-t al -r 8000",
            ".alaw": "-t al -r 8000", ".gsm": "-t gsm -r 8000", ".vox": "-t vox -r 8000"}


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
    is_float = name is None and np.asarray(y).dtype.kind == "f"
    y, channels = to_mono_array(y, frames_first=name is not None)
    if y.size == 0:
        raise InvalidAudioError("the audio holds no samples")
    if is_float:  # integer PCM is scaled by its dtype; float must already be in [-1, 1]
        check_range(y, "the array")
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
    if isinstance(f, tuple):  # a PyAV format
        blocks, file_sr, channels, announced = f
        _check_rate(file_sr, min_sr, purpose)
        return AudioStream(_mono_blocks(blocks, path), file_sr, channels, os.fspath(audio), announced)
    announced = max(0, int(f.frames))
    return AudioStream(_file_blocks(f, path, block_frames, announced), int(f.samplerate), int(f.channels),
                       os.fspath(audio), announced)


def _check_rate(file_sr: int, min_sr: int, purpose: str) -> None:
    if file_sr > MAX_SR:
        raise InvalidAudioError(f"sample rate {file_sr} Hz is above the {MAX_SR} Hz voiceguard reads; "
                                "resample the audio first")
    if file_sr < min_sr:
        raise InvalidAudioError(f"sample rate {file_sr} Hz is too low for {purpose} (need >= {min_sr} Hz)")


def _open_sound_file(path: Path, *, min_sr: int, purpose: str) -> Any:
    """An open ``soundfile.SoundFile`` of ``path``, checked as :func:`load` checks files; for
    a format only PyAV reads, ``(blocks, sr, channels, frames)`` of :func:`.pyav.open_file`."""
    if not path.is_file():
        raise _not_a_file(path)
    for problem in check_file(path):  # empty (raises) or truncated (warns), as load() does
        warnings.warn(problem, TruncatedAudioWarning, stacklevel=3)
    try:
        f = _sndfile(path)
    except Exception as exc:  # libsndfile raises several types for undecodable input
        if _via_pyav(path):
            return _open_pyav(path, exc)
        raise _decode_failure(path, exc) from exc
    try:
        _refuse_headerless(f, path)
        _check_rate(int(f.samplerate), min_sr, purpose)
    except (AudioReadError, InvalidAudioError):
        f.close()
        raise
    return f


def _mono_blocks(blocks: Iterator[np.ndarray], path: Path) -> Iterator[np.ndarray]:
    """PyAV's ``[k, channels]`` blocks, range-checked and mixed down."""
    n = 0
    for y in blocks:
        n += len(y)
        try:
            check_range(y, str(path))
            yield to_mono(y, frames_first=True)
        except InvalidAudioError as exc:
            raise AudioReadError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") from exc
    if n == 0:
        raise AudioReadError(f"{path}: the file holds no audio samples")


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
                with c_stderr_filtered(getattr(f, "_vg_mpeg", False)):
                    y = f.read(want, dtype="float64", always_2d=False)
            except Exception as exc:
                raise AudioReadError(f"{path}: cannot decode audio ({exc})") from exc
            if y.size == 0:
                break
            n += len(y)
            try:
                check_range(y, str(path))
                yield to_mono(y, frames_first=True)
            except InvalidAudioError as exc:
                raise AudioReadError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") from exc
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
