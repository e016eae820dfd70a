"""prodguard triage and prodguard incidents new --from-log, end to end through main()."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pytest_prodguard.cli import main
from pytest_prodguard.forensics.guard import WRITE_THE_REPRO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOG = """\
2025-06-01T12:00:00.100Z INFO api: request received payload={"sku": "pen", "email": "ann@example.com", "password": "hunter2"} request_id=r-1
2025-06-01T12:00:00.200Z INFO api: request done status=200 request_id=r-1
2025-06-01T12:00:01.100Z INFO api: request received payload={"sku": "book", "quantity": 0} request_id=r-2
2025-06-01T12:00:01.150Z ERROR api: unhandled error request_id=r-2 trace_id=abc123
Traceback (most recent call last):
  File "/srv/app/api.py", line 10, in handle
    return checkout(body)
  File "/srv/app/pricing.py", line 20, in discount
    return total / quantity
ZeroDivisionError: float division by zero
2025-06-01T12:00:01.160Z INFO api: request done status=500 request_id=r-2
2025-06-01T12:00:02.000Z INFO api: request received query=sku=pen&coupon= request_id=r-3
2025-06-01T12:00:02.010Z ERROR api: unhandled error request_id=r-3
Traceback (most recent call last):
  File "/srv/app/api.py", line 10, in handle
    return checkout(body)
  File "/srv/app/promo.py", line 5, in apply
    return COUPONS[code]
KeyError: ''
2025-06-01T12:00:02.020Z INFO api: request done status=500 request_id=r-3
2025-06-01T12:00:03.000Z ERROR api: unhandled error request_id=r-4
Traceback (most recent call last):
  File "/srv/app/api.py", line 10, in handle
    return checkout(body)
  File "/srv/app/pricing.py", line 20, in discount
    return total / quantity
ZeroDivisionError: float division by zero
"""  # noqa: E501 - log lines are as long as real ones

REGISTRY = """\
# Post-mortems. Keep this comment and the blank lines below.

