"""Catalogue: how prodguard writes files (modes, atomicity, failures leave nothing behind)."""

from __future__ import annotations

import os
import stat

import pytest

from pytest_prodguard.files import atomic_write_text, decode_utf8

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def umask():
    """Set the process umask for one test, restoring it afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_to(value: int) -> None:
        os.umask(value)

    yield set_to
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002, 0o027])
def test_a_new_file_gets_the_mode_the_umask_allows(tmp_path, umask, mask):
    umask(mask)
    path = tmp_path / "new" / "report.json"
    atomic_write_text(path, "{}")
    assert mode(path) == 0o666 & ~mask
    assert path.read_text() == "{}"


@pytest.mark.parametrize("existing", [0o600, 0o644, 0o640, 0o755, 0o444])
def test_a_rewritten_file_keeps_its_mode(tmp_path, umask, existing):
    umask(0o077)
    path = tmp_path / "incidents.toml"
    path.write_text("old")
    path.chmod(existing)
    atomic_write_text(path, "new")
    assert mode(path) == existing
    assert path.read_text() == "new"


def test_a_write_that_cannot_encode_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        atomic_write_text(path, "lone surrogate \udcff")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_a_folder_in_place_of_the_file_is_an_os_error_and_nothing_is_left(tmp_path):
    (tmp_path / "f.txt").mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path / "f.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\xff", "not UTF-8 text (byte 0xff at offset 0)"),
        (b"ok \xe9t\xe9", "not UTF-8 text (byte 0xe9 at offset 3)"),
        (b"abc\xe2\x82", "not UTF-8 text (byte 0xe2 at offset 3)"),
    ],
)
def test_decode_errors_name_the_byte_and_offset(data, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        decode_utf8(data, ValueError)
