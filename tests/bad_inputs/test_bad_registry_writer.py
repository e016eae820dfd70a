"""Catalogue: ``prodguard incidents new`` and the registry writer under bad input.

The writer must validate before it writes: after a refused command the registry
(and the artifacts folder) are byte-for-byte what they were, and whatever it
accepts the registry reader reads back exactly.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
import sys

import pytest
from catalogue import REGISTRY

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.incidents import load_registry
from pytest_prodguard.incidents.registry import RegistryError
from pytest_prodguard.incidents.writer import (
    append_incident,
    render_entry,
    toml_string,
    validate_date,
    validate_incident_id,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ODD_TEXTS = [
    pytest.param("emoji 😀 and 🚀🔥", id="emoji"),
    pytest.param('quote " and backslash \\ and \\u0041', id="quotes-backslashes"),
    pytest.param("tab\tnewline\ncarriage\rform\fbell\x07", id="short-escapes-and-bell"),
    pytest.param("nul\x00 esc\x1b del\x7f unit-sep\x1f", id="control-chars"),
    pytest.param("line sep\u2028 para\u2029 bom\ufeff nbsp\xa0", id="unicode-separators"),
    pytest.param("right-to-left \u202e override, zero width \u200b", id="bidi-zero-width"),
    pytest.param("'''triple''' \"\"\"quotes\"\"\"", id="triple-quotes"),
    pytest.param('# not a comment\n[[incident]]\nid = "INJECTED"', id="toml-injection"),
    pytest.param("CJK 漢字, Greek αβγ, combining e\u0301", id="scripts"),
    pytest.param("\U0010ffff highest code point", id="max-code-point"),
]


@pytest.fixture
def registry(tmp_path):
    path = tmp_path / "incidents.toml"
    path.write_text(REGISTRY, encoding="utf-8")
    return path


def new(cli, registry, *extra):
    return cli("incidents", "new", "--registry", str(registry), *extra)


class TestAnyTextRoundTrips:
    @pytest.mark.parametrize("text", ODD_TEXTS)
    def test_toml_string_parses_back_to_the_same_text(self, text):
        assert tomllib.loads(f"v = {toml_string(text)}")["v"] == text

    @pytest.mark.parametrize("text", ODD_TEXTS)
    def test_title_is_stored_and_read_back_exactly(self, cli, registry, text):
        run = new(cli, registry, "--title", text, "--date", "2025-06-01", "--id", "INC-9")
        assert run.code == 0, run.err
        assert load_registry(registry).get("INC-9").title == text
        assert registry.read_text(encoding="utf-8").startswith(REGISTRY)

    @pytest.mark.parametrize("text", ODD_TEXTS)
    def test_log_error_line_lands_in_summary_exactly(self, cli, registry, tmp_path, text):
        log = tmp_path / "app.log"
        first_line = text.splitlines()[0] if text.splitlines() else text
        log.write_text(f"INFO up\nERROR {first_line}\n", encoding="utf-8")
        run = new(cli, registry, "--title", "t", "--from-log", str(log), "--id", "INC-9")
        assert run.code == 0, run.err
        summary = load_registry(registry).get("INC-9").summary
        assert summary == f"ERROR {first_line}".strip()

    def test_non_utf8_log_bytes_become_replacement_characters(self, cli, registry, tmp_path):
        log = tmp_path / "app.log"
        log.write_bytes(b"ERROR bad \xff\xfe byte\n")
        run = new(cli, registry, "--title", "t", "--from-log", str(log), "--id", "INC-9")
        assert run.code == 0, run.err
        assert load_registry(registry).get("INC-9").summary == "ERROR bad \ufffd\ufffd byte"


BAD_DATES = [
    "2025-02-30",
    "2024/12/03",
    "garbage",
    "2025-13-01",
    "2025-00-10",
    "2025-1-5",
    "25-01-05",
    "2025-01-05T10:00",
    " 2025-01-05",
    "2025-01-05\n",
    "",
    "２０２５-01-05",
]


class TestRefusedInputsLeaveTheRegistryAlone:
    @pytest.mark.parametrize("date", BAD_DATES)
    def test_bad_date_names_the_accepted_form(self, cli, registry, unchanged, date):
        check = unchanged(registry.parent)
        run = new(cli, registry, "--title", "t", "--date", date)
        assert run.code == 2
        assert f"--date={date!r}" in run.err
        assert "YYYY-MM-DD" in run.err
        check()

    @pytest.mark.parametrize(
        "incident_id",
        [
            "../../x",
            "../escape",
            "a/b",
            "/abs",
            "..",
            ".hidden",
            "-dash-first",
            "with space",
            "x" * 101,
            "tab\tid",
            "nul\x00",
            "emoji😀",
            "back\\slash",
            "INC-2025-001",  # already in the registry
        ],
    )
    def test_bad_or_taken_id_is_refused(self, cli, registry, unchanged, incident_id):
        check = unchanged(registry.parent)
        run = new(cli, registry, "--title", "t", f"--id={incident_id}", "--date", "2025-01-01")
        assert run.code == 2
        assert f"--id={incident_id!r}" in run.err
        check()
        assert not (registry.parent.parent / "x").exists()

    @pytest.mark.parametrize("title", ["", "   ", "\udcff not utf-8"])
    def test_blank_or_undecodable_title_is_refused(self, cli, registry, unchanged, title):
        check = unchanged(registry.parent)
        run = new(cli, registry, f"--title={title}")
        assert run.code == 2
        assert f"--title={title!r}" in run.err
        check()

    def test_bad_severity_is_an_argparse_usage_error(self, cli, registry, unchanged):
        check = unchanged(registry.parent)
        run = new(cli, registry, "--title", "t", "--severity", "urgent")
        assert run.code == 2
        assert "invalid choice: 'URGENT'" in run.err
        check()

    def test_missing_log_is_refused_before_anything_is_written(
        self, cli, registry, unchanged, tmp_path
    ):
        check = unchanged(registry.parent)
        run = new(cli, registry, "--title", "t", "--from-log", str(tmp_path / "nope.log"))
        assert run.code == 2
        assert "--from-log=" in run.err
        assert "a readable file" in run.err
        check()

    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            (b'[[incident]]\nid = "X\n', "invalid TOML"),
            (b"# caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 5)"),
            (b"incident = 3\n", "must be an array of tables"),
        ],
        ids=["broken-toml", "latin-1", "wrong-shape"],
    )
    def test_existing_broken_registry_is_named_and_left_alone(
        self, cli, registry, unchanged, content, problem
    ):
        registry.write_bytes(content)
        check = unchanged(registry.parent)
        run = new(cli, registry, "--title", "t", "--date", "2025-01-01")
        assert run.code == 2
        assert str(registry) in run.err
        assert problem in run.err
        check()

    def test_registry_whose_folder_is_a_file_is_a_one_line_error(self, cli, tmp_path, unchanged):
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("x")
        check = unchanged(tmp_path)
        run = new(cli, blocker / "incidents.toml", "--title", "t", "--date", "2025-01-01")
        assert run.code == 2
        assert "not-a-folder" in run.err
        assert len(run.err.strip().splitlines()) == 1
        check()

    def test_artifact_write_failure_leaves_registry_and_no_folder(
        self, registry, tmp_path, unchanged
    ):
        (tmp_path / "incidents").write_text("a file where the artifacts folder goes")
        check = unchanged(tmp_path)
        fields = {"id": "INC-9", "title": "t", "severity": "LOW", "status": "open"}
        with pytest.raises(RegistryError, match="cannot write"):
            append_incident(registry, {**fields, "date": "2025-01-01"}, {"log.txt": "x"})
        check()


class TestWriterApi:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"title": "t", "date": "2025-01-01"}, "id"),
            ({"id": "A", "title": "t", "date": "2025-02-29"}, "date"),
            ({"id": "A", "title": "t", "date": 20250101}, "date"),
            ({"id": "A", "title": "", "date": "2025-01-01"}, "title"),
            ({"id": "A", "title": "t", "date": "2025-01-01", "bad key": 1}, "field name"),
            ({"id": "A", "title": "t", "date": "2025-01-01", "ratio": float("nan")}, "ratio"),
            ({"id": "A", "title": "t", "date": "2025-01-01", "blob": b"x"}, "blob"),
        ],
        ids=["no-id", "not-leap", "int-date", "blank-title", "bad-key", "nan", "bytes"],
    )
    def test_bad_fields_raise_a_usage_error_naming_the_field(
        self, registry, unchanged, fields, field
    ):
        check = unchanged(registry.parent)
        base = {"severity": "LOW", "status": "open"}
        with pytest.raises(ProdguardUsageError) as raised:
            append_incident(registry, {**base, **fields})
        assert raised.value.field == field
        check()

    def test_invalid_severity_fails_the_parse_of_the_new_text(self, registry, unchanged):
        check = unchanged(registry.parent)
        fields = {"id": "A", "title": "t", "severity": "URGENT", "status": "open"}
        with pytest.raises(RegistryError, match="severity='URGENT'"):
            append_incident(registry, {**fields, "date": dt.date(2025, 1, 1)})
        check()

    def test_extra_fields_and_lists_round_trip(self, registry):
        fields = {
            "id": "INC-7",
            "title": "t",
            "severity": "LOW",
            "status": "open",
            "date": dt.date(2025, 1, 1),
            "request_ids": ["r-1", "r\u20222"],
            "errors_in_log": 3,
            "share": 0.25,
            "paged": True,
        }
        incident = append_incident(registry, fields, {"trace.json": "{}"})
        assert dict(incident.extra) == {
            "request_ids": ["r-1", "r\u20222"],
            "errors_in_log": 3,
            "share": 0.25,
            "paged": True,
        }
        assert (registry.parent / "incidents" / "INC-7" / "trace.json").read_text() == "{}"

    @pytest.mark.parametrize("name", ["../up.txt", "sub/x.txt", ".hidden", ""])
    def test_artifact_names_must_be_plain(self, registry, unchanged, name):
        check = unchanged(registry.parent)
        fields = {"id": "A", "title": "t", "severity": "LOW", "status": "open"}
        with pytest.raises(ProdguardUsageError, match="artifact name"):
            append_incident(registry, {**fields, "date": "2025-01-01"}, {name: "x"})
        check()

    def test_render_entry_is_one_table(self):
        assert render_entry({"id": "A", "n": 1}) == '[[incident]]\nid = "A"\nn = 1\n'

    def test_validators_return_clean_values(self):
        assert validate_date("2024-02-29") == dt.date(2024, 2, 29)
        assert validate_incident_id("INC-2025.1_a") == "INC-2025.1_a"


class TestLayoutAndMode:
    def test_comments_layout_and_crlf_are_kept(self, cli, tmp_path):
        path = tmp_path / "incidents.toml"
        original = REGISTRY.replace("\n", "\r\n") + "# trailing note"
        path.write_bytes(original.encode())
        assert new(cli, path, "--title", "t", "--date", "2025-01-01", "--id", "B").code == 0
        data = path.read_bytes().decode()
        assert data.startswith(original + "\r\n\r\n[[incident]]\r\n")
        assert "\n" not in data.replace("\r\n", "")

    @pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
    def test_existing_registry_keeps_its_mode(self, cli, registry):
        registry.chmod(0o644)
        assert new(cli, registry, "--title", "t", "--date", "2025-01-01").code == 0
        assert stat.S_IMODE(registry.stat().st_mode) == 0o644
        registry.chmod(0o640)
        assert new(cli, registry, "--title", "u", "--date", "2025-01-01").code == 0
        assert stat.S_IMODE(registry.stat().st_mode) == 0o640

    @pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
    @pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
    def test_new_files_follow_the_umask(self, cli, tmp_path, umask):
        previous = os.umask(umask)
        try:
            path = tmp_path / "incidents.toml"
            log = tmp_path / "app.log"
            log.write_text("ERROR x\n")
            run = new(cli, path, "--title", "t", "--date", "2025-01-01", "--from-log", str(log))
            assert run.code == 0
        finally:
            os.umask(previous)
        excerpt = tmp_path / "incidents" / "INC-2025-001" / "log-excerpt.txt"
        for created in (path, excerpt):
            assert stat.S_IMODE(created.stat().st_mode) == 0o666 & ~umask
