"""Build the reference documentation of voiceguard's Python API from its docstrings (pdoc).

    python scripts/api_docs.py [OUT]      # default OUT: build/api; open OUT/index.html

Needs the ``docs`` extra (pdoc; the ``test`` extra pulls it). The pages cover the public
parts (:data:`MODULES`), not the offline tools (data, training, evaluation) nor the
deprecated module paths. Any warning pdoc gives (a name in ``__all__`` that does not
resolve, a docstring it cannot read, a module that does not import) fails the build, so
the test-suite (``tests/test_api_docs.py``) keeps the documentation from breaking.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

#: The documented modules: the package's public parts and their main modules.
MODULES = (
    "voiceguard",
    "voiceguard.errors",
    "voiceguard.exit_codes",
    "voiceguard.audio",
    "voiceguard.audio.vad",
    "voiceguard.features",
    "voiceguard.detect",
    "voiceguard.detect.detector",
    "voiceguard.detect.result",
    "voiceguard.detect.model",
    "voiceguard.detect.stream",
    "voiceguard.detect.calibration",
    "voiceguard.verify",
    "voiceguard.voiceprint",
    "voiceguard.store",
    "voiceguard.provenance",
    "voiceguard.report",
    "voiceguard.service",
    "voiceguard.batch",
)



def build(out: str | Path) -> list[str]:
    """Write the HTML pages into ``out``; returns the warnings pdoc gave (none is good)."""
    import importlib

    import pdoc
    import pdoc.render

    # names a package exports lazily (a module __getattr__ keeps `import voiceguard` light)
    # are bound here, so that pdoc, which reads a module's __dict__, finds them
    for name in MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", ()):
            if attr not in vars(mod):
                setattr(mod, attr, getattr(mod, attr))
    pdoc.render.configure(docformat="numpy", footer_text="voiceguard API reference (generated from the docstrings)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.pdoc(*MODULES, output_directory=Path(out))
    return [f"{w.category.__name__}: {w.message}" for w in caught]


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else "build/api")
    problems = build(out)
    for p in problems:
        print(f"api_docs: {p}", file=sys.stderr)
    if problems:
        print(f"api_docs: {len(problems)} warning(s): fix the docstrings or __all__ above", file=sys.stderr)
        return 1
    print(f"API reference: {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
