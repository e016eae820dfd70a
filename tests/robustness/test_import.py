"""The module's public surface and its import cost."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest_prodguard.robustness as robustness

REQUIRED = {
    "text_variations",
    "tensor_variations",
    "variations_of",
    "Variation",
    "assert_invariant",
    "assert_directional",
    "assert_deterministic",
    "find_confident_errors",
    "assert_no_confident_errors",
    "expected_calibration_error",
    "assert_calibrated",
    "slice_failures",
    "validate_inputs",
    "as_model",
    "find_failures",
}


def test_the_issue_names_are_public_and_all_is_complete() -> None:
    assert set(robustness.__all__) >= REQUIRED
    assert all(hasattr(robustness, name) for name in robustness.__all__)
    assert len(set(robustness.__all__)) == len(robustness.__all__)


def test_public_callables_have_docstrings() -> None:
    missing = [
        n
        for n in robustness.__all__
        if callable(getattr(robustness, n)) and not getattr(robustness, n).__doc__
    ]
    assert missing == []


ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> str:
    """Run ``code`` in a fresh interpreter from the repository root."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return result.stdout.strip()


def test_importing_does_not_import_torch_or_scipy() -> None:
    code = (
        "import sys; import pytest_prodguard.robustness as r; "
        "r.find_failures(len, ['a b', 'c'], n=20); "
        "print(sorted(m for m in ('torch', 'scipy') if m in sys.modules))"
    )
    assert run(code) == "[]"


def test_the_package_root_does_not_import_robustness() -> None:
    code = "import sys, pytest_prodguard; print('pytest_prodguard.robustness' in sys.modules)"
    assert run(code) == "False"
