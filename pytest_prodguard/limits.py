"""The documented range of every number a user gives prodguard, and the one check for it.

One rule everywhere: a number must be finite and inside its range; where the cost
of a run grows with the value (runs, sampling time, profiling window, memory) the
range has an upper bound. A value outside is a
:class:`~pytest_prodguard.errors.ProdguardUsageError` naming the field, the value
and the range. The README's "Limits and ranges" table lists these same values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pytest_prodguard.errors import ProdguardUsageError


@dataclass(frozen=True)
class Limit:
    """A range from ``low`` to ``high`` (either end excluded when open) with its wording."""

    low: float
    high: float
    accepted: str  # what the error says is accepted, range included
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def contains(self, number: float) -> bool:
        """True when ``number`` is finite and in range (an int of any size compares exactly)."""
        if isinstance(number, float) and not math.isfinite(number):
            return False
        above = number > self.low if self.low_open else number >= self.low
        below = number < self.high if self.high_open else number <= self.high
        return above and below

    def check(self, field: str, value: object, *, source: str = "") -> float:
        """Return ``value`` if it is a number (a whole one when ``integer``) inside the range.

        Booleans, text and non-finite numbers are refused like out-of-range ones.
        """
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (self.integer and not isinstance(value, int))
            or not self.contains(value)
        ):
            raise ProdguardUsageError(field, value, self.accepted, source=source)
        return value


#: Fallbacks for a numeric option without a range of its own.
POSITIVE_FLOAT = Limit(0, math.inf, "a positive number", low_open=True)
POSITIVE_INT = Limit(1, math.inf, "a whole number >= 1", integer=True)
#: ``incident_repro(runs=)`` and the run count ``repro_rate=`` computes.
MAX_RUNS = 10_000
RUNS = Limit(1, MAX_RUNS, f"a whole number >= 1 and at most {MAX_RUNS}", integer=True)
#: A probability strictly between 0 and 1 (``repro_rate=``, the repro ``confidence=``).
OPEN_UNIT = Limit(
    0, 1, "a number strictly between 0 and 1, e.g. 0.1", low_open=True, high_open=True
)
#: Every duration budget (``p95=`` ...): above 0, at most one day.
MAX_DURATION_SECONDS = 86_400.0
DURATION = Limit(0, MAX_DURATION_SECONDS, "above 0 and at most 1 day (86400 s)", low_open=True)
#: ``latency_budget(max_time=)``: the longest a test may sample.
MAX_SAMPLING_SECONDS = 600.0
MAX_TIME = Limit(0, MAX_SAMPLING_SECONDS, "above 0 and at most 10 minutes (600 s)", low_open=True)
#: ``--prodguard-profile-seconds`` and a profile window: at most one minute.
MAX_PROFILE_SECONDS = 60.0
PROFILE_SECONDS = Limit(
    0, MAX_PROFILE_SECONDS, "above 0 and at most 1 minute (60 s)", low_open=True
)
#: ``--prodguard-profile-top``: hottest frames listed in a failure message.
PROFILE_TOP = Limit(1, 100, "a whole number of frames from 1 to 100", integer=True)
#: Memory budgets (``peak_memory=``): 1 byte to 1 PB.
MAX_MEMORY_BYTES = 10**15
MEMORY = Limit(1, MAX_MEMORY_BYTES, "at least 1 byte and at most 1 PB (10**15 bytes)")
#: ``--prodguard-latency-scale``: the factor every duration budget is multiplied by.
LATENCY_SCALE = Limit(0.001, 1000, "a positive finite number from 0.001 to 1000, such as 1.5")
#: ``latency_budget(warmup=)``: unmeasured calls before sampling.
MAX_WARMUP = 100_000
WARMUP = Limit(
    0,
    MAX_WARMUP,
    f"a whole number of calls from 0 to {MAX_WARMUP}, or None for automatic",
    integer=True,
)
#: ``profile_on_failure``: the most times a failing body is re-run inside its profile window.
#: Its side effects repeat with each run (a 2 s window ran a fast body 112,446 times); 1000
#: runs of a 0.2 ms body still give the 100 Hz sampler about 20 stacks to rank.
MAX_PROFILE_RERUNS = 1000
