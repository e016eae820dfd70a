"""pytest's conventions, as a user of pytest expects them from the plugin.

A latency failure is FAILED in the short summary; ini keys take native TOML values
in pytest 9's ``[tool.pytest]``; ``-q`` prints less; ``-W error`` fails a warned
budget but not a met one. (The JUnit file against pytest's xunit2 schema:
``tests/test_junit_xml.py``.)
"""

from __future__ import annotations

import json

import pytest
from test_latency_plugin import HEADER, LEAN, SURE_FAIL, SURE_PASS

import pytest_prodguard
from pytest_prodguard.errors import LatencyWarning

INI = "[pytest]\nconsole_output_style = classic\nprodguard_profile = off\n"

BUDGETS = HEADER + SURE_PASS + SURE_FAIL

WARNED = """
import time

import pytest

@pytest.mark.latency_budget(warn_p95="1ms", max_time="0.3s")
def test_warned(latency):
    latency(time.sleep, 0.01)
"""

REGISTRY = """
[[incident]]
id = "INC-1"
title = "Empty payload crashes /predict"
severity = "HIGH"
status = "fixed"
date = 2025-03-14
"""


@pytest.fixture(autouse=True)
def _not_an_xdist_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs are not xdist workers, even when this suite runs with ``-n``."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


# ---------------------------------------------------------------- ini keys

DUMP_SETTINGS = """
import dataclasses, json
from pytest_prodguard.plugin.common import settings_key

def test_dump(pytestconfig):
    settings = pytestconfig.stash[settings_key]
    with open("settings.json", "w") as handle:
        json.dump(dataclasses.asdict(settings), handle, default=str)
"""

TYPED_VALUES = {
    "prodguard_require_guards": ("true", True),
    "prodguard_baseline_save": ("true", True),
    "prodguard_latency_scale": ("1.5", 1.5),
    "prodguard_profile_seconds": ("0.5", 0.5),
    "prodguard_profile_top": ("3", 3),
    "prodguard_baseline_compare": ("0.2", 0.2),
}


def read_settings(pytester: pytest.Pytester) -> dict[str, object]:
    pytester.makepyfile(test_dump=DUMP_SETTINGS)
    result = run(pytester)
    result.assert_outcomes(passed=1)
    return json.loads((pytester.path / "settings.json").read_text(encoding="utf-8"))


def assert_typed_values(settings: dict[str, object]) -> None:
    for key, (_, value) in TYPED_VALUES.items():
        assert settings[key.removeprefix("prodguard_")] == pytest.approx(value), key


class TestTypedIniKeys:
    @pytest.mark.skipif(pytest.version_tuple < (9, 0), reason="[tool.pytest] is pytest 9")
    def test_native_toml_values_in_tool_pytest(self, pytester):
        lines = [f"{key} = {text}" for key, (text, _) in TYPED_VALUES.items()]
        pytester.makepyprojecttoml("[tool.pytest]\n" + "\n".join(lines) + "\n")
        assert_typed_values(read_settings(pytester))

    def test_the_same_values_in_tool_pytest_ini_options(self, pytester):
        lines = [f"{key} = {text}" for key, (text, _) in TYPED_VALUES.items()]
        pytester.makepyprojecttoml("[tool.pytest.ini_options]\n" + "\n".join(lines) + "\n")
        assert_typed_values(read_settings(pytester))

    def test_the_same_values_in_pytest_ini(self, pytester):
        lines = [f"{key} = {text}" for key, (text, _) in TYPED_VALUES.items()]
        pytester.makeini("[pytest]\n" + "\n".join(lines) + "\n")
        assert_typed_values(read_settings(pytester))

    @pytest.mark.skipif(pytest.version_tuple < (9, 0), reason="[tool.pytest] is pytest 9")
    def test_a_wrongly_typed_native_value_is_a_clean_usage_error(self, pytester):
        pytester.makepyprojecttoml('[tool.pytest]\nprodguard_require_guards = "yes please"\n')
        pytester.makepyfile("def test_never_runs(): pass")
        result = run(pytester)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["ERROR: prodguard: *prodguard_require_guards*"])
        result.stdout.no_fnmatch_line("*Traceback*")


# ---------------------------------------------------------------- verbosity and warnings


