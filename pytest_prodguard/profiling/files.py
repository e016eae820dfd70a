"""Where profiles are written: one folder per pytest run, one per test inside it.

Layout: ``<profile dir>/run-<run id>/<sanitised node id>/`` holds ``stacks.txt``
(folded stacks), ``flamegraph.svg`` and, for torch code, ``torch-trace.json``.
The run id starts with the run's UTC start time, so run folders sort
chronologically; :func:`run_folder` keeps the newest ``keep`` of them. A later
run never touches an earlier run's profiles (paths in its reports stay valid),
and within a run a new profile of the same test (a rerun) replaces the old
files. Names carry a hash of the full node id, so different tests never share a
folder, also under pytest-xdist where every worker writes its own tests'
folders of the same run.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import nodeid_slug

DEFAULT_PROFILE_DIR = Path(".prodguard") / "profiles"
STACKS_FILE = "stacks.txt"
SVG_FILE = "flamegraph.svg"
CHROME_TRACE_FILE = "torch-trace.json"
OUTPUT_FILES = (STACKS_FILE, SVG_FILE, CHROME_TRACE_FILE)

RUN_PREFIX = "run-"
DEFAULT_KEEP_RUNS = 5
_RUN_ID = re.compile(r"^[0-9]{8}-[0-9]{6}\.[0-9]{6}-[0-9a-f]{6}$")
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
    """Delete the profile files of test ``name`` and its folder when it is left empty.

    Best effort: a profile folder that cannot be reached (missing, read-only, a
    file in its place) leaves nothing to discard, and a passing test stays passed.
    """
    folder = profile_folder(out_dir, name)
    for file_name in OUTPUT_FILES:
        with contextlib.suppress(OSError):
            (folder / file_name).unlink()
    with contextlib.suppress(OSError):
        folder.rmdir()


def new_run_id(now: datetime | None = None) -> str:
    """``20261206-053012.123456-1a2b3c``: the UTC start time to the microsecond (ids sort
    by age, also for runs started in the same second) and a random part."""
    moment = now or datetime.now(timezone.utc)
    return f"{moment.strftime('%Y%m%d-%H%M%S.%f')}-{uuid.uuid4().hex[:6]}"


def run_folder(out_dir: Path, run_id: str, *, keep: int = DEFAULT_KEEP_RUNS) -> Path:
    """The run's folder under ``out_dir``, created; older run folders beyond ``keep`` removed.

    Only folders named like run folders are ever removed, oldest first, and
    never the current run's.
    """
    if not _RUN_ID.match(run_id):
        raise ProdguardUsageError("run_id", run_id, "an id from new_run_id()")
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        raise ProdguardUsageError("keep", keep, "a whole number of runs >= 1")
    folder = Path(out_dir) / f"{RUN_PREFIX}{run_id}"
    folder.mkdir(parents=True, exist_ok=True)
    runs = sorted(
        path
        for path in Path(out_dir).iterdir()
        if path.is_dir()
        and path.name.startswith(RUN_PREFIX)
        and _RUN_ID.match(path.name[len(RUN_PREFIX) :])
    )
    for old in runs[: max(0, len(runs) - keep)]:
        if old != folder:
            shutil.rmtree(old, ignore_errors=True)  # another worker may be removing it too
    return folder


def temporary_path(folder: Path, stem: str) -> Path:
    """A per-process scratch path inside ``folder`` (removed by the caller)."""
    return folder / f".{stem}.{os.getpid()}.tmp"
