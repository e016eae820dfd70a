"""End to end: ``@pytest.mark.latency_budget``, the ``latency`` fixture and the latency gate.

Every inner suite is written with pytester and run in-process unless a test needs
pytest-xdist. Timing is made deterministic by margins of 10x or more, never by
timed assertions:

- a sure failure: ``latency(time.sleep, 0.01)`` against ``p95="1ms"`` (every sample
  is at least 10 ms, so the lower bound of p95 clears the budget at the first look),
  with ``warmup=4``: the automatic warm-up of a call longer than 2.5% of ``max_time`` is
  one cold call, and a slow one leaves a one-round plan (see the xfail test below);
- a sure pass: ``latency(sum, range(10_000))`` (0.05-0.3 ms a call: above the 20 us
  batching threshold, hundreds of times below the budget) against ``p95="100ms"``, with
  ``warmup=20`` and ``max_time="2s"``; it is decided after 160 rounds, in well under 1 s.
  The look plan is sized from the warm-up's raw wall time, so one preempted warm-up call
  (or a preempted first batch-calibration round of a sub-20-us callable such as
  ``sum(range(10))``) can shrink the plan until a sure pass ends undecided at
  ``max_time="0.3s"``; 20 unbatched warm-up calls keep the median estimate robust;
- a sure undecided verdict: ``latency(time.sleep, 0.001)`` against ``p95="1s"`` with
  ``max_time="30ms"`` (too few samples for a finite upper bound on p95, and the lower
  bound cannot reach 1 s).

Profiling is off in this file's inner runs (``prodguard_profile = off`` in the ini);
``tests/test_profiling_plugin.py`` covers it.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from pytest_prodguard.latency import ACCEPTED_KEYWORDS

INI = """\
[pytest]
console_output_style = classic
prodguard_profile = off
"""

HEADER = "import time\n\nimport pytest\n"

SURE_PASS = """
@pytest.mark.latency_budget(p95="100ms", warmup=20, max_time="2s")
def test_fast(latency):
    latency(sum, range(10_000))
"""

SURE_FAIL = """
@pytest.mark.latency_budget(p95="1ms", warmup=4, max_time="0.3s")
def test_slow(latency):
    latency(time.sleep, 0.01)
"""

UNDECIDED = """
@pytest.mark.latency_budget(p95="1s", max_time="30ms")
def test_undecided(latency):
    latency(time.sleep, 0.001)
"""

# pytest-xdist workers start faster without the heavy plugins this file does not need.
LEAN = ("-p", "no:benchmark", "-p", "no:html", "-p", "no:metadata", "-p", "no:hypothesispytest")

FAIL_HEADLINE = "latency budget exceeded: p95 = * (95% CI *) > budget 1 ms [[]n=*"


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs are not xdist workers, even when this suite runs with ``-n``.

    pytest-benchmark reads PYTEST_XDIST_WORKER and would disable itself (and warn).
    """
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


