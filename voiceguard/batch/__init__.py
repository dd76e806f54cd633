"""Batch scoring of many recordings on Ray Data (``voiceguard batch``; the ``batch`` extra).

Modules, one job each: :mod:`.inputs` (folders, globs, manifests and URLs to a list of
recordings), :mod:`.worker` (the actor that reads, decodes, scores and commits a part),
:mod:`.output` (rows, atomic parts, resume keys), :mod:`.pipeline` (the Ray Data
pipeline and its summary), :mod:`.cluster` (a local Ray or a cluster's) and :mod:`.cli`
(the subcommand).

Examples
--------
>>> from voiceguard.batch import ray_session, run, read_results
>>> with ray_session(local=2):                               # doctest: +SKIP
...     summary = run(["s3://calls/2024/"], "out/", storage_options={"anon": False})
>>> print(summary.describe())                                # doctest: +SKIP
>>> rows = read_results("out/")                              # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

__all__ = ["ray_session", "run", "plan", "execute", "BatchSummary", "list_recordings", "read_results"]

# attributes load on first use, so that ``voiceguard --help`` (which registers the
# subcommand from .cli) imports nothing heavy
_LAZY = {"ray_session": "cluster", "run": "pipeline", "plan": "pipeline", "execute": "pipeline",
         "BatchSummary": "pipeline", "list_recordings": "inputs"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"voiceguard.batch.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'voiceguard.batch' has no attribute {name!r}")


def read_results(out: str, *, storage_options: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every row of a batch output folder (Parquet rows carry every column, None if unset).

    Parameters
    ----------
    out : str
        The output folder (path or fsspec URL).
    storage_options : mapping, optional
        fsspec options.

    Returns
    -------
    list of dict
    """
    from voiceguard.batch import output
    from voiceguard.batch.inputs import filesystem

    fs, inner = filesystem(out, storage_options)
    return list(output.read_rows(fs, inner))
