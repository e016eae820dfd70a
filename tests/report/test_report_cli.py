"""prodguard report (text, --html, merge), incidents check --report, --version and init."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from report_suite import REGISTRY

from pytest_prodguard import __version__
from pytest_prodguard.cli import main
from pytest_prodguard.report import report_schema


def write(path: Path, report: dict) -> Path:
    path.write_text(json.dumps(report), encoding="utf-8")
    return path


def shard(report: dict, names: set[str]) -> dict:
    """The report as a shard that ran only the tests named (and guarded only their incidents)."""
    part = copy.deepcopy(report)
    part["tests"] = [t for t in part["tests"] if t["nodeid"].split("::")[-1] in names]
    guards = [t["incident"][-1] for t in part["tests"] if "incident" in t]
    guarded = sorted({g["incident"] for g in guards})
    part["incidents"]["guards"] = guards
    part["incidents"]["guarded_ids"] = guarded
    return part


FIRST = {"test_guard_holds", "test_latency_met", "test_skipped", "test_calibrated"}


class TestText:
    def test_every_test_grouped_by_outcome_with_reason_and_profile_path(self, real_run, capsys):
        folder, report = real_run
        assert main(["report", str(folder / "run.json")]) == 0
        out = capsys.readouterr().out
        assert out.startswith("prodguard report: 9 tests in ")
        groups = [line for line in out.splitlines() if line and not line.startswith(" ")]
        assert groups[3:] == ["FAILED (3)", "XFAILED (1)", "SKIPPED (1)", "PASSED (4)"]
        for test in report["tests"]:
            assert f"  {test['nodeid']} (" in out
        assert "      assert 500 == 400" in out
        assert "      Skipped: not on this machine" in out
        assert "      profile svg: " in out
        assert "      latency budget exceeded: p95 = " in out  # the reason, not repeated
        assert "      latency [sum]: latency budget exceeded" not in out
        assert "      latency [sum]: latency budget met" in out
        assert "      robustness assert_calibrated: passed (ece 0.15)" in out
        assert "      results: cache_hits" in out
        assert "  REGRESSED   INC-1 [HIGH]" in out
        assert "  NO GUARD    INC-2 [LOW] Nobody guards this one" in out

    def test_html_out(self, real_run, tmp_path, capsys):
        folder, _ = real_run
        out = tmp_path / "page.html"
        assert main(["report", str(folder / "run.json"), "--html", str(out)]) == 0
        assert "id='failures'" in out.read_text(encoding="utf-8")

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            ("not json", "a prodguard JSON report"),
            (
                '{"schema_version": 1, "tests": []}',
                "(schema_version 1; this pytest-prodguard reads 2)",
            ),
            ('{"schema_version": 2, "tests": [{"outcome": "passed"}]}', "(tests must be a list of"),
            ("[1, 2]", "(an object, not list)"),
        ],
    )
    def test_a_bad_report_is_one_clear_line_and_exit_2(self, tmp_path, capsys, content, expected):
        path = tmp_path / "r.json"
        path.write_text(content)
        assert main(["report", str(path)]) == 2
        err = capsys.readouterr().err
        assert expected in err
        assert len(err.strip().splitlines()) == 1


class TestMerge:
    def test_disjoint_shards_union_their_tests_and_incident_coverage(self, real_run, tmp_path):
        _, report = real_run
        everyone = {t["nodeid"].split("::")[-1] for t in report["tests"]}
        a = write(tmp_path / "a.json", shard(report, FIRST))
        b = write(tmp_path / "b.json", shard(report, everyone - FIRST))
        out = tmp_path / "all.json"
        assert main(["report", "merge", str(a), str(b), "-o", str(out)]) == 0
        merged = json.loads(out.read_text())
        jsonschema.Draft202012Validator(report_schema()).validate(merged)
        assert sorted(t["nodeid"] for t in merged["tests"]) == sorted(
            t["nodeid"] for t in report["tests"]
        )
        assert merged["outcomes"] == report["outcomes"]
        assert [s["path"] for s in merged["shards"]] == [str(a), str(b)]
        assert merged["incidents"]["counts"] == {"guarded": 1, "regressed": 1}
        assert [g["id"] for g in merged["incidents"]["unguarded_fixed"]] == ["INC-2"]

    def test_a_gap_in_one_shard_is_closed_by_a_guard_in_another(self, real_run, tmp_path):
        _, report = real_run
        unguarded = shard(report, {"test_latency_met"})
        unguarded["incidents"]["unguarded_fixed"].insert(
            0, {"id": "INC-1", "title": "t", "severity": "HIGH"}
        )
        a = write(tmp_path / "a.json", unguarded)
        b = write(tmp_path / "b.json", shard(report, {"test_guard_holds"}))
        out = tmp_path / "all.json"
        assert main(["report", "merge", str(a), str(b), "-o", str(out)]) == 0
        merged = json.loads(out.read_text())
        assert [g["id"] for g in merged["incidents"]["unguarded_fixed"]] == ["INC-2"]
        assert merged["incidents"]["guarded_ids"] == ["INC-1"]

    def test_overlapping_shards_keep_one_entry_with_the_worst_outcome(self, real_run, tmp_path):
        _, report = real_run
        flaky = shard(report, {"test_guard_holds", "test_latency_met"})
        flaky["tests"][1]["outcome"] = "failed"
        flaky["tests"][1]["message"] = "flaked on this shard"
        a = write(tmp_path / "a.json", flaky)
        b = write(tmp_path / "b.json", report)
        out = tmp_path / "all.json"
        assert main(["report", "merge", str(a), str(b), "-o", str(out)]) == 0
        merged = json.loads(out.read_text())
        assert len(merged["tests"]) == len(report["tests"])
        latency = next(t for t in merged["tests"] if t["nodeid"].endswith("test_latency_met"))
        assert (latency["outcome"], latency["message"]) == ("failed", "flaked on this shard")
        assert merged["outcomes"]["failed"] == report["outcomes"]["failed"] + 1
        assert merged["duration"] >= report["duration"]

    def test_merging_straight_to_html(self, real_run, tmp_path):
        folder, _ = real_run
        out = tmp_path / "all.html"
        assert main(["report", "merge", str(folder / "run.json"), "-o", str(out)]) == 0
        assert "merged from 1 shard reports" in out.read_text(encoding="utf-8")

    @pytest.mark.parametrize(
        "args",
        [
            ["-o", "all.txt", "a.json"],
            ["a.json", "-o", "all.json", "bad.json"],
            ["a.json", "-o", "all.json", "missing.json"],
        ],
    )
    def test_bad_merges_exit_2_and_leave_the_output_alone(
        self, real_run, tmp_path, monkeypatch, args
    ):
        _, report = real_run
        monkeypatch.chdir(tmp_path)
        write(tmp_path / "a.json", report)
        (tmp_path / "bad.json").write_text('{"schema_version": 1, "tests": []}')
        (tmp_path / "all.json").write_text("previous")
        assert main(["report", "merge", *args]) == 2
        assert (tmp_path / "all.json").read_text() == "previous"
        assert not (tmp_path / "all.txt").exists()

    @pytest.mark.parametrize("args", [["a.json"], ["-o", "all.json"]])
    def test_argument_mistakes_are_argparse_usage_errors(self, args, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["report", "merge", *args])
        assert exit_info.value.code == 2
        assert "usage: prodguard report merge" in capsys.readouterr().err


class TestIncidentsCheckReport:
    def test_a_gap_over_the_merged_report_exits_1(self, real_run, capsys):
        folder, _ = real_run
        code = main(["incidents", "check", "--report", str(folder / "run.json"),
                     "--registry", str(folder / "nowhere.toml")])  # fmt: skip
        assert code == 1
        out = capsys.readouterr().out
        assert "NO GUARD    INC-2 [LOW] Nobody guards this one" in out
        assert "1 fixed incident(s) without a guard" in out

    def test_the_registry_decides_when_it_is_there(self, real_run, tmp_path, capsys):
        _, report = real_run
        path = write(tmp_path / "r.json", report)
        registry = tmp_path / "incidents.toml"
        registry.write_text(REGISTRY.split('[[incident]]\nid = "INC-2"')[0])
        assert main(["incidents", "check", "--report", str(path), "--registry", str(registry)]) == 0
        assert "0 fixed incident(s) without a guard" in capsys.readouterr().out

    def test_a_bad_report_is_a_usage_error(self, tmp_path, capsys):
        path = tmp_path / "r.json"
        path.write_text('{"schema_version": 3}')
        assert main(["incidents", "check", "--report", str(path)]) == 2
        assert "schema_version 3;" in capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"pytest-prodguard {__version__}"


class TestInit:
    def test_a_new_project_gets_a_registry_guard_ini_and_workflow_that_run(self, pytester, capsys):
        assert main(["init", "--dir", str(pytester.path)]) == 0
        written = {p.relative_to(pytester.path).as_posix() for p in pytester.path.rglob("*.*")}
        assert {
            "incidents.toml",
            "pytest.ini",
            "tests/test_prodguard_example.py",
            ".github/workflows/prodguard.yml",
        } <= written
        result = pytester.runpytest("-p", "no:cacheprovider")
        result.assert_outcomes(passed=2)
        result.stdout.fnmatch_lines(["*guarded*INC-*-001*"])
        assert (pytester.path / "prodguard-report.json").is_file()

    def test_an_existing_pytest_config_is_left_alone_and_the_keys_printed(self, tmp_path, capsys):
        pyproject = tmp_path / "pyproject.toml"
        pyproject.write_text("[tool.pytest.ini_options]\naddopts = '-q'\n")
        assert main(["init", "--dir", str(tmp_path)]) == 0
        assert not (tmp_path / "pytest.ini").exists()
        assert pyproject.read_text() == "[tool.pytest.ini_options]\naddopts = '-q'\n"
        assert "prodguard_require_guards = true" in capsys.readouterr().out

    def test_it_never_overwrites_and_writes_nothing_when_one_file_exists(self, tmp_path, capsys):
        (tmp_path / "incidents.toml").write_text("# mine\n")
        assert main(["init", "--dir", str(tmp_path)]) == 2
        assert "never overwrites" in capsys.readouterr().err
        assert [p.name for p in tmp_path.iterdir()] == ["incidents.toml"]
        assert (tmp_path / "incidents.toml").read_text() == "# mine\n"

    def test_a_missing_folder_is_a_usage_error(self, tmp_path, capsys):
        assert main(["init", "--dir", str(tmp_path / "nope")]) == 2
        assert "--dir" in capsys.readouterr().err
