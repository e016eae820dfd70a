"""Calls per measured call, counted exactly with cProfile, and their change since a baseline."""

from __future__ import annotations

import signal

import pytest

from pytest_prodguard.profiling import profile_callable, save_profile_baseline
from pytest_prodguard.profiling.calls import (
    CallChange,
    calls_path,
    changed_calls,
    count_calls,
    load_counts,
    save_counts,
)

PASSES = {"n": 1}


def polarity_scores(text: str) -> int:
    return sum(ord(char) for char in text)


def score_all() -> int:
    # A uniform slowdown: every text scored PASSES times; the sampled shares do not move.
    return sum(polarity_scores(text) for text in ["good", "bad"] * 16 for _ in range(PASSES["n"]))


def test_counts_are_calls_per_measured_call_keyed_by_function_and_file():
    counts = count_calls(score_all, calls=3, seconds=10)
    assert counts["polarity_scores (test_profiling_calls.py)"] == 32
    assert counts["score_all (test_profiling_calls.py)"] == 1


def test_exceptions_are_ignored_unless_they_stop_the_run():
    def failing() -> None:
        polarity_scores("x")
        raise AssertionError("the test's own failure")

    assert (
        count_calls(failing, calls=2, seconds=10)["polarity_scores (test_profiling_calls.py)"] == 1
    )
    with pytest.raises(AssertionError):
        count_calls(failing, stops=lambda exc: isinstance(exc, AssertionError))


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        ({"f": 64.0}, {"f": 32.0}, [CallChange("f", 32.0, 64.0)]),
        ({"f": 33.0}, {"f": 32.0}, []),  # within the 1.1x factor
        ({"g": 2.0}, {}, [CallChange("g", 0.0, 2.0)]),  # new function
        ({}, {"h": 5.0}, [CallChange("h", 5.0, 0.0)]),  # gone
        ({"rare": 0.5}, {}, []),  # less than one call per measured call either way
    ],
)
def test_changed_calls(now, before, expected):
    assert changed_calls(now, before) == expected


def test_the_largest_relative_change_comes_first():
    changes = changed_calls({"a": 20.0, "b": 4.0}, {"a": 10.0, "b": 1.0})
    assert [change.function for change in changes] == ["b", "a"]


def test_counts_round_trip_and_a_broken_file_reads_as_none(tmp_path):
    path = calls_path(tmp_path / "t.folded")
    assert path.name == "t.calls.json"
    save_counts(path, {"f (f.py)": 2.5})
    assert load_counts(path) == {"f (f.py)": 2.5}
    path.write_text("{not json")
    assert load_counts(path) is None
    assert load_counts(tmp_path / "missing.calls.json") is None


def test_a_profile_against_a_baseline_names_the_function_called_twice_as_often(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(PASSES, "n", 1)
    stacks = tmp_path / "t.folded"
    save_profile_baseline(score_all, path=stacks, seconds=0.2, profiler="builtin")
    assert load_counts(calls_path(stacks))["polarity_scores (test_profiling_calls.py)"] == 32
    monkeypatch.setitem(PASSES, "n", 2)
    result = profile_callable(
        score_all, profiler="builtin", seconds=0.2, out_dir=tmp_path, name="t", baseline=stacks
    )
    assert CallChange("polarity_scores (test_profiling_calls.py)", 32.0, 64.0) in (
        result.call_changes
    )
    assert "  polarity_scores (test_profiling_calls.py)  32 -> 64" in result.section().splitlines()
    recorded = {row["function"]: row for row in result.to_dict()["call_changes"]}
    assert recorded["polarity_scores (test_profiling_calls.py)"]["after"] == 64.0


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs SIGALRM")
def test_a_signal_handlers_exception_stops_counting(tmp_path):
    from pytest_prodguard.profiling.runner import signal_handler_codes, stops_the_run

    class Stopped(BaseException):
        pass

    def on_alarm(signum, frame):
        raise Stopped

    def slow():
        import time

        time.sleep(0.05)

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        codes = signal_handler_codes()
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(Stopped):
            count_calls(slow, stops=lambda exc: stops_the_run(exc, codes), calls=1000, seconds=60)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
