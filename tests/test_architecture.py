"""The package's shape, enforced: imports go one way between its parts, no module imports
another in a cycle (not even inside a function body), and runtime files and functions stay
short enough to read (600 lines a file, 80 a function not counting its docstring).
docs/architecture.md explains the layers.

The check reads the source (every ``import`` statement anywhere in a module, including
inside functions and ``TYPE_CHECKING`` blocks); it imports nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "voiceguard"

#: The parts, lowest first. A module may import its own part and the parts of lower layers;
#: two parts of one layer are independent of each other. ``<root>`` is ``voiceguard``
#: itself (``voiceguard.score``); data, evaluation and training are offline tools above
#: the runtime; ``cli`` assembles every part's commands.
LAYERS: list[set[str]] = [
    {"base"},
    {"audio"},
    {"features"},
    {"detect"},
    {"store", "synthesis"},
    {"voiceprint", "provenance"},
    {"report"},
    {"service", "batch"},
    {"<root>"},
    {"data"},
    {"evaluation"},
    {"training"},
    {"cli"},
]

#: Old module paths kept as deprecated re-exports (tests/cli/test_deprecated_paths.py imports
#: each); nothing in the package may import them.
DEPRECATED = {
    "voiceguard.audiosocket", "voiceguard.backends", "voiceguard.calibration", "voiceguard.metrics",
    "voiceguard.nets", "voiceguard.scoring", "voiceguard.speaker", "voiceguard.stream", "voiceguard.train",
    "voiceguard.vad", "voiceguard.voiceprints", "voiceguard.windows", "voiceguard.frontends",
    "voiceguard.frontends.whisper", "voiceguard.frontends.ct2", "voiceguard.data.vocoders",
    "voiceguard.voiceprint.fusion",
}

#: Parts that are not the runtime (the size limits do not apply to them).
OFFLINE = {"data", "evaluation", "training"}
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(ROOT.rglob("*.py")):
        rel = p.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


MODULES = _modules()


#: Top-level modules that belong to a part: ``voiceguard.verify`` is the documented home of
#: ``enroll`` / ``verify`` (it re-exports :mod:`voiceguard.voiceprint`).
ALIASES = {"verify": "voiceprint", "__main__": "cli"}
#: The bottom layer: what every part may use (errors, exit codes, thread settings, console
#: helpers, the version, the C extension, the shipped weights).
BASE = {"errors", "exit_codes", "threads", "console", "_version", "_ext", "models"}


def part_of(module: str) -> str:
    """``voiceguard.detect.backends.whisper`` -> ``detect``; ``voiceguard`` -> ``<root>``."""
    parts = module.split(".")
    if len(parts) == 1:
        return "<root>"
    return "base" if parts[1] in BASE else ALIASES.get(parts[1], parts[1])


def layer_of(part: str) -> int:
    for i, layer in enumerate(LAYERS):
        if part in layer:
            return i
    raise AssertionError(f"part {part!r} is in no layer of tests/test_architecture.py: add it to LAYERS")


def imports_of(module: str) -> set[str]:
    """Every voiceguard module ``module`` imports, anywhere in its source."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from pkg import sub` imports the submodule when there is one
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name.startswith("voiceguard") and name != module:
                found.add(name)
    return found


GRAPH = {m: imports_of(m) for m in MODULES}


def layering_violations() -> list[str]:
    bad = []
    for module, targets in sorted(GRAPH.items()):
        if module in DEPRECATED:
            continue
        src = part_of(module)
        for t in sorted(targets):
            if t in DEPRECATED:
                bad.append(f"{module} imports the deprecated path {t}")
                continue
            dst = part_of(t)
            if dst == src:
                continue
            ls, ld = layer_of(src), layer_of(dst)
            if ld > ls:
                bad.append(f"{module} ({src}, layer {ls}) imports {t} ({dst}, layer {ld}): a lower part may not "
                           "import a higher one")
            elif ld == ls:
                bad.append(f"{module} ({src}) imports {t} ({dst}): parts of one layer are independent")
    return bad


def cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in GRAPH.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_every_part_has_a_layer() -> None:
    for module in MODULES:
        if module not in DEPRECATED:
            layer_of(part_of(module))


def test_imports_go_one_way() -> None:
    bad = layering_violations()
    assert not bad, "imports against the layering (docs/architecture.md):\n  " + "\n  ".join(bad)


def test_no_import_cycles() -> None:
    found = cycles()
    assert not found, "import cycles (also through imports inside functions):\n  " + "\n  ".join(
        " <-> ".join(c) for c in found)


def function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function from its ``def`` to its end, its docstring not counted."""
    n = node.end_lineno - node.lineno + 1
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
            and isinstance(body[0].value.value, str):
        n -= body[0].end_lineno - body[0].lineno + 1
    return n


def _runtime_modules() -> list[str]:
    return [m for m in MODULES if m not in DEPRECATED and part_of(m) not in OFFLINE]


@pytest.mark.parametrize("module", _runtime_modules())
def test_runtime_files_and_functions_are_short(module: str) -> None:
    path = MODULES[module]
    text = path.read_text(encoding="utf-8")
    n = text.count("\n")
    assert n <= MAX_FILE_LINES, f"{path.relative_to(ROOT.parent)} has {n} lines (limit {MAX_FILE_LINES}): split it"
    long = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = function_lines(node)
            if length > MAX_FUNCTION_LINES:
                long.append(f"{node.name} ({length} lines, line {node.lineno})")
    assert not long, f"{path.relative_to(ROOT.parent)}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"
