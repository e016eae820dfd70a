"""``prodguard canary``: exit status per verdict, one-line usage errors, files left alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_prodguard.cli import main


def _errors(requests, errors):
    return {
        "metrics": [{"name": "errors", "type": "errors", "requests": requests, "errors": errors}]
    }


def _gauge(cpu):
    return {"metrics": [{"name": "cpu", "type": "saturation", "values": cpu, "limit": 0.8}]}


@pytest.fixture
def write(tmp_path):
    def write(name, data):
        path = tmp_path / name
        path.write_text(json.dumps(data) if not isinstance(data, str) else data)
        return str(path)

    return write


@pytest.mark.parametrize(
    ("baseline", "canary", "extra", "status", "headline"),
    [
        (_errors(60000, 600), _errors(60000, 590), [], 0, "HEALTHY"),
        (_errors(6000, 60), _errors(6000, 130), [], 1, "ROLLBACK"),
        (_gauge([0.5]), _gauge([0.9]), [], 3, "INVESTIGATE"),
        (_errors(500, 5), _errors(500, 6), [], 4, "INSUFFICIENT_DATA"),
        (
            _errors(6000, 60),
            _errors(6000, 130),
            ["--critical", "errors", "--alpha", "0.1"],
            1,
            "ROLLBACK",
        ),
        (
            _errors(6000, 60),
            _errors(6000, 300),
            ["--slo", "errors=0.01", "--effect", "3"],
            1,
            "errors SLO",
        ),
    ],
)
def test_exit_status_follows_the_verdict(write, capsys, baseline, canary, extra, status, headline):
    code = main(["canary", write("b.json", baseline), write("c.json", canary), *extra])
    assert code == status
    assert headline in capsys.readouterr().out


def test_json_output_holds_the_verdict(write, tmp_path, capsys):
    out = tmp_path / "verdict.json"
    code = main(
        [
            "canary",
            write("b.json", _errors(6000, 60)),
            write("c.json", _errors(6000, 130)),
            "--json",
            str(out),
            "--effect",
            "errors=1.5",
        ]
    )
    assert code == 1
    verdict = json.loads(out.read_text())
    assert verdict["verdict"] == "rollback"
    assert verdict["settings"]["effect"] == {"errors": 1.5}
    assert verdict["metrics"][0]["numbers"]["canary_errors"] == 130


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        (("b.json", "missing.json"), [], "canary="),
        (("b.json", "broken.json"), [], "a readable JSON file"),
        (("b.json", "c.json"), ["--alpha", "2"], "alpha=2.0"),
        (("b.json", "c.json"), ["--rollback-alpha", "often"], "--rollback-alpha='often'"),
        (("b.json", "c.json"), ["--slo", "errors"], "METRIC=VALUE"),
        (("b.json", "c.json"), ["--slo", "errors=lots"], "a number"),
        (("b.json", "c.json"), ["--quantiles", "0.5,abc"], "a number"),
        (("b.json", "negative.json"), [], "errors.errors[0]=-3"),
    ],
)
def test_usage_errors_exit_2_on_one_line_and_write_nothing(
    write, tmp_path, capsys, files, extra, message
):
    write("b.json", _errors(6000, 60))
    write("c.json", _errors(6000, 61))
    write("broken.json", "{not json")
    write("negative.json", _errors(6000, -3))
    out = tmp_path / "verdict.json"
    out.write_text("previous verdict\n")
    code = main(["canary", *(str(tmp_path / name) for name in files), "--json", str(out), *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert out.read_text() == "previous verdict\n"


def test_canary_is_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "canary" in capsys.readouterr().out


def test_the_documented_input_format_and_command_work(write, capsys):
    docs = (Path(__file__).parents[2] / "docs" / "canary.md").read_text()
    example = json.loads(docs.split("```json\n")[1].split("```")[0])
    path = write("documented.json", example)
    assert main(["canary", path, path]) in (0, 4)
    assert "predict_latency p99" in capsys.readouterr().out
