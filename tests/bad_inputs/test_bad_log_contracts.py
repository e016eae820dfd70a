"""Catalogue: ``log_contract`` markers and ``prodguard logs check`` under bad input.

A bad marker is a setup error of that test naming the field, the value and what
is accepted; a bad command line is a one-line error with exit 2. Neither
touches a file.
"""

from __future__ import annotations

import pytest
from catalogue import assert_usage_error

MARKER_CASES = [
    pytest.param("'x'", "args=('x',): keyword arguments only", id="positional"),
    pytest.param(
        "forbid=('secrets', 3)", "forbid=('secrets', 3): a tuple of non-empty", id="forbid-int"
    ),
    pytest.param("forbid=None", "forbid=None: a tuple of non-empty strings", id="forbid-none"),
    pytest.param("forbid=('Card',)", "forbid='Card': a detector name or group", id="forbid-case"),
    pytest.param(
        "required=('',)", "required=('',): a tuple of non-empty strings", id="required-empty"
    ),
    pytest.param("required=['id', None]", "required=['id', None]: a tuple of", id="required-none"),
    pytest.param("allow=(3,)", "allow=3: a regular expression (str or re.Pattern)", id="allow-int"),
    pytest.param("allow='[a-'", "allow='[a-': a regular expression that compiles", id="allow-bad"),
    pytest.param("json=1", "json=1: True or False", id="json-int"),
    pytest.param("context=('otel', 5)", "context=5: a contextvars.ContextVar", id="context-int"),
    pytest.param("max_records=2.5", "max_records=2.5: a whole number >= 0", id="max-float"),
    pytest.param("min_records=-1", "min_records=-1: a whole number >= 0", id="min-negative"),
]


@pytest.mark.parametrize(("arguments", "message"), MARKER_CASES)
def test_a_bad_marker_is_a_setup_error_of_that_test(
    project: pytest.Pytester, unchanged, arguments: str, message: str
) -> None:
    project.makepyfile(
        f"""
        import pytest

        @pytest.mark.log_contract({arguments})
        def test_marked():
            pass

        def test_unmarked():
            pass
        """
    )
    check = unchanged(project.path)
    result = project.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark")
    result.assert_outcomes(passed=1, errors=1)
    assert_usage_error(result, "test_marked: @pytest.mark.log_contract: " + message)
    check()


CLI_CASES = [
    pytest.param(["DIR"], "file='DIR': a readable log file", id="directory"),
    pytest.param(["LOG", "--max-records", "-1"], "max_records=-1: a whole number", id="max-neg"),
    pytest.param(["LOG", "--required", ""], "required=('',): a tuple of", id="required-empty"),
    pytest.param(["LOG", "--allow", "("], "allow='(': a regular expression that", id="allow-bad"),
    pytest.param(["LOG", "--forbid", "PII"], "forbid='PII': a detector name", id="forbid-case"),
]


@pytest.mark.parametrize(("args", "message"), CLI_CASES)
def test_logs_check_refuses_bad_arguments_in_one_line(
    tmp_path, cli, unchanged, args: list[str], message: str
) -> None:
    log = tmp_path / "app.log"
    log.write_text('{"msg": "ok"}\n', encoding="utf-8")
    names = {"DIR": str(tmp_path), "LOG": str(log)}
    check = unchanged(tmp_path)
    run = cli("logs", "check", *[names.get(a, a) for a in args])
    assert run.code == 2
    assert (
        run.err
        == f"prodguard: error: {message.replace('DIR', str(tmp_path))}"
        + run.err[len(f"prodguard: error: {message.replace('DIR', str(tmp_path))}") :]
    )
    assert run.err.count("\n") == 1
    check()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        pytest.param(b"", 0, id="empty"),
        pytest.param(b"\xff\xfe not utf-8 \x80 password=hunter22x\n", 1, id="not-utf8"),
        pytest.param(b'{"msg": "unterminated\n[1, 2]\n"just a string"\n', 0, id="odd-json"),
        pytest.param(b"\x00\x00\x00\n", 0, id="nul-bytes"),
    ],
)
def test_logs_check_reads_odd_files_without_crashing(tmp_path, cli, content, code) -> None:
    log = tmp_path / "odd.log"
    log.write_bytes(content)
    run = cli("logs", "check", str(log))
    assert run.code == code
    assert "hunter22x" not in run.out
