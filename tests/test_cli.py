"""The prodguard command: registry tools, report rendering, baselines listing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pytest_prodguard.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REGISTRY = """
[[incident]]
id = "INC-2025-001"
title = "Empty payload crashed predict"
severity = "HIGH"
status = "fixed"
date = 2025-03-14

[[incident]]
id = "INC-2025-002"
title = "Tokenizer hangs on emoji"
severity = "LOW"
status = "open"
date = 2025-04-01
"""


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "incidents.toml"
    path.write_text(REGISTRY)
    return path


class TestIncidents:
    def test_list_prints_each_incident_with_status(self, registry, capsys):
        assert main(["incidents", "list", "--registry", str(registry)]) == 0
        out = capsys.readouterr().out
        assert "fixed  2025-03-14 INC-2025-001 [HIGH] Empty payload crashed predict" in out
        assert "2 incidents in" in out

    def test_check_reports_a_valid_registry(self, registry, capsys):
        assert main(["incidents", "check", "--registry", str(registry)]) == 0
        assert "2 incidents (1 open), valid" in capsys.readouterr().out

    def test_check_of_malformed_toml_names_file_and_line_and_exits_2(self, tmp_path, capsys):
        bad = tmp_path / "incidents.toml"
        bad.write_text('[[incident]]\nid = "INC-1\n')
        assert main(["incidents", "check", "--registry", str(bad)]) == 2
        err = capsys.readouterr().err
        assert str(bad) in err
        assert "line 2" in err

    def test_missing_registry_is_a_clear_error(self, tmp_path, capsys):
        assert main(["incidents", "list", "--registry", str(tmp_path / "nope.toml")]) == 2
        assert "file not found" in capsys.readouterr().err

    def test_new_from_log_appends_an_open_incident_and_saves_the_excerpt(
        self, registry, tmp_path, capsys
    ):
        log = tmp_path / "app.log"
        log.write_text(
            "INFO boot\nINFO ready\n"
            '{"level": "ERROR", "msg": "predict failed", "request_id": "r-77"}\n'
            "INFO after\n"
        )
        code = main(
            [
                "incidents",
                "new",
                "--registry",
                str(registry),
                "--title",
                "Predict failed",
                "--severity",
                "critical",
                "--from-log",
                str(log),
                "--date",
                "2025-06-01",
            ]
        )
        assert code == 0
        entries = tomllib.loads(registry.read_text())["incident"]
        new = entries[-1]
        assert new["id"] == "INC-2025-003"
        assert (new["severity"], new["status"], new["request_ids"]) == (
            "CRITICAL",
            "open",
            ["r-77"],
        )
        excerpt = tmp_path / "incidents" / "INC-2025-003" / "log-excerpt.txt"
        assert "predict failed" in excerpt.read_text()
        out = capsys.readouterr().out
        assert '@pytest.mark.incident_repro("INC-2025-003")' in out

    def test_new_refuses_an_existing_id(self, registry, capsys):
        code = main(
            [
                "incidents",
                "new",
                "--registry",
                str(registry),
                "--title",
                "x",
                "--id",
                "INC-2025-001",
            ]
        )
        assert code == 2
        assert "--id='INC-2025-001'" in capsys.readouterr().err

    def test_new_creates_a_registry_when_there_is_none(self, tmp_path):
        path = tmp_path / "incidents.toml"
        assert (
            main(
                [
                    "incidents",
                    "new",
                    "--registry",
                    str(path),
                    "--title",
                    "First",
                    "--date",
                    "2024-01-02",
                ]
            )
            == 0
        )
        assert tomllib.loads(path.read_text())["incident"][0]["id"] == "INC-2024-001"


class TestReport:
    # The text view, --html and merge are tested on a real run in tests/report/.
    def test_report_of_a_non_json_file_is_a_clear_error(self, tmp_path, capsys):
        path = tmp_path / "r.json"
        path.write_text("not json")
        assert main(["report", str(path)]) == 2
        assert "a prodguard JSON report" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "incidents" in capsys.readouterr().out


def test_baselines_with_no_folder_says_so(tmp_path, capsys):
    assert main(["baselines", "--dir", str(tmp_path / "none")]) == 0
    assert "no baselines" in capsys.readouterr().out


def _measurement(scale, python=30e-6, native=30e-6):
    from pytest_prodguard.latency import Measurement, machine_fingerprint

    samples = tuple(scale * (1e-3 + i * 1e-6) for i in range(40))
    return Measurement(
        samples=samples,
        wall_samples=samples,
        batch=1,
        elapsed=sum(samples),
        reference_index=tuple(range(40)),
        reference_python=(python,) * 40,
        reference_native=(native,) * 40,
        fingerprint=machine_fingerprint(),
    )


def test_baselines_lists_each_test_with_its_runs_spread_and_component(tmp_path, capsys):
    from pytest_prodguard.latency import baseline_path, save_baseline

    folder = tmp_path / "baselines"
    nodeid = "tests/test_api.py::test_predict"
    # Five runs: the python part tracks the target exactly, the native part drifts 10%.
    for i in range(5):
        native = 30e-6 * (1.1 if i % 2 else 0.9)
        save_baseline(
            baseline_path(folder, nodeid),
            _measurement(1 + i / 100, python=30e-6 * (1 + i / 100), native=native),
            nodeid=nodeid,
        )
    assert main(["baselines", "--dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{nodeid}  5 run(s), 5 from this machine; saved ")
    assert "p50 1.06 ms" in out
    assert "ratio spread 0.0% (python reference)" in out


def test_baselines_names_a_corrupt_file_and_exits_1(tmp_path, capsys):
    from pytest_prodguard.latency import save_baseline

    folder = tmp_path / "baselines"
    save_baseline(folder / "good.json", _measurement(1.0), nodeid="t::good")
    (folder / "bad.json").write_text("{not json")
    assert main(["baselines", "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert "bad.json: latency baseline" in out
    assert "not valid JSON" in out
    assert "t::good  1 run(s), 1 from this machine; saved " in out
    assert "ratio spread n/a (combined reference)" in out


def test_profile_with_a_bad_option_is_a_clear_error_not_a_traceback(capsys):
    assert main(["profile", "--rate", "0", "--", "true"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("prodguard: error:")
    assert "Traceback" not in err


def test_profile_help_prints_usage_and_exits_0(capsys):
    assert main(["profile", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: prodguard profile")
