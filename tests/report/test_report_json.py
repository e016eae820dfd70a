"""The JSON report: validated against the shipped JSON Schema, with every test and its figures."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from report_suite import SUITE, run_suite

from pytest_prodguard.recorder import RESERVED_KINDS
from pytest_prodguard.report import SCHEMA_VERSION, report_schema
from pytest_prodguard.report.collect import (
    MAX_FAILURE_CHARS,
    MAX_FAILURE_LINES,
    PhaseText,
    RunCollector,
    short_failure_text,
)


def validate(report: dict) -> None:
    jsonschema.Draft202012Validator(report_schema()).validate(report)


def by_name(report: dict) -> dict[str, dict]:
    return {test["nodeid"].split("::")[-1]: test for test in report["tests"]}


def test_the_shipped_schema_is_a_valid_json_schema_of_this_version():
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": SCHEMA_VERSION}


def test_the_schema_keeps_the_fixed_test_keys_away_from_recorded_kinds():
    fixed = set(report_schema()["$defs"]["test"]["required"]) | {
        "location",
        "message",
        "failure",
        "profile_files",
    }
    assert fixed == set(RESERVED_KINDS)


def test_a_real_run_validates_and_lists_every_test_with_its_outcome(real_run):
    _, report = real_run
    validate(report)
    assert report["schema_version"] == SCHEMA_VERSION
    outcomes = {name: test["outcome"] for name, test in by_name(report).items()}
    assert outcomes == {
        "test_guard_holds": "passed",
        "test_guard_regressed": "failed",
        "test_latency_met": "passed",
        "test_latency_exceeded": "failed",
        "test_profiled_failure": "failed",
        "test_calibrated": "passed",
        "test_records_a_new_kind": "passed",
        "test_skipped": "skipped",
        "test_expected_failure": "xfailed",
    }
    assert report["outcomes"] == {"passed": 4, "failed": 3, "skipped": 1, "xfailed": 1}
    assert all(test["duration"] >= 0 for test in report["tests"])


def test_failures_carry_their_message_short_text_and_location(real_run):
    _, report = real_run
    tests = by_name(report)
    regressed = tests["test_guard_regressed"]
    assert regressed["message"] == "assert 500 == 400"
    assert "assert 500 == 400" in regressed["failure"]
    line = SUITE.splitlines().index("def test_guard_regressed():")  # 1-based: the marker's line
    assert regressed["location"] == {"path": "test_suite.py", "line": line}
    assert tests["test_skipped"]["message"] == "Skipped: not on this machine"
    assert tests["test_expected_failure"]["message"] == "xfail: known bug"
    assert "message" not in tests["test_guard_holds"]


def test_passing_checks_record_their_figures(real_run):
    _, report = real_run
    tests = by_name(report)
    [calibration] = tests["test_calibrated"]["robustness"]
    assert calibration["check"] == "assert_calibrated"
    assert calibration["passed"] is True
    assert calibration["ece"] == pytest.approx(0.15)  # confidence 0.9/0.8 on all-correct labels
    assert calibration["max_ece"] == 0.3
    [[call]] = tests["test_latency_met"]["latency"]
    [check] = call["verdict"]["checks"]
    assert (check["name"], check["status"], check["budget"]) == ("p95", "pass", 0.05)
    assert check["estimate"] is not None
    assert check["high"] >= check["estimate"]


def test_a_new_kind_appears_generically_and_validates(real_run):
    _, report = real_run
    assert by_name(report)["test_records_a_new_kind"]["cache_hits"] == [
        {"count": 3, "statement": "SELECT 1"}
    ]


def test_failed_profiles_name_their_flamegraph(real_run):
    folder, report = real_run
    files = by_name(report)["test_profiled_failure"]["profile_files"]
    assert files["svg"].endswith("flamegraph.svg")
    assert (folder / files["svg"]).is_file()


def test_incidents_section_lists_guards_gaps_and_guarded_ids(real_run):
    _, report = real_run
    incidents = report["incidents"]
    assert incidents["guarded_ids"] == ["INC-1"]
    assert [gap["id"] for gap in incidents["unguarded_fixed"]] == ["INC-2"]
    assert incidents["counts"] == {"guarded": 1, "regressed": 1}


def test_environment_names_python_platform_cpu_load_and_git(real_run):
    _, report = real_run
    env = report["environment"]
    assert env["python"].count(".") == 2
    assert env["logical_cores"] >= 1
    assert env["cpu_model"]
    assert env["git"] is None  # the run's folder is not a repository


def test_a_broken_report_fails_the_schema(real_run):
    _, report = real_run
    broken = copy.deepcopy(report)
    broken["tests"][0]["outcome"] = "sort of"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)
    unknown_kind_not_a_list = copy.deepcopy(report)
    unknown_kind_not_a_list["tests"][0]["cache_hits"] = {"count": 3}
    with pytest.raises(jsonschema.ValidationError):
        validate(unknown_kind_not_a_list)


def test_the_report_is_the_same_under_xdist(tmp_path):
    pytest.importorskip("xdist")
    done = run_suite(tmp_path, "-n", "2", "--prodguard-report=run.json")
    assert done.returncode == 1, done.stdout + done.stderr
    report = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    validate(report)
    tests = by_name(report)
    assert tests["test_guard_regressed"]["message"] == "assert 500 == 400"
    assert tests["test_calibrated"]["robustness"][0]["passed"] is True
    assert tests["test_profiled_failure"]["profile_files"]["svg"].endswith("flamegraph.svg")
    assert [gap["id"] for gap in report["incidents"]["unguarded_fixed"]] == ["INC-2"]


class TestShortText:
    def test_long_tracebacks_keep_their_end(self):
        text = "\n".join(f"line {i}" for i in range(200)) + "\nE   assert 1 == 2"
        short = short_failure_text(text)
        assert short.startswith("...\n")
        assert short.endswith("E   assert 1 == 2")
        assert len(short.splitlines()) == MAX_FAILURE_LINES + 1

    def test_one_huge_line_is_cut_to_the_limit(self):
        short = short_failure_text("x" * (MAX_FAILURE_CHARS * 3))
        assert len(short) == MAX_FAILURE_CHARS + len("...\n")

    def test_a_short_text_is_kept_whole(self):
        assert short_failure_text("E  boom\n") == "E  boom"

    def test_the_worst_phase_keeps_its_text(self):
        collector = RunCollector()
        collector.add("t::x", "call", "failed", 0.1, [], text=PhaseText.short("boom\nmore", "tb"))
        collector.add("t::x", "teardown", "passed", 0.1, [], text=PhaseText())
        record = collector.tests["t::x"].to_dict()
        assert (record["message"], record["failure"]) == ("boom", "tb")
