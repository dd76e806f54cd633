"""The Python API reference builds from the docstrings without a warning (issue 23): the
README's command, run by the suite so that CI keeps it from breaking."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("pdoc") is None, reason="needs the docs extra (pdoc)")
def test_api_reference_builds(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, str(ROOT / "scripts" / "api_docs.py"), str(tmp_path / "api")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stderr == ""  # not one warning
    pages = {q.relative_to(tmp_path / "api").as_posix() for q in (tmp_path / "api").rglob("*.html")}
    for page in ("index.html", "voiceguard.html", "voiceguard/detect.html", "voiceguard/detect/detector.html",
                 "voiceguard/detect/result.html", "voiceguard/verify.html", "voiceguard/exit_codes.html"):
        assert page in pages
    detector = (tmp_path / "api" / "voiceguard" / "detect" / "detector.html").read_text(encoding="utf-8")
    assert "progress" in detector and "Score a file or an array" in detector  # from the docstrings
    result = (tmp_path / "api" / "voiceguard" / "detect" / "result.html").read_text(encoding="utf-8")
    assert "output_schema" in result and "non_speech" in result
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python scripts/api_docs.py build/api" in readme


def test_the_docs_extra_is_in_the_test_extra() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'docs = [\n    "pdoc' in text and '"voiceguard-detect[docs]"' in text
