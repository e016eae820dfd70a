"""Latency budgets beside the plugins users already run (issue 17).

Each test sets up the situation that went wrong with the real plugin installed
(pytest-asyncio, anyio, pytest-cov, pytest-rerunfailures, pytest-timeout,
pytest-xdist, pytest-benchmark) and checks the fixed behaviour. Timing is made
deterministic by 5x margins or more, never by timed assertions: a coroutine
sleeping 5 ms (or a generator sleeping 3 x 2 ms) against ``p95="1ms"`` is a
sure failure, a call of a few microseconds against ``p95="20ms"`` a sure pass.
Runs that involve signals (pytest-timeout) or another tracer (coverage) use a
subprocess, so neither leaks into this process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

INI = """\
[pytest]
console_output_style = classic
prodguard_profile = off
asyncio_default_fixture_loop_scope = function
"""

ASYNC_TESTS = """
import asyncio

import pytest

async def nap():
    await asyncio.sleep(0.005)

@pytest.mark.latency_budget(p95="1ms", warmup=2, max_time="0.3s")
def test_sync_test_awaits_a_coroutine_function(latency):
    measurement = latency(nap)
    assert measurement.call_kind == "await"

@pytest.mark.asyncio
@pytest.mark.latency_budget(p95="1ms", warmup=2, max_time="0.3s")
async def test_asyncio_test_awaits_in_its_own_loop(latency):
    loop = asyncio.get_running_loop()
    seen = []

    async def nap_here():
        seen.append(asyncio.get_running_loop() is loop)
        await asyncio.sleep(0.005)

    await latency.measure_async(nap_here)
    assert seen and all(seen)

@pytest.mark.anyio
@pytest.mark.latency_budget(p95="1ms", warmup=2, max_time="0.3s")
async def test_anyio_test_awaits_in_its_own_loop(latency):
    await latency.measure_async(nap)
"""

GENERATOR_TESTS = """
import time

import pytest

def rows():
    for _ in range(3):
        time.sleep(0.002)
        yield 1

def lazy_rows():
    return rows()

@pytest.mark.latency_budget(p95="1ms", warmup=2, max_time="0.3s")
def test_generator_function(latency):
    latency(rows)

@pytest.mark.latency_budget(p95="1ms", warmup=2, max_time="0.3s")
def test_function_returning_a_generator(latency):
    latency(lazy_rows)
"""

MISUSE_TESTS = """
import asyncio

import pytest

async def nap():
    await asyncio.sleep(0.001)

def test_coroutine_object(latency):
    latency(nap())

@pytest.mark.asyncio
async def test_sync_call_inside_a_running_loop(latency):
    latency(nap)
"""


@pytest.fixture
def tester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """Classic output, profiling off, and no xdist worker identity leaking in."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makeini(INI)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def report_tests(pytester: pytest.Pytester, name: str = "report.json") -> dict[str, dict]:
    report = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    return {test["nodeid"]: test for test in report["tests"]}


