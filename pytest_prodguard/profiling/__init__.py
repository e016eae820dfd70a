"""Profile the code behind a failing test: hottest frames, flamegraph, raw stacks.

Plain Python, no pytest: the plugin calls :func:`profile_callable` when a
latency budget or a ``profile_on_failure`` test fails and puts
:meth:`ProfileResult.section` under the failure. py-spy (attached to this
process) is the default profiler, torch.profiler adds an operator table for
torch code, and a builtin sampler takes over where py-spy cannot attach.
Importing this package imports neither torch nor py-spy.
"""

from __future__ import annotations

from pytest_prodguard.profiling.command import profile_command
from pytest_prodguard.profiling.files import (
    DEFAULT_KEEP_RUNS,
    DEFAULT_PROFILE_DIR,
    discard_profile,
    new_run_id,
    profile_folder,
    run_folder,
    sanitize_nodeid,
)
from pytest_prodguard.profiling.pyspy import find_pyspy, pyspy_status, reset_pyspy_status
from pytest_prodguard.profiling.result import SECTION_TITLE, ProfileResult
from pytest_prodguard.profiling.runner import (
    DEFAULT_RATE,
    DEFAULT_SECONDS,
    DEFAULT_TOP,
    PROFILERS,
    ProfileOptions,
    check_profile_options,
    profile_callable,
    save_profile_baseline,
)
from pytest_prodguard.profiling.stacks import FrameGrowth, HotFrame, parse_folded
from pytest_prodguard.profiling.svg import render_flamegraph

__all__ = [
    "DEFAULT_KEEP_RUNS",
    "DEFAULT_PROFILE_DIR",
    "DEFAULT_RATE",
    "DEFAULT_SECONDS",
    "DEFAULT_TOP",
    "PROFILERS",
    "SECTION_TITLE",
    "FrameGrowth",
    "HotFrame",
    "ProfileOptions",
    "ProfileResult",
    "check_profile_options",
    "discard_profile",
    "find_pyspy",
    "new_run_id",
    "parse_folded",
    "profile_callable",
    "profile_command",
    "profile_folder",
    "pyspy_status",
    "render_flamegraph",
    "reset_pyspy_status",
    "run_folder",
    "sanitize_nodeid",
    "save_profile_baseline",
]
