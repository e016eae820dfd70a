"""Calls per measured call of each function, counted exactly (not sampled) with cProfile.

A stack sampler sees where time goes, not how often a function runs: after a
uniform 2x slowdown whose cause was each text being scored twice, the sampled
shares did not move, while the call count named it at once ("polarity_scores
32 -> 64 calls per measured call"). :func:`count_calls` runs the callable a few
times under cProfile (after the sampling window, so its overhead never reaches
the samples) and divides each function's call count by the number of runs;
:func:`changed_calls` compares two such counts.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_prodguard.files import atomic_write_text

#: At most this many measured calls are counted, and none starts after this many seconds.
COUNT_CALLS = 3
COUNT_SECONDS = 0.3
#: A function is listed when its calls per measured call changed by at least this factor.
MIN_CHANGE = 1.1
CHANGE_ROWS = 5


@dataclass(frozen=True)
class CallChange:
    """A function called a different number of times per measured call than in the baseline."""

    function: str
    before: float
    after: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return {"function": self.function, "before": self.before, "after": self.after}


def count_calls(
    fn: Callable[[], object],
    *,
    stops: Callable[[BaseException], bool] = lambda exc: isinstance(exc, KeyboardInterrupt),
    calls: int = COUNT_CALLS,
    seconds: float = COUNT_SECONDS,
) -> dict[str, float]:
    """Calls per run of ``fn`` of every function it called, keyed ``name (file)``.

    ``fn`` runs at least once and at most ``calls`` times (no new run after
    ``seconds``); its exceptions are ignored unless ``stops(exc)`` says they
    stop the run (a timeout, Ctrl-C), which propagate. Builtins are keyed by
    cProfile's ``<built-in method ...>`` label. Empty when cProfile cannot run
    (another profiler holds the interpreter's profiling hook).
    """
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    try:
        profiler.enable()
    except ValueError:  # Python 3.12+: another profiler is active
        return {}
    runs = 0
    started = time.perf_counter()
    try:
        while runs == 0 or (runs < calls and time.perf_counter() - started < seconds):
            runs += 1
            try:
                fn()
            except BaseException as exc:
                if stops(exc):
                    raise
    finally:
        profiler.disable()
    counts: dict[str, float] = {}
    for (file, _, name), (_, total, *_) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        if "_lsprof.Profiler" in name:
            continue  # the profiler's own disable()
        key = name if file == "~" else f"{name} ({Path(file).name})"
        counts[key] = counts.get(key, 0.0) + total / runs
    return counts


def changed_calls(
    now: Mapping[str, float], before: Mapping[str, float], *, top: int = CHANGE_ROWS
) -> list[CallChange]:
    """Functions whose calls per measured call changed by ``MIN_CHANGE`` or more, largest first.

    Counts are exact, so there is no sampling noise to allow for; the factor
    leaves out functions whose count varies a little with the input. Functions
    that appeared or disappeared count as changes from or to zero.
    """
    changes = []
    for function in set(now) | set(before):
        after, old = now.get(function, 0.0), before.get(function, 0.0)
        if max(after, old) < 1:
            continue
        if old == 0 or after == 0 or max(after / old, old / after) >= MIN_CHANGE:
            changes.append(CallChange(function, old, after))

    def size(change: CallChange) -> tuple[float, float, str]:
        ratio = math.log((change.after + 1) / (change.before + 1))
        return (-abs(ratio), -abs(change.after - change.before), change.function)

    return sorted(changes, key=size)[:top]


def calls_path(stacks_path: Path) -> Path:
    """Where the call counts saved beside a baseline profile's stacks live."""
    return Path(stacks_path).with_suffix(".calls.json")


def save_counts(path: Path, counts: Mapping[str, float]) -> None:
    """Write call counts (atomically)."""
    atomic_write_text(path, json.dumps(dict(counts), indent=1, sort_keys=True) + "\n")


def load_counts(path: Path) -> dict[str, float] | None:
    """Saved call counts, or None when there are none (or they cannot be read)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    return {
        str(key): float(value)
        for key, value in data.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }
