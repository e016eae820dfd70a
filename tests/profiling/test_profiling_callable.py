"""profile_callable end to end: real workloads under py-spy, the builtin sampler and torch.

Windows are short (0.3-0.5 s) to keep the area fast. Assertions are about
*which* frames dominate, for workloads where one frame takes nearly all of the
time, never about how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_prodguard.profiling import (
    ProfileResult,
    parse_folded,
    profile_callable,
    sanitize_nodeid,
    save_profile_baseline,
)
from pytest_prodguard.profiling import runner as runner_module

WINDOW = 0.4
JSON_ENCODER_FUNCTIONS = {"JSONEncoder.encode", "JSONEncoder.iterencode", "_iterencode"}
BIG_DOCUMENT = {f"key{i}": [i, str(i) * 8, {"x": i / 3, "y": [None, True]}] for i in range(20_000)}
REPO_ROOT = Path(__file__).resolve().parents[2]


def dump_big_document():
    json.dumps(BIG_DOCUMENT)


def wait_a_little():
    time.sleep(0.02)


def run(fn, tmp_path: Path, profiler: str, **kwargs) -> ProfileResult:
    name = sanitize_nodeid(f"tests/test_x.py::{fn.__name__}[{profiler}]")
    return profile_callable(
        fn, profiler=profiler, seconds=WINDOW, out_dir=tmp_path, name=name, **kwargs
    )


def assert_complete_outputs(result: ProfileResult):
    """The sections every profiler must deliver: frames, samples, raw stacks and a valid SVG."""
    assert result.samples > 0
    assert result.hot_frames
    assert result.calls >= 1
    stacks = parse_folded(Path(result.files["raw"]).read_text())
    assert sum(stacks.values()) == result.samples
    assert not any("pluggy" in frame or "_pytest" in frame for s in stacks for frame in s)
    svg = ET.parse(result.files["svg"]).getroot()
    titles = [title.text for title in svg.iter("{http://www.w3.org/2000/svg}title")]
    assert len(titles) >= 2  # the root and at least one frame
    section = result.section()
    assert section.startswith("where the time went (")
    assert result.files["svg"] in section


@pytest.mark.parametrize("profiler", ["py-spy", "builtin"])
def test_a_json_heavy_callable_names_the_json_encoder(tmp_path, profiler, request):
    if profiler == "py-spy":
        request.getfixturevalue("real_pyspy")
    result = run(dump_big_document, tmp_path, profiler)
    assert result.profiler == profiler
    assert result.note is None
    assert_complete_outputs(result)
    top = result.hot_frames[0]
    assert top.function in JSON_ENCODER_FUNCTIONS
    assert top.file == os.path.join("json", "encoder.py")
    assert top.self_share > 0.5
    assert "json/encoder.py" in result.section()


@pytest.mark.parametrize("profiler", ["py-spy", "builtin"])
def test_a_sleeping_callable_shows_the_sleep(tmp_path, profiler, request):
    if profiler == "py-spy":
        request.getfixturevalue("real_pyspy")
    result = run(wait_a_little, tmp_path, profiler)
    assert_complete_outputs(result)
    top = result.hot_frames[0]
    assert top.function == "wait_a_little"
    assert top.code == "time.sleep(0.02)"
    assert "time.sleep(0.02)" in result.section()


def test_auto_uses_pyspy_when_it_can_attach(tmp_path, real_pyspy):
    result = run(wait_a_little, tmp_path, "auto")
    assert result.stack_profiler == "py-spy"


def test_a_denied_pyspy_falls_back_with_a_one_line_note(tmp_path, denied_pyspy):
    result = run(dump_big_document, tmp_path, "auto")
    assert result.profiler == "builtin"
    assert result.note == (
        f"used the builtin sampler because py-spy cannot attach (exit 1): {denied_pyspy}"
    )
    assert "\n" not in result.note
    assert_complete_outputs(result)
    assert result.hot_frames[0].function in JSON_ENCODER_FUNCTIONS
    assert result.section().splitlines()[-1] == f"note: {result.note}"


def test_forcing_pyspy_still_falls_back_when_it_is_disabled(tmp_path, monkeypatch):
    monkeypatch.setenv("PRODGUARD_PYSPY", "0")
    result = run(wait_a_little, tmp_path, "py-spy")
    assert result.profiler == "builtin"
    assert result.note == "used the builtin sampler because disabled by PRODGUARD_PYSPY=0"
    assert_complete_outputs(result)


def test_a_failing_pyspy_record_falls_back(tmp_path, fake_pyspy):
    fake_pyspy(
        """
        if [ "$1" = dump ]; then exit 0; fi
        echo "Error: Failed to find python version from target process"
        exit 1
        """
    )
    result = run(wait_a_little, tmp_path, "auto")
    assert result.profiler == "builtin"
    assert result.note == (
        "used the builtin sampler because py-spy record failed: "
        "Error: Failed to find python version from target process"
    )
    assert_complete_outputs(result)


def test_a_pyspy_crash_mid_window_becomes_a_note(tmp_path, fake_pyspy):
    fake_pyspy(
        """
        if [ "$1" = dump ]; then exit 0; fi
        echo "py-spy> Sampling process 100 times a second. Press Control-C to exit."
        sleep 0.1
        echo "Error: lost the target process"
        exit 3
        """
    )
    result = run(wait_a_little, tmp_path, "auto")
    assert result.profiler == "none"
    assert result.calls >= 1
    assert result.note == (
        "py-spy: Error: lost the target process; "
        "no stack samples were taken inside the profiled code"
    )
    assert result.files == {}


def test_exceptions_from_the_callable_are_counted_not_raised(tmp_path):
    class Failed(BaseException):  # like pytest.fail's exception
        pass

    def failing():
        time.sleep(0.01)
        raise Failed("budget exceeded")

    result = run(failing, tmp_path, "builtin")
    assert result.calls >= 1
    assert result.errors == result.calls
    assert result.first_error == "Failed: budget exceeded"
    assert "raised (Failed: budget exceeded)" in result.section().splitlines()[0]


def test_keyboard_interrupt_is_not_swallowed(tmp_path):
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(interrupted, tmp_path, "builtin")


def test_a_call_longer_than_the_window_runs_once(tmp_path):
    def slow_call():
        time.sleep(0.2)

    result = profile_callable(
        slow_call, profiler="builtin", seconds=0.01, out_dir=tmp_path, name="t"
    )
    assert result.calls == 1


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        return self.now


@pytest.mark.parametrize(
    ("call_time", "min_calls", "max_calls", "expected_calls"),
    [
        (0.3, 1, None, 3),  # at 0.9 s only 0.1 s is left, under half a 0.3 s call
        (0.2, 1, None, 5),  # at 0.8 s 0.2 s is left, a whole call
        (0.3, 1, 2, 2),  # the torch phase's cap
        (2.0, 1, None, 1),  # one call longer than the window
        (2.0, 0, None, 1),  # no call has run yet: the first one is started
        (0.01, 3, None, 100),
    ],
)
def test_the_loop_stops_before_a_call_that_would_overrun(
    monkeypatch, call_time, min_calls, max_calls, expected_calls
):
    clock = FakeClock()
    monkeypatch.setattr(runner_module, "time", clock)

    def fake_work():
        clock.now += call_time

    tally = runner_module._Tally()
    runner_module._prodguard_profile_loop(
        fake_work, tally, 1.0 - 1e-9, min_calls=min_calls, max_calls=max_calls
    )
    assert tally.calls == expected_calls


def test_an_internal_failure_becomes_a_note(tmp_path, monkeypatch):
    def broken_renderer(*args, **kwargs):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(runner_module, "render_flamegraph", broken_renderer)
    result = run(wait_a_little, tmp_path, "builtin")
    assert result.profiler == "none"
    assert result.note == "profiling failed (RuntimeError: renderer broke)"


def test_an_unwritable_profile_dir_becomes_a_note(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = profile_callable(
        wait_a_little, profiler="builtin", seconds=0.05, out_dir=blocker, name="t"
    )
    assert result.profiler == "none"
    assert result.note.startswith("profiling failed (")


def test_builtin_never_probes_pyspy(tmp_path, monkeypatch):
    monkeypatch.setattr(runner_module.pyspy, "pyspy_status", lambda: pytest.fail("probed"))
    assert run(wait_a_little, tmp_path, "builtin").profiler == "builtin"


def test_a_new_profile_of_the_same_test_replaces_the_old_one(tmp_path):
    first = profile_callable(
        dump_big_document, profiler="builtin", seconds=0.2, out_dir=tmp_path, name="t"
    )
    stale_trace = Path(first.files["raw"]).with_name("torch-trace.json")
    stale_trace.write_text("{}")
    second = profile_callable(
        wait_a_little, profiler="builtin", seconds=0.2, out_dir=tmp_path, name="t"
    )
    assert second.files["raw"] == first.files["raw"]
    assert "wait_a_little" in Path(second.files["raw"]).read_text()
    assert "dump_big_document" not in Path(second.files["raw"]).read_text()
    assert not stale_trace.exists()
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["flamegraph.svg", "stacks.txt"]


class TestBaseline:
    def test_the_frames_that_grew_since_the_baseline_are_listed(self, tmp_path):
        baseline = tmp_path / "baselines" / "t.txt"
        saved = save_profile_baseline(wait_a_little, path=baseline, seconds=0.3, profiler="builtin")
        assert saved.files == {"raw": str(baseline)}
        assert "wait_a_little" in baseline.read_text()

        def now_slower():
            wait_a_little()
            dump_big_document()

        result = profile_callable(
            now_slower,
            profiler="builtin",
            seconds=WINDOW,
            out_dir=tmp_path / "profiles",
            name="t",
            baseline=baseline,
        )
        assert result.grown_frames
        assert result.grown_frames[0].function in JSON_ENCODER_FUNCTIONS
        assert result.grown_frames[0].before == 0.0
        assert "grew most since the baseline profile" in result.section()

    def test_a_missing_baseline_is_silently_ignored(self, tmp_path):
        result = run(wait_a_little, tmp_path, "builtin", baseline=tmp_path / "none.txt")
        assert result.grown_frames == []
        assert result.note is None

    def test_an_empty_baseline_is_noted(self, tmp_path):
        empty = tmp_path / "empty.txt"
        empty.write_text("garbage without counts\n")
        result = run(wait_a_little, tmp_path, "builtin", baseline=empty)
        assert result.note == f"baseline profile {empty} holds no stacks"

    def test_saving_a_baseline_validates_its_arguments(self, tmp_path):
        from pytest_prodguard.errors import ProdguardUsageError

        with pytest.raises(ProdguardUsageError, match="profiler='gprof'"):
            save_profile_baseline(wait_a_little, path=tmp_path / "b.txt", profiler="gprof")


@pytest.fixture(scope="module")
def model_call():
    """A small torch model's forward pass (module-scoped: built once)."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.ReLU(), torch.nn.Linear(256, 8))
    batch = torch.randn(64, 128)

    def run_model():
        with torch.no_grad():
            model(batch)

    return run_model


