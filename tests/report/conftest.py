"""A real run's JSON report, produced once per session for the report tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from report_suite import run_suite


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """(folder, report) of one run of the suite with --prodguard-report=run.json."""
    folder = tmp_path_factory.mktemp("real-run")
    done = run_suite(folder, "--prodguard-report=run.json")
    assert done.returncode == 1, done.stdout + done.stderr
    (folder / "stdout.txt").write_text(done.stdout, encoding="utf-8")
    return folder, json.loads((folder / "run.json").read_text(encoding="utf-8"))
