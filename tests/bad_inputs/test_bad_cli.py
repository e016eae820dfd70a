"""Catalogue: the ``prodguard`` command never shows a traceback for bad input.

A usage error is one line on stderr and exit 2; a failed check exits 1; files on
disk stay byte-for-byte as they were. ``prodguard profile`` runs the command even
when its profile cannot be written.
"""

from __future__ import annotations

import json
import sys

import pytest
from catalogue import REGISTRY

BAD_REGISTRIES = [
    pytest.param(
        b"# caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 5); TOML must be UTF-8", id="latin-1"
    ),
    pytest.param(b"\xff\xfe[\x00", "not UTF-8 text (byte 0xff at offset 0)", id="utf-16"),
    pytest.param(b'[[incident]]\nid = "X\n', "invalid TOML", id="broken-toml"),
    pytest.param(b"incident = 1\n", "must be an array of tables", id="not-a-table-array"),
    pytest.param(
        b'[[incident]]\nid = "A"\n', "lacks required field(s): title", id="missing-fields"
    ),
    pytest.param(
        REGISTRY.replace('"HIGH"', '"URGENT"').encode(), "severity='URGENT'", id="bad-severity"
    ),
    pytest.param(
        REGISTRY.replace("2025-03-14", "[1]").encode(), "date=[1]: must be a date", id="bad-date"
    ),
    pytest.param((REGISTRY + REGISTRY).encode(), "duplicate incident id", id="duplicate"),
]


class TestRegistryCommands:
    @pytest.mark.parametrize("command", ["list", "check"])
    @pytest.mark.parametrize(("content", "problem"), BAD_REGISTRIES)
    def test_bad_registry_is_one_line_exit_2(
        self, cli, tmp_path, unchanged, command, content, problem
    ):
        path = tmp_path / "incidents.toml"
        path.write_bytes(content)
        check = unchanged(tmp_path)
        run = cli("incidents", command, "--registry", str(path))
        assert run.code == 2
        assert run.err.startswith(f"prodguard: error: incident registry {path}: ")
        assert problem in run.err
        assert len(run.err.strip().splitlines()) == 1
        check()

    @pytest.mark.parametrize("command", ["list", "check"])
    def test_registry_path_that_is_a_folder(self, cli, tmp_path, command):
        run = cli("incidents", command, "--registry", str(tmp_path))
        assert run.code == 2
        assert f"incident registry {tmp_path}: cannot read" in run.err


BAD_REPORTS = [
    pytest.param(b"[1, 2, 3]", id="json-list"),
    pytest.param(b'"a string"', id="json-string"),
    pytest.param(b"null", id="json-null"),
    pytest.param(b'{"tests": [{"x": 1}]}', id="foreign-tests"),
    pytest.param(b'{"tests": {"a": 1}}', id="tests-not-a-list"),
    pytest.param(b'{"incidents": {"guards": [{"id": "A"}]}}', id="foreign-guards"),
    pytest.param(b'{"incidents": [1]}', id="incidents-not-an-object"),
    pytest.param(b'{"incidents": {"unguarded_fixed": "INC-1"}}', id="unguarded-not-a-list"),
    pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00", id="binary"),
    pytest.param("{}".encode("utf-16"), id="utf-16"),
    pytest.param(b"", id="empty"),
    pytest.param(b'{"tests": [', id="truncated"),
]


class TestReportInput:
    @pytest.mark.parametrize("content", BAD_REPORTS)
    @pytest.mark.parametrize("html", [False, True], ids=["text", "html"])
    def test_a_file_that_is_not_a_report_is_one_line_exit_2(
        self, cli, tmp_path, unchanged, content, html
    ):
        path = tmp_path / "run.json"
        path.write_bytes(content)
        check = unchanged(tmp_path)
        extra = ["--html", str(tmp_path / "out.html")] if html else []
        run = cli("report", str(path), *extra)
        assert run.code == 2
        assert run.err.startswith(f"prodguard: error: path={str(path)!r}: a prodguard JSON report")
        assert len(run.err.strip().splitlines()) == 1
        check()

    def test_html_of_guards_without_severity_is_refused_before_writing(
        self, cli, tmp_path, unchanged
    ):
        path = tmp_path / "run.json"
        path.write_text(
            json.dumps({"incidents": {"guards": [{"outcome": "x", "incident": "I", "title": "t"}]}})
        )
        check = unchanged(tmp_path)
        assert cli("report", str(path), "--html", str(tmp_path / "out.html")).code == 2
        check()
        assert cli("report", str(path)).code == 0  # the text view needs no severity


class TestWritingCommands:
    @pytest.fixture
    def report(self, tmp_path):
        path = tmp_path / "run.json"
        path.write_text(json.dumps({"outcomes": {"passed": 1}, "duration": 0.1, "tests": []}))
        return path

    def test_report_html_into_a_path_that_cannot_be_a_folder(
        self, cli, tmp_path, report, unchanged
    ):
        blocker = tmp_path / "blocker"
        blocker.write_text("x")
        check = unchanged(tmp_path)
        run = cli("report", str(report), "--html", str(blocker / "out.html"))
        assert run.code == 2
        assert run.err.startswith("prodguard: error: ")
        assert str(blocker) in run.err
        check()

    @pytest.mark.parametrize(
        ("options", "field", "accepted"),
        [
            (["--top", "101"], "top=101", "a whole number of frames from 1 to 100"),
            (["--top", "0"], "top=0", "a whole number of frames from 1 to 100"),
            (["--rate", "0"], "rate=0", "samples per second between 1 and 1000"),
            (["--rate", "100000"], "rate=100000", "samples per second between 1 and 1000"),
            (["--name", ".."], "name='..'", "a non-empty file name without path separators"),
        ],
    )
    def test_profile_options_are_refused_before_the_command_runs(
        self, cli, tmp_path, options, field, accepted
    ):
        marker = tmp_path / "ran"
        run = cli("profile", *options, "--", sys.executable, "-c", f"open({str(marker)!r}, 'w')")
        assert run.code == 2
        assert field in run.err
        assert accepted in run.err
        assert not marker.exists()

    def test_profile_into_an_unwritable_folder_still_runs_the_command(
        self, cli, tmp_path, unchanged
    ):
        blocker = tmp_path / "blocker"
        blocker.write_text("x")
        marker = tmp_path / "ran"
        run = cli(
            "profile",
            "--out",
            str(blocker / "profiles"),
            "--",
            sys.executable,
            "-c",
            f"open({str(marker)!r}, 'w'); raise SystemExit(3)",
        )
        assert run.code == 3  # the command's own exit status
        assert marker.exists()
        assert "prodguard profile: not profiled: " in run.err
        assert blocker.read_text() == "x"

    def test_baselines_listing_of_corrupt_files_is_a_failed_check(self, cli, tmp_path, unchanged):
        (tmp_path / "a.json").write_bytes(b"\xff\xfe")
        (tmp_path / "b.json").write_text("[]")
        check = unchanged(tmp_path)
        run = cli("baselines", "--dir", str(tmp_path))
        assert run.code == 1
        assert "a.json: latency baseline" in run.out
        assert "b.json: latency baseline" in run.out
        check()
