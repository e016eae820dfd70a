"""``prodguard init``: a starter registry, guard test, pytest settings and CI workflow.

Nothing is overwritten: when any file it would write exists, it writes none
and exits 2 naming the file. pytest settings go to a new ``pytest.ini`` only
where the project has no pytest configuration yet; otherwise the keys to add
are printed (a new ``pytest.ini`` would silently replace the existing one).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text

INI_KEYS = """\
prodguard_incidents = incidents.toml
prodguard_require_guards = true
prodguard_report = prodguard-report.json
"""

REGISTRY = """\
# The incident registry: one [[incident]] per post-mortem. A test marked
# @pytest.mark.incident_repro("<id>") guards it; status "fixed" means the guard
# must pass, "open" means it must still reproduce (strict expected failure).
[[incident]]
id = "INC-{year}-001"
title = "Example: an empty payload crashed /predict with a 500"
severity = "HIGH"
status = "fixed"
date = {date}
"""

GUARD = '''\
"""Example guards written by `prodguard init`: edit them to fit your service."""

import time

import pytest


def predict(payload):
    """Stands in for your service call."""
    if not payload:
        return 400
    time.sleep(0.0001)
    return 200


@pytest.mark.incident_repro("INC-{year}-001")
def test_empty_payload_is_rejected_not_a_crash():
    assert predict({{}}) == 400


@pytest.mark.latency_budget(p95="20ms")
def test_predict_is_fast(latency):
    latency(predict, {{"text": "a short review"}})
'''

WORKFLOW = """\
# Written by `prodguard init`. Shards the suite over two jobs, then merges their
# prodguard reports so "fixed incident without a guard" is judged over all tests.
name: prodguard
on: [push, pull_request]
jobs:
  tests:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        shard: [0, 1]
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install pytest-prodguard  # and your project's own requirements
      - run: >
          pytest --prodguard-report=prodguard-${{ matrix.shard }}.json
          $(python -c "import glob; t = sorted(glob.glob('tests/**/test_*.py', recursive=True));
          print(' '.join(t[${{ matrix.shard }}::2]))")
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: prodguard-${{ matrix.shard }}
          path: prodguard-${{ matrix.shard }}.json
  guards:
    needs: tests
    if: always()
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/download-artifact@v4
        with:
          merge-multiple: true
      - run: pip install pytest-prodguard
      - run: prodguard report merge prodguard-*.json -o prodguard-all.json
      - run: prodguard report prodguard-all.json --html prodguard-report.html
      - run: prodguard incidents check --report prodguard-all.json
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: prodguard-report
          path: prodguard-report.html
"""

_PYTEST_CONFIGS = (
    ("pytest.ini", None),
    ("pyproject.toml", "[tool.pytest.ini_options]"),
    ("tox.ini", "[pytest]"),
    ("setup.cfg", "[tool:pytest]"),
)


def register(commands: Any) -> None:
    """Add ``prodguard init``."""
    init = commands.add_parser(
        "init",
        help="write a starter incidents.toml, an example guard test, pytest settings and a "
        "GitHub Actions workflow (never overwrites)",
    )
    init.add_argument("--dir", type=Path, default=Path("."), help="the project folder")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    root: Path = args.dir
    if not root.is_dir():
        raise ProdguardUsageError("--dir", str(root), "an existing project folder")
    today = dt.date.today()
    files = {
        root / "incidents.toml": REGISTRY.format(year=today.year, date=today.isoformat()),
        root / "tests" / "test_prodguard_example.py": GUARD.format(year=today.year),
        root / ".github" / "workflows" / "prodguard.yml": WORKFLOW,
    }
    existing_config = _pytest_config(root)
    if existing_config is None:
        files[root / "pytest.ini"] = "[pytest]\n" + INI_KEYS
    taken = [path for path in files if path.exists()]
    if taken:
        raise ProdguardUsageError(
            "init", str(taken[0]), "a project without that file (prodguard init never overwrites)"
        )
    for path, text in files.items():
        atomic_write_text(path, text)
        print(f"wrote {path}")
    if existing_config is not None:
        print(f"add these keys to the pytest settings in {existing_config}:")
        print(INI_KEYS, end="")
    print("next: python -m pytest, then prodguard report prodguard-report.json")
    return 0


def _pytest_config(root: Path) -> Path | None:
    """The file holding this project's pytest settings, if it has one."""
    for name, section in _PYTEST_CONFIGS:
        path = root / name
        if not path.is_file():
            continue
        if section is None or section in path.read_text(encoding="utf-8", errors="replace"):
            return path
    return None
