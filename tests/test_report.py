"""The run report: user_properties encoding, collector, JSON/HTML/JUnit output, atomic writes."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_prodguard import __version__
from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.report import (
    PREFIX,
    SCHEMA_VERSION,
    RunCollector,
    build_report,
    decode_properties,
    property_pair,
    render_html,
    write_report,
)

REGISTRY = """
[[incident]]
id = "INC-2025-001"
title = "Empty payload <script>alert(1)</script> & crash"
severity = "HIGH"
status = "fixed"
date = 2025-03-14

[[incident]]
id = "INC-2025-002"
title = "Race in cache warm-up"
severity = "MEDIUM"
status = "open"
date = 2025-04-01

[[incident]]
id = "INC-2025-003"
title = "Timezone off-by-one in billing"
severity = "LOW"
status = "fixed"
date = 2025-05-20
postmortem = "https://wiki.example/pm/3"
"""

SUITE = """
import pytest

@pytest.mark.incident_repro("INC-2025-001")
def test_fixed_guard():
    pass

@pytest.mark.incident_repro("INC-2025-001", runs=3)
def test_fixed_guard_broken():
    assert False

@pytest.mark.incident_repro("INC-2025-002")
def test_open_repro():
    assert False

def test_plain():
    pass

def test_skipped():
    pytest.skip("not here")

@pytest.fixture
def broken():
    raise RuntimeError("setup failed")

def test_setup_error(broken):
    pass
