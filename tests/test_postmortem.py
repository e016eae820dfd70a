"""Post-mortem fields in the registry, --prodguard-require-postmortem, overdue action items."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pytest_prodguard.cli import main
from pytest_prodguard.incidents import RegistryError, load_registry
from pytest_prodguard.incidents.postmortem import (
    at_or_above,
    missing,
    overdue_items,
    postmortem_of,
)

COMPLETE = """\
[[incident]]
id = "INC-1"
title = "Checkout divided by zero"
severity = "HIGH"
status = "fixed"
date = 2025-03-14
root_cause = "quantity 0 reached the per-unit discount"
contributing_factors = ["no input validation", "no alert on 5xx per endpoint"]
timeline = ["09:00 deploy 1.5.0", { at = "09:07", event = "first 500" }]
postmortem = "https://wiki.example.com/pm/INC-1"
action_items = [
  { what = "validate quantity", owner = "ann", due = 2025-03-20, done = true },
  { what = "alert on 5xx per route", owner = "bob", due = 2025-04-01 },
]
"""

BARE = """
[[incident]]
id = "INC-2"
title = "Promo KeyError"
severity = "CRITICAL"
status = "fixed"
date = 2025-03-15

[[incident]]
id = "INC-3"
title = "Receipt encoding"
severity = "HIGH"
status = "open"
date = 2025-03-16

[[incident]]
id = "INC-4"
title = "Minor"
severity = "LOW"
status = "fixed"
date = 2025-03-17
"""

GUARDS = """
import pytest

@pytest.mark.incident_repro("INC-1")
def test_one():
    pass

@pytest.mark.incident_repro("INC-2")
def test_two():
    pass