class TestAsync:
    def test_coroutines_are_timed_to_completion_in_sync_asyncio_and_anyio_tests(self, tester):
        pytest.importorskip("pytest_asyncio")
        pytest.importorskip("anyio")
        tester.makepyfile(test_async=ASYNC_TESTS)
        # Before: latency(nap) timed only the coroutine's creation, "p95 = 1.45 us", and passed.
        result = run(tester, "-W", "error::RuntimeWarning")
        result.assert_outcomes(failed=3)
        result.stdout.fnmatch_lines(["*latency budget exceeded: p95 = * ms*> budget 1 ms*"] * 3)
        result.stdout.no_fnmatch_line("*was never awaited*")

    def test_generators_are_consumed_fully(self, tester):
        tester.makepyfile(test_generators=GENERATOR_TESTS)
        result = run(tester, "--prodguard-report=report.json")
        result.assert_outcomes(failed=2)
        tests = report_tests(tester)
        for name in ("test_generator_function", "test_function_returning_a_generator"):
            (call,) = tests[f"test_generators.py::{name}"]["latency"][-1]
            measurement = call["verdict"]["measurement"]
            assert measurement["call_kind"] == "iterate"
            assert measurement["quantiles"]["p50"] >= 0.006  # three 2 ms sleeps per call

    def test_a_coroutine_object_and_a_sync_call_in_a_running_loop_are_clear_errors(self, tester):
        pytest.importorskip("pytest_asyncio")
        tester.makepyfile(test_misuse=MISUSE_TESTS)
        result = run(tester, "-W", "error::RuntimeWarning")
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(
            [
                "*test_coroutine_object: latency(): fn=<coroutine object nap at *>: a coroutine "
                "function and its arguments, latency(fetch, url), not a coroutine object*",
                "*test_sync_call_inside_a_running_loop: latency(): fn=<function nap at *>: an "
                "event loop is already running in this thread (an async test)*"
                "await latency.measure_async(fn, *args)*",
            ]
        )
        result.stdout.no_fnmatch_line("*pytest_prodguard*py:*")
        result.stdout.no_fnmatch_line("*was never awaited*")


PURE_PYTHON = """
import pytest

def score(words):
    total = 0
    for word in words:
        total += len(word)
    return total

@pytest.mark.latency_budget(p95="20ms", warmup=20, max_time="1s")
def test_score(latency):
    latency(score, ["word"] * 20)
"""


class TestCoverage:
    @pytest.fixture
    def covered(self, tester):
        pytest.importorskip("pytest_cov")
        tester.makepyfile(test_score=PURE_PYTHON)
        return tester

    def run_cov(self, pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:benchmark", *args
        )

    def test_under_cov_budgets_are_not_judged_nor_saved_and_the_warning_names_coverage(
        self, covered
    ):
        # The same test without coverage is judged and saved (the situation is real).
        plain = self.run_cov(covered, "--prodguard-baseline-save")
        plain.assert_outcomes(passed=1)
        saved = sorted((covered.path / ".prodguard" / "baselines").glob("*.json"))
        assert len(saved) == 1
        before = saved[0].read_bytes()

        result = self.run_cov(
            covered, "--cov=.", "--prodguard-baseline-save", "--prodguard-report=report.json"
        )
        result.assert_outcomes(passed=1, warnings=1)
        result.stdout.fnmatch_lines(
            [
                "*LatencyWarning: test_score.py::test_score: not judged: coverage "
                "(sys.settrace: coverage.*) is tracing this process*--no-cov*",
                "not judged   test_score.py::test_score [[]score[]]: not judged: coverage*",
            ]
        )
        assert saved[0].read_bytes() == before  # no baseline saved from the covered run
        (call,) = report_tests(covered)["test_score.py::test_score"]["latency"][-1]
        assert call["status"] == "not-judged"
        assert "coverage" in call["not_judged"]

    def test_under_cov_inconclusive_fail_fails_the_test(self, covered):
        result = self.run_cov(covered, "--cov=.", "--prodguard-latency-inconclusive=fail")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*not judged: coverage (sys.settrace*"])


RERUN = """
import time

import pytest

attempts = []

@pytest.mark.latency_budget(p95="5ms", warmup=4, max_time="0.5s")
def test_slow_only_on_the_first_attempt(latency):
    attempts.append(1)
    if len(attempts) == 1:
        latency(time.sleep, 0.02)
    else:
        latency(sum, range(100))
"""


class TestReruns:
    def test_each_attempt_is_judged_on_its_own_and_only_the_final_one_counts(self, tester):
        pytest.importorskip("pytest_rerunfailures")
        tester.makepyfile(test_rerun=RERUN)
        result = run(tester, "--reruns=1", "-rA", "--prodguard-report=report.json")
        # Before: the first attempt's failing measurement stayed on the item: FAILED again.
        assert result.parseoutcomes() == {"passed": 1, "rerun": 1}
        result.stdout.fnmatch_lines(["pass * test_rerun.py::test_slow_only_on_the_first_attempt*"])
        passes = result.stdout.str().split("= PASSES =", 1)[1].split("= prodguard latency =")[0]
        assert passes.count("- prodguard latency -") == 1
        assert "latency budget exceeded" not in passes
        (calls,) = report_tests(tester)["test_rerun.py::test_slow_only_on_the_first_attempt"][
            "latency"
        ]
        assert [call["status"] for call in calls] == ["pass"]


TIMEOUT_PROFILING = """
import time

import pytest

def work():
    time.sleep(0.01)

@pytest.mark.profile_on_failure(profiler="builtin")
def test_fails_then_gets_profiled():
    work()
    assert False, "the test's own failure"
"""

TIMEOUT_MEASURING = """
import time

import pytest

@pytest.mark.latency_budget(p95="1s", warmup=1, max_time="20s")
def test_measured_past_the_timeout(latency):
    latency(time.sleep, 0.02)
"""


class TestTimeout:
    def run_timeout(self, pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
        pytest.importorskip("pytest_timeout")
        return pytester.runpytest_subprocess(
            "-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:benchmark", *args
        )

    def test_a_timeout_while_profiling_stops_profiling_and_keeps_the_tests_own_failure(
        self, tester
    ):
        tester.makepyfile(test_profiled=TIMEOUT_PROFILING)
        # Before: the Timeout was counted as one more failed call and profiling went on.
        result = self.run_timeout(
            tester,
            "--timeout=1",
            "--prodguard-profile=failures",
            "--prodguard-profile-seconds=30",
            "--prodguard-report=report.json",
        )
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*AssertionError: the test's own failure*",
                "*profiling stopped by Failed: Timeout (>1.0s) from pytest-timeout*",
            ]
        )

    def test_a_timeout_while_measuring_propagates_and_reports_the_partial_measurement(self, tester):
        tester.makepyfile(test_measured=TIMEOUT_MEASURING)
        result = self.run_timeout(tester, "--timeout=1", "--prodguard-report=report.json")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*Failed: Timeout (>1.0s) from pytest-timeout*",
                "*interrupted by Failed: Timeout (>1.0s) from pytest-timeout. after * rounds "
                "(* s): partial measurement, not judged*",
            ]
        )
        (call,) = report_tests(tester)["test_measured.py::test_measured_past_the_timeout"][
            "latency"
        ][-1]
        assert call["status"] == "not-judged"
        assert call["measurement"]["stop_reason"] == "interrupted"


