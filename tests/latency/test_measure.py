"""measure() on real callables: exceptions, batching, warm-up, memory, CUDA hooks, records.

These tests never assert on how long anything took; they check structure and
decisions that timing noise cannot flip (a 1 ns budget always fails, a sleep
is never shorter than asked, a baseline 20000x faster is always beaten).
"""

from __future__ import annotations

import json
import math
import sys
import time
import tracemalloc
import types
from pathlib import Path

import pytest

from pytest_prodguard.latency import (
    Baseline,
    BaselineRun,
    compare_to_baseline,
    describe_environment,
    format_environment,
    judge,
    load_baseline,
    machine_fingerprint,
    measure,
    parse_latency_spec,
    save_baseline,
)
from pytest_prodguard.latency.timing import MIN_ROUND_SECONDS


class Boom(Exception):
    pass


def test_an_exception_from_the_callable_propagates_unchanged() -> None:
    error = Boom("bad request")

    def failing() -> None:
        raise error

    with pytest.raises(Boom) as caught:
        measure(failing, spec=parse_latency_spec({"p95": "20ms"}))
    assert caught.value is error


def test_an_exception_during_sampling_propagates_unchanged() -> None:
    calls = {"n": 0}

    def flaky(limit: int) -> None:
        calls["n"] += 1
        if calls["n"] > limit:
            raise Boom(calls["n"])

    with pytest.raises(Boom):
        measure(flaky, (20,), spec=parse_latency_spec({"p95": "1s", "warmup": 3}))
    assert calls["n"] == 21


def test_arguments_are_passed_through() -> None:
    seen: list[str] = []
    measure(
        seen.append, ("x",), spec=parse_latency_spec({"p50": "1s", "warmup": 1, "max_time": "50ms"})
    )
    assert seen
    assert set(seen) == {"x"}

    got = {}

    def keywords(*, flag: bool) -> None:
        got["flag"] = flag

    measure(keywords, kwargs={"flag": True}, spec=None)
    assert got == {"flag": True}


def test_very_short_calls_are_batched() -> None:
    measurement = measure(
        len, ("abc",), spec=parse_latency_spec({"p95": "1ms", "max_time": "200ms"})
    )
    assert measurement.batch > 1
    assert measurement.calls == measurement.n * measurement.batch
    assert max(measurement.samples) < MIN_ROUND_SECONDS * 50  # per call, not per round


def test_explicit_warmup_count_is_respected_for_long_calls() -> None:
    calls = []

    def slow() -> None:
        calls.append(1)
        time.sleep(0.0005)

    measurement = measure(
        slow, spec=parse_latency_spec({"p50": "1s", "warmup": 4, "max_time": "100ms"})
    )
    assert measurement.warmup_calls == 4
    assert measurement.batch == 1
    assert len(calls) == 4 + measurement.n


def test_sleeping_is_latency_and_is_never_removed_as_cpu_wait() -> None:
    def sleeper() -> None:
        time.sleep(0.0005)

    measurement = measure(sleeper, spec=parse_latency_spec({"p50": "1s", "max_time": "100ms"}))
    assert min(measurement.samples) >= 0.0005


def test_a_tiny_budget_fails_at_the_first_look_that_may_fail_with_numbers() -> None:
    spec = parse_latency_spec({"p50": "1ns"})
    measurement = measure(sum, ([1, 2, 3],), spec=spec)
    verdict = judge(measurement, spec, nodeid="tests/test_x.py::test_sum")
    assert verdict.status == "fail"
    first = measurement.first_fail_look
    assert first > 10
    assert measurement.looks[-1] == first
    assert verdict.headline.startswith("latency budget exceeded: p50 = ")
    assert f"> budget 1 ns [n={first} rounds of {measurement.batch} calls" in verdict.headline
    assert "reproduce: python -m pytest tests/test_x.py::test_sum" in verdict.details


def test_without_a_spec_it_records_for_a_fixed_time() -> None:
    measurement = measure(sum, ([1, 2, 3],), spec=None)
    assert measurement.stop_reason == "recorded"
    assert measurement.looks == ()
    assert measurement.n > 0
    assert measurement.peak_memory is None


def test_peak_memory_is_measured_in_separate_calls() -> None:
    def allocate() -> int:
        return len(bytearray(2_000_000))

    spec = parse_latency_spec({"peak_memory": "64MB", "max_time": "100ms"})
    measurement = measure(allocate, spec=spec)
    assert measurement.peak_memory is not None
    assert measurement.peak_memory >= 2_000_000
    assert measurement.memory_calls == 3
    assert judge(measurement, spec).status == "pass"
    tight = parse_latency_spec({"peak_memory": "1MB", "max_time": "100ms"})
    verdict = judge(measure(allocate, spec=tight), tight)
    assert verdict.status == "fail"
    assert verdict.headline.startswith("memory budget exceeded: peak_memory = 2")
    assert "> budget 1 MB [max of 3 call(s) traced]" in verdict.headline