"""


def registry(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "incidents.toml"
    path.write_text(text, encoding="utf-8")
    return path


class TestRegistryFields:
    def test_all_post_mortem_fields_are_read(self, tmp_path):
        [record] = load_registry(registry(tmp_path, COMPLETE))
        post = postmortem_of(record)
        assert post.root_cause == "quantity 0 reached the per-unit discount"
        assert post.timeline == ("09:00 deploy 1.5.0", "09:07 first 500")
        assert len(post.contributing_factors) == 2
        assert [(i.owner, i.done) for i in post.action_items] == [("ann", True), ("bob", False)]
        assert post.link == "https://wiki.example.com/pm/INC-1"

    @pytest.mark.parametrize(
        ("line", "problem"),
        [
            ('action_items = [{ what = "x", owner = "a", due = "soon" }]', "due='soon'"),
            ('action_items = [{ what = "x", due = 2025-01-01 }]', "needs what and owner"),
            ('action_items = [{ what = "x", owner = "a", due = 2025-01-01, by = 1 }]', "'by'"),
            ('action_items = [{ what = "x", owner = "a", due = 2025-01-01, done = "y" }]', "done="),
            ("action_items = 3", "must be a list of tables"),
            ("contributing_factors = [1]", "contributing_factors=[1]"),
            ("timeline = [{ event = 'x' }]", "timeline item"),
            ("postmortem = 5", "postmortem=5"),
        ],
    )
    def test_bad_fields_are_registry_errors_naming_the_value(self, tmp_path, line, problem):
        with pytest.raises(RegistryError, match="INC-1") as raised:
            load_registry(registry(tmp_path, COMPLETE.split("root_cause")[0] + line + "\n"))
        assert problem in str(raised.value)


class TestDiscipline:
    def test_a_fixed_incident_needs_root_cause_action_items_and_a_guard(self, tmp_path):
        records = {r.id: r for r in load_registry(registry(tmp_path, COMPLETE + BARE))}
        assert missing(records["INC-1"], guarded=True) == []
        assert missing(records["INC-2"], guarded=False) == [
            "root_cause",
            "action_items",
            "a guard test",
        ]
        assert missing(records["INC-3"], guarded=True) == []  # open: only the repro is due

    def test_severity_order(self):
        assert at_or_above("CRITICAL", "HIGH")
        assert at_or_above("HIGH", "HIGH")
        assert not at_or_above("MEDIUM", "HIGH")

    def test_overdue_items_are_the_open_ones_past_due(self, tmp_path):
        reg = load_registry(registry(tmp_path, COMPLETE))
        [(record, item)] = overdue_items(reg, dt.date(2025, 4, 5))
        assert (record.id, item.what) == ("INC-1", "alert on 5xx per route")
        assert overdue_items(reg, dt.date(2025, 3, 30)) == []


class TestRequirePostmortemOption:
    @pytest.fixture
    def suite(self, pytester: pytest.Pytester) -> pytest.Pytester:
        pytester.path.joinpath("incidents.toml").write_text(COMPLETE + BARE)
        pytester.makepyfile(test_guards=GUARDS)
        return pytester

    def test_off_by_default(self, suite):
        result = suite.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(passed=2)
        assert result.ret == 0

    def test_fails_the_run_naming_what_each_incident_lacks(self, suite):
        result = suite.runpytest("-p", "no:cacheprovider", "--prodguard-require-postmortem")
        result.assert_outcomes(passed=2)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "*prodguard post-mortems*",
                "NO POST-MORTEM INC-2 [CRITICAL] fixed: lacks root_cause, action_items",
                "NO POST-MORTEM INC-3 [HIGH] open: lacks a guard test",
                "OVERDUE     INC-1 'alert on 5xx per route' (owner bob, due 2025-04-01, *late)",
                "FAILED: --prodguard-require-postmortem HIGH: 2 incident(s) lack their post-mortem",
            ]
        )
        result.stdout.no_fnmatch_line("NO POST-MORTEM INC-4*")

    def test_the_json_report_carries_the_section(self, suite):
        args = ["-p", "no:cacheprovider", "--prodguard-require-postmortem", "CRITICAL"]
        suite.runpytest(*args, "--prodguard-report", "run.json")
        report = json.loads(suite.path.joinpath("run.json").read_text())
        assert report["postmortems"]["lacking"] == [
            {"incident": "INC-2", "lacks": ["root_cause", "action_items"]}
        ]
        assert report["postmortems"]["overdue"][0].startswith("OVERDUE     INC-1")

    def test_severity_from_the_ini_and_a_complete_registry_passes(self, suite):
        suite.path.joinpath("incidents.toml").write_text(COMPLETE)
        suite.makepyfile(test_guards=GUARDS.split('@pytest.mark.incident_repro("INC-2")')[0])
        suite.makeini("[pytest]\nprodguard_require_postmortem = critical\n")
        assert suite.runpytest("-p", "no:cacheprovider").ret == 0

    def test_guards_collected_on_xdist_workers_count(self, suite):
        suite.path.joinpath("incidents.toml").write_text(COMPLETE)
        suite.makepyfile(test_guards=GUARDS.split('@pytest.mark.incident_repro("INC-2")')[0])
        result = suite.runpytest(
            "-p", "no:cacheprovider", "-n", "2", "--prodguard-require-postmortem=LOW"
        )
        assert result.ret == 0
        result.stdout.no_fnmatch_line("*NO POST-MORTEM*")

    def test_a_run_of_named_files_does_not_judge_guards(self, suite):
        suite.makepyfile(test_other="def test_x():\n    pass\n")
        result = suite.runpytest(
            "-p", "no:cacheprovider", "test_other.py", "--prodguard-require-postmortem"
        )
        result.stdout.fnmatch_lines(
            ["NO POST-MORTEM INC-2 [CRITICAL] fixed: lacks root_cause, action_items"]
        )
        result.stdout.no_fnmatch_line("*lacks a guard test*")
        result.stdout.fnmatch_lines(["guard tests not judged: it names specific test files*"])

    def test_a_bad_severity_is_a_usage_error(self, suite):
        result = suite.runpytest("-p", "no:cacheprovider", "--prodguard-require-postmortem=SEVERE")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            ["*prodguard_require_postmortem='SEVERE'*one of CRITICAL, HIGH, MEDIUM, LOW*"]
        )


def test_incidents_list_shows_post_mortems_and_overdue_items(tmp_path, capsys):
    path = registry(tmp_path, COMPLETE + BARE)
    assert main(["incidents", "list", "--registry", str(path)]) == 0
    out = capsys.readouterr().out
    assert "post-mortem: root cause yes, 2 action items (1 done), timeline 2 entries" in out
    assert "post-mortem: root cause MISSING, action items MISSING" in out
    assert "OVERDUE     INC-1 'alert on 5xx per route' (owner bob, due 2025-04-01" in out
