"""The package version and the name it is installed under (one place each;
``voiceguard.__version__`` re-exports the version).

The import package and the command are ``voiceguard``; the *distribution* (what pip
installs, what ``pyproject.toml`` names) is :data:`DISTRIBUTION`, because the name
``voiceguard`` on PyPI belongs to an unrelated project: ``pip install voiceguard``
installs a stranger's code. Every install instruction voiceguard prints comes from
:func:`install_hint`, which never names that package.
"""

from __future__ import annotations

from pathlib import Path

__version__ = "0.1.0"

#: The distribution name (``pyproject.toml``'s ``[project] name``): free on PyPI, unlike
#: ``voiceguard``.
DISTRIBUTION = "voiceguard-detect"


def source_checkout() -> Path | None:
    """The source tree this package was imported from (a clone, installed editable or run
    from its root), or None for an installed copy."""
    root = Path(__file__).resolve().parent.parent
    try:
        text = (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return None
    return root if f'name = "{DISTRIBUTION}"' in text else None


def install_hint(extra: str | None = None) -> str:
    """The command that installs this project (with an extra), which cannot resolve to the
    unrelated ``voiceguard`` on PyPI.

    Parameters
    ----------
    extra : str, optional
        ``'serve'``, ``'report'``, ``'batch'``, ``'provenance'``, ``'data'``, ``'formats'``...

    Returns
    -------
    str
        From a clone: ``pip install -c CLONE/constraints.txt -e 'CLONE[extra]'``; for an
        installed copy: the same command to run in the voiceguard clone.
    """
    spec = f"[{extra}]" if extra else ""
    root = source_checkout()
    if root is not None:
        return f"pip install -c {root / 'constraints.txt'} -e '{root}{spec}'"
    return f"pip install -c constraints.txt -e '.{spec}' (in the voiceguard clone; distribution {DISTRIBUTION})"
