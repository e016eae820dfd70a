"""Finding py-spy and probing, once per process, whether it may attach."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pytest_prodguard.profiling import find_pyspy, pyspy_status
from pytest_prodguard.profiling import pyspy as pyspy_module


def test_the_override_variable_wins(fake_pyspy):
    path = fake_pyspy("exit 0\n")
    assert find_pyspy() == str(path)


def test_an_override_without_a_path_is_looked_up_on_path(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(pyspy_module.ENV_BINARY, "sh")
    assert find_pyspy() is not None
    assert find_pyspy().endswith(f"{os.sep}sh")


def test_without_override_the_installed_pyspy_is_found():
    found = find_pyspy()
    if found is None:
        pytest.skip("py-spy is not installed here")
    assert Path(found).name.startswith("py-spy")


def test_the_real_pyspy_attaches_to_this_process(real_pyspy):
    usable, reason = pyspy_status()
    assert usable
    assert f"attached to pid {os.getpid()}" in reason


def test_the_probe_runs_once_per_process(fake_pyspy, monkeypatch: pytest.MonkeyPatch):
    fake_pyspy("exit 0\n")
    assert pyspy_status()[0]

    def no_second_probe(*args, **kwargs):
        raise AssertionError("probed twice")

    monkeypatch.setattr(subprocess, "run", no_second_probe)
    assert pyspy_status()[0]


def test_a_denied_attach_is_reported_with_pyspys_own_line(denied_pyspy):
    usable, reason = pyspy_status()
    assert not usable
    assert reason == f"py-spy cannot attach (exit 1): {denied_pyspy}"


def test_the_environment_switch_disables_pyspy_without_probing(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(pyspy_module.ENV_ENABLE, "0")
    monkeypatch.setattr(pyspy_module, "_probe", lambda binary: pytest.fail("probed"))
    assert pyspy_status() == (False, "disabled by PRODGUARD_PYSPY=0")


def test_a_missing_executable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(pyspy_module.ENV_BINARY, "no-such-py-spy-binary")
    usable, reason = pyspy_status()
    assert not usable
    assert reason.startswith("py-spy executable not found")


def test_an_executable_that_cannot_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(pyspy_module.ENV_BINARY, str(tmp_path / "missing" / "py-spy"))
    usable, reason = pyspy_status()
    assert not usable
    assert reason.startswith("py-spy could not be started:")


def test_a_probe_that_hangs_times_out(fake_pyspy, monkeypatch: pytest.MonkeyPatch):
    fake_pyspy("exec sleep 30\n")
    monkeypatch.setattr(pyspy_module, "PROBE_TIMEOUT_S", 0.3)
    assert pyspy_status() == (False, "py-spy dump did not answer within 0.3 s")


def test_allowing_ptrace_never_fails_without_yama():
    with pyspy_module.allow_ptrace():
        pass