def test_tracemalloc_state_of_the_user_is_preserved() -> None:
    spec = parse_latency_spec({"peak_memory": "64MB", "max_time": "50ms"})
    measure(list, (range(10),), spec=spec)
    assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        measure(list, (range(10),), spec=spec)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def _fake_torch(events: list[str]) -> types.ModuleType:
    state = {"allocated": 0, "peak": 0}

    def allocate(size: int) -> None:
        state["allocated"] += size
        state["peak"] = max(state["peak"], state["allocated"])
        state["allocated"] -= size

    cuda = types.SimpleNamespace(
        is_available=lambda: True,
        is_initialized=lambda: True,
        synchronize=lambda: events.append("sync"),
        reset_peak_memory_stats=lambda: state.update(peak=state["allocated"]),
        memory_allocated=lambda: state["allocated"],
        max_memory_allocated=lambda: state["peak"],
        allocate=allocate,
    )
    module = types.ModuleType("torch")
    module.cuda = cuda  # type: ignore[attr-defined]
    return module


def test_cuda_work_is_synchronised_and_its_peak_memory_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events: list[str] = []
    torch = _fake_torch(events)
    monkeypatch.setitem(sys.modules, "torch", torch)

    def kernel() -> None:
        events.append("call")
        torch.cuda.allocate(5_000_000)  # type: ignore[attr-defined]

    spec = parse_latency_spec({"p50": "1s", "peak_memory": "1GB", "warmup": 2, "max_time": "50ms"})
    measurement = measure(kernel, spec=spec)
    assert measurement.cuda_peak_memory == 5_000_000
    # Every timed round ends with a synchronize (a round may batch several tiny calls).
    assert events.count("sync") >= measurement.n
    verdict = judge(measurement, spec)
    assert [c.name for c in verdict.checks if c.unit == "bytes"] == [
        "peak_memory",
        "peak_memory (cuda)",
    ]


def test_torch_is_never_imported_by_measure() -> None:
    had_torch = "torch" in sys.modules
    measure(
        sum,
        ([1],),
        spec=parse_latency_spec({"p50": "1s", "max_time": "50ms", "peak_memory": "1GB"}),
    )
    assert ("torch" in sys.modules) == had_torch


def test_records_are_json_serialisable() -> None:
    spec = parse_latency_spec(
        {"p95": "1s", "warn_p95": "1ms", "mean": "1s", "max": "2s", "peak_memory": "64MB"}
    )
    measurement = measure(sorted, ([3, 1, 2],), spec=spec)
    verdict = judge(measurement, spec, nodeid="t::x")
    text = json.dumps(verdict.to_dict())
    assert '"kind": "latency_budget"' in text
    assert json.loads(json.dumps(measurement.to_dict()))["n"] == measurement.n


def test_environment_and_fingerprint() -> None:
    fingerprint = machine_fingerprint()
    assert set(fingerprint) == {"cpu_model", "logical_cores", "python", "platform"}
    assert "MHz" not in json.dumps(fingerprint)
    environment = describe_environment()
    assert environment["cpu_model"] == fingerprint["cpu_model"]
    text = format_environment(environment, environment)
    assert text.startswith("environment: ")
    assert format_environment({}, {}) == "environment: not recorded"


def test_comparison_with_a_much_faster_baseline_is_a_regression(tmp_path: Path) -> None:
    # A baseline whose ratio is e^-10 of anything measurable: the current code is >20000x slower.
    fingerprint = machine_fingerprint()
    fast = BaselineRun("2025-01-01T00:00:00+00:00", fingerprint, "ratio", -10.0, 0.001, 100, 100, 1)
    baseline = Baseline("t::x", (fast,) * 3)
    spec = parse_latency_spec({"p50": "1s", "max_time": "300ms"})
    measurement = measure(sorted, (list(range(100)),), spec=spec, baseline=baseline, tolerance=0.1)
    comparison = compare_to_baseline(measurement, baseline, tolerance=0.1, nodeid="t::x")
    assert comparison.status == "regressed"
    assert comparison.label == "same machine"
    assert comparison.headline.startswith("latency regression: ")
    verdict = judge(measurement, spec, comparison=comparison, nodeid="t::x")
    assert verdict.status == "fail"
    assert verdict.headline == comparison.headline
    assert "--prodguard-baseline-compare=10%" in verdict.details
    json.dumps(verdict.to_dict())


def test_a_baseline_from_another_machine_is_labelled(tmp_path: Path) -> None:
    other = {
        "cpu_model": "Other CPU 9000",
        "logical_cores": "64",
        "python": "CPython 3.12",
        "platform": "Linux-aarch64",
    }
    run = BaselineRun("2025-01-01T00:00:00+00:00", other, "ratio", 0.0, 0.001, 100, 100, 1)
    baseline = Baseline("t::x", (run,))
    measurement = measure(sorted, (list(range(100)),), spec=None)
    comparison = compare_to_baseline(measurement, baseline, tolerance=0.1)
    assert comparison.cross_machine
    assert comparison.label.startswith("cross-machine: baseline from Other CPU 9000 (64 cores)")


def test_saved_real_measurement_loads_back(tmp_path: Path) -> None:
    measurement = measure(sorted, (list(range(50)),), spec=None)
    path = tmp_path / "b.json"
    save_baseline(path, measurement, nodeid="t::x")
    run = load_baseline(path).runs[0]
    assert run.kind == "ratio"
    assert math.isfinite(run.statistic)
    assert run.fingerprint == machine_fingerprint()
