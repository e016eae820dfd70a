"""Tracers and profilers hooked into the interpreter, which make timings meaningless.

Coverage measured pure-Python code about 3.4x slower (p95 147 us -> 510 us) and
C-level code barely slower at all, so neither a budget nor a comparison with a
baseline saved without it means anything while it runs: a budget fails every
run, a Python-bound baseline comparison reports a false regression and a
C-bound one a false improvement. :func:`active_tracer` names what is hooked in
at measurement time; the latency gate then records the measurement without
judging it and saves no baseline from it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

#: sys.monitoring tool ids (Python 3.12+): 0-5 are the defined ones.
_MONITORING_TOOLS = range(6)


@dataclass(frozen=True)
class Tracer:
    """Something hooked into the interpreter: what it is and how to run without it."""

    name: str
    hook: str
    advice: str

    def describe(self) -> str:
        """``coverage (sys.settrace: coverage.CTracer)``."""
        return f"{self.name} ({self.hook})"

    def reason(self) -> str:
        """Why a budget was not judged, and what to do about it."""
        return (
            f"not judged: {self.describe()} is tracing this process and slows Python code "
            f"several times more than C code; {self.advice}"
        )


def active_tracer() -> Tracer | None:
    """The tracer or profiler active in this thread or interpreter, None when there is none."""
    for hook_name, hook in (
        ("sys.settrace", sys.gettrace()),
        ("sys.setprofile", sys.getprofile()),
    ):
        if hook is not None:
            return _tracer_from_hook(hook_name, hook)
    monitoring = getattr(sys, "monitoring", None)
    if monitoring is not None:
        for tool in _MONITORING_TOOLS:
            name = monitoring.get_tool(tool)
            if name:
                return _named(str(name), f"sys.monitoring tool {tool}")
    return None


def _tracer_from_hook(hook_name: str, hook: object) -> Tracer:
    owner = getattr(hook, "__self__", None) or hook
    module = getattr(owner, "__module__", None) or type(owner).__module__
    if owner is hook and not callable(hook):
        origin = str(module)  # a profiler object such as cProfile.Profile
    else:
        name = getattr(owner, "__qualname__", None) or type(owner).__qualname__
        origin = f"{module}.{name}"
    return _named(origin, f"{hook_name}: {origin}")


def _named(origin: str, hook: str) -> Tracer:
    if origin.startswith("coverage"):
        return Tracer(
            "coverage",
            hook,
            "run the latency tests in a separate run without coverage "
            "(pytest --no-cov with pytest-cov, or deselect them from the coverage run "
            "with -m 'not latency_budget')",
        )
    if origin.startswith(("bdb", "pdb", "pydevd", "debugpy", "_pydevd")):
        return Tracer("a debugger", hook, "run the latency tests without the debugger attached")
    return Tracer(origin, hook, "run the latency tests without this tracer or profiler")