@pytest.fixture
def tester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester with classic output and profiling switched off."""
    pytester.makeini(INI)
    return pytester


def write(pytester: pytest.Pytester, *bodies: str, name: str = "test_budget") -> None:
    """Write one test module from the snippets above (plus the shared imports)."""
    pytester.makepyfile(**{name: HEADER + "".join(bodies)})


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def baseline_files(pytester: pytest.Pytester) -> list[Path]:
    return sorted((pytester.path / ".prodguard" / "baselines").glob("*.json"))


def call_reports(reprec: pytest.HookRecorder) -> dict[str, pytest.TestReport]:
    reports = reprec.getreports("pytest_runtest_logreport")
    return {report.nodeid: report for report in reports if report.when == "call"}


def prodguard_property(properties: list[tuple[str, object]], name: str) -> Any:
    """The decoded JSON payload of the one ``name`` pair in ``user_properties``."""
    values = [value for key, value in properties if key == name]
    assert len(values) == 1, properties
    return json.loads(str(values[0]))


class TestVerdicts:
    def test_a_call_well_within_its_budget_passes_and_is_listed_in_the_summary(self, tester):
        write(tester, SURE_PASS)
        result = run(tester)
        result.assert_outcomes(passed=1, warnings=0)
        result.stdout.fnmatch_lines(
            [
                "*= prodguard latency =*",
                "pass * test_budget.py::test_fast [[]sum[]]: latency budget met: "
                "p95 = * <= budget 100 ms [[]n=*",
            ]
        )

    def test_a_call_ten_times_over_budget_fails_with_a_one_line_headline(self, tester):
        write(tester, SURE_FAIL)
        result = run(tester)
        result.assert_outcomes(failed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        # the headline is the whole failure text: no traceback, no plugin frames
        result.stdout.fnmatch_lines(["*_ test_slow _*", FAIL_HEADLINE], consecutive=True)
        result.stdout.no_fnmatch_line("*Traceback*")
        result.stdout.no_fnmatch_line("*gate.py*")
        result.stdout.fnmatch_lines(
            ["FAIL * test_budget.py::test_slow [[]sleep[]]: " + FAIL_HEADLINE]
        )

    def test_the_failure_has_a_details_section_with_percentiles_environment_and_reproduce(
        self, tester
    ):
        write(tester, SURE_FAIL)
        result = run(tester)
        result.stdout.fnmatch_lines(
            [
                FAIL_HEADLINE,
                "*- prodguard latency -*",
                "latency verdict: fail (p95 <= 1 ms)",
                "budgets (95% sequential intervals*",
                "  p95 * fail * budget 1 ms  FAIL at n=*",
                "estimates at n=*",
                "    p50 * [[]*[]]",
                "    p90 * [[]*[]]",
                "    p95 * [[]*[]]",
                "    p99 * [[]*[]]",
                "    mean * [[]*[]]",
                "    max *",
                "samples: * rounds x 1 call(s) in * (stopped: *",
                "environment: *(* cores), *",
                "reproduce: python -m pytest test_budget.py::test_slow",
            ]
        )

    def test_an_undecided_verdict_passes_with_a_latency_warning(self, tester):
        write(tester, UNDECIDED)
        result = run(tester)
        result.assert_outcomes(passed=1, warnings=1)
        result.stdout.fnmatch_lines(
            [
                "*LatencyWarning: test_budget.py::test_undecided: latency budget undecided: "
                "p95 = * vs budget 1 s [[]n=*; a p95 pass at 95% confidence needs at least "
                "72 samples, this look had * in * s: raise max_time to about * s "
                "(or lower confidence)",
                "INCONCLUSIVE test_budget.py::test_undecided [[]sleep[]]: "
                "latency budget undecided*",
            ]
        )

    @pytest.mark.parametrize(
        ("args", "ini"),
        [
            (("--prodguard-latency-inconclusive=fail",), ""),
            ((), "prodguard_latency_inconclusive = fail\n"),
        ],
        ids=["flag", "ini"],
    )
    def test_inconclusive_fail_turns_an_undecided_verdict_into_a_failure(self, tester, args, ini):
        tester.makeini(INI + ini)
        write(tester, UNDECIDED)
        result = run(tester, *args)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "latency budget undecided (counted as a failure): p95 = * vs budget 1 s [[]n=*",
                "latency verdict: fail (p95 <= 1 s)",
            ]
        )

    def test_a_warn_tier_exceeded_passes_with_a_warning(self, tester):
        write(
            tester,
            """
@pytest.mark.latency_budget(warn_p95="1ms", max_time="0.3s")
def test_warned(latency):
    latency(time.sleep, 0.01)
""",
        )
        result = run(tester)
        result.assert_outcomes(passed=1, warnings=1)
        result.stdout.fnmatch_lines(
            [
                "*LatencyWarning: test_budget.py::test_warned: latency budget warn tier "
                "exceeded: p95 = * > warn 1 ms [[]n=*",
                "WARN * test_budget.py::test_warned [[]sleep[]]: *warn tier exceeded*",
            ]
        )

    def test_a_slow_first_call_does_not_leave_a_sure_failure_undecided(self, tester):
        write(
            tester,
            """
CALLS = []

def cold_start():
    CALLS.append(None)
    time.sleep(0.2 if len(CALLS) == 1 else 0.01)

@pytest.mark.latency_budget(p95="1ms", max_time="0.3s")
def test_cold(latency):
    latency(cold_start)