class TestVerbosity:
    @pytest.fixture
    def budgets(self, pytester: pytest.Pytester) -> pytest.Pytester:
        pytester.makeini(INI)
        pytester.makepyfile(test_budgets=BUDGETS)
        return pytester

    def test_default_verbosity_lists_every_call_and_the_report(self, budgets):
        result = run(budgets, "--prodguard-report=run.json")
        result.stdout.fnmatch_lines(
            [
                "*= prodguard latency =*",
                "FAIL * test_budgets.py::test_slow *",
                "pass * test_budgets.py::test_fast *",
                "prodguard report: *run.json",
            ]
        )

    def test_quiet_lists_only_the_calls_that_need_attention(self, budgets):
        result = run(budgets, "-q", "--prodguard-report=run.json")
        result.stdout.fnmatch_lines(
            ["*= prodguard latency =*", "FAIL * test_budgets.py::test_slow *"]
        )
        result.stdout.no_fnmatch_line("pass * test_budgets.py::test_fast *")
        result.stdout.no_fnmatch_line("prodguard report: *")
        assert (budgets.path / "run.json").is_file()

    def test_very_quiet_prints_no_prodguard_section(self, budgets):
        result = run(budgets, "-qq")
        result.stdout.no_fnmatch_line("*= prodguard latency =*")
        result.stdout.no_fnmatch_line("FAIL *")


class TestXfail:
    @pytest.mark.parametrize("strict", [False, True])
    def test_an_xfail_marked_latency_failure_is_an_expected_failure(self, pytester, strict):
        pytester.makeini(INI)
        marked = f"\n@pytest.mark.xfail(reason='known slow', strict={strict})" + SURE_FAIL
        pytester.makepyfile(test_budgets=HEADER + marked)
        result = run(pytester, "-rx")
        result.assert_outcomes(xfailed=1)
        result.stdout.fnmatch_lines(["XFAIL test_budgets.py::test_slow*known slow*"])


class TestWarningsAsErrors:
    def test_a_met_budget_emits_no_warning_under_W_error(self, pytester):
        pytester.makeini(INI)
        pytester.makepyfile(test_budgets=HEADER + SURE_PASS)
        # pytest-asyncio (a dev dependency) warns at configure time unless its loop scope is set
        scope = "asyncio_default_fixture_loop_scope=function"
        result = run(pytester, "-W", "error", "-o", scope, "-p", "no:benchmark")
        result.assert_outcomes(passed=1, warnings=0)

    def test_a_warned_budget_fails_under_W_error_with_the_warning(self, pytester):
        pytester.makeini(INI)
        pytester.makepyfile(test_warned=WARNED)
        result = run(pytester, "-W", "error::pytest_prodguard.LatencyWarning")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "test_warned.py L",
                "*_ test_warned _*",
                "LatencyWarning: latency budget warn tier exceeded: p95 = *",
                "test_warned.py:5: in test_warned",
            ]
        )
        result.stdout.fnmatch_lines(
            ["FAILED test_warned.py::test_warned - LatencyWarning: latency budget warn *"]
        )
        result.stdout.no_fnmatch_line("*pytest_prodguard*")

    def test_the_warning_class_is_exported(self):
        assert pytest_prodguard.LatencyWarning is LatencyWarning
        assert issubclass(LatencyWarning, UserWarning)
        assert "LatencyWarning" in pytest_prodguard.__all__


# ---------------------------------------------------------------- where each concern lives

LIST_CONCERNS = """
import json, os

def test_list(pytestconfig):
    names = sorted(
        name
        for name, _ in pytestconfig.pluginmanager.list_name_plugin()
        if name and name.startswith("prodguard-")
    )
    worker = os.environ.get("PYTEST_XDIST_WORKER", "controller")
    with open(f"concerns-{worker}.json", "w") as handle:
        json.dump(names, handle)
"""

EVERY_PROCESS = ["prodguard-incidents", "prodguard-latency", "prodguard-outcome"]
EVERY_PROCESS += ["prodguard-profiling", "prodguard-logs", "prodguard-marker-checks"]
EVERY_PROCESS += ["prodguard-queries"]
CONTROLLER_ONLY = ["prodguard-ledger", "prodguard-postmortem", "prodguard-report"]
#: Per-test hooks, registered once a collected test needs them (see plugin.common.need).
ON_DEMAND = ["prodguard-outcome-reports", "prodguard-latency-tests", "prodguard-logs-tests"]
ON_DEMAND += ["prodguard-queries-tests", "prodguard-incidents-tests"]
CONTROLLER_ON_DEMAND = ["prodguard-ledger-records"]

