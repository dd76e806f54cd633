"""pytest configuration of the feature benchmarks (``benchmarks/bench_*.py``).

Run::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        pytest benchmarks/ --benchmark-only

Single-threaded by construction: this file sets those variables to 1 (unless already set)
before numpy is imported by the benchmarks, and, when ``threadpoolctl`` is installed, also
limits already-loaded BLAS/OpenMP pools to one thread for the session.  Setting them on
the command line as above is still the safest way (a plugin might import numpy first).

At the end of the run a table of speed RATIOS is printed (ratio of medians as the headline,
ratio of minima beside it: on a shared machine the minimum is less disturbed by others).  To also write it to a
Markdown file, pass ``--vg-bench-results PATH`` or set ``VG_BENCH_RESULTS=PATH``.
The benchmarks never assert on time.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import fnmatch  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT / "tests" / "reference"
if str(REFERENCE_DIR) not in sys.path:
    sys.path.insert(0, str(REFERENCE_DIR))

_RESULTS_KEY = pytest.StashKey[dict]()

# (label, numerator, denominator, how to phrase the ratio, target text, target check)
RATIOS = [
    ("LFCC (asvspoof2019) vs numpy reference LFCC", "lfcc_reference", "lfcc_voiceguard",
     "faster", ">= 4x faster", lambda r: r >= 4.0),
    ("LFCC (asvspoof2019) vs bare np.fft.rfft of the same frames", "lfcc_voiceguard", "rfft_only",
     "the rfft time", "<= 1.5x the rfft time", lambda r: r <= 1.5),
    ("CQCC (todisco) vs librosa.cqt (same bins and hop)", "librosa_cqt", "cqcc_voiceguard",
     "faster", ">= 15x faster", lambda r: r >= 15.0),
]


# --- collect bench_*.py without touching the project-wide python_files setting ----------
def pytest_collect_file(file_path, parent):
    if file_path.suffix != ".py" or not file_path.name.startswith("bench_"):
        return None
    patterns = parent.config.getini("python_files")
    if any(fnmatch.fnmatch(file_path.name, pat) for pat in patterns):
        return None  # already collected by pytest's own rule
    return pytest.Module.from_parent(parent, path=file_path)


def pytest_addoption(parser):
    parser.addoption(
        "--vg-bench-results",
        action="store",
        default=None,
        metavar="PATH",
        help="also write the voiceguard benchmark ratio table to PATH (Markdown); "
        "the VG_BENCH_RESULTS environment variable does the same",
    )


def pytest_configure(config):
    config.stash[_RESULTS_KEY] = {}


@pytest.fixture(scope="session", autouse=True)
def _single_thread_pools():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        yield
        return
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def record(request, benchmark):
    """``record(key)`` after the benchmark ran: keep its median for the ratio table."""

    def _record(key: str) -> None:
        stats = getattr(benchmark, "stats", None)
        if stats is not None and getattr(stats, "stats", None) is not None:
            request.config.stash[_RESULTS_KEY][key] = (stats.stats.median, stats.stats.min)

    return _record


def _ratio_lines(results: dict) -> list[str]:
    """Ratios of medians (headline) and of minima (less sensitive to a busy machine)."""
    lines = []
    for label, num, den, phrase, target, ok in RATIOS:
        if num in results and den in results and results[den][0] > 0 and results[den][1] > 0:
            r = results[num][0] / results[den][0]
            r_min = results[num][1] / results[den][1]
            verdict = "meets" if ok(r) else "MISSES"
            lines.append(
                f"{label}: {r:.2f}x {phrase} (target {target}: {verdict}; ratio of minima {r_min:.2f}x)"
            )
        else:
            lines.append(f"{label}: not measured")
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    results = config.stash.get(_RESULTS_KEY, {})
    if not results:
        return
    lines = _ratio_lines(results)
    terminalreporter.section("voiceguard feature speed ratios (single thread)")
    for key in sorted(results):
        med, mn = results[key]
        terminalreporter.write_line(f"  {key:>18}: median {med * 1e3:10.2f} ms, min {mn * 1e3:10.2f} ms")
    for line in lines:
        terminalreporter.write_line(line)
    path = config.getoption("--vg-bench-results", default=None) or os.environ.get("VG_BENCH_RESULTS")
    if path:
        import numpy as np

        md = [
            "# voiceguard feature benchmarks",
            "",
            f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
            f"{os.cpu_count()} CPUs visible; single thread (OMP/MKL/OPENBLAS = "
            f"{os.environ.get('OMP_NUM_THREADS')}/{os.environ.get('MKL_NUM_THREADS')}/"
            f"{os.environ.get('OPENBLAS_NUM_THREADS')}). 60 s of 16 kHz audio.",
            "",
            "| benchmark | median (ms) | min (ms) |",
            "|---|---|---|",
            *[f"| {k} | {results[k][0] * 1e3:.2f} | {results[k][1] * 1e3:.2f} |" for k in sorted(results)],
            "",
            *[f"- {line}" for line in lines],
            "",
        ]
        Path(path).write_text("\n".join(md), encoding="utf-8")
        terminalreporter.write_line(f"ratio table written to {path}")
