"""Reading ``voiceguard speakers export`` files: every field validated, nothing trusted."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from voiceguard.errors import InvalidParameterError
from voiceguard.store.errors import ExportFormatError
from voiceguard.store.records import ClipRecord, Voiceprint, check_name, mean_unit
from voiceguard.store.schema import FORMAT, SCHEMA_VERSION

#: Largest export file :func:`read_export` parses, and the largest embedding it accepts.
MAX_EXPORT_BYTES = 256 * 1024 * 1024


MAX_DIM = 65536


def read_export(data: str | bytes | dict[str, Any]) -> list[Voiceprint]:
    """Parse and check the JSON of :meth:`VoiceprintStore.export` (``speakers export``).

    Unknown keys are ignored (newer exports may carry more); everything a stored
    voiceprint needs is checked: names, encoder, channels, embeddings (finite, of one
    dimension per speaker), clip metadata.

    Parameters
    ----------
    data : str, bytes or dict
        The file's text, or the parsed object.

    Returns
    -------
    list of Voiceprint

    Raises
    ------
    ExportFormatError
        The message says which speaker and field is wrong.
    """
    if isinstance(data, (str, bytes, bytearray)):
        if len(data) > MAX_EXPORT_BYTES:
            raise ExportFormatError(f"the export is {len(data)} bytes, above the {MAX_EXPORT_BYTES}-byte limit")
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise ExportFormatError(f"not a voiceprint export: not JSON ({str(exc)[:200]})") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT + "-export":
        raise ExportFormatError(f"not a voiceprint export: expected a JSON object with format "
                                f"{FORMAT + '-export'!r} (written by 'voiceguard speakers export')")
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or not 1 <= schema <= SCHEMA_VERSION:
        raise ExportFormatError(f"voiceprint export of schema {schema!r}: this voiceguard reads schema 1 to "
                                f"{SCHEMA_VERSION}; upgrade voiceguard")
    speakers = data.get("speakers")
    if not isinstance(speakers, list):
        raise ExportFormatError("voiceprint export without a 'speakers' list")
    out, seen = [], set()
    for i, sp in enumerate(speakers):
        vp = _voiceprint_from_export(sp, f"speaker {i + 1}")
        if vp.name in seen:
            raise ExportFormatError(f"speaker {vp.name!r} appears twice in the export")
        seen.add(vp.name)
        out.append(vp)
    return out


def _field(d: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    v = d.get(key)
    if isinstance(v, bool) or not isinstance(v, kind):  # JSON true/false are not numbers here
        raise ExportFormatError(f"{where}: field {key!r} is missing or not {getattr(kind, '__name__', kind)}")
    return v


def _number(d: dict[str, Any], key: str, where: str, *, lo: float = 0.0) -> float:
    v = _field(d, key, (int, float), where)
    if not np.isfinite(v) or v < lo:
        raise ExportFormatError(f"{where}: {key} = {v!r} is not a finite number >= {lo:g}")
    return float(v)


def _vector(d: dict[str, Any], key: str, where: str, dim: int | None) -> np.ndarray:
    v = _field(d, key, list, where)
    if not 0 < len(v) <= MAX_DIM or (dim is not None and len(v) != dim):
        raise ExportFormatError(f"{where}: {key} has {len(v)} values, expected "
                                f"{dim if dim is not None else f'1 to {MAX_DIM}'}")
    if not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise ExportFormatError(f"{where}: {key} holds values that are not numbers")
    try:
        with np.errstate(over="ignore"):
            arr = np.asarray(v, dtype=np.float64).astype(np.float32)
    except OverflowError:  # an integer beyond float range
        arr = np.array([np.inf], np.float32)
    if not np.isfinite(arr).all():
        raise ExportFormatError(f"{where}: {key} holds values that are not finite float32 numbers")
    if not arr.any():
        raise ExportFormatError(f"{where}: {key} is all zeros")
    return arr


def _channel(d: dict[str, Any], where: str) -> str:
    ch = d.get("channel")
    if ch not in ("wideband", "telephone"):
        raise ExportFormatError(f"{where}: channel {ch!r} is neither 'wideband' nor 'telephone'")
    return str(ch)


def _voiceprint_from_export(sp: Any, where: str) -> Voiceprint:
    if not isinstance(sp, dict):
        raise ExportFormatError(f"{where}: not a JSON object")
    try:
        name = check_name(sp.get("name"))  # type: ignore[arg-type]
    except InvalidParameterError as exc:
        raise ExportFormatError(f"{where}: {exc}") from exc
    where = f"speaker {name!r}"
    encoder = _field(sp, "encoder", str, where)
    if not encoder.strip() or len(encoder) > 200:
        raise ExportFormatError(f"{where}: encoder name {encoder[:50]!r} is empty or too long")
    clips_in = _field(sp, "clips", list, where)
    if not clips_in:
        raise ExportFormatError(f"{where}: no clips (a voiceprint is made from at least one)")
    quality = sp.get("quality", {})
    try:
        ok = isinstance(quality, dict) and len(json.dumps(quality)) <= 1 << 20
    except (ValueError, TypeError, RecursionError):
        ok = False
    if not ok:
        raise ExportFormatError(f"{where}: quality is not a JSON object of at most 1 MiB")
    dim: int | None = None
    clips = []
    for j, c in enumerate(clips_in):
        cw = f"{where}, clip {j + 1}"
        if not isinstance(c, dict):
            raise ExportFormatError(f"{cw}: not a JSON object")
        emb = _vector(c, "embedding", cw, dim)
        dim = len(emb)
        tel = _vector(c, "telephone_embedding", cw, dim)
        rate = _field(c, "sample_rate", int, cw)
        if not 1 <= rate <= 10_000_000:
            raise ExportFormatError(f"{cw}: sample_rate {rate} is out of range")
        source = _field(c, "source", str, cw)
        clips.append(ClipRecord(source[:1000], emb, tel, _number(c, "speech_s", cw), _number(c, "duration_s", cw),
                                int(rate), _channel(c, cw)))
    mean = mean_unit([c.embedding for c in clips])
    return Voiceprint(name, encoder, _channel(sp, where), mean, mean_unit([c.telephone_embedding for c in clips]),
                      float(sum(c.speech_s for c in clips)), clips, str(sp.get("created", "")),
                      str(sp.get("updated", "")), quality)