""",
        )
        result = run(tester)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines([FAIL_HEADLINE])

    def test_a_test_that_fails_on_its_own_keeps_its_own_failure(self, tester):
        write(
            tester,
            """
@pytest.mark.latency_budget(p95="1ms", max_time="0.3s")
def test_broken(latency):
    latency(time.sleep, 0.01)
    assert False, "the test's own failure"
""",
        )
        result = run(tester, "--tb=short")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "E * the test's own failure",
                "*- prodguard latency -*",
                "FAILED test_budget.py::test_broken - AssertionError: the test's own failure",
            ]
        )
        # the measurement is shown, but the budget does not replace the real failure
        result.stdout.no_fnmatch_line("latency budget exceeded*")
        result.stdout.no_fnmatch_line("LATENCY *")

    def test_a_marked_test_that_measures_nothing_fails_and_says_what_to_call(self, tester):
        write(
            tester,
            """
@pytest.mark.latency_budget(p95="1ms")
def test_forgot(latency):
    pass
""",
        )
        result = run(tester)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "test_budget.py::test_forgot: @pytest.mark.latency_budget: nothing was "
                "measured; call latency(fn, *args) in the test*"
            ]
        )


class TestModesAndScale:
    @pytest.mark.parametrize(
        ("args", "ini"),
        [(("--prodguard-latency-scale", "0.01"), ""), ((), "prodguard_latency_scale = 0.01\n")],
        ids=["flag", "ini"],
    )
    def test_the_scale_multiplies_every_budget(self, tester, args, ini):
        tester.makeini(INI + ini)
        write(
            tester,
            """
@pytest.mark.latency_budget(p95="100ms", warmup=4, max_time="0.3s")
def test_scaled(latency):
    latency(time.sleep, 0.01)
""",
        )
        result = run(tester, *args)
        # 100 ms x 0.01 = 1 ms: a sleep of 10 ms is then ten times over budget
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines([FAIL_HEADLINE, "*latency verdict: fail (p95 <= 1 ms)"])

    @pytest.mark.parametrize(
        ("args", "ini"),
        [(("--prodguard-latency=warn",), ""), ((), "prodguard_latency = warn\n")],
        ids=["flag", "ini"],
    )
    def test_warn_mode_turns_a_budget_failure_into_a_warning(self, tester, args, ini):
        tester.makeini(INI + ini)
        write(tester, SURE_FAIL)
        result = run(tester, *args)
        result.assert_outcomes(passed=1, warnings=1)
        result.stdout.fnmatch_lines(
            ["*LatencyWarning: test_budget.py::test_slow: (warn only) " + FAIL_HEADLINE]
        )

    def test_off_mode_calls_once_judges_nothing_and_warns_nothing(self, tester):
        write(tester, SURE_FAIL, UNDECIDED)
        result = run(tester, "--prodguard-latency=off", "-rP")
        result.assert_outcomes(passed=2, warnings=0)
        result.stdout.fnmatch_lines(
            [
                "*- prodguard latency -*",
                "measured sleep: median * [[]n=1[]]",
                "note: --prodguard-latency=off",
            ]
        )
        result.stdout.fnmatch_lines(
            ["recorded * test_budget.py::test_slow [[]sleep[]]: measured sleep: median * [[]n=1[]]"]
        )


class TestFixture:
    def test_without_a_marker_it_measures_records_and_returns_the_measurement(self, tester):
        tester.makepyfile(
            test_plain="""
            from pytest_prodguard.latency import Measurement

            def test_measure_only(latency):
                measurement = latency(sum, range(10))
                assert isinstance(measurement, Measurement)
                assert measurement.n > 1
                assert len(measurement.samples) == measurement.n
            """
        )
        result = run(tester)
        result.assert_outcomes(passed=1, warnings=0)
        result.stdout.fnmatch_lines(
            [
                "recorded * test_plain.py::test_measure_only [[]sum[]]: measured sum: "
                "median * [[]n=*[]]"
            ]
        )

    def test_every_measured_callable_is_judged_and_labelled(self, tester):
        write(
            tester,
            """
