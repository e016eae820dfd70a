"""The plugin as pytest sees it: registration, markers, help, hygiene runs, import cost."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from pytest_prodguard import plugin
from pytest_prodguard.incidents import MARKER_SIGNATURE
from pytest_prodguard.settings import OPTIONS

REGISTRY = """
[[incident]]
id = "INC-2025-001"
title = "Empty payload crashes /predict"
severity = "HIGH"
status = "fixed"
date = 2025-03-14

[[incident]]
id = "INC-2025-002"
title = "Race in cache warm-up"
severity = "MEDIUM"
status = "open"
date = 2025-04-01
"""

GUARDS = """
import pytest

@pytest.mark.incident_repro("INC-2025-001")
def test_fixed_guard_passes(incident):
    assert incident.id == "INC-2025-001"

@pytest.mark.incident_repro("INC-2025-002")
def test_open_repro_still_fails():
    assert 1 + 1 == 3

@pytest.mark.incident_repro("INC-2025-001", runs=3)
def test_repeated_guard_passes():
    pass

def test_plain():
    pass
"""


@pytest.fixture
def guarded(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    pytester.path.joinpath("incidents.toml").write_text(REGISTRY, encoding="utf-8")
    pytester.makepyfile(test_guards=GUARDS)
    return pytester


class TestRegistration:
    def test_plugin_is_registered_under_the_name_prodguard(self, pytestconfig):
        assert pytestconfig.pluginmanager.hasplugin("prodguard")
        assert pytestconfig.pluginmanager.get_plugin("prodguard") is plugin

    def test_markers_list_incident_repro_with_its_full_signature(self, pytester):
        result = pytester.runpytest("--markers")
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            [
                "@pytest.mark.incident_repro(incident_id, *, status=None, runs=None, "
                "repro_rate=None, confidence=0.95): this test guards a production incident*"
            ]
        )

    def test_the_plugins_signature_copy_matches_the_domains(self):
        # plugin/incidents.py repeats the signature so that loading it stays cheap
        from pytest_prodguard.plugin import incidents

        assert incidents.INCIDENT_SIGNATURE == MARKER_SIGNATURE
        assert incidents.MARKER.startswith(MARKER_SIGNATURE + ": ")

    def test_help_shows_the_prodguard_group_with_every_flag_and_ini_key(self, pytester):
        result = pytester.runpytest("--help")
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(["pytest-prodguard: production lessons as tests:"])
        for spec in OPTIONS:
            result.stdout.fnmatch_lines([f"  {spec.flag}*"])
            result.stdout.fnmatch_lines([f"  {spec.key} (*):*"])

    def test_disabling_the_plugin_leaves_an_unmarked_suite_alone(self, pytester):
        pytester.makepyfile("def test_plain(): pass")
        result = pytester.runpytest("-p", "no:prodguard", "--strict-markers")
        result.assert_outcomes(passed=1)

    def test_disabling_the_plugin_disables_the_incident_fixture(self, guarded):
        result = guarded.runpytest("-p", "no:prodguard")
        result.stdout.fnmatch_lines(["*fixture 'incident' not found*"])
        result.stdout.no_fnmatch_line("*prodguard incidents*")


class TestHeader:
    def test_header_names_the_registry_and_its_size(self, guarded):
        result = guarded.runpytest()
        result.stdout.fnmatch_lines(
            [f"prodguard: 2 incidents in {guarded.path / 'incidents.toml'}"]
        )

    def test_no_header_line_without_a_registry(self, pytester):
        pytester.makepyfile("def test_plain(): pass")
        result = pytester.runpytest()
        result.assert_outcomes(passed=1)
        result.stdout.no_fnmatch_line("prodguard:*")
        result.stdout.no_fnmatch_line("*prodguard incidents*")


EXPECTED = {"passed": 3, "xfailed": 1}


class TestHygieneRuns:
    def test_suite_with_markers_is_clean_under_strict_markers_and_warnings_as_errors(
        self, guarded, monkeypatch
    ):
        # A subprocess: in-process runs share pytest.mark's cache of known markers with
        # the outer run, which would hide a marker that the plugin failed to register.
        # When this suite itself runs under xdist, the child must not think it is a
        # worker (pytest-benchmark would warn, and -W error make that a crash).
        for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
            monkeypatch.delenv(name, raising=False)
        # pytest-asyncio (a dev dependency) warns at configure time unless its loop scope
        # is set, as a project using it would.
        result = guarded.runpytest_subprocess(
            "--strict-markers",
            "-W",
            "error",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
        )
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(**EXPECTED, warnings=0)
        result.stdout.no_fnmatch_line("*warnings summary*")

    @pytest.mark.parametrize("disabled", ["no:xdist", "no:cacheprovider", "no:terminal"])
    def test_runs_with_other_plugins_disabled(self, guarded, disabled):
        result = guarded.runpytest("-p", disabled, "--strict-markers")
        assert result.ret == pytest.ExitCode.OK
        if disabled != "no:terminal":
            result.assert_outcomes(**EXPECTED)
            result.stdout.fnmatch_lines(["*= prodguard incidents =*"])


class TestImportCost:
    def test_importing_the_plugin_loads_no_heavy_library(self):
        code = textwrap.dedent(
            """
            import json, sys
            import pytest_prodguard.plugin
            print(json.dumps(sorted(sys.modules)))
            """
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
        )
        loaded = set(json.loads(proc.stdout))
        heavy = {"numpy", "scipy", "torch", "hypothesis", "pandas", "pyarrow", "py_spy"}
        assert heavy & loaded == set()
        # unmarked suites do not pay for the incidents or report packages either
        assert {"pytest_prodguard.incidents", "pytest_prodguard.report"} & loaded == set()
        assert "pytest_prodguard.plugin" in loaded
