"""assert_canary_healthy in a test run: a readable failure, the verdict in the JSON report."""

from __future__ import annotations

import json

import pytest

from pytest_prodguard import recorder

SUITE = """
from pytest_prodguard.canary import assert_canary_healthy


def arm(errors):
    return {"metrics": [{"name": "errors", "type": "errors", "requests": [3000, 3000],
                         "errors": errors}]}


def test_doubled_errors_roll_back():
    assert_canary_healthy(arm([30, 30]), arm([62, 68]))


def test_same_errors_are_healthy():
    many = {"metrics": [{"name": "errors", "type": "errors", "requests": [300000, 300000],
                         "errors": [3000, 2990]}]}
    assert_canary_healthy(many, many)
"""


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict]:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    pytester.makepyfile(test_canary_suite=SUITE)
    # The in-process run happens inside this test: keep its records out of this test's report.
    with recorder.recording_to(lambda kind, payload: None):
        result = pytester.runpytest("--prodguard-report=run.json", *args)
    return result, json.loads(pytester.path.joinpath("run.json").read_text())


def _canary_records(report: dict) -> dict[str, list]:
    return {test["nodeid"].split("::")[-1]: test.get("canary") for test in report["tests"]}


def test_a_failing_canary_shows_its_verdict_and_lands_in_the_json_report(pytester):
    result, report = _run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*CanaryError: Canary verdict: ROLLBACK*", "*Evidence to keep*"])
    records = _canary_records(report)
    assert records["test_doubled_errors_roll_back"][0]["verdict"] == "rollback"
    assert records["test_same_errors_are_healthy"][0]["verdict"] == "healthy"


def test_the_verdict_crosses_xdist_workers(pytester):
    pytest.importorskip("xdist")
    result, report = _run(pytester, "-n", "2", "-p", "no:hypothesispytest", "-p", "no:benchmark")
    result.assert_outcomes(passed=1, failed=1)
    records = _canary_records(report)
    assert records["test_doubled_errors_roll_back"][0]["metrics"][0]["canary"] == (
        "130/6,000 = 2.17%"
    )
