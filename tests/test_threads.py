"""The threading policy: available CPUs from affinity and cgroup quota (faked file systems),
the thread plan, and the ordered parallel map."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from voiceguard.errors import InvalidParameterError
from voiceguard.threads import available_cpus, cgroup_cpu_limit, ordered_map, plan_threads


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_and_nested_limits(tmp_path) -> None:
    root = tmp_path / "cg"
    proc = tmp_path / "cgroup"
    _write(proc, "0::/kubepods/pod1/ctr\n")
    _write(root / "kubepods" / "pod1" / "ctr" / "cpu.max", "150000 100000\n")
    assert cgroup_cpu_limit(proc_cgroup=proc, cgroup_root=root) == pytest.approx(1.5)
    _write(root / "kubepods" / "cpu.max", "100000 100000\n")  # a tighter parent wins
    assert cgroup_cpu_limit(proc_cgroup=proc, cgroup_root=root) == pytest.approx(1.0)


def test_cgroup_v2_without_quota(tmp_path) -> None:
    root, proc = tmp_path / "cg", tmp_path / "cgroup"
    _write(proc, "0::/user.slice\n")
    _write(root / "user.slice" / "cpu.max", "max 100000\n")
    assert cgroup_cpu_limit(proc_cgroup=proc, cgroup_root=root) is None
    assert cgroup_cpu_limit(proc_cgroup=tmp_path / "missing", cgroup_root=root) is None


def test_cgroup_v2_path_not_visible_inside_a_container(tmp_path) -> None:
    root, proc = tmp_path / "cg", tmp_path / "cgroup"
    _write(proc, "0::/docker/abc\n")  # the host's path; the container sees its own cgroup at the root
    _write(root / "cpu.max", "200000 100000\n")
    assert cgroup_cpu_limit(proc_cgroup=proc, cgroup_root=root) == pytest.approx(2.0)


@pytest.mark.parametrize("mount", ["cpu,cpuacct", "cpu"])
def test_cgroup_v1_quota(tmp_path, mount) -> None:
    root, proc = tmp_path / "cg", tmp_path / "cgroup"
    _write(proc, f"12:memory:/x\n4:{mount}:/docker/abc\n")
    d = root / mount / "docker" / "abc"
    _write(d / "cpu.cfs_quota_us", "250000\n")
    _write(d / "cpu.cfs_period_us", "100000\n")
    assert cgroup_cpu_limit(proc_cgroup=proc, cgroup_root=root) == pytest.approx(2.5)
    _write(d / "cpu.cfs_quota_us", "-1\n")  # no quota
    assert cgroup_cpu_limit(proc_cgroup=proc, cgroup_root=root) is None


@pytest.mark.parametrize(("affinity", "quota", "expected"), [
    (2, None, 2), (8, 1.5, 1), (8, 3.9, 3), (4, 0.5, 1), (2, 4.0, 2), (1, None, 1), (16, 2.0, 2)])
def test_available_cpus(affinity, quota, expected) -> None:
    assert available_cpus(affinity=affinity, quota=quota) == expected


def test_available_cpus_of_this_process_is_positive() -> None:
    assert 1 <= available_cpus() <= len(__import__("os").sched_getaffinity(0))


def test_thread_plans(monkeypatch) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    p = plan_threads(1, pieces=100, cpus=8)
    assert (p.workers, p.intra_op) == (1, 1)  # the --threads 1 baseline
    p = plan_threads(None, pieces=100, cpus=4)
    assert (p.workers, p.intra_op, p.processes) == (4, 1, 4)
    p = plan_threads(None, pieces=3, cpus=4)
    assert (p.workers, p.intra_op) == (3, 1)
    p = plan_threads(None, pieces=1, cpus=4)  # one piece: intra-op threads
    assert (p.workers, p.intra_op) == (1, 4)
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.delenv("GOMP_SPINCOUNT", raising=False)
    p = plan_threads(None, pieces=1, cpus=4)  # spinning OpenMP threads: one piece runs on one thread
    assert (p.workers, p.intra_op) == (1, 1)
    assert plan_threads(3, pieces=1, cpus=4).intra_op == 3  # unless the user asks
    p = plan_threads(6, cpus=2)  # what the user asks for wins
    assert (p.workers, p.intra_op) == (6, 1)
    for bad in (0, -1, True):
        with pytest.raises(InvalidParameterError):
            plan_threads(bad, cpus=2)


def test_ordered_map_keeps_order_bounds_memory_and_raises(rng) -> None:
    delays = rng.uniform(0, 0.004, 40)
    running, peak, lock = [0], [0], threading.Lock()

    def work(i: int) -> int:
        with lock:
            running[0] += 1
        time.sleep(delays[i])
        with lock:
            running[0] -= 1
        return i * i

    started = []

    def items():
        for i in range(40):
            started.append(i)
            with lock:
                peak[0] = max(peak[0], len(started) - consumed[0])
            yield i

    consumed = [0]
    out = []
    for r in ordered_map(work, items(), 3, ahead=5):
        consumed[0] += 1
        out.append(r)
    assert out == [i * i for i in range(40)]
    assert peak[0] <= 6  # at most `ahead` in flight (plus the one being handed over)
    assert list(ordered_map(work, range(5), 1)) == [0, 1, 4, 9, 16]

    def fail(i: int) -> int:
        if i == 3:
            raise InvalidParameterError("boom")
        return i

    with pytest.raises(InvalidParameterError, match="boom"):
        list(ordered_map(fail, range(10), 2))
    assert np.array_equal(list(ordered_map(abs, range(-3, 0), 2)), [3, 2, 1])