class TestTorch:
    def test_a_torch_model_shows_aten_operators(self, tmp_path, model_call):
        result = run(model_call, tmp_path, "auto")
        assert result.profiler == "torch"
        assert result.stack_profiler in {"py-spy", "builtin"}
        assert "aten::addmm" in result.op_table
        assert "aten::" in result.section()
        trace = json.loads(Path(result.files["chrome_trace"]).read_text())
        assert any(event.get("name") == "aten::addmm" for event in trace["traceEvents"])
        assert_complete_outputs(result)
        assert any(frame.function == "Linear.forward" for frame in result.hot_frames)

    def test_forcing_torch_on_code_without_operators_notes_it(self, tmp_path, model_call):
        result = run(wait_a_little, tmp_path, "torch")
        assert result.profiler in {"py-spy", "builtin"}
        assert result.op_table is None
        assert result.note.endswith("torch.profiler recorded no aten:: operators")

    def test_the_table_sorts_by_cpu_time_when_no_device_time_was_recorded(self, model_call):
        from pytest_prodguard.profiling.torchprof import TorchOpProfiler

        torch_profiler = TorchOpProfiler()
        torch_profiler.start()
        model_call()
        torch_profiler.stop()
        torch_profiler.cuda = True  # CUDA present, but this model ran on the CPU
        assert torch_profiler.sort_key() == "self_cpu_time_total"
        assert "aten::addmm" in torch_profiler.table(rows=3)

    def test_auto_on_non_torch_code_adds_no_table_and_no_note(self, tmp_path, model_call):
        result = run(wait_a_little, tmp_path, "auto")
        assert result.op_table is None
        assert result.note is None
        assert "chrome_trace" not in result.files


