"""active_tracer(): what is hooked into the interpreter while latency is measured."""

from __future__ import annotations

import cProfile
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_prodguard.latency.tracers import active_tracer


@pytest.fixture
def no_hooks() -> Iterator[None]:
    """Run without the outer run's own tracer (this suite may run under coverage)."""
    trace, profile = sys.gettrace(), sys.getprofile()
    sys.settrace(None)
    sys.setprofile(None)
    try:
        yield
    finally:
        sys.settrace(trace)
        sys.setprofile(profile)


def hooked(kind: str, hook: Any) -> Any:
    """Call active_tracer() with ``hook`` installed, and remove it again."""
    install = sys.settrace if kind == "trace" else sys.setprofile
    install(hook)
    try:
        return active_tracer()
    finally:
        install(None)


def local_trace(frame: object, event: str, arg: object) -> object:
    return local_trace


def test_nothing_hooked_is_none(no_hooks: None) -> None:
    assert active_tracer() is None


def test_a_trace_function_is_named_by_module_and_name(no_hooks: None) -> None:
    tracer = hooked("trace", local_trace)
    assert tracer is not None
    assert tracer.hook == f"sys.settrace: {__name__}.local_trace"
    assert "without this tracer" in tracer.reason()


def test_a_profiler_object_is_named_by_its_module(no_hooks: None) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        tracer = active_tracer()
    finally:
        profiler.disable()
    assert tracer is not None
    assert tracer.describe() == "cProfile (sys.setprofile: cProfile)"


def test_coverage_is_recognised_and_the_advice_names_no_cov(no_hooks: None) -> None:
    class PyTracer:  # named like coverage's pure-Python tracer
        def _trace(self, frame: object, event: str, arg: object) -> None:
            return None

    PyTracer.__module__, PyTracer.__qualname__ = "coverage.pytracer", "PyTracer"
    tracer = hooked("trace", PyTracer()._trace)
    assert tracer is not None
    assert tracer.name == "coverage"
    assert tracer.hook == "sys.settrace: coverage.pytracer.PyTracer"
    assert "--no-cov" in tracer.reason()


def test_a_debugger_is_recognised(no_hooks: None) -> None:
    def trace_dispatch(frame: object, event: str, arg: object) -> None:
        return None

    trace_dispatch.__module__ = "bdb"  # as pdb's Bdb.trace_dispatch is named
    tracer = hooked("trace", trace_dispatch)
    assert tracer is not None
    assert tracer.name == "a debugger"


def test_a_sys_monitoring_tool_is_named(no_hooks: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Python 3.12+ tools (coverage's sysmon core, profilers) register by id and name.
    tools = {3: "coverage.py"}
    monitoring = types.SimpleNamespace(get_tool=tools.get)
    monkeypatch.setattr(sys, "monitoring", monitoring, raising=False)
    tracer = active_tracer()
    assert tracer is not None
    assert tracer.name == "coverage"
    assert tracer.hook == "sys.monitoring tool 3"