TIMEOUT_PROFILING_A_BUDGET = """
import time

import pytest

@pytest.mark.latency_budget(p95="1ms", warmup=4, max_time="0.3s")
def test_over_budget(latency):
    latency(time.sleep, 0.01)
"""


def test_a_timeout_while_profiling_a_failed_budget_keeps_the_latency_section(tester):
    pytest.importorskip("pytest_timeout")
    tester.makepyfile(test_budget=TIMEOUT_PROFILING_A_BUDGET)
    result = tester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-p",
        "no:benchmark",
        "--timeout=2",
        "-o",
        "prodguard_profile=failures",
        "--prodguard-profile-with=builtin",
        "--prodguard-profile-seconds=60",
    )
    result.assert_outcomes(failed=1)
    # Before: the Timeout was counted as a failed call and the 60 s window went on.
    result.stdout.fnmatch_lines(
        [
            "latency verdict: fail (p95 <= 1 ms)",
            "profiling stopped by Failed: Timeout (>2.0s) from pytest-timeout.",
            "FAIL * test_budget.py::test_over_budget [[]sleep[]]: latency budget exceeded*",
            "FAILED test_budget.py::test_over_budget - Failed: Timeout*",
        ]
    )


SMALL = """
import pytest

@pytest.mark.parametrize("i", range(2))
@pytest.mark.latency_budget(p95="20ms", warmup=4, max_time="0.3s")
def test_small(latency, i):
    latency(sum, range(100))
"""

LEAN = ("-p", "no:benchmark", "-p", "no:html", "-p", "no:metadata", "-p", "no:hypothesispytest")


