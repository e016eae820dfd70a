"""The public surface of pytest_prodguard.ab and its import hygiene."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys
import types

import pytest_prodguard.ab as ab

PACKAGE = pathlib.Path(ab.__file__).parent


def test_all_lists_exactly_the_public_names():
    exported = {
        name
        for name in dir(ab)
        if not name.startswith("_") and not isinstance(getattr(ab, name), types.ModuleType)
    }
    assert set(ab.__all__) == exported - {"annotations"}
    for name in ab.__all__:
        assert getattr(ab, name).__doc__, name


def test_issue_names_are_public():
    for name in (
        "Proportion", "Mean", "required_sample_size", "proportions_test", "welch_test",
        "srm_test", "simpson_check", "sequential_test", "adjust_pvalues", "cuped",
        "assert_ship_ready", "check_ship_ready", "ShipReadinessError", "Experiment",
    ):  # fmt: skip
        assert name in ab.__all__
    assert issubclass(ab.ShipReadinessError, AssertionError)


def test_domain_modules_never_import_pytest():
    for path in PACKAGE.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            (node.module or "").split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
        }
        assert "pytest" not in imported, path.name
        assert "from __future__ import annotations" in path.read_text(), path.name


def test_importing_ab_leaves_pandas_and_pyarrow_unimported():
    code = (
        "import sys, pytest_prodguard.ab;"
        "print(sorted(m for m in ('pandas', 'pyarrow', 'statsmodels') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=PACKAGE.parent.parent,
    ).stdout  # fmt: skip
    assert output.strip() == "[]"


def test_the_documentation_names_every_public_name():
    page = PACKAGE.parent.parent / "docs" / "ab.md"
    text = page.read_text()
    missing = [name for name in ab.__all__ if f"`{name}`" not in text and f"`{name}(" not in text]
    assert missing == []