@pytest.mark.latency_budget(p95="1ms", warmup=4, max_time="2s")
def test_three_calls(latency):
    latency(sum, range(10))
    latency(time.sleep, 0.01)
    latency(time.sleep, 0.012)
""",
        )
        result = run(tester)
        result.assert_outcomes(failed=1)
        # both failing calls are in the message, one headline each
        result.stdout.fnmatch_lines(["*_ test_three_calls _*", FAIL_HEADLINE, FAIL_HEADLINE])
        summary = result.stdout.str().split("= prodguard latency =")[-1]
        assert re.search(r"FAIL +test_budget.py::test_three_calls \[sleep\]: ", summary)
        assert re.search(r"FAIL +test_budget.py::test_three_calls \[sleep#2\]: ", summary)
        # the fast call is judged on its own: met (or, on a very busy machine, undecided)
        assert re.search(
            r"(pass|INCONCLUSIVE) +test_budget.py::test_three_calls \[sum\]: "
            r"latency budget (met|undecided)",
            summary,
        )

    def test_a_non_callable_fails_the_test_naming_the_argument(self, tester):
        write(
            tester,
            """
@pytest.mark.latency_budget(p95="1ms")
def test_not_callable(latency):
    latency(42)
""",
        )
        result = run(tester)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "test_budget.py::test_not_callable: latency(): fn=42: a callable: "
                "latency(fn, *args, **kwargs)"
            ]
        )

    def test_a_non_callable_is_reported_once_without_a_chained_exception(self, tester):
        write(
            tester,
            """
@pytest.mark.latency_budget(p95="1ms")
def test_not_callable(latency):
    latency(42)
""",
        )
        result = run(tester)
        result.assert_outcomes(failed=1)
        result.stdout.no_fnmatch_line("*During handling of the above exception*")


class TestStatus:
    def test_a_latency_failure_gets_the_letter_L_and_is_a_FAILED_test(self, tester):
        write(tester, SURE_PASS, SURE_FAIL)
        result = run(tester)
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(
            [
                "test_budget.py .L",
                "*short test summary info*",
                "FAILED test_budget.py::test_slow - latency budget exceeded*",
            ]
        )
        result.stdout.no_fnmatch_line("LATENCY *")

    @pytest.mark.parametrize("tb", ["line", "short"])
    def test_the_traceback_points_at_the_test_not_at_plugin_code(self, tester, tb):
        write(tester, SURE_FAIL)
        result = run(tester, f"--tb={tb}")
        result.assert_outcomes(failed=1)
        if tb == "line":
            result.stdout.fnmatch_lines(["*test_budget.py:5: latency budget exceeded: p95 = *"])
        else:
            result.stdout.fnmatch_lines([FAIL_HEADLINE, "test_budget.py:5: in test_slow"])
        result.stdout.no_fnmatch_line("*pytest_prodguard*")

    def test_verbose_output_says_LATENCY(self, tester):
        write(tester, SURE_PASS, SURE_FAIL)
        result = run(tester, "-v")
        result.stdout.fnmatch_lines(
            ["test_budget.py::test_fast PASSED", "test_budget.py::test_slow LATENCY"]
        )

    def test_an_xfail_marked_latency_failure_counts_as_xfailed(self, tester):
        write(tester, "\n@pytest.mark.xfail(reason='known slow')" + SURE_FAIL)
        result = run(tester)
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(xfailed=1)


class TestRecords:
    def test_call_report_carries_the_verdict_in_user_properties(self, tester):
        write(tester, SURE_PASS, SURE_FAIL)
        reprec = tester.inline_run("-p", "no:cacheprovider")
        reports = call_reports(reprec)
        slow = reports["test_budget.py::test_slow"]
        fast = reports["test_budget.py::test_fast"]
        assert slow.prodguard_latency == "fail"
        assert not hasattr(fast, "prodguard_latency")
        (call,) = prodguard_property(slow.user_properties, "prodguard.latency")
        assert call["label"] == "sleep"
        assert call["status"] == "fail"
        assert call["headline"].startswith("latency budget exceeded: p95 = ")
        assert call["verdict"]["checks"][0]["name"] == "p95"
        assert call["verdict"]["checks"][0]["budget"] == pytest.approx(0.001)
        (call,) = prodguard_property(fast.user_properties, "prodguard.latency")
        assert call["status"] == "pass"

    def test_junit_xunit1_has_a_prodguard_latency_property_per_test(self, tester):
        write(tester, SURE_PASS, SURE_FAIL)
        run(tester, "--junitxml=junit.xml", "-o", "junit_family=xunit1")
        root = ET.parse(tester.path / "junit.xml").getroot()
        statuses = {}
        for case in root.iter("testcase"):
            (prop,) = [p for p in case.iter("property") if p.get("name") == "prodguard.latency"]
            statuses[case.get("name")] = [call["status"] for call in json.loads(prop.get("value"))]
        assert statuses == {"test_fast": ["pass"], "test_slow": ["fail"]}
        failure = root.find(".//testcase[@name='test_slow']/failure")
        assert failure is not None
        assert failure.get("message", "").startswith("latency budget exceeded: p95 = ")

    def test_json_report_has_a_latency_entry_per_test(self, tester):
        write(tester, SURE_PASS, SURE_FAIL)
        run(tester, "--prodguard-report=report.json")
        report = json.loads((tester.path / "report.json").read_text(encoding="utf-8"))
        tests = {test["nodeid"]: test for test in report["tests"]}
        slow = tests["test_budget.py::test_slow"]
        assert slow["outcome"] == "failed"
        (calls,) = slow["latency"]
        assert [call["status"] for call in calls] == ["fail"]
        assert calls[0]["verdict"]["measurement"]["n"] >= 1
        assert calls[0]["verdict"]["measurement"]["quantiles"]["p95"] > 0.001
        fast = tests["test_budget.py::test_fast"]
        assert fast["outcome"] == "passed"
        assert [call["status"] for call in fast["latency"][-1]] == ["pass"]


WORK = """
import os
import time

