"""Catalogue: corrupt, locked, unwritable and concurrently saved latency baselines.

A corrupt baseline is set aside as ``*.corrupt`` by a save, ignored by runs that do
not compare, and named by a comparison. A held lock times out naming the lock
file; an unwritable folder is a note and the test's verdict stands; no ``.lock``
or temporary files stay behind; a killed save leaves the old file or a complete
new one; concurrent savers keep every run.
"""

from __future__ import annotations

import fcntl
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from catalogue import assert_usage_error

from pytest_prodguard.latency import (
    BaselineError,
    BaselineLockTimeout,
    load_baseline,
    measurement_from_samples,
    save_baseline,
)
from pytest_prodguard.latency.baseline import MAX_RUNS

# pytest-xdist workers start faster without plugins these runs do not need.
LEAN = ("-p", "no:benchmark", "-p", "no:html", "-p", "no:metadata", "-p", "no:hypothesispytest")
SAMPLES = [0.001, 0.0011, 0.0012, 0.0009, 0.001]
NODE = "test_x.py::test_x"

CORRUPT = [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(b"\xff\xfe\x00garbage", id="binary"),
    pytest.param(b"[1, 2]", id="json-list"),
    pytest.param(b'{"format": "something-else"}', id="foreign"),
    pytest.param(b'{"format": "pytest-prodguard/latency-baseline", "version": 99}', id="future"),
    pytest.param(b'{"format": "pytest-prodguard/latency-baseline", "ver', id="truncated"),
    pytest.param(b"\xef\xbb\xbf{}", id="bom-object"),
]


def save(path, **kwargs):
    return save_baseline(path, measurement_from_samples(SAMPLES), nodeid=NODE, **kwargs)


def baseline_files(folder):
    """The baseline JSON files (not the call counts saved beside them)."""
    return sorted(p for p in folder.glob("*.json") if not p.name.endswith(".calls.json"))


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".lock", ".tmp")))


class TestCorruptBaseline:
    @pytest.mark.parametrize("content", CORRUPT)
    def test_save_replaces_it_and_keeps_the_old_bytes_as_corrupt(self, tmp_path, content):
        path = tmp_path / "b.json"
        path.write_bytes(content)
        note = save(path)
        assert note is not None
        assert note.startswith("replaced an unreadable baseline, kept as b.json.corrupt: ")
        assert (tmp_path / "b.json.corrupt").read_bytes() == content
        assert len(load_baseline(path).runs) == 1
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize("content", CORRUPT)
    def test_loading_it_names_the_file(self, tmp_path, content):
        path = tmp_path / "b.json"
        path.write_bytes(content)
        with pytest.raises(BaselineError, match=f"latency baseline {path}: "):
            load_baseline(path)

    def test_a_valid_baseline_is_appended_to_without_a_note(self, tmp_path):
        path = tmp_path / "b.json"
        assert save(path) is None
        assert save(path) is None
        assert len(load_baseline(path).runs) == 2
        assert not (tmp_path / "b.json.corrupt").exists()


class TestLock:
    def test_a_held_lock_times_out_naming_the_lock_file(self, tmp_path, unchanged):
        path = tmp_path / "b.json"
        save(path)
        lock = tmp_path / ".b.json.lock"
        with open(lock, "a") as holder:
            fcntl.flock(holder.fileno(), fcntl.LOCK_EX)
            check = unchanged(tmp_path)
            with pytest.raises(BaselineLockTimeout) as raised:
                save(path, lock_timeout=0.1)
            check()
        assert str(lock) in str(raised.value)
        assert "waited 0.1 s for the lock" in str(raised.value)

    def test_no_lock_or_temporary_file_is_left_behind(self, tmp_path):
        for _ in range(3):
            save(tmp_path / "b.json")
        assert leftovers(tmp_path) == []

    def test_a_stale_lock_file_from_a_killed_process_is_reused_and_removed(self, tmp_path):
        (tmp_path / ".b.json.lock").write_text("")
        save(tmp_path / "b.json")
        assert leftovers(tmp_path) == []


def _save_twice(path: str) -> None:
    for _ in range(2):
        save_baseline(path, measurement_from_samples(SAMPLES), nodeid=NODE)