"""

INI = "[pytest]\nconsole_output_style = classic\n"


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.path.joinpath("incidents.toml").write_text(REGISTRY, encoding="utf-8")
    pytester.makepyfile(test_suite=SUITE)
    return pytester


# ---------------------------------------------------------------- unit: encoding


class TestProperties:
    def test_a_pair_is_a_prefixed_kind_and_json_text(self):
        name, value = property_pair("ab", {"lift": 0.1, "segments": ["a", "b"]})
        assert name == PREFIX + "ab" == "prodguard.ab"
        assert isinstance(value, str)
        assert json.loads(value) == {"lift": 0.1, "segments": ["a", "b"]}

    def test_non_json_values_are_stringified(self):
        _, value = property_pair("x", {"path": Path("/data/run.csv"), "ids": ("a", "b")})
        assert json.loads(value) == {"path": "/data/run.csv", "ids": ["a", "b"]}

    def test_decoding_keeps_prodguard_pairs_in_order_and_ignores_the_rest(self):
        pairs = [
            property_pair("ab", {"n": 1}),
            ("other_plugin", "value"),
            property_pair("latency", {"p95": 0.02}),
            ("prodguard.broken", "{not json"),
            ("prodguard.object", 3),
            (7, "x"),
            property_pair("ab", {"n": 2}),
        ]
        assert decode_properties(pairs) == {
            "ab": [{"n": 1}, {"n": 2}],
            "latency": [{"p95": 0.02}],
        }


# ---------------------------------------------------------------- unit: collector


class TestRunCollector:
    def fold(self, *phases, xfailed_call=False):
        collector = RunCollector()
        for when, outcome in phases:
            collector.add("t::x", when, outcome, 0.5, [], xfailed=xfailed_call and when == "call")
        return collector.tests["t::x"]

    @pytest.mark.parametrize(
        ("phases", "expected"),
        [
            ((("setup", "passed"), ("call", "passed"), ("teardown", "passed")), "passed"),
            ((("setup", "passed"), ("call", "failed"), ("teardown", "passed")), "failed"),
            ((("setup", "failed"), ("teardown", "passed")), "error"),
            ((("setup", "passed"), ("call", "passed"), ("teardown", "failed")), "error"),
            ((("setup", "passed"), ("call", "failed"), ("teardown", "failed")), "error"),
            ((("setup", "skipped"), ("teardown", "passed")), "skipped"),
        ],
    )
    def test_the_worst_phase_sets_the_test_outcome(self, phases, expected):
        record = self.fold(*phases)
        assert record.outcome == expected
        assert record.duration == pytest.approx(0.5 * len(phases))

    def test_an_xfailed_call_is_xfailed(self):
        record = self.fold(("setup", "passed"), ("call", "skipped"), xfailed_call=True)
        assert record.outcome == "xfailed"

    def test_the_latest_phase_carries_the_results(self):
        collector = RunCollector()
        early = [property_pair("ab", {"n": 1})]
        late = [*early, property_pair("ab", {"n": 2}), property_pair("incident", {"id": "I"})]
        collector.add("t::x", "call", "passed", 0.1, early)
        collector.add("t::x", "teardown", "passed", 0.1, late)
        collector.add("t::y", "call", "passed", 0.1, [])
        record = collector.tests["t::x"]
        assert record.results == {"ab": [{"n": 1}, {"n": 2}], "incident": [{"id": "I"}]}
        assert [test.nodeid for test in collector.with_results("incident")] == ["t::x"]
        assert record.to_dict() == {
            "nodeid": "t::x",
            "outcome": "passed",
            "duration": 0.2,
            "ab": [{"n": 1}, {"n": 2}],
            "incident": [{"id": "I"}],
        }


# ---------------------------------------------------------------- unit: rendering


def sample_report() -> dict:
    collector = RunCollector()
    collector.add("t.py::test_<b>", "call", "failed", 0.25, [property_pair("ab", {"n": 1})])
    collector.add("t.py::test_ok", "call", "passed", 0.5, [])
    incidents = {
        "registry": "incidents.toml",
        "counts": {"regressed": 1},
        "guards": [
            {
                "incident": "INC-<1>",
                "title": "a <script>alert(1)</script> & b",
                "severity": "HIGH",
                "outcome": "regressed",
                "nodeid": "t.py::test_<b>",
            }
        ],
        "unguarded_fixed": [{"id": "INC-&2", "severity": "LOW", "title": "gap 'quoted'"}],
    }
    return build_report(
        collector,
        sections={"incidents": incidents},
        started=100.0,
        finished=101.23456,
        exit_status=1,
    )


class TestBuildAndRender:
    def test_build_report_has_metadata_counts_sections_and_tests(self):
        report = sample_report()
        assert report["schema_version"] == SCHEMA_VERSION == 2
        assert report["tool"] == {"name": "pytest-prodguard", "version": __version__}
        assert {"python", "platform", "cpu_model", "load_average", "git"} <= set(
            report["environment"]
        )
        assert report["duration"] == 1.235
        assert report["exit_status"] == 1
        assert report["outcomes"] == {"failed": 1, "passed": 1}
        assert report["incidents"]["counts"] == {"regressed": 1}
        assert [test["nodeid"] for test in report["tests"]] == ["t.py::test_<b>", "t.py::test_ok"]
        assert report["tests"][0]["ab"] == [{"n": 1}]
        assert json.loads(json.dumps(report)) == report

    def test_html_escapes_every_user_supplied_string(self):
        page = render_html(sample_report())
        assert page.startswith("<!DOCTYPE html>")
        assert "INC-&lt;1&gt;" in page
        assert "a &lt;script&gt;alert(1)&lt;/script&gt; &amp; b" in page
        assert "INC-&amp;2" in page
        assert "gap &#x27;quoted&#x27;" in page
        assert "t.py::test_&lt;b&gt;" in page
        assert page.count("<script>") == 1  # the page's own filter script, nothing injected
        assert "<script>alert" not in page
        assert "INC-<1>" not in page

    def test_html_without_incidents_has_no_incident_table(self):
        collector = RunCollector()
        collector.add("t.py::test_ok", "call", "passed", 0.5, [])
        report = build_report(
            collector, sections={"incidents": None}, started=0, finished=1, exit_status=0
        )
        page = render_html(report)
        assert "<h2>Incidents</h2>" not in page
        assert "t.py::test_ok" in page


class TestWriting:
    def test_json_suffix_writes_json_and_creates_folders(self, tmp_path):
        path = tmp_path / "out" / "deep" / "run.json"
        report = sample_report()
        write_report(path, report)
        assert json.loads(path.read_text(encoding="utf-8")) == report

    def test_html_suffix_writes_html(self, tmp_path):
        path = tmp_path / "run.html"
        write_report(path, sample_report())
        assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    def test_atomic_write_replaces_and_leaves_no_temporary_file(self, tmp_path):
        path = tmp_path / "run.json"
        path.write_text("old", encoding="utf-8")
        atomic_write_text(path, "new ü")
        assert path.read_text(encoding="utf-8") == "new ü"
        assert os.listdir(tmp_path) == ["run.json"]

    def test_a_failed_write_keeps_the_old_file_and_cleans_up(self, tmp_path, monkeypatch):
        path = tmp_path / "run.json"
        path.write_text("old", encoding="utf-8")

        def refuse(src, dst):
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", refuse)
        with pytest.raises(OSError, match="disk full"):
            atomic_write_text(path, "new")
        assert path.read_text(encoding="utf-8") == "old"
        assert os.listdir(tmp_path) == ["run.json"]


# ---------------------------------------------------------------- end to end


def entries_by_name(report: dict) -> dict[str, dict]:
    return {test["nodeid"].split("::")[-1]: test for test in report["tests"]}


class TestJsonReport:
    def test_json_report_holds_the_incidents_section_and_every_test(self, project):
        result = project.runpytest("--prodguard-report=reports/run.json")
        result.assert_outcomes(passed=2, failed=1, xfailed=1, skipped=1, errors=1)
        result.stdout.fnmatch_lines([f"prodguard report: {project.path / 'reports' / 'run.json'}"])
        report = json.loads(project.path.joinpath("reports", "run.json").read_text())

        assert report["exit_status"] == 1
        assert report["outcomes"] == {
            "passed": 2,
            "failed": 1,
            "xfailed": 1,
            "skipped": 1,
            "error": 1,
        }
        incidents = report["incidents"]
        assert incidents["registry"] == str(project.path / "incidents.toml")
        assert incidents["counts"] == {"guarded": 1, "regressed": 1, "reproducing": 1}
        assert sorted((g["incident"], g["outcome"]) for g in incidents["guards"]) == [
            ("INC-2025-001", "guarded"),
            ("INC-2025-001", "regressed"),
            ("INC-2025-002", "reproducing"),
        ]
        [gap] = incidents["unguarded_fixed"]
        assert gap["id"] == "INC-2025-003"
        assert gap["postmortem"] == "https://wiki.example/pm/3"

        tests = entries_by_name(report)
        assert {name: test["outcome"] for name, test in tests.items()} == {
            "test_fixed_guard": "passed",
            "test_fixed_guard_broken": "failed",
            "test_open_repro": "xfailed",
            "test_plain": "passed",
            "test_skipped": "skipped",
            "test_setup_error": "error",
        }
        [broken] = tests["test_fixed_guard_broken"]["incident"]
        assert broken == {
            "incident": "INC-2025-001",
            "title": "Empty payload <script>alert(1)</script> & crash",
            "severity": "HIGH",
            "status": "fixed",
            "outcome": "regressed",
            "runs": 3,
            "failed_run": 1,
            "guarantee": "3 runs catch a 10%-reproducible regression with probability 27.1%",
            "nodeid": "test_suite.py::test_fixed_guard_broken",
        }
        assert "incident" not in tests["test_plain"]

    def test_the_ini_key_names_the_report_and_no_temporary_files_are_left(self, project):
        project.makeini(INI + "prodguard_report = out/run.json\n")
        project.runpytest()
        assert os.listdir(project.path / "out") == ["run.json"]
        assert json.loads(project.path.joinpath("out", "run.json").read_text())["tests"]

    def test_a_run_without_a_registry_still_reports_every_test(self, pytester):
        pytester.makeini(INI)
        pytester.makepyfile("def test_a(): pass\ndef test_b(): assert False\n")
        result = pytester.runpytest("--prodguard-report=run.json")
        result.assert_outcomes(passed=1, failed=1)
        report = json.loads(pytester.path.joinpath("run.json").read_text())
        assert report["incidents"] is None
        assert {name: t["outcome"] for name, t in entries_by_name(report).items()} == {
            "test_a": "passed",
            "test_b": "failed",
        }

    def test_html_report_is_written_with_incident_ids_escaped(self, project):
        result = project.runpytest("--prodguard-report=run.html")
        result.assert_outcomes(passed=2, failed=1, xfailed=1, skipped=1, errors=1)
        page = project.path.joinpath("run.html").read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>")
        for incident_id in ("INC-2025-001", "INC-2025-002", "INC-2025-003"):
            assert incident_id in page
        assert "Empty payload &lt;script&gt;alert(1)&lt;/script&gt; &amp; crash" in page
        assert "<script>alert(1)" not in page
        assert "test_suite.py::test_setup_error" in page

    def test_an_unwritable_report_is_reported_and_does_not_crash_the_run(self, project):
        project.path.joinpath("blocker").write_text("a file, not a folder")
        result = project.runpytest("--prodguard-report=blocker/run.json")
        result.assert_outcomes(passed=2, failed=1, xfailed=1, skipped=1, errors=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(["*prodguard: could not write report*"])
        result.stdout.no_fnmatch_line("*INTERNALERROR*")

    def test_an_unwritable_report_does_not_crash_under_warnings_as_errors(self, project):
        project.path.joinpath("blocker").write_text("a file, not a folder")
        result = project.runpytest(
            "-W",
            "error",
            "-o",
            "asyncio_default_fixture_loop_scope=function",  # pytest-asyncio warns without it
            "--prodguard-report=blocker/run.json",
        )
        result.assert_outcomes(passed=2, failed=1, xfailed=1, skipped=1, errors=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(["*could not write*blocker*"])


class TestJunitXml:
    def test_junit_xml_carries_the_incident_property(self, project):
        project.makeini(INI + "junit_family = xunit1\n")
        result = project.runpytest("--junitxml=junit.xml")
        result.assert_outcomes(passed=2, failed=1, xfailed=1, skipped=1, errors=1)
        root = ET.parse(project.path / "junit.xml").getroot()
        properties = {}
        for case in root.iter("testcase"):
            for prop in case.iter("property"):
                properties.setdefault(case.get("name"), []).append(
                    (prop.get("name"), prop.get("value"))
                )
        assert set(properties) == {"test_fixed_guard", "test_fixed_guard_broken", "test_open_repro"}
        [(name, value)] = properties["test_open_repro"]
        assert name == "prodguard.incident"
        payload = json.loads(value)
        assert payload["incident"] == "INC-2025-002"
        assert payload["outcome"] == "reproducing"
        broken = json.loads(properties["test_fixed_guard_broken"][0][1])
        assert broken["title"] == "Empty payload <script>alert(1)</script> & crash"
        failure = next(
            case for case in root.iter("testcase") if case.get("name") == "test_fixed_guard_broken"
        ).find("failure")
        assert failure is not None