import pytest

def work():
    if os.environ.get("PRODGUARD_TEST_SLOW"):
        time.sleep(0.01)
    else:
        sum(range(10))

@pytest.mark.latency_budget(p95="100ms", warmup=4, max_time="0.3s")
def test_work(latency):
    latency(work)
"""


class TestBaselines:
    @pytest.fixture
    def saved(self, tester):
        tester.makepyfile(test_base=WORK)
        result = run(tester, "--prodguard-baseline-save")
        result.assert_outcomes(passed=1)
        return tester

    def test_save_writes_one_json_file_per_measured_call(self, saved):
        (path,) = baseline_files(saved)
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["format"] == "pytest-prodguard/latency-baseline"
        assert data["nodeid"] == "test_base.py::test_work"
        (saved_run,) = data["runs"]
        assert saved_run["n"] > 0
        assert saved_run["fingerprint"]["cpu_model"]
        # a second save appends a run to the same file
        run(saved, "--prodguard-baseline-save").assert_outcomes(passed=1)
        assert baseline_files(saved) == [path]
        assert len(json.loads(path.read_text(encoding="utf-8"))["runs"]) == 2

    def test_a_saved_run_keeps_sampling_after_an_early_decision(self, tester):
        # The budget passes at its first possible look (milliseconds for a 1 us call); a run
        # that is saved as a baseline still records for BASELINE_SAVE_SECONDS (0.5 s).
        tester.makepyfile(
            test_floor="""
            import os
            import pytest

            @pytest.mark.latency_budget(p95="100ms")
            def test_quick(latency):
                measurement = latency(sum, range(10))
                saving = os.environ["SAVING"] == "1"
                assert (measurement.elapsed >= 0.5) == saving, measurement.elapsed
            """
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SAVING", "0")
            run(tester).assert_outcomes(passed=1)
            patch.setenv("SAVING", "1")
            run(tester, "--prodguard-baseline-save").assert_outcomes(passed=1)

    def test_compare_against_the_same_code_reports_a_same_machine_comparison(self, saved):
        # No outcome is asserted: identical code is "unchanged" almost always, but a
        # noisy machine may leave the comparison undecided (a warning, not a failure).
        reprec = saved.inline_run("-p", "no:cacheprovider", "--prodguard-baseline-compare")
        report = call_reports(reprec)["test_base.py::test_work"]
        (call,) = prodguard_property(report.user_properties, "prodguard.latency")
        comparison = call["verdict"]["comparison"]
        assert comparison["cross_machine"] is False
        assert comparison["label"] == "same machine"
        assert comparison["baseline_runs"] == 1
        assert comparison["tolerance"] == pytest.approx(0.10)
        assert call["note"] is None

    def test_compare_fails_a_much_slower_call_with_a_regression_headline(self, saved, monkeypatch):
        monkeypatch.setenv("PRODGUARD_TEST_SLOW", "1")
        result = run(saved, "--prodguard-baseline-compare=10%")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*_ test_work _*",
                "latency regression: * the baseline (95% CI *) > tolerance +10% "
                "[[]n=*, 1 baseline run(s), same machine[]]",
            ]
        )

    def test_a_baseline_from_another_cpu_is_labelled_cross_machine(self, saved):
        (path,) = baseline_files(saved)
        data = json.loads(path.read_text(encoding="utf-8"))
        data["runs"][0]["fingerprint"]["cpu_model"] = "Imaginary CPU 9000"
        path.write_text(json.dumps(data), encoding="utf-8")
        result = run(saved, "--prodguard-baseline-compare", "-rA")
        result.stdout.fnmatch_lines(
            [
                "baseline comparison: * (cross-machine: baseline from Imaginary CPU 9000 (*, now *",
                "reproduce: python -m pytest test_base.py::test_work "
                "--prodguard-baseline-compare=10%",
            ]
        )

    def test_a_saved_baseline_makes_budgets_judged_at_the_machines_typical_speed(self, saved):
        result = run(saved, "-rA")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [
                "*machine speed: budgets judged at this machine's typical speed; the reference "
                "workload ran *x its median over 1 saved baseline run(s) of this test*",
            ]
        )
        result = run(saved, "-rA", "--prodguard-latency-normalize=off")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            ["*machine speed: raw times judged, not normalized (switched off)"]
        )

    def test_without_a_baseline_budgets_are_judged_at_the_runs_own_speed_and_say_so(self, tester):
        tester.makepyfile(test_base=WORK)
        result = run(tester, "-rA")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [
                "*machine speed: budgets judged at this run's typical speed; rounds beside "
                "reference rounds slower than their median in this run were rescaled to it "
                "(bursts of a slower machine); raw p95 *; saving a baseline with "
                "--prodguard-baseline-save also corrects a whole run on a slow machine",
            ]
        )
        assert baseline_files(tester) == []

    def test_a_missing_baseline_is_a_note_and_the_test_still_passes(self, tester):
        write(tester, SURE_PASS)
        result = run(tester, "--prodguard-baseline-compare", "-rP")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [
                "note: no baseline saved for sum (test_budget.py_test_fast_sum-*.json); "
                "comparison skipped*--prodguard-baseline-save"
            ]
        )

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            ("{not json", "not valid JSON*"),
            ('{"format": "something-else"}', "not a pytest-prodguard latency baseline*"),
        ],
        ids=["corrupt", "foreign"],
    )
    def test_a_broken_baseline_file_fails_the_test_naming_the_file(self, saved, content, problem):
        (path,) = baseline_files(saved)
        path.write_text(content, encoding="utf-8")
        result = run(saved, "--prodguard-baseline-compare")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines([f"*latency baseline {path}: {problem}"])

    def test_a_broken_baseline_file_is_a_clean_failure_without_plugin_traceback(self, saved):
        (path,) = baseline_files(saved)
        path.write_text("{not json", encoding="utf-8")
        result = run(saved, "--prodguard-baseline-compare")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [f"test_base.py::test_work: latency(): latency baseline {path}: not valid JSON*"]
        )
        result.stdout.no_fnmatch_line("*pytest_prodguard/*.py:*")


BENCH = """
import time

