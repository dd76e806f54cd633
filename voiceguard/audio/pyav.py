"""Voicemail and phone formats libsndfile does not read, through PyAV (FFmpeg's decoders).

``.m4a`` / ``.mp4`` / ``.aac`` (AAC), ``.amr`` / ``.awb`` (AMR narrow- and wideband, the
codecs of mobile voice mail), ``.3gp``, ``.webm``, ``.wma``: decoded by PyAV (the ``av``
package, FFmpeg inside its wheel) when the ``formats`` extra is installed. Without it such
a file is an error that names the extra, never a silent skip. Only the first audio stream
is read; every channel is kept (the caller mixes down), samples are float in [-1, 1].
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from voiceguard.errors import AudioReadError

__all__ = ["AV_EXTENSIONS", "available", "open_file"]

#: Extensions of the formats read through PyAV (also picked up in folders).
AV_EXTENSIONS = (".m4a", ".mp4", ".aac", ".amr", ".awb", ".3gp", ".3ga", ".webm", ".wma")


def available() -> bool:
    """Whether PyAV is installed (the ``formats`` extra)."""
    import importlib.util

    return importlib.util.find_spec("av") is not None


def missing_message(path: os.PathLike | str) -> str:
    """The error text for a PyAV format without PyAV."""
    from voiceguard._version import install_hint

    return (f"{path}: {Path(path).suffix.lower() or 'this'} audio (AAC/M4A, AMR, 3GP...) is not read by libsndfile; "
            f"install the formats extra ({install_hint('formats')}) or convert it: ffmpeg -i {Path(path).name} "
            "out.wav")


def open_file(path: Path) -> tuple[Iterator[np.ndarray], int, int, int]:
    """Open an audio file with PyAV.

    Returns
    -------
    blocks : iterator of np.ndarray [shape=(k, channels)], float64
        The decoded samples in order (the container is closed at the end).
    sr : int
    channels : int
    frames : int
        Samples per channel the container announces (0 when unknown).

    Raises
    ------
    AudioReadError
        PyAV cannot open the file or it holds no audio stream.
    """
    import av

    try:
        container = av.open(str(path))
    except Exception as exc:  # PyAV raises its own error family (av.error.*) and OSError
        raise AudioReadError(f"{path}: cannot decode audio ({type(exc).__name__}: {exc})") from exc
    try:
        streams = [s for s in container.streams if s.type == "audio"]
        if not streams:
            raise AudioReadError(f"{path}: the file holds no audio stream")
        stream = streams[0]
        ctx: Any = stream.codec_context
        sr, channels = int(ctx.sample_rate or 0), int(ctx.channels or 0)
        if sr <= 0 or channels <= 0:
            raise AudioReadError(f"{path}: the audio stream has no sample rate or channels")
        frames = 0
        if stream.duration is not None and stream.time_base is not None:
            frames = int(float(stream.duration * stream.time_base) * sr)
    except BaseException:
        container.close()
        raise
    return _blocks(container, stream, path, channels), sr, channels, max(0, frames)


def _blocks(container: Any, stream: Any, path: Path, channels: int) -> Iterator[np.ndarray]:
    import av

    with container:
        resampler = av.AudioResampler(format="dbl", layout=stream.codec_context.layout, rate=None)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield _interleaved(out, channels)
            for out in resampler.resample(None):
                yield _interleaved(out, channels)
        except AudioReadError:
            raise
        except Exception as exc:  # a damaged stream
            raise AudioReadError(f"{path}: cannot decode audio ({type(exc).__name__}: {exc})") from exc


def _interleaved(frame: Any, channels: int) -> np.ndarray:
    """A packed float64 frame as ``[k, channels]``."""
    return np.asarray(frame.to_ndarray(), np.float64).reshape(-1, channels)
