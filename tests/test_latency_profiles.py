"""Profiles of failing latency budgets: builtins profiled as themselves, CPU versus waiting.

In-process runs with the builtin sampler (``PRODGUARD_PYSPY=0``) and a 0.3 s window;
failures come from 10x margins (a 3 ms sleep or a 10 ms sort against ``p95="1ms"``).
"""

from __future__ import annotations

import json

import pytest

from pytest_prodguard.profiling import pyspy

INI = """\
[pytest]
console_output_style = classic
prodguard_profile_seconds = 0.3
asyncio_default_fixture_loop_scope = function
"""

BUILTINS = """
import time

import pytest

DATA = [((i * 7919) % 100_003) / 3 for i in range(200_000)]

@pytest.mark.latency_budget(p95="1ms", warmup=4, max_time="0.3s")
def test_sleep(latency):
    latency(time.sleep, 0.003)

@pytest.mark.latency_budget(p95="1ms", warmup=2, max_time="0.3s")
def test_sort(latency):
    latency(sorted, DATA)
"""


@pytest.fixture
def tester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv(pyspy.ENV_ENABLE, "0")
    pyspy.reset_pyspy_status()
    pytester.makeini(INI)
    return pytester


def test_a_builtin_measured_directly_is_profiled_as_one_frame_named_after_it(tester):
    tester.makepyfile(test_builtins=BUILTINS)
    result = tester.runpytest("-p", "no:cacheprovider", "--prodguard-report=report.json")
    result.assert_outcomes(failed=2)
    # Before: "no samples inside the profiled code" and no flamegraph file.
    result.stdout.no_fnmatch_line("*no samples inside the profiled code*")
    result.stdout.fnmatch_lines(
        [
            "*100.0%  100.0%  time.sleep  <builtin>:1",
            "*100.0%  100.0%  sorted  <builtin>:1",
        ],
        consecutive=False,
    )
    report = json.loads((tester.path / "report.json").read_text(encoding="utf-8"))
    for test in report["tests"]:
        profile = test["profile"][-1]
        assert profile["samples"] > 0
        assert profile["files"]["svg"].endswith("flamegraph.svg")


def test_the_section_says_how_time_split_between_cpu_and_waiting(tester):
    tester.makepyfile(test_builtins=BUILTINS)
    result = tester.runpytest("-p", "no:cacheprovider", "--prodguard-report=report.json")
    result.stdout.fnmatch_lines(["time: *% running on a CPU, *% waiting (sleep, I/O, locks*"])
    report = json.loads((tester.path / "report.json").read_text(encoding="utf-8"))
    profiles = {test["nodeid"]: test["profile"][-1] for test in report["tests"]}
    sleep = profiles["test_builtins.py::test_sleep"]
    sort = profiles["test_builtins.py::test_sort"]
    # A sleep waits far more than it computes; a sort computes far more than a sleep does.
    assert sleep["cpu_seconds"] < 0.5 * sleep["seconds"]
    assert sort["cpu_seconds"] / sort["seconds"] > sleep["cpu_seconds"] / sleep["seconds"]