import pytest

def nap():
    time.sleep(0.01)

@pytest.mark.latency_budget(p95="1ms")
def test_bench(benchmark):
    benchmark(nap)
"""
BENCH_ARGS = ("--benchmark-max-time=0.05", "--benchmark-min-rounds=10")


class TestBenchmark:
    @pytest.fixture
    def bench(self, tester):
        pytest.importorskip("pytest_benchmark")
        tester.makepyfile(test_bench=BENCH)
        return tester

    def test_benchmark_samples_over_budget_fail_the_test(self, bench):
        result = run(bench, *BENCH_ARGS)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "latency budget exceeded: p95 = * > budget 1 ms [[]n=*",
                "FAIL * test_bench.py::test_bench [[]benchmark[]]: latency budget exceeded*",
                "FAILED test_bench.py::test_bench - latency budget exceeded*",
            ]
        )

    def test_disabled_benchmark_is_noted_not_judged_in_the_summary(self, bench):
        result = run(bench, *BENCH_ARGS, "--benchmark-disable")
        result.stdout.fnmatch_lines(
            [
                "not judged   test_bench.py::test_bench [[]benchmark[]]: not judged: "
                "pytest-benchmark measured nothing (it is disabled under pytest-xdist and "
                "by --benchmark-disable)"
            ]
        )
        result.stdout.no_fnmatch_line("*latency budget exceeded*")

    def test_disabled_benchmark_does_not_fail_the_test(self, bench):
        result = run(bench, *BENCH_ARGS, "--benchmark-disable")
        result.assert_outcomes(passed=1)

    def test_off_mode_does_not_judge_benchmark_samples(self, bench):
        result = run(bench, *BENCH_ARGS, "--prodguard-latency=off")
        result.assert_outcomes(passed=1, warnings=0)
        result.stdout.no_fnmatch_line("FAIL * test_bench.py::test_bench*")


BAD_MARKERS = [
    ('p59="1ms"', "p59='1ms': unknown latency_budget argument (did you mean 'p99'?); accepted: *"),
    ("", "latency_budget={}: at least one budget: *"),
    ('p95="-1ms"', "p95='-1ms': a positive number of seconds or a string such as *"),
    ("p95=0", "p95=0: a positive number of seconds*"),
    ('p95="20 mss"', "p95='20 mss': a positive number of seconds or a string such as *"),
    (
        'p50="10ms", p99="1ms"',
        "p50='10 ms': a budget no larger than p99=1 ms: a lower percentile cannot exceed *",
    ),
    ('"20ms"', "args=('20ms',): keyword arguments only: latency_budget(*"),
    ('p95="1ms", warn_p95="2ms"', "warn_p95='2 ms': a warn tier at or below the fail budget *"),
    ('p95="1ms", confidence=2', "confidence=2: a probability between 0.5 and 0.9999*"),
]


class TestBadInput:
    @pytest.mark.parametrize(
        ("arguments", "message"),
        BAD_MARKERS,
        ids=[
            "unknown-keyword",
            "no-budget",
            "negative",
            "zero",
            "unparseable",
            "p50-above-p99",
            "positional",
            "warn-above-fail",
            "confidence",
        ],
    )
    def test_a_bad_marker_is_a_setup_error_naming_test_field_and_value(
        self, tester, arguments, message
    ):
        write(
            tester,
            f"""
