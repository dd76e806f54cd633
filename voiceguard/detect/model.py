"""Loading a detector model from its config: the shipped models by name, config files and
folders, the weights beside them, the backend its ``kind`` names, and its version."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voiceguard.audio.decode import PathLike
from voiceguard.detect.backends import LoadContext, load_backend
from voiceguard.detect.calibration import Calibration
from voiceguard.errors import ModelError

#: Config of the shipped model inside the ``voiceguard.models`` package.
DEFAULT_MODEL = "detector.json"


#: Default scoring settings (a model config's ``scoring`` entry overrides them).
DEFAULT_SCORING = {
    "window_s": 4.0,
    "hop_s": 2.0,
    "min_speech_fraction": 0.25,
    "min_speech_s": 0.5,
    "aggregate": "mean_llr",
}


#: Longest stretch of audio one model pass reads (a config's ``scoring.chunk_s`` overrides).
DEFAULT_CHUNK_S = 30.0


#: Short names of the models shipped in ``voiceguard.models`` (``--model NAME``).
SHIPPED_MODELS = {"default": DEFAULT_MODEL, "fast": "fast.json"}


class _Location:
    """Where a model config lives: a folder on disk or the installed models package."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    def open_path(self, name: str):
        """Context manager giving a real path for a file next to the config."""
        import contextlib

        if self.folder is not None:
            return contextlib.nullcontext(self.folder / name)
        from importlib import resources

        return resources.as_file(resources.files("voiceguard.models") / name)


def _resolve_config(model: PathLike | None) -> tuple[dict, _Location, str]:
    """Load a model config; returns (config, its location, a label for messages)."""
    if model is None or (isinstance(model, str) and model in SHIPPED_MODELS) or (
            isinstance(model, str) and model.endswith(".json") and os.sep not in model and not Path(model).exists()):
        from importlib import resources

        fname = SHIPPED_MODELS.get(str(model), str(model)) if model is not None else DEFAULT_MODEL
        res = resources.files("voiceguard.models") / fname
        if not res.is_file():
            raise ModelError(
                f"the shipped model {fname} is missing from this installation; reinstall voiceguard "
                f"or pass a model config path with --model (shipped: {', '.join(sorted(SHIPPED_MODELS))})"
            )
        return json.loads(res.read_text(encoding="utf-8")), _Location(None), fname
    p = Path(model)
    if p.is_dir():
        for name in ("model.json", DEFAULT_MODEL):
            if (p / name).is_file():
                p = p / name
                break
        else:
            raise ModelError(f"{model}: folder holds no model.json / detector.json")
    if not p.is_file():
        raise ModelError(f"model config {model} does not exist (shipped models: "
                         f"{', '.join(sorted(SHIPPED_MODELS))})")
    try:
        cfg = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"model config {p} is not valid JSON ({exc})") from exc
    return cfg, _Location(p.parent), str(p)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class LoadedModel:
    """A model config with its backend loaded: everything a Detector needs but the decision.

    Attributes
    ----------
    config : dict
        The config as read.
    name, kind : str
        ``config['name']`` and ``config['kind']``.
    sr : int
        The rate the model reads.
    calibration : Calibration
        Raw score -> LLR.
    backend : Backend
        Raw window scores of a chunk (:mod:`voiceguard.detect.backends`).
    version : str
        ``name@`` + the first 12 hex digits of the SHA-256 of the config and weights (and,
        for a fusion, of its members' versions).
    scoring : dict
        The config's ``scoring`` settings over :data:`DEFAULT_SCORING`.
    """

    config: dict
    name: str
    kind: str | None
    sr: int
    calibration: Calibration
    backend: Any
    version: str
    scoring: dict = field(default_factory=dict)

    @property
    def feature_config(self) -> dict:
        """dict : the ``features`` entry of the config (feature models)."""
        return dict(self.config.get("features", {}))


def load_model(model: PathLike | LoadedModel | None = None, *, batch_size: int = 32) -> LoadedModel:
    """Load a model config and its backend (see :class:`voiceguard.detect.Detector`)."""
    if isinstance(model, LoadedModel):
        return model
    cfg, where, label = _resolve_config(model)
    if cfg.get("format") != "voiceguard-detector":
        raise ModelError(f"{label}: not a voiceguard detector config (format {cfg.get('format')!r})")
    name = str(cfg.get("name", "detector"))
    kind = cfg.get("kind")
    sr = int(cfg.get("features", {}).get("sr", cfg.get("sr", 16000)))
    digest = hashlib.sha256(json.dumps(cfg, sort_keys=True).encode())
    ctx = LoadContext(location=where, batch_size=int(batch_size),
                      load_member=lambda m: load_model(m, batch_size=batch_size))
    weights = cfg.get("weights")
    if kind == "fusion":
        backend = load_backend(cfg, None, ctx)
        for m in getattr(backend, "members", []):
            digest.update(m.version.encode())
    else:
        if not weights:
            raise ModelError(f"{name}: config names no weights file")
        with where.open_path(weights) as wpath:
            wpath = Path(wpath)
            if not wpath.is_file():
                raise ModelError(f"model weights {wpath} are missing; retrain or reinstall the model")
            digest.update(_file_digest(wpath).encode())
            backend = load_backend(cfg, wpath, ctx)
    calibration = Calibration.from_dict(cfg.get("calibration", {"scale": 1.0, "offset": 0.0}))
    scoring = {**DEFAULT_SCORING, **cfg.get("scoring", {})}
    return LoadedModel(cfg, name, kind, sr, calibration, backend, f"{name}@{digest.hexdigest()[:12]}", scoring)


def shipped_config(name: str = "default") -> dict:
    """The config of a shipped model (``'default'``, ``'fast'``), read without its weights.

    Help texts quote what the shipped models do (their thresholds) from here, so they can
    never disagree with the models.
    """
    from importlib import resources

    fname = SHIPPED_MODELS.get(name, name)
    try:
        return json.loads((resources.files("voiceguard.models") / fname).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"the shipped model {fname} is missing or unreadable ({exc}); reinstall voiceguard") from exc
