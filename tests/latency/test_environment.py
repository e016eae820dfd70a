"""Environment description, busy-process detection, and the package's import cost."""

from __future__ import annotations

import os
import subprocess
import sys

from pytest_prodguard.latency.environment import (
    ProcessSnapshot,
    busy_processes,
    describe_environment,
    fingerprint_id,
    fingerprint_label,
    machine_fingerprint,
    snapshot_processes,
)


def test_busy_processes_from_two_snapshots() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    own = os.getpid()
    before = ProcessSnapshot(10.0, {1: ("hog", 0), 2: ("idle", 0), own: ("me", 0)})
    after = ProcessSnapshot(
        12.0, {1: ("hog", 2 * ticks), 2: ("idle", 1), own: ("me", 2 * ticks), 3: ("new", 99)}
    )
    assert busy_processes(before, after) == [{"pid": 1, "name": "hog", "cpu_percent": 100}]
    assert busy_processes(after, before) == []


def test_snapshot_sees_this_process_on_linux() -> None:
    snapshot = snapshot_processes()
    if sys.platform.startswith("linux"):
        assert os.getpid() in snapshot.ticks


def test_describe_environment_with_and_without_interval() -> None:
    plain = describe_environment()
    assert "busy_processes" not in plain
    assert plain["python"] == machine_fingerprint()["python"]
    timed = describe_environment(since=snapshot_processes())
    assert isinstance(timed["busy_processes"], list)


def test_fingerprint_label_and_id_are_stable() -> None:
    fingerprint = {
        "cpu_model": "AMD EPYC",
        "logical_cores": "2",
        "python": "CPython 3.11",
        "platform": "Linux-x86_64",
    }
    assert fingerprint_label(fingerprint) == "AMD EPYC (2 cores), CPython 3.11, Linux-x86_64"
    assert fingerprint_id(fingerprint) == fingerprint_id(dict(reversed(list(fingerprint.items()))))
    assert len(fingerprint_id(fingerprint)) == 12


def test_importing_the_package_pulls_in_no_heavy_dependency() -> None:
    code = (
        "import sys, pytest_prodguard.latency, pytest_prodguard.latency.simulation;"
        "print(sorted(m for m in ('numpy', 'scipy', 'torch', 'pytest', 'hypothesis') "
        "if m in sys.modules))"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert output.strip() == "[]"