@pytest.mark.latency_budget({arguments})
def test_bad(latency):
    raise AssertionError("the body must not run")

def test_neighbour():
    pass
""",
        )
        result = run(tester)
        result.assert_outcomes(passed=1, errors=1)
        result.stdout.fnmatch_lines(
            [
                "*ERROR at setup of test_bad*",
                f"test_budget.py::test_bad: @pytest.mark.latency_budget: {message}",
            ]
        )
        result.stdout.no_fnmatch_line("*the body must not run*")

    def test_a_marker_without_latency_or_benchmark_fixture_is_a_setup_error(self, tester):
        write(
            tester,
            """
@pytest.mark.latency_budget(p95="20ms")
def test_no_fixture():
    pass
""",
        )
        result = run(tester)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "test_budget.py::test_no_fixture: @pytest.mark.latency_budget: fixtures=[[]]: "
                "a test that uses the 'latency' fixture*"
            ]
        )

    @pytest.mark.parametrize(
        ("args", "ini", "message"),
        [
            (
                ("--prodguard-latency-scale", "0"),
                "",
                "prodguard_latency_scale='0' (from --prodguard-latency-scale): a positive*number*",
            ),
            (
                ("--prodguard-latency-scale=-1",),
                "",
                "prodguard_latency_scale='-1' (from --prodguard-latency-scale): a positive*number*",
            ),
            (
                (),
                "prodguard_latency_scale = abc\n",
                "prodguard_latency_scale='abc' (from ini key prodguard_latency_scale): "
                "a positive*number*",
            ),
            (
                (),
                "prodguard_latency = maybe\n",
                "prodguard_latency='maybe' (from ini key prodguard_latency): "
                "one of fail, warn, off",
            ),
            (
                (),
                "prodguard_latency_inconclusive = sometimes\n",
                "prodguard_latency_inconclusive='sometimes' (from ini key "
                "prodguard_latency_inconclusive): one of warn, fail",
            ),
            (
                ("--prodguard-baseline-compare=0%",),
                "",
                "tolerance='0%' (from --prodguard-baseline-compare): a relative tolerance*",
            ),
        ],
        ids=["scale-zero", "scale-negative", "ini-scale", "ini-mode", "ini-inconclusive", "tol"],
    )
    def test_a_bad_option_is_a_usage_error_naming_where_it_came_from(
        self, tester, args, ini, message
    ):
        tester.makeini(INI + ini)
        write(tester, SURE_PASS)
        result = run(tester, *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([f"ERROR: prodguard: {message}"])

    def test_a_bad_mode_flag_is_rejected_by_argparse(self, tester):
        write(tester, SURE_PASS)
        result = run(tester, "--prodguard-latency=maybe")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["*--prodguard-latency: invalid choice: 'maybe'*"])


class TestMarkerDocs:
    def test_markers_lists_latency_budget_and_profile_on_failure(self, tester):
        result = run(tester, "--markers")
        result.stdout.fnmatch_lines(
            [
                "@pytest.mark.latency_budget(*, p50=None, *max_time='2s'*): latency and memory *",
                "@pytest.mark.profile_on_failure(profiler='auto'): when this test fails*",
            ]
        )

    def test_the_documented_signature_lists_exactly_the_accepted_keywords(self, tester):
        result = run(tester, "--markers")
        line = next(
            text for text in result.stdout.lines if text.startswith("@pytest.mark.latency_budget(")
        )
        signature = line[len("@pytest.mark.latency_budget(") : line.index("):")]
        documented = {part.split("=")[0].strip() for part in signature.split(",")} - {"*"}
        assert documented == set(ACCEPTED_KEYWORDS)


class TestXdist:
    def test_under_xdist_the_summary_is_whole_baselines_are_valid_and_a_note_is_printed(
        self, tester
    ):
        pytest.importorskip("xdist")
        write(
            tester,
            SURE_FAIL,
            """
