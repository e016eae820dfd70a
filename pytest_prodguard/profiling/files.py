"""Where profiles are written: one folder per test, overwritten on every run.

Layout: ``<profile dir>/<sanitised node id>/`` holds ``stacks.txt`` (folded
stacks), ``flamegraph.svg`` and, for torch code, ``torch-trace.json``. A new
profile of the same test replaces the old files; :func:`discard_profile`
removes a test's folder (the plugin calls it when the test passes, so no stale
profile survives a fix). Names carry a hash of the full node id, so different
tests never share a folder, also under pytest-xdist where every worker writes
its own tests' folders.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import nodeid_slug

DEFAULT_PROFILE_DIR = Path(".prodguard") / "profiles"
STACKS_FILE = "stacks.txt"
SVG_FILE = "flamegraph.svg"
CHROME_TRACE_FILE = "torch-trace.json"
OUTPUT_FILES = (STACKS_FILE, SVG_FILE, CHROME_TRACE_FILE)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_READABLE_LENGTH = 80
NAME_ACCEPTED = "a non-empty file name without path separators, e.g. sanitize_nodeid(nodeid)"


def sanitize_nodeid(nodeid: str) -> str:
    """Turn a pytest node id into a safe, unique folder name.

    The same rule as latency baseline files (:func:`pytest_prodguard.files.nodeid_slug`):
    ``tests/test_api.py::TestX::test_y[a/b]`` becomes
    ``tests_test_api.py_TestX_test_y_a_b-<10 hex>``.
    """
    return nodeid_slug(nodeid)


def check_name(name: str) -> str:
    """Return ``name`` if it is usable as a single folder name, else raise a usage error."""
    if (
        not isinstance(name, str)
        or not name
        or name in {".", ".."}
        or "/" in name
        or "\\" in name
        or "\x00" in name
    ):
        raise ProdguardUsageError("name", name, NAME_ACCEPTED)
    return name


def profile_folder(out_dir: Path, name: str) -> Path:
    """The folder that holds the profile files of test ``name``."""
    return Path(out_dir) / check_name(name)


def prepare_folder(out_dir: Path, name: str) -> Path:
    """Create the test's folder and remove the files an earlier profile left there."""
    folder = profile_folder(out_dir, name)
    folder.mkdir(parents=True, exist_ok=True)
    for file_name in OUTPUT_FILES:
        with contextlib.suppress(FileNotFoundError):
            (folder / file_name).unlink()
    return folder


def discard_profile(out_dir: Path, name: str) -> None:
    """Delete the profile files of test ``name`` and its folder when it is left empty."""
    folder = profile_folder(out_dir, name)
    for file_name in OUTPUT_FILES:
        with contextlib.suppress(FileNotFoundError):
            (folder / file_name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def temporary_path(folder: Path, stem: str) -> Path:
    """A per-process scratch path inside ``folder`` (removed by the caller)."""
    return folder / f".{stem}.{os.getpid()}.tmp"
