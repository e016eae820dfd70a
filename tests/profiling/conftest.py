"""Fixtures for the profiling tests: a clean py-spy probe cache and fake py-spy binaries."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from pytest_prodguard.profiling import pyspy

DENIED_LINE = (
    "Permission Denied: Try running again with elevated permissions by going "
    "'sudo env \"PATH=$PATH\" !!'"
)


@pytest.fixture(autouse=True)
def _fresh_pyspy_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test probes py-spy anew and sees no user override."""
    monkeypatch.delenv(pyspy.ENV_ENABLE, raising=False)
    monkeypatch.delenv(pyspy.ENV_BINARY, raising=False)
    pyspy.reset_pyspy_status()
    yield
    pyspy.reset_pyspy_status()


@pytest.fixture
def fake_pyspy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Install a fake py-spy (a shell script) via PRODGUARD_PYSPY_BIN; returns a factory."""
    if os.name == "nt":
        pytest.skip("fake py-spy executables are shell scripts")

    def install(script: str) -> Path:
        path = tmp_path / "fake-py-spy"
        path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        monkeypatch.setenv(pyspy.ENV_BINARY, str(path))
        return path

    return install


@pytest.fixture
def denied_pyspy(fake_pyspy) -> str:
    """A fake py-spy that answers like a real one without ptrace permission; returns its line."""
    fake_pyspy(
        f"""
        cat >&2 <<'END'
        {DENIED_LINE}
        END
        exit 1
        """
    )
    return DENIED_LINE


@pytest.fixture
def real_pyspy() -> str:
    """The installed py-spy, skipping the test when it is missing or may not attach here."""
    usable, reason = pyspy.pyspy_status()
    if not usable:
        pytest.skip(f"py-spy cannot sample this process here: {reason}")
    binary = pyspy.find_pyspy()
    assert binary is not None
    return binary
