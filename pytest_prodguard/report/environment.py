"""Describe where a run happened: Python, platform, CPU, load and git revision."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from pytest_prodguard.latency.environment import machine_fingerprint

_GIT_TIMEOUT = 2.0  # seconds; a hung git must never hold up the end of a test run


def run_environment(root: Path | None = None) -> dict[str, Any]:
    """The run's environment for the report; ``git`` is None outside a repository."""
    fingerprint = machine_fingerprint()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_model": fingerprint["cpu_model"],
        "logical_cores": os.cpu_count() or 0,
        "load_average": _load_average(),
        "git": git_revision(root or Path.cwd()),
        "ci": _ci_name(),
    }


def _load_average() -> list[float] | None:
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except (OSError, AttributeError):  # not on Windows
        return None


def git_revision(root: Path) -> dict[str, str | None] | None:
    """``{"commit", "branch"}`` of the checkout at ``root``, from git or the CI's variables."""
    commit = _git(root, "rev-parse", "HEAD") or os.environ.get("GITHUB_SHA")
    if not commit:
        return None
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    if branch in (None, "HEAD"):  # detached, as CI checkouts often are
        branch = os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME")
    return {"commit": commit, "branch": branch or None}


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    value = done.stdout.strip()
    return value if done.returncode == 0 and value else None


def _ci_name() -> str | None:
    if os.environ.get("GITHUB_ACTIONS") == "true":
        return "github-actions"
    if os.environ.get("GITLAB_CI"):
        return "gitlab-ci"
    return "ci" if os.environ.get("CI") else None