def test_forcing_torch_without_torch_profiles_stacks_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(
        runner_module,
        "torch_importable",
        lambda: (False, "torch is not importable (ModuleNotFoundError: No module named 'torch')"),
    )
    result = run(wait_a_little, tmp_path, "torch")
    assert result.profiler in {"py-spy", "builtin"}
    assert result.note.startswith("torch is not importable (ModuleNotFoundError")
    assert result.note.endswith("; profiled stacks only")


PARALLEL_SCRIPT = """
import sys, time
from pathlib import Path
from pytest_prodguard.profiling import profile_callable, sanitize_nodeid
result = profile_callable(
    lambda: time.sleep(0.01), profiler=sys.argv[2], seconds=0.3,
    out_dir=Path(sys.argv[1]), name=sanitize_nodeid(sys.argv[3]),
)
assert result.samples > 0, result.note
"""


def test_two_processes_profile_into_one_folder_without_collisions(tmp_path):
    # what two pytest-xdist workers do: each profiles itself, names come from node ids
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    profiler = "auto" if os.name != "nt" else "builtin"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", PARALLEL_SCRIPT, str(tmp_path), profiler, f"t.py::test_{i}"],
            env=env,
        )
        for i in range(2)
    ]
    assert [worker.wait(60) for worker in workers] == [0, 0]
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert folders == sorted(sanitize_nodeid(f"t.py::test_{i}") for i in range(2))
    for folder in tmp_path.iterdir():
        assert sorted(p.name for p in folder.iterdir()) == ["flamegraph.svg", "stacks.txt"]


def test_importing_the_package_imports_neither_torch_nor_pytest():
    code = (
        "import sys, pytest_prodguard.profiling as p; "
        "assert 'torch' not in sys.modules and 'pytest' not in sys.modules, sorted(sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


class Stopped(BaseException):
    """Raised by the test's SIGALRM handler, as pytest-timeout's handler raises Failed."""


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")
def test_an_exception_raised_by_a_signal_handler_stops_profiling_and_propagates(tmp_path):
    def on_alarm(signum, frame):
        raise Stopped("timeout")

    def failing():
        time.sleep(0.001)
        raise AssertionError("the profiled code's own failure: counted, not raised")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Stopped, match="timeout"):
            # A 60 s window: before, the Stopped exception was counted and the window went on.
            profile_callable(
                failing, profiler="builtin", seconds=60, out_dir=tmp_path, name="stopped"
            )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_the_code_of_an_installed_python_signal_handler_is_known():
    def handler(signum, frame):
        return None

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        assert handler.__code__ in runner_module.signal_handler_codes()
    finally:
        signal.signal(signal.SIGUSR1, previous)
