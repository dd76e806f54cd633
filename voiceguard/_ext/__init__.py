"""Private compiled extensions (Cython wrappers over csrc/). Use voiceguard.features instead."""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # ``from voiceguard._ext import _features`` asks here before importing the submodule:
    # import it, and when it is not built say why
    if name == "_features":
        import importlib

        try:
            return importlib.import_module(f"{__name__}._features")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}._features":
                raise
        from voiceguard._version import install_hint, source_checkout

        root = source_checkout()
        where = (f"voiceguard is imported from its source folder {root}, where the C core is not built; "
                 "run from another folder to use an installed copy, or install this clone editable: "
                 if root is not None else "the installation is incomplete; reinstall: ")
        raise ImportError(f"voiceguard's compiled feature core (voiceguard._ext._features) is missing: {where}"
                          f"{install_hint()}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
