"""GitHub Actions: ::error annotations for failing guards (capped) and the job summary."""

from __future__ import annotations

from report_suite import run_suite

from pytest_prodguard.report.github import (
    MAX_ANNOTATIONS,
    Annotation,
    annotation_lines,
    failing_guards,
    step_summary,
)


def test_an_annotation_escapes_data_and_properties():
    note = Annotation("a: b, c", "line 1\nline 2 100%", file="t,est.py", line=7)
    assert (
        note.command() == "::error file=t%2Cest.py,line=7,title=a%3A b%2C c::line 1%0Aline 2 100%25"
    )
    assert Annotation("t", "m").command() == "::error title=t::m"


def test_at_most_the_step_limit_then_a_plain_line_with_how_many_more():
    notes = [Annotation(f"t{n}", "m") for n in range(MAX_ANNOTATIONS + 7)]
    lines = annotation_lines(notes)
    assert len(lines) == MAX_ANNOTATIONS + 1
    assert all(line.startswith("::error ") for line in lines[:MAX_ANNOTATIONS])
    assert lines[-1].startswith("prodguard: 7 more failing guard(s) not annotated")
    assert annotation_lines(notes[:3]) == [note.command() for note in notes[:3]]


def test_failing_guards_of_a_real_run(real_run):
    _, report = real_run
    titles = sorted(note.title for note in failing_guards(report))
    assert titles == [
        "fixed incident INC-2 has no guard test",
        "incident regressed: INC-1",
        "latency budget exceeded [sum]",
    ]
    regressed = next(n for n in failing_guards(report) if n.title.startswith("incident"))
    assert (regressed.file, regressed.line) == ("test_suite.py", 16)


def test_the_summary_stays_under_the_cap_and_says_what_it_left_out(real_run):
    _, report = real_run
    big = {**report, "tests": [dict(report["tests"][1], nodeid=f"t{n}") for n in range(5000)]}
    summary = step_summary(big, limit=20_000)
    assert len(summary.encode("utf-8")) <= 20_000
    assert "more lines left out" in summary
    assert summary.startswith("## prodguard")


def test_the_summary_links_the_run_and_names_the_report(real_run):
    _, report = real_run
    environ = {
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "acme/shop",
        "GITHUB_RUN_ID": "42",
    }
    summary = step_summary(report, report_path="out/run.json", environ=environ)
    assert "(https://github.com/acme/shop/actions/runs/42)" in summary
    assert "`out/run.json`" in summary
    assert "| regressed | INC-1 | HIGH |" in summary
    assert "| **no guard** | INC-2 | LOW |" in summary
    assert "| fail | `test_suite.py::test_latency_exceeded` [sum] |" in summary


def test_a_run_under_github_actions_prints_annotations_and_writes_the_summary(tmp_path):
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    done = run_suite(
        tmp_path / "project",
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert done.returncode == 1
    errors = [line for line in done.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 3
    assert "::error file=test_suite.py,line=16,title=incident regressed%3A INC-1::" in errors[0]
    text = summary.read_text()
    assert text.startswith("earlier step\n## prodguard\n")
    assert "### Incidents" in text
    assert "### Failures" in text


def test_outside_github_actions_nothing_is_printed(real_run):
    folder, _ = real_run
    output = (folder / "stdout.txt").read_text(encoding="utf-8")
    assert "test_guard_regressed" in output
    assert "::error" not in output


def test_a_failed_record_of_another_kind_is_annotated_once():
    report = {
        "tests": [
            {"nodeid": "t.py::a", "outcome": "failed", "duration": 0.1, "message": "3 queries",
             "location": {"path": "t.py", "line": 4},
             "queries": [{"status": "pass"}, {"status": "fail", "count": 3}]},
            {"nodeid": "t.py::b", "outcome": "passed", "duration": 0.1,
             "logs": [{"passed": False}]},
            {"nodeid": "t.py::c", "outcome": "failed", "duration": 0.1, "canary": [["x"]]},
        ]
    }  # fmt: skip
    [note] = failing_guards(report)
    assert (note.title, note.file, note.line) == ("prodguard queries check failed", "t.py", 4)
    assert note.message == "t.py::a: 3 queries"
