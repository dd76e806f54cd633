"""Builds and runs the standalone C test of csrc/vg_fft.c (tests/c/test_fft.c).

The C program compares the FFT against a long-double naive DFT for many lengths; here it is
compiled once normally and once with AddressSanitizer + UndefinedBehaviorSanitizer. Only a
missing C compiler skips the whole module; a compiler that cannot link the sanitizers skips
just that variant.
"""

import os
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CSRC = ROOT / "csrc"
SOURCES = [ROOT / "tests" / "c" / "test_fft.c", CSRC / "vg_fft.c"]
WARN = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"]


def _find_cc():
    """The compiler Python was built with if it is on PATH, else cc, gcc or clang."""
    candidates = []
    configured = sysconfig.get_config_var("CC")
    if configured:
        candidates.append(shlex.split(configured)[0])
    candidates += ["cc", "gcc", "clang"]
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    return None


CC = _find_cc()
pytestmark = pytest.mark.skipif(CC is None, reason="no C compiler found")


def _build(out, extra):
    cmd = [CC, *WARN, *extra, "-I", str(CSRC), *map(str, SOURCES), "-o", str(out), "-lm"]
    return subprocess.run(cmd, capture_output=True, text=True)


def _run(exe):
    env = dict(os.environ)
    # The library allocates nothing; leak checking only adds fragility (it needs ptrace
    # permissions some containers lack).
    env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
    env["UBSAN_OPTIONS"] = "print_stacktrace=1"
    res = subprocess.run([str(exe)], capture_output=True, text=True, env=env, timeout=300)
    lines = res.stdout.strip().splitlines()
    summary = lines[-1] if lines else ""
    assert res.returncode == 0, f"{exe.name} failed ({res.returncode}):\n{res.stdout}\n{res.stderr}"
    assert summary.endswith(" 0 failed"), res.stdout
    return summary


def test_fft_c(tmp_path):
    exe = tmp_path / "test_fft"
    built = _build(exe, ["-O2"])
    assert built.returncode == 0, built.stderr
    _run(exe)


def test_fft_c_sanitized(tmp_path):
    probe_src = tmp_path / "probe.c"
    probe_src.write_text("int main(void) { return 0; }\n")
    probe = tmp_path / "probe"
    res = subprocess.run(
        [CC, *SANITIZE, str(probe_src), "-o", str(probe)], capture_output=True, text=True
    )
    if res.returncode != 0 or subprocess.run([str(probe)]).returncode != 0:
        pytest.skip("the C compiler cannot build sanitized programs here")
    exe = tmp_path / "test_fft_san"
    built = _build(exe, ["-O1", "-g", *SANITIZE])
    assert built.returncode == 0, built.stderr
    _run(exe)
