"""A failing test's profiler, configured once and handed to whoever needs it.

The plugin builds one :class:`FailureProfiler` per test from the run's settings
and hands it to the latency gate (which profiles a call over budget and saves
profile baselines) or uses it for a ``profile_on_failure`` test. The latency
package never imports this one: it only sees the two methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_prodguard.profiling.files import (
    DEFAULT_KEEP_RUNS,
    new_run_id,
    run_folder,
    sanitize_nodeid,
)
from pytest_prodguard.profiling.result import SECTION_TITLE, ProfileResult
from pytest_prodguard.profiling.runner import profile_callable, save_profile_baseline
from pytest_prodguard.results import GuardResult

#: A profile baseline is sampled for at most this long, whatever the failure window.
BASELINE_SECONDS = 1.0


@dataclass(frozen=True)
class FailureProfiler:
    """Profiles the code of test ``nodeid`` with one profiler and window."""

    nodeid: str
    profiler: str
    seconds: float
    out_dir: Path
    top: int
    #: This pytest run's id: profiles go to ``out_dir/run-<id>/`` (see profiling.files).
    run_id: str = ""
    keep: int = DEFAULT_KEEP_RUNS
    frames: str = "function"

    @property
    def name(self) -> str:
        """The test's profile folder name."""
        return sanitize_nodeid(self.nodeid)

    def profile(
        self,
        thunk: Callable[[], object],
        baseline: Path | None = None,
        *,
        max_calls: int | None = None,
    ) -> GuardResult:
        """Profile ``thunk``; ``baseline`` is a folded-stacks file to compare with, if any.

        ``max_calls`` caps the re-runs: a whole test body gets
        :data:`~pytest_prodguard.limits.MAX_PROFILE_RERUNS`, since its side effects repeat.
        """
        try:
            out_dir = run_folder(self.out_dir, self.run_id or new_run_id(), keep=self.keep)
        except OSError as exc:  # an unwritable profile folder is a note, like any profiling problem
            note = f"profiling failed ({type(exc).__name__}: {exc})"
            return profile_guard_result(ProfileResult(profiler="none", note=note))
        result = profile_callable(
            thunk,
            profiler=self.profiler,
            seconds=self.seconds,
            out_dir=out_dir,
            name=self.name,
            top=self.top,
            baseline=baseline if baseline is not None and baseline.exists() else None,
            frames=self.frames,
            max_calls=max_calls,
        )
        return profile_guard_result(result)

    def save_baseline(self, thunk: Callable[[], object], path: Path) -> str | None:
        """Save ``thunk``'s folded stacks to ``path``; a note when that was not possible."""
        seconds = min(BASELINE_SECONDS, self.seconds)
        return save_profile_baseline(thunk, path=path, seconds=seconds, profiler=self.profiler).note


def profile_guard_result(result: ProfileResult) -> GuardResult:
    """A profile as a guard result: its section, its record and its files."""
    return GuardResult(
        guard="profile",
        status="pass",
        sections=((SECTION_TITLE, result.section()),),
        records=(("profile", result.to_dict()),),
        properties=tuple((f"prodguard.profile.{key}", path) for key, path in result.files.items()),
    )
