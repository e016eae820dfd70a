"""Helpers of the bad-input catalogue: run the CLI or pytest, check files stayed put.

Every catalogue case asserts the exact outcome: the exit code, an error text that
names the field, the value and what is accepted, no INTERNALERROR, no traceback
from prodguard's own frames, and every file byte-for-byte as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

INI = "[pytest]\nconsole_output_style = classic\n"

REGISTRY = """\
# Post-mortems of the serving team: keep this comment.
[[incident]]
id = "INC-2025-001"
title = "Empty payload crashes /predict"
severity = "HIGH"
status = "fixed"
date = 2025-03-14
"""

Snapshot = Callable[[], None]


@dataclass(frozen=True)
class CliRun:
    """One ``prodguard`` call: exit code and both streams."""

    code: int
    out: str
    err: str


def assert_clean_error(text: str) -> None:
    """No traceback and no INTERNALERROR anywhere in ``text``."""
    assert "Traceback" not in text, text
    assert "INTERNALERROR" not in text, text


def contents(root: Path) -> dict[str, bytes | int]:
    """Every file under ``root`` (bytes) and its mode, by relative path."""
    found: dict[str, bytes | int] = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_file():
            found[name] = path.read_bytes()
            found[name + ":mode"] = path.stat().st_mode
        elif path.is_dir():
            found[name + "/"] = path.stat().st_mode
    return found


def assert_usage_error(result: pytest.RunResult, *needles: str) -> None:
    """A pytest run that reported a prodguard error naming every one of ``needles``."""
    text = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in text, text
    assert "pytest_prodguard/" not in text, text  # no traceback from prodguard frames
    for needle in needles:
        assert needle in text, (needle, text)
