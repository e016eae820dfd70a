"""A suite touching every report feature, and a helper that runs it in a fresh folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REGISTRY = """
[[incident]]
id = "INC-1"
title = "Empty payload <b>crashed</b> predict"
severity = "HIGH"
status = "fixed"
date = 2025-03-14

[[incident]]
id = "INC-2"
title = "Nobody guards this one"
severity = "LOW"
status = "fixed"
date = 2025-04-01
"""

SUITE = """
import json

import numpy as np
import pytest

from pytest_prodguard import record
from pytest_prodguard.robustness import assert_calibrated


@pytest.mark.incident_repro("INC-1")
def test_guard_holds():
    pass


@pytest.mark.incident_repro("INC-1")
def test_guard_regressed():
    assert 500 == 400


@pytest.mark.latency_budget(p95="50ms", max_time="0.3s")
def test_latency_met(latency):
    latency(sum, range(100))


@pytest.mark.latency_budget(p95="1us", max_time="2s")
def test_latency_exceeded(latency):
    latency(sum, range(20000))


def work():
    total = 0
    for i in range(2000):
        total += len(json.dumps({"i": [i, str(i)] * 4}))
    return total


@pytest.mark.profile_on_failure(profiler="builtin")
def test_profiled_failure():
    assert work() == 0, "boom"


def test_calibrated():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.9, 0.1], [0.2, 0.8]] * 5)
    labels = [0, 1, 0, 1] * 5
    assert_calibrated(probs, labels, max_ece=0.3)


def test_records_a_new_kind():
    record("cache_hits", {"statement": "SELECT 1", "count": 3})


def test_skipped():
    pytest.skip("not on this machine")


@pytest.mark.xfail(reason="known bug", strict=True)
def test_expected_failure():
    assert False
"""

INI = """[pytest]
console_output_style = classic
prodguard_profile_seconds = 0.3
prodguard_profile_with = builtin
"""


def run_suite(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the suite above in ``folder`` (a subprocess, so the profiler works as for users).

    ``env`` adds variables to a copy of this process's environment (GitHub's left out).
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "incidents.toml").write_text(REGISTRY, encoding="utf-8")
    (folder / "test_suite.py").write_text(SUITE, encoding="utf-8")
    (folder / "pytest.ini").write_text(INI, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTEST_XDIST"))}
    environ.update(env or {}, PRODGUARD_PYSPY="0")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args],
        cwd=folder,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