class TestXdistLoadgroup:
    def test_loadgroup_keeps_the_note_and_says_what_ran_beside(self, tester):
        pytest.importorskip("xdist")
        tester.makepyfile(test_small=SMALL)
        result = run(tester, *LEAN, "-n", "2", "--dist", "loadgroup")
        result.assert_outcomes(passed=2)
        # Before: the note was dropped under loadgroup, though other workers kept running.
        result.stdout.fnmatch_lines(
            [
                "note: latency was measured while 2 pytest-xdist workers ran: with --dist "
                "loadgroup the latency tests ran one after another on one worker*the other "
                "workers kept running other tests beside them*"
            ]
        )


BENCH = """
import time

import pytest

@pytest.mark.latency_budget(p95="1ms")
def test_bench(benchmark):
    benchmark(time.sleep, 0.005)
"""


BENCH_WORK = """
import os
import time

import pytest

def work():
    time.sleep(0.02 if os.environ.get("PRODGUARD_TEST_SLOW") else 0.001)

@pytest.mark.latency_budget(p95="10ms")
def test_bench(benchmark):
    benchmark(work)
"""
BENCH_ARGS = ("--benchmark-max-time=0.05", "--benchmark-min-rounds=10")


class TestBenchmarkLikeLatency:
    @pytest.fixture
    def bench(self, tester):
        pytest.importorskip("pytest_benchmark")
        tester.makepyfile(test_bench=BENCH_WORK)
        return tester

    def test_benchmark_tests_save_and_compare_baselines(self, bench, monkeypatch):
        # Before: --prodguard-baseline-save/compare did nothing for benchmark tests.
        saved = run(bench, *BENCH_ARGS, "--prodguard-baseline-save")
        saved.assert_outcomes(passed=1)
        (path,) = (bench.path / ".prodguard" / "baselines").glob("*.json")
        assert json.loads(path.read_text(encoding="utf-8"))["runs"][0]["n"] >= 10
        monkeypatch.setenv("PRODGUARD_TEST_SLOW", "1")
        slower = run(bench, *BENCH_ARGS, "--prodguard-baseline-compare")
        slower.assert_outcomes(failed=1)
        slower.stdout.fnmatch_lines(["*latency regression: * the baseline*"])

    def test_a_failing_benchmark_budget_gets_a_flamegraph(self, bench, monkeypatch):
        monkeypatch.setenv("PRODGUARD_TEST_SLOW", "1")
        result = run(
            bench,
            *BENCH_ARGS,
            "-o",
            "prodguard_profile=failures",
            "--prodguard-profile-with=builtin",
            "--prodguard-profile-seconds=0.3",
        )
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*where the time went*", "*work*test_bench.py:*"])
        assert list((bench.path / ".prodguard" / "profiles").rglob("flamegraph.svg"))


class TestBenchmarkNotJudged:
    def test_disabled_benchmark_says_not_judged_why_in_summary_and_json(self, tester):
        pytest.importorskip("pytest_benchmark")
        tester.makepyfile(test_bench=BENCH)
        result = run(tester, "--benchmark-disable", "--prodguard-report=report.json")
        # Before: a note only under -rA; the summary and the JSON said nothing.
        result.assert_outcomes(passed=1, warnings=1)
        result.stdout.fnmatch_lines(
            ["not judged   test_bench.py::test_bench [[]benchmark[]]: not judged: pytest-bench*"]
        )
        (call,) = report_tests(tester)["test_bench.py::test_bench"]["latency"][-1]
        assert call["status"] == "not-judged"
        assert "--benchmark-disable" in call["not_judged"]


def test_the_neighbours_are_in_the_dev_extra() -> None:
    pyproject = (Path(__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    for name in (
        "pytest-asyncio",
        "anyio",
        "pytest-cov",
        "pytest-rerunfailures",
        "pytest-timeout",
        "pytest-xdist",
        "pytest-benchmark",
    ):
        assert f'"{name}' in pyproject
