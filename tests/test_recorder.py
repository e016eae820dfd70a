"""``pytest_prodguard.record``: results from domain code land under the running test."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_prodguard import record, recorder
from pytest_prodguard.report import PREFIX

INI = "[pytest]\nconsole_output_style = classic\n"

RECORDING_SUITE = """
import pytest
from pytest_prodguard import record

record("module", {"at": "import"})

@pytest.fixture
def recorded_around():
    record("fixture", {"at": "setup"})
    yield
    record("fixture", {"at": "teardown"})

def test_ab(recorded_around):
    record("ab", {"lift": 0.12, "significant": True})
    record("ab", {"lift": 0.03, "significant": False})
    record("robustness", {"failures": 0})

def test_failing_after_recording():
    record("ab", {"lift": -0.5})
    assert False

def test_nothing_recorded():
    pass
"""


class TestRecordingTo:
    def test_calls_inside_the_block_reach_the_sink_in_order(self):
        calls = []
        with recorder.recording_to(lambda kind, payload: calls.append((kind, payload))):
            record("ab", {"n": 1})
            record("latency", {"p95": 0.02})
        assert calls == [("ab", {"n": 1}), ("latency", {"p95": 0.02})]

    def test_blocks_nest_and_restore_the_previous_sink_even_on_error(self):
        outer, inner = [], []

        def fail_inside_inner_block():
            with recorder.recording_to(lambda kind, payload: inner.append(kind)):
                record("inner", {})
                raise RuntimeError("boom")

        with recorder.recording_to(lambda kind, payload: outer.append(kind)):
            with pytest.raises(RuntimeError, match="boom"):
                fail_inside_inner_block()
            record("outer", {})
        assert inner == ["inner"]
        assert outer == ["outer"]

    def test_the_plugin_routes_a_running_tests_calls_to_its_user_properties(self, request):
        record("selftest", {"value": [1, 2]})
        name, value = request.node.user_properties[-1]
        assert name == PREFIX + "selftest"
        assert json.loads(value) == {"value": [1, 2]}

    def test_outside_any_test_record_is_a_no_op(self):
        code = (
            "from pytest_prodguard import record\n"
            "print(record('ab', {'lift': 0.1}))\n"
            "import sys; print('pytest' in sys.modules)\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        assert proc.stdout.split() == ["None", "False"]
        assert proc.stderr == ""


class TestRecordInAReport:
    def run(self, pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict, list]:
        pytester.makeini(INI)
        pytester.makepyfile(test_recording=RECORDING_SUITE)
        leaked: list[tuple[str, dict]] = []
        # The in-process run happens inside this test: catch what the inner run does not
        # claim, so that it stays out of this test's own properties and can be checked.
        with recorder.recording_to(lambda kind, payload: leaked.append((kind, payload))):
            result = pytester.runpytest("--prodguard-report=run.json", *args)
        report = json.loads(pytester.path.joinpath("run.json").read_text())
        return result, report, leaked

    def test_records_land_under_their_test_with_the_kind_as_key(self, pytester):
        result, report, leaked = self.run(pytester)
        result.assert_outcomes(passed=2, failed=1)
        tests = {test["nodeid"].split("::")[-1]: test for test in report["tests"]}
        assert tests["test_ab"]["ab"] == [
            {"lift": 0.12, "significant": True},
            {"lift": 0.03, "significant": False},
        ]
        assert tests["test_ab"]["robustness"] == [{"failures": 0}]
        assert tests["test_failing_after_recording"]["ab"] == [{"lift": -0.5}]
        assert tests["test_failing_after_recording"]["outcome"] == "failed"
        assert set(tests["test_nothing_recorded"]) == {"nodeid", "outcome", "duration", "location"}
        # records made outside a test's body (import, fixture setup and teardown) are dropped
        assert all("fixture" not in test and "module" not in test for test in tests.values())
        assert sorted(kind for kind, _ in leaked) == ["fixture", "fixture", "module"]

    def test_records_cross_xdist_workers(self, pytester):
        pytest.importorskip("xdist")
        result, report, _ = self.run(
            pytester, "-n", "2", "-p", "no:hypothesispytest", "-p", "no:benchmark"
        )
        result.assert_outcomes(passed=2, failed=1)
        tests = {test["nodeid"].split("::")[-1]: test for test in report["tests"]}
        assert [entry["lift"] for entry in tests["test_ab"]["ab"]] == [0.12, 0.03]
        assert tests["test_failing_after_recording"]["ab"] == [{"lift": -0.5}]

    def test_records_show_as_junit_properties(self, pytester):
        pytester.makeini(INI + "junit_family = xunit1\n")
        pytester.makepyfile(
            """
            from pytest_prodguard import record

            def test_ab():
                record("ab", {"lift": 0.12})
            """
        )
        pytester.runpytest("--junitxml=junit.xml")
        text = pytester.path.joinpath("junit.xml").read_text()
        assert 'name="prodguard.ab"' in text
        assert "&quot;lift&quot;: 0.12" in text


@pytest.mark.parametrize("kind", ["nodeid", "outcome", "duration", "", None])
def test_record_rejects_kinds_that_would_clash_with_report_fields(kind):
    from pytest_prodguard import ProdguardUsageError, record

    with pytest.raises(ProdguardUsageError, match="kind="):
        record(kind, {"x": 1})
