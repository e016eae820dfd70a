"""Bad inputs to the report commands: one clear line, exit 2, and no file touched."""

from __future__ import annotations

import json

import pytest

SHARD = {
    "schema_version": 2,
    "tool": {"name": "pytest-prodguard", "version": "0"},
    "environment": {"python": "3.11.7", "platform": "Linux"},
    "started": 0.0,
    "duration": 1.0,
    "exit_status": 0,
    "outcomes": {"passed": 1},
    "incidents": None,
    "tests": [{"nodeid": "t.py::a", "outcome": "passed", "duration": 0.1}],
}

BAD_REPORTS = [
    pytest.param(b"{not json", "a prodguard JSON report", id="not-json"),
    pytest.param(b"\xff\xfe\x00", "a prodguard JSON report", id="not-utf8"),
    pytest.param(b'{"schema_version": 1, "tests": []}', "schema_version 1;", id="old-version"),
    pytest.param(
        b'{"schema_version": 2, "tests": {}}', "tests must be a list", id="tests-not-list"
    ),
    pytest.param(b'"a string"', "an object, not str", id="not-an-object"),
]


@pytest.mark.parametrize(("content", "needle"), BAD_REPORTS)
def test_report_of_a_bad_file(cli, tmp_path, unchanged, content, needle):
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    check = unchanged(tmp_path)
    run = cli("report", str(bad), "--html", str(tmp_path / "out.html"))
    assert run.code == 2
    assert needle in run.err
    assert run.err.startswith(f"prodguard: error: path={str(bad)!r}: a prodguard JSON report")
    check()


@pytest.mark.parametrize(("content", "needle"), BAD_REPORTS)
def test_merge_with_one_bad_shard_writes_nothing(cli, tmp_path, unchanged, content, needle):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SHARD))
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    out = tmp_path / "all.json"
    out.write_text("previous merge")
    check = unchanged(tmp_path)
    run = cli("report", "merge", str(good), str(bad), "-o", str(out))
    assert run.code == 2
    assert needle in run.err
    check()


@pytest.mark.parametrize("name", ["all.txt", "all", "all.json.bak"])
def test_merge_output_must_be_json_or_html(cli, tmp_path, unchanged, name):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(SHARD))
    check = unchanged(tmp_path)
    run = cli("report", "merge", str(good), "-o", str(tmp_path / name))
    assert run.code == 2
    assert "an output path ending in .json or .html" in run.err
    check()


def test_incidents_check_of_a_bad_report(cli, tmp_path, unchanged):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "two"}')
    check = unchanged(tmp_path)
    run = cli("incidents", "check", "--report", str(bad))
    assert run.code == 2
    assert "schema_version 'two';" in run.err
    check()


def test_init_over_an_existing_project_writes_nothing(cli, tmp_path, unchanged):
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "prodguard.yml").write_text("name: mine\n")
    check = unchanged(tmp_path)
    run = cli("init", "--dir", str(tmp_path))
    assert run.code == 2
    assert "prodguard.yml" in run.err
    assert "never overwrites" in run.err
    check()
