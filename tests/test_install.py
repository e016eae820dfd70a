"""The install: a wheel without extras runs incident and latency tests on pytest alone,
and each feature whose extra is missing says which extra to install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pytest_prodguard import __version__
from pytest_prodguard.extras import EXTRAS, install_hint

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "hypothesis", "pandas", "pyarrow", "torch", "py_spy")


def run(command: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run outside this checkout's PYTHONPATH, so an installed copy is what runs."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def hidden(module: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` with ``module`` made unimportable (as if its extra were not installed)."""
    prelude = f"import sys; sys.modules[{module!r}] = None\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-c", prelude + code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("module", "package", "missing", "extra"),
    [
        ("scipy", "pytest_prodguard.ab", "scipy, which is", "ab"),
        ("numpy", "pytest_prodguard.ab", "numpy and scipy, which are", "ab"),  # scipy needs numpy
        ("hypothesis", "pytest_prodguard.robustness", "hypothesis, which is", "robustness"),
        ("numpy", "pytest_prodguard.robustness", "numpy, which is", "robustness"),
        ("scipy", "pytest_prodguard.canary", "scipy, which is", "ab"),
    ],
)
def test_a_missing_extra_is_named_on_import(module, package, missing, extra):
    done = hidden(module, f"import {package}")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last == (
        f"pytest_prodguard.extras.MissingExtraError: {package} needs {missing} not "
        f"installed: {install_hint(extra)}"
    )


def test_reading_event_files_without_pyarrow_names_the_ab_extra():
    done = hidden(
        "pyarrow",
        "from pytest_prodguard.ab import Experiment\n"
        "Experiment.from_events('events.csv', variant='v', converted='c')",
    )
    assert install_hint("ab") in done.stderr


def test_the_torch_profiler_without_torch_names_the_torch_extra():
    done = hidden(
        "torch",
        "from pytest_prodguard.profiling.torchprof import torch_importable\n"
        "print(torch_importable()[1])",
    )
    assert done.stdout.strip().endswith(install_hint("torch"))


def test_py_spy_missing_names_the_profile_extra(monkeypatch):
    from pytest_prodguard.profiling import pyspy

    monkeypatch.setattr(pyspy, "find_pyspy", lambda: None)
    pyspy.reset_pyspy_status()
    try:
        available, reason = pyspy.pyspy_status()
    finally:
        pyspy.reset_pyspy_status()
    assert not available
    assert install_hint("profile") in reason


def test_every_extra_is_declared_in_pyproject():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = declared["optional-dependencies"]
    assert set(EXTRAS) <= set(extras)
    assert {"ml", "all", "dev"} <= set(extras)
    assert [dep.split(">")[0] for dep in declared["dependencies"]] == ["pytest", "tomli"]


GUARDS = """
import time

import pytest


@pytest.mark.incident_repro("INC-1")
def test_guard():
    assert {}.get("payload") is None


@pytest.mark.latency_budget(p95="50ms", max_time="0.3s")
def test_fast(latency):
    latency(time.sleep, 0)
"""


@pytest.mark.slow
def test_a_wheel_without_extras_runs_incident_and_latency_tests(tmp_path):
    wheels = tmp_path / "wheels"
    built = run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(ROOT)],
        cwd=tmp_path,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path).returncode == 0
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    installed = run(
        [str(python), "-m", "pip", "install", "-q", "--find-links", str(wheels),
         "pytest-prodguard"],
        cwd=tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    listed = run([str(python), "-m", "pip", "list", "--format=json"], cwd=tmp_path)
    names = {entry["name"].lower().replace("-", "_") for entry in json.loads(listed.stdout)}
    assert names.isdisjoint(HEAVY)

    project = tmp_path / "project"
    project.mkdir()
    (project / "incidents.toml").write_text(
        '[[incident]]\nid = "INC-1"\ntitle = "t"\nseverity = "HIGH"\nstatus = "fixed"\n'
        "date = 2025-01-01\n"
    )
    (project / "test_guards.py").write_text(textwrap.dedent(GUARDS))
    tests = run(
        [str(python), "-m", "pytest", "-p", "no:cacheprovider", "--prodguard-report=run.json"],
        cwd=project,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    assert "guarded     INC-1" in tests.stdout
    report = json.loads((project / "run.json").read_text())
    assert report["outcomes"] == {"passed": 2}

    ab = run([str(python), "-c", "import pytest_prodguard.ab"], cwd=project)
    assert install_hint("ab") in ab.stderr
    version = run([str(venv / "bin" / "prodguard"), "--version"], cwd=project)
    assert version.stdout.strip() == f"pytest-prodguard {__version__}"
