"""Loading a detector model from its config: the shipped models by name, config files and
folders, the weights beside them, the backend its ``kind`` names, and its version.

**Weights are verified at load.** A config may pin the SHA-256 of every file it reads;
:func:`load_model` refuses a file that differs, with a :class:`ModelError` naming the file,
both digests and what to do. Two fields, both optional, both left out of the model's
``version`` (they restate the bytes the version already hashes):

``weights_sha256``
    ``{"FILE": "HEX", ...}``: the config's own weights, FILE relative to the config's
    folder (``{"whisper-base.pt": "64f4..."}``). When present it must name the file of
    ``weights``; every file it names is checked.
``encoder_sha256``
    ``{"ENCODER": "HEX", ...}``: the speech encoders the model reads from other packages.
    ``"whisper-base"`` and ``"whisper-tiny.en"`` are the SHA-256 of the assembled CTranslate2
    ``model.bin`` (its parts concatenated in order,
    :func:`voiceguard.detect.frontends.whisper.weights_sha256`).

Both shipped configs carry them; a training export should fill them (``sha256sum FILE``,
or :func:`file_sha256` and :func:`~voiceguard.detect.frontends.whisper.weights_sha256`).
The Whisper encoders are also checked against their pinned release whatever the config
says (:func:`voiceguard.detect.frontends.whisper.verify_weights`).
"""

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


def shipped_files() -> Any:
    """The folder of the shipped models and configs (a ``Traversable``).

    The installed ``voiceguard.models`` package; when ``voiceguard`` is imported from its
    source folder without it (a clone's root after a non-editable ``pip install .``, whose
    copy Python does not see from there), ``models/`` of that source tree.

    Raises
    ------
    ModelError
        Neither is there.
    """
    from importlib import resources

    from voiceguard._version import install_hint, source_checkout

    try:
        return resources.files("voiceguard.models")
    except ModuleNotFoundError:
        root = source_checkout()
        if root is not None and (root / "models" / DEFAULT_MODEL).is_file():
            return root / "models"
        raise ModelError("the shipped models (package voiceguard.models) are not installed with this voiceguard; "
                         f"reinstall it: {install_hint()}") from None


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

        return resources.as_file(shipped_files() / name)


def _resolve_config(model: PathLike | None) -> tuple[dict, _Location, str]:
    """Load a model config; returns (config, its location, a label for messages)."""
    if model is None or (isinstance(model, str) and model in SHIPPED_MODELS) or (
            isinstance(model, str) and model.endswith(".json") and os.sep not in model and not Path(model).exists()):
        fname = SHIPPED_MODELS.get(str(model), str(model)) if model is not None else DEFAULT_MODEL
        res = shipped_files() / fname
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


#: Config fields that pin digests (the module docstring); not part of the model's version.
DIGEST_FIELDS = ("weights_sha256", "encoder_sha256")


def file_sha256(path: PathLike) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB blocks."""
    return _file_digest(Path(path))


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
    digest = hashlib.sha256(json.dumps({k: v for k, v in cfg.items() if k not in DIGEST_FIELDS},
                                       sort_keys=True).encode())
    _verify_encoders(cfg, label)
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
            digest.update(_verify_weights(cfg, label, str(weights), wpath, where).encode())
            backend = load_backend(cfg, wpath, ctx)
    calibration = Calibration.from_dict(cfg.get("calibration", {"scale": 1.0, "offset": 0.0}))
    scoring = {**DEFAULT_SCORING, **cfg.get("scoring", {})}
    return LoadedModel(cfg, name, kind, sr, calibration, backend, f"{name}@{digest.hexdigest()[:12]}", scoring)


def _pins(cfg: dict, field_name: str, label: str) -> dict[str, str]:
    pins = cfg.get(field_name) or {}
    if not isinstance(pins, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(v) == 64
                                             for k, v in pins.items()):
        raise ModelError(f"{label}: {field_name} must map names to SHA-256 digests (64 hex digits)")
    return {k: v.lower() for k, v in pins.items()}


def _verify_weights(cfg: dict, label: str, weights: str, wpath: Path, where: _Location) -> str:
    """The SHA-256 of the weights file; raises if the config pins another (or leaves it out)."""
    pins = _pins(cfg, "weights_sha256", label)
    got = _file_digest(wpath)
    if pins and weights not in pins:
        raise ModelError(f"{label}: weights_sha256 pins {', '.join(sorted(pins))} but not the weights file "
                         f"{weights}; add its SHA-256 ({got})")
    for name, want in pins.items():
        if name == weights:
            found, path = got, wpath
        else:
            with where.open_path(name) as other:
                path = Path(other)
                found = _file_digest(path) if path.is_file() else "missing"
        if found != want:
            from voiceguard._version import install_hint

            raise ModelError(f"model file {path} does not match the SHA-256 that {label} pins (expected {want}, "
                             f"found {found}): it was modified or damaged. Reinstall the model (the shipped ones: "
                             f"{install_hint()}) or retrain it; never score with weights you cannot trace")
    return got


def _verify_encoders(cfg: dict, label: str) -> None:
    """Check every encoder the config pins (``encoder_sha256``)."""
    for name, want in _pins(cfg, "encoder_sha256", label).items():
        if not name.startswith("whisper-"):
            raise ModelError(f"{label}: encoder_sha256 names an unknown encoder {name!r} (known: whisper-base, "
                             "whisper-tiny.en)")
        from voiceguard.detect.frontends.whisper import WHISPER_MODELS, verify_weights

        if name[len("whisper-"):] not in WHISPER_MODELS:
            raise ModelError(f"{label}: encoder_sha256 names an unknown encoder {name!r}")
        verify_weights(name[len("whisper-"):], want, pinned_by=label)


def shipped_config(name: str = "default") -> dict:
    """The config of a shipped model (``'default'``, ``'fast'``), read without its weights.

    Help texts quote what the shipped models do (their thresholds) from here, so they can
    never disagree with the models.
    """
    fname = SHIPPED_MODELS.get(name, name)
    try:
        return json.loads((shipped_files() / fname).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"the shipped model {fname} is missing or unreadable ({exc}); reinstall voiceguard") from exc