class TestConcurrentAndKilledSaves:
    def test_four_processes_saving_at_once_keep_every_run(self, tmp_path):
        path = tmp_path / "b.json"
        context = multiprocessing.get_context("fork")
        workers = [context.Process(target=_save_twice, args=(path,)) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
        assert len(load_baseline(path).runs) == 8 <= MAX_RUNS
        assert leftovers(tmp_path) == []

    @pytest.mark.parametrize("kind", ["baseline", "report"])
    def test_sigkill_mid_write_leaves_the_old_or_a_complete_new_file(self, tmp_path, kind):
        path = tmp_path / ("b.json" if kind == "baseline" else "report.json")
        writer = textwrap.dedent(
            f"""
            import sys
            from pathlib import Path
            from pytest_prodguard.latency import measurement_from_samples, save_baseline
            from pytest_prodguard.report import write_report
            path = Path({str(path)!r})
            big = {{"tests": [{{"nodeid": "t%d" % i, "outcome": "passed"}} for i in range(20000)]}}
            print("ready", flush=True)
            while True:
                if {kind!r} == "baseline":
                    save_baseline(path, measurement_from_samples([0.001] * 50000), nodeid="n")
                else:
                    write_report(path, big)
            """
        )
        for attempt in range(3):
            process = subprocess.Popen(
                [sys.executable, "-c", writer], stdout=subprocess.PIPE, env=os.environ.copy()
            )
            assert process.stdout is not None
            assert process.stdout.readline() == b"ready\n"
            # Let it get through a few writes; the exact moment of the kill does not matter.
            try:
                process.wait(0.3 + 0.2 * attempt)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
            if path.exists():
                if kind == "baseline":
                    assert 1 <= len(load_baseline(path).runs) <= MAX_RUNS
                else:
                    assert len(json.loads(path.read_text())["tests"]) == 20000


LATENCY_TEST = """
import pytest

@pytest.mark.latency_budget(p95="1s", warmup=1, max_time="0.05s")
def test_fast(latency):
    latency(sum, range(10))
"""


class TestEndToEnd:
    @pytest.fixture
    def corrupt(self, project):
        project.makepyfile(test_fast=LATENCY_TEST)
        folder = project.path / ".prodguard" / "baselines"
        project.runpytest("--prodguard-baseline-save").assert_outcomes(passed=1)
        (path,) = baseline_files(folder)
        path.write_bytes(b"{not json")
        return project, path

    def test_plain_run_ignores_a_corrupt_baseline(self, corrupt):
        project, path = corrupt
        result = project.runpytest("-rA")
        result.assert_outcomes(passed=1)
        assert_usage_error(result, f"baseline ignored: latency baseline {path}: not valid JSON")
        assert path.read_bytes() == b"{not json"

    def test_save_repairs_a_corrupt_baseline(self, corrupt):
        project, path = corrupt
        result = project.runpytest("--prodguard-baseline-save", "-rA")
        result.assert_outcomes(passed=1)
        assert_usage_error(result, f"replaced an unreadable baseline, kept as {path.name}.corrupt")
        assert len(load_baseline(path).runs) == 1
        assert path.with_name(path.name + ".corrupt").read_bytes() == b"{not json"

    def test_compare_names_the_corrupt_file(self, corrupt):
        project, path = corrupt
        result = project.runpytest("--prodguard-baseline-compare")
        result.assert_outcomes(failed=1)
        assert_usage_error(result, f"latency baseline {path}: not valid JSON")

    def test_unwritable_baseline_folder_is_a_note_and_the_verdict_stands(self, project):
        project.makepyfile(test_fast=LATENCY_TEST)
        blocker = project.path / "blocker"
        blocker.write_text("a file where a folder should be")
        result = project.runpytest(
            "--prodguard-baseline-save", f"--prodguard-baseline-dir={blocker}/sub", "-rA"
        )
        result.assert_outcomes(passed=1)
        assert_usage_error(result, "note: baseline not saved: ", str(blocker))
        assert blocker.read_text() == "a file where a folder should be"

    def test_saves_under_four_workers_leave_no_lock_files(self, project):
        project.makepyfile(
            test_many="""
            import pytest

            @pytest.mark.parametrize("i", range(4))
            @pytest.mark.latency_budget(p95="1s", warmup=1, max_time="0.05s")
            def test_fast(latency, i):
                latency(sum, range(i))
            """
        )
        result = project.runpytest("-n", "4", "--prodguard-baseline-save", *LEAN)
        result.assert_outcomes(passed=4)
        folder = project.path / ".prodguard" / "baselines"
        assert len(baseline_files(folder)) == 4
        assert leftovers(folder) == []
