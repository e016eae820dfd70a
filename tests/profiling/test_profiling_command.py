"""``prodguard profile -- CMD`` end to end, in a subprocess as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_prodguard.profiling import parse_folded, sanitize_nodeid
from pytest_prodguard.profiling._exitstatus import main as exit_status_main

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys, time
from pathlib import Path

def spin():
    end = time.perf_counter() + 0.4
    while time.perf_counter() < end:
        pass

with open(sys.argv[1], "a") as runs:
    runs.write("ran\\n")
spin()
print("hello from the command")
print("and its stderr", file=sys.stderr)
sys.exit(3)
"""


def prodguard_profile(tmp_path: Path, *args: str, env: dict[str, str] | None = None):
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    runs = tmp_path / "runs.txt"
    code = (
        "import sys; from pytest_prodguard.profiling import profile_command; "
        "sys.exit(profile_command(sys.argv[1:]))"
    )
    command = [sys.executable, "-c", code, "--out", str(tmp_path / "profiles"), *args, "--"]
    command += [sys.executable, str(script), str(runs)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})},
        check=False,
    )
    return done, runs


def test_the_command_is_profiled_and_keeps_its_exit_status_and_output(tmp_path, real_pyspy):
    done, runs = prodguard_profile(tmp_path, "--name", "app")
    assert done.returncode == 3
    assert "hello from the command" in done.stdout
    assert "py-spy>" not in done.stdout  # py-spy's chatter does not mix with the command's output
    assert "and its stderr" in done.stderr
    assert runs.read_text() == "ran\n"
    assert "where the time went (py-spy, " in done.stderr
    assert "spin" in done.stderr
    folder = tmp_path / "profiles" / "app"
    stacks = parse_folded((folder / "stacks.txt").read_text())
    assert stacks
    assert not any(frame.startswith("process ") for stack in stacks for frame in stack)
    assert not any("_exitstatus.py" in frame for stack in stacks for frame in stack)
    assert ET.parse(folder / "flamegraph.svg").getroot().tag.endswith("svg")
    assert sorted(p.name for p in folder.iterdir()) == ["flamegraph.svg", "stacks.txt"]


def test_the_default_name_comes_from_the_command(tmp_path, real_pyspy):
    done, _ = prodguard_profile(tmp_path)
    assert done.returncode == 3
    (folder,) = (tmp_path / "profiles").iterdir()
    expected = sanitize_nodeid(
        f"{Path(sys.executable).name} {tmp_path / 'app.py'} {tmp_path / 'runs.txt'}"
    )
    assert folder.name == expected


def test_without_pyspy_the_command_runs_once_unprofiled(tmp_path):
    done, runs = prodguard_profile(tmp_path, env={"PRODGUARD_PYSPY": "0"})
    assert done.returncode == 3
    assert "hello from the command" in done.stdout
    assert done.stderr.splitlines()[0] == (
        "prodguard profile: not profiled: disabled by PRODGUARD_PYSPY=0"
    )
    assert runs.read_text() == "ran\n"


def test_a_pyspy_that_cannot_start_the_command_still_runs_it_once(tmp_path, fake_pyspy):
    fake = fake_pyspy('echo "Error: Permission Denied" \nexit 1\n')
    done, runs = prodguard_profile(tmp_path, env={"PRODGUARD_PYSPY_BIN": str(fake)})
    assert done.returncode == 3
    assert "prodguard profile: not profiled: Error: Permission Denied" in done.stderr
    assert runs.read_text() == "ran\n"


def test_a_command_that_does_not_exist_exits_127(tmp_path, capfd):
    status = tmp_path / "status"
    assert exit_status_main([str(status), "-1", "-1", "--", str(tmp_path / "no-such-cmd")]) == 127
    assert status.read_text() == "127"
    assert "prodguard profile: cannot run" in capfd.readouterr().err


def test_the_wrapper_reports_signals_like_a_shell(tmp_path):
    if os.name == "nt":
        pytest.skip("POSIX signals")
    status = tmp_path / "status"
    code = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    assert exit_status_main([str(status), "-1", "-1", "--", sys.executable, "-c", code]) == 143
    assert status.read_text() == "143"


def test_the_wrapper_rejects_a_bad_call(tmp_path, capsys):
    assert exit_status_main([str(tmp_path / "s"), "1"]) == 2
    assert "usage: _exitstatus.py" in capsys.readouterr().err