@pytest.mark.latency_budget(p95="100ms", warmup=20, max_time="2s")
@pytest.mark.parametrize("i", range(6))
def test_fast(latency, i):
    latency(sum, range(10_000))
""",
        )
        result = run(tester, "-n", "2", "--prodguard-baseline-save", *LEAN)
        result.assert_outcomes(passed=6, failed=1)
        summary = result.stdout.str().split("= prodguard latency =")[-1]
        for i in range(6):
            assert re.search(rf"pass +test_budget.py::test_fast\[{i}\] \[sum\]: ", summary)
        assert re.search(
            r"FAIL +test_budget.py::test_slow \[sleep\]: latency budget exceeded", summary
        )
        result.stdout.fnmatch_lines(
            [
                "note: latency was measured while 2 pytest-xdist workers ran other tests in "
                "parallel; budgets were not widened. --dist loadgroup runs the latency tests "
                "one after another on one worker*only a run without -n measures them with "
                "nothing beside them.",
                # pytest 7 prints no message for a failure text that crossed from a worker
                "FAILED test_budget.py::test_slow*",
            ]
        )
        # seven tests saved at once from two processes: seven whole files, no scratch left
        files = baseline_files(tester)
        assert len(files) == 7
        nodeids = {json.loads(path.read_text(encoding="utf-8"))["nodeid"] for path in files}
        assert nodeids == {"test_budget.py::test_slow"} | {
            f"test_budget.py::test_fast[{i}]" for i in range(6)
        }
        assert not list((tester.path / ".prodguard").rglob("*.tmp"))