[[incident]]
id = "INC-2025-001"
title = "Old one"
severity = "LOW"
status = "fixed"
date = 2025-01-02   # trailing comment kept
"""


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "app.log"
    path.write_text(LOG, encoding="utf-8")
    return path


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "incidents.toml"
    path.write_text(REGISTRY, encoding="utf-8")
    return path


def new(registry: Path, *args: str) -> int:
    return main(["incidents", "new", "--registry", str(registry), *args])


def artifacts(registry: Path, incident_id: str) -> Path:
    return registry.parent / "incidents" / incident_id


class TestTriageCommand:
    def test_text_report_lists_groups_largest_first(self, log, capsys):
        assert main(["triage", str(log)]) == 0
        out = capsys.readouterr().out
        assert "9 records, 3 errors in 2 groups" in out
        assert "#1 ZeroDivisionError in pricing.py:discount  x2" in out
        assert "request ids: r-2, r-4" in out
        assert "#2 KeyError in promo.py:apply  x1" in out

    def test_json_report_for_tools(self, log, capsys):
        assert main(["triage", str(log), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert [g["count"] for g in data["groups"]] == [2, 1]
        assert data["groups"][0]["first_seen"] == "2025-06-01T12:00:01.150000Z"
        assert data["trace"] is None

    def test_since_and_until_limit_the_records(self, log, capsys):
        args = ["triage", str(log), "--json", "--since", "2025-06-01T12:00:02Z"]
        assert main([*args, "--until", "2025-06-01T12:00:02.500Z"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert (data["records"], [g["kind"] for g in data["groups"]]) == (3, ["KeyError"])

    def test_malformed_lines_are_counted_in_the_report(self, tmp_path, capsys):
        path = tmp_path / "app.log"
        path.write_text("junk before\n" + LOG + '{"broken": \n', encoding="utf-8")
        assert main(["triage", str(path)]) == 0
        out = capsys.readouterr().out
        assert f"skipped 2 malformed line(s) in {path}" in out

    def test_trace_id_without_traces_exits_2_in_one_line(self, log, capsys):
        assert main(["triage", str(log), "--trace-id", "abc"]) == 2
        err = capsys.readouterr().err
        assert err == "prodguard: error: --trace-id='abc': used together with --traces FILE\n"

    def test_an_unreadable_time_is_an_argparse_usage_error(self, log, capsys):
        with pytest.raises(SystemExit) as exited:
            main(["triage", str(log), "--since", "yesterday"])
        assert exited.value.code == 2
        assert "'yesterday' is not a time such as" in capsys.readouterr().err

    def test_a_binary_log_is_a_clear_error(self, tmp_path, capsys):
        path = tmp_path / "core.dump"
        path.write_bytes(b"\x7fELF\x00\x00" * 50)
        assert main(["triage", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "binary" in err


class TestIncidentFromEvidence:
    def test_request_id_keeps_only_that_request_with_its_whole_traceback(
        self, registry, log, capsys
    ):
        assert new(registry, "--from-log", str(log), "--request-id", "r-2", "--title", "Div") == 0
        excerpt = (artifacts(registry, "INC-2025-002") / "log-excerpt.txt").read_text()
        assert "request_id=r-2" in excerpt
        assert "r-1" not in excerpt
        assert "r-3" not in excerpt
        assert "ZeroDivisionError: float division by zero\n" in excerpt
        assert '  File "/srv/app/api.py", line 10, in handle' in excerpt
        entry = tomllib.loads(registry.read_text())["incident"][-1]
        assert entry["request_ids"] == ["r-2"]
        assert entry["date"].isoformat() == "2025-06-01"
        assert entry["summary"] == "ZeroDivisionError: float division by zero"
        assert entry["errors_in_group"] == 2
        assert "dated 2025-06-01 from the log" in capsys.readouterr().err

    def test_a_json_lines_log_gives_a_readable_summary_not_the_raw_line(self, registry, tmp_path):
        path = tmp_path / "app.jsonl"
        lines = [
            {
                "ts": "2025-06-02T08:00:00Z",
                "level": "info",
                "msg": "in",
                "request_id": "a",
                "body": {"coupon": None},
            },
            {
                "ts": "2025-06-02T08:00:01Z",
                "level": "error",
                "msg": "promo failed",
                "request_id": "a",
                "status": 500,
                "exception": 'Traceback (most recent call last):\n  File "/srv/promo.py", line 3,'
                " in apply\n    return COUPONS[code]\nKeyError: 'SAVE10'",
            },
        ]
        path.write_text("".join(json.dumps(line) + "\n" for line in lines))
        assert new(registry, "--from-log", str(path)) == 0
        entry = tomllib.loads(registry.read_text())["incident"][-1]
        assert entry["summary"] == "KeyError: 'SAVE10'"
        assert entry["date"].isoformat() == "2025-06-02"
        folder = artifacts(registry, "INC-2025-002")
        assert json.loads((folder / "request.json").read_text()) == {"coupon": None}
        assert json.loads((folder / "failure.json").read_text())["status"] == 500

    def test_the_registry_keeps_its_comments_and_layout(self, registry, log):
        assert new(registry, "--from-log", str(log)) == 0
        text = registry.read_text()
        assert text.startswith(REGISTRY)
        assert 'title = "ZeroDivisionError in pricing.py:discount"' in text

    def test_the_payload_is_extracted_and_masked(self, registry, log):
        assert new(registry, "--from-log", str(log), "--request-id", "r-1", "--title", "t") == 0
        folder = artifacts(registry, "INC-2025-002")
        payload = json.loads((folder / "request.json").read_text())
        assert payload == {"sku": "pen", "email": "[MASKED:email]", "password": "[MASKED]"}
        excerpt = (folder / "log-excerpt.txt").read_text()
        assert "ann@example.com" not in excerpt
        assert "hunter2" not in excerpt

    def test_a_query_string_payload_becomes_a_dict(self, registry, log):
        assert new(registry, "--from-log", str(log), "--group", "2") == 0
        folder = artifacts(registry, "INC-2025-002")
        assert json.loads((folder / "request.json").read_text()) == {"sku": "pen", "coupon": ""}
        failure = json.loads((folder / "failure.json").read_text())
        assert (failure["exception_type"], failure["status"], failure["request_id"]) == (
            "KeyError",
            500,
            "r-3",
        )

    def test_trace_id_selects_the_traced_records(self, registry, log):
        assert new(registry, "--from-log", str(log), "--trace-id", "ABC123", "--title", "t") == 0
        entry = tomllib.loads(registry.read_text())["incident"][-1]
        assert entry["trace_ids"] == ["ABC123"]

    def test_without_an_entry_point_the_guard_skips_with_write_the_repro(
        self, registry, log, capsys
    ):
        assert new(registry, "--from-log", str(log)) == 0
        out = capsys.readouterr().out
        assert f'pytest.skip("{WRITE_THE_REPRO}:' in out
        assert "ZeroDivisionError does not happen" in out
        assert "Mark it fixed" not in out

    def test_with_an_entry_point_the_guard_replays_the_request(self, registry, log, capsys):
        assert new(registry, "--from-log", str(log), "--entry", "app.api:handle") == 0
        out = capsys.readouterr().out
        assert 'replay_incident(incident, "app.api:handle")' in out
        failure = json.loads((artifacts(registry, "INC-2025-002") / "failure.json").read_text())
        assert failure["entry"] == "app.api:handle"


class TestFailingCommandsLeaveTheRegistryAlone:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--request-id", "r-404"], "--request-id='r-404': an id that appears in"),
            (["--group", "9"], "--group=9: a group number from 1 to 2"),
            (["--date", "2025-13-40"], "--date='2025-13-40': a calendar date written YYYY-MM-DD"),
            (["--title", "bad \udc80 title"], "valid Unicode text"),
            (["--id", "../../x"], "--id='../../x': letters, digits"),
            (["--entry", 'app:run("x")'], "--entry='app:run(\"x\")': package.module:function"),
            (["--entry-fixture", "1client"], "--entry-fixture='1client': the name of a fixture"),
            (["--id", "INC-2025-001"], "--id='INC-2025-001': an id not yet in"),
        ],
    )
    def test_bad_input_exits_2_and_writes_nothing(self, registry, log, capsys, args, message):
        before = registry.read_bytes()
        assert new(registry, "--from-log", str(log), *args) == 2
        err = capsys.readouterr().err
        assert message in err
        assert "Traceback" not in err
        assert registry.read_bytes() == before
        assert not (registry.parent / "incidents").exists()

    def test_a_binary_log_writes_nothing(self, registry, tmp_path, capsys):
        binary = tmp_path / "dump.bin"
        binary.write_bytes(b"\x00\xff" * 100)
        before = registry.read_bytes()
        assert new(registry, "--from-log", str(binary)) == 2
        assert "binary" in capsys.readouterr().err
        assert registry.read_bytes() == before

    def test_a_log_without_errors_writes_nothing(self, registry, tmp_path, capsys):
        quiet = tmp_path / "quiet.log"
        quiet.write_text("2025-06-01T12:00:00Z INFO all good\n")
        before = registry.read_bytes()
        assert new(registry, "--from-log", str(quiet)) == 2
        assert "at least one error record" in capsys.readouterr().err
        assert registry.read_bytes() == before

    def test_selectors_need_a_log(self, registry, capsys):
        before = registry.read_bytes()
        assert new(registry, "--title", "t", "--group", "1") == 2
        assert "--from-log=None" in capsys.readouterr().err
        assert registry.read_bytes() == before
