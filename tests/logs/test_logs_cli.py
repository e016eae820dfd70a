"""``prodguard logs check``: the contract over log files, exit codes, masked output."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_prodguard.cli import main

LOG = (
    '{"level": "info", "logger": "shop", "msg": "ok", "request_id": "r1"}\n'
    '{"level": "error", "logger": "shop", "msg": "charge card 4111 1111 1111 1111"}\n'
    "2026-12-06 05:00:00 ERROR worker db login password=hunter22x\n"
    "Traceback (most recent call last):\n"
    '  File "worker.py", line 3, in run\n'
)


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "app.log"
    path.write_text(LOG, encoding="utf-8")
    return path


def test_violations_exit_1_with_values_masked(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["logs", "check", str(log_file), "--json", "--required", "request_id"]) == 1
    out = capsys.readouterr().out
    assert "in 3 record(s)" in out
    assert f"[forbid:card] msg | shop | {log_file}:2 | msg=charge card [MASKED:card]" in out
    assert f"[json] line | ? | {log_file}:3 | not one JSON object" in out
    assert f"[required] request_id | shop | {log_file}:2 | (missing)" in out
    assert "4111" not in out
    assert "hunter22x" not in out


def test_a_clean_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "clean.log"
    path.write_text('{"msg": "ok", "request_id": "r1"}\n', encoding="utf-8")
    assert main(["logs", "check", str(path), "--json", "--required", "request_id"]) == 0
    assert capsys.readouterr().out.startswith("ok: 1 record(s) in 1 file(s)")


def test_allow_and_forbid_none(log_file: Path) -> None:
    assert main(["logs", "check", str(log_file), "--forbid", "none"]) == 0
    allowed = ["--allow", "4111 1111 1111 1111", "--allow", "hunter22x"]
    assert main(["logs", "check", str(log_file), *allowed]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.log"], "file='missing.log': a readable log file"),
        (["LOG", "--forbid", "cardz"], "forbid='cardz': a detector name or group: secrets, pii"),
        (["LOG", "--allow", "(x"], "allow='(x': a regular expression that compiles"),
    ],
)
def test_usage_errors_exit_2_in_one_line(
    args: list[str], message: str, log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(log_file) if a == "LOG" else a for a in args]
    assert main(["logs", "check", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"prodguard: error: {message}")
    assert err.count("\n") == 1
    assert log_file.read_text(encoding="utf-8") == LOG