EVERY_CONCERN_USED = """
import pytest

@pytest.mark.incident_repro("INC-1")
@pytest.mark.query_budget(max_queries=3)
@pytest.mark.log_contract(forbid=())
@pytest.mark.profile_on_failure
def test_guard(incident):
    pass

def test_measures(latency):
    latency(sum, [1, 2])
"""


def registered(config: pytest.Config) -> list[str]:
    manager = config.pluginmanager
    return sorted(name for name, _ in manager.list_name_plugin() if name and "prodguard-" in name)


class TestRegistration:
    def test_an_unmarked_suite_gets_no_per_test_hooks(self, pytester):
        pytester.makepyfile(test_list=LIST_CONCERNS)
        reprec = pytester.inline_run("-p", "no:cacheprovider")
        reprec.assertoutcome(passed=1)
        names = json.loads((pytester.path / "concerns-controller.json").read_text())
        assert names == sorted([*EVERY_PROCESS, *CONTROLLER_ONLY])
        (call,) = reprec.getcalls("pytest_unconfigure")
        assert registered(call.config) == []

    def test_tests_that_need_them_get_every_concerns_per_test_hooks(self, pytester):
        pytester.makefile(".toml", incidents=REGISTRY)
        pytester.makepyfile(test_list=LIST_CONCERNS, test_used=EVERY_CONCERN_USED)
        reprec = pytester.inline_run("-p", "no:cacheprovider", "-p", "no:randomly")
        reprec.assertoutcome(passed=3)
        names = json.loads((pytester.path / "concerns-controller.json").read_text())
        every = [*EVERY_PROCESS, *CONTROLLER_ONLY, *ON_DEMAND, *CONTROLLER_ON_DEMAND]
        assert names == sorted(every)
        (call,) = reprec.getcalls("pytest_unconfigure")
        assert registered(call.config) == []

    @pytest.mark.parametrize("fixture", ["latency", "structured_logs"])
    def test_a_fixture_asked_for_dynamically_registers_its_hooks(self, pytester, fixture):
        pytester.makepyfile(
            f"""
            import logging

            def test_dynamic(request):
                used = request.getfixturevalue("{fixture}")
                if "{fixture}" == "latency":
                    used(sum, [1, 2])
                else:
                    logging.getLogger("app").warning("seen")
                    assert [r.message for r in used.records] == ["seen"]
                names = request.config.pluginmanager.list_name_plugin()
                assert "prodguard-{fixture.split("_")[-1]}-tests" in [n for n, _ in names]
            """
        )
        result = run(pytester, "-p", "no:randomly", "-rA", "-o", "prodguard_profile=off")
        result.assert_outcomes(passed=1)
        if fixture == "latency":  # its gate reported: the call's section is in the report
            result.stdout.fnmatch_lines(["*- prodguard latency -*", "measured sum: median *"])

    def test_under_xdist_workers_hold_no_report_ledger_or_glue(self, pytester):
        # the controller's glue: guarded ids back from workers, the run id out to them
        pytester.makepyfile(test_list=LIST_CONCERNS)
        pytester.makeconftest(
            """
            import json

            def pytest_sessionfinish(session):
                if not hasattr(session.config, "workerinput"):
                    manager = session.config.pluginmanager
                    names = [n for n, _ in manager.list_name_plugin() if n and "prodguard-" in n]
                    with open("concerns-controller.json", "w") as handle:
                        json.dump(sorted(names), handle)
            """
        )
        run(pytester, "-n", "1", *LEAN).assert_outcomes(passed=1)
        worker = json.loads((pytester.path / "concerns-gw0.json").read_text())
        assert worker == sorted(EVERY_PROCESS)
        controller = json.loads((pytester.path / "concerns-controller.json").read_text())
        glue = ["prodguard-xdist", "prodguard-profiling-xdist"]
        # the controller collects nothing, so it registers every per-test part it may need
        every = [*EVERY_PROCESS, *CONTROLLER_ONLY, *glue, *ON_DEMAND, *CONTROLLER_ON_DEMAND]
        assert controller == sorted(every)
