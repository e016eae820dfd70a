"""A synthetic, seeded sample stream with a fake clock, for testing the decision logic.

:class:`SyntheticSource` satisfies the sampler's Source protocol without
running any code: each round draws a per-call time from a distribution and
advances a fake clock by it, so a whole adaptive measurement (looks, stopping,
time limit) is exact and reproducible. The test-suite and the benchmark's
"statistics only" rows use it to check the documented error rates by
simulation; :func:`lognormal` and :func:`with_outliers` build typical latency
shapes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from pytest_prodguard.latency.timing import ReferenceRound, Round, WarmUp

Draw = Callable[[random.Random], float]


def lognormal(median: float, sigma: float, *, scale: float = 1.0) -> Draw:
    """Per-call times ``scale * median * exp(sigma * Z)``."""
    return lambda rng: scale * median * math.exp(sigma * rng.gauss(0.0, 1.0))


def with_outliers(base: Draw, share: float, factor: float) -> Draw:
    """``base``, except that a ``share`` of calls take ``factor`` times longer (interrupts, GC)."""
    return lambda rng: base(rng) * (factor if rng.random() < share else 1.0)


def bursts(every: float, length: float, factor: float) -> Callable[[float], float]:
    """A machine ``factor`` times slower for ``length`` seconds of every ``every``, from t=0."""
    return lambda t: factor if t % every < length else 1.0


def lognormal_quantile(median: float, sigma: float, q: float) -> float:
    """Exact q-quantile of :func:`lognormal` (scale 1)."""
    from statistics import NormalDist

    return median * math.exp(sigma * NormalDist().inv_cdf(q))


class SyntheticSource:
    """Seeded draws and a fake clock; the reference drifts with ``process_speed``.

    ``process_speed`` multiplies both target and reference times, modelling a
    whole process that runs in a slow or fast mode; ``target_drift`` multiplies
    the target alone (the part of a process-level shift that the reference does
    not track); ``reference_median`` is the median of each reference component.
    ``tracking`` is how far the target follows the process speed: the target is
    multiplied by ``process_speed ** tracking`` (1: exactly like the reference;
    0.5: numpy-like code that slows half as much in log terms). ``native_drift``
    multiplies the reference's native component alone: a process-level shift of
    one kind of work that neither the target nor the other component shares.
    ``machine(t)`` is how much slower the whole machine (target and reference
    alike) runs at fake time ``t``: bursts of a busy host (:func:`bursts`).
    """

    timer = "synthetic"
    cpu_wait_available = False

    def __init__(
        self,
        draw: Draw,
        *,
        seed: int,
        process_speed: float = 1.0,
        target_drift: float = 1.0,
        reference_median: float = 30e-6,
        reference_sigma: float = 0.05,
        tracking: float = 1.0,
        native_drift: float = 1.0,
        machine: Callable[[float], float] | None = None,
    ) -> None:
        self._draw = draw
        self._machine = machine or (lambda _t: 1.0)
        self._rng = random.Random(seed)
        self._speed = process_speed
        self._target_speed = process_speed**tracking * target_drift
        self._reference_median = reference_median
        self._reference_sigma = reference_sigma
        self._native_drift = native_drift
        self._clock = 0.0
        self.batch = 1

    def now(self) -> float:
        """The fake clock, in seconds."""
        return self._clock

    def warm_up(self, calls: int | None, min_seconds: float, max_seconds: float) -> WarmUp:
        """Draw warm-up calls like the real source (automatic: until ``min_seconds``)."""
        started = self._clock
        durations: list[float] = []
        while (calls is None and (not durations or self._clock - started < min_seconds)) or (
            calls is not None and len(durations) < calls
        ):
            value = self._machine(self._clock) * self._target_speed * self._draw(self._rng)
            self._clock += value
            durations.append(value)
            if calls is None and self._clock - started >= max_seconds:
                break
        if not durations:
            return WarmUp(0, 0.0, math.nan)
        typical = sorted(durations[1:] or durations)[len(durations[1:] or durations) // 2]
        return WarmUp(len(durations), self._clock - started, typical)

    def target(self) -> Round:
        """One synthetic round: a per-call time, with the clock advanced by it."""
        value = self._machine(self._clock) * self._target_speed * self._draw(self._rng)
        self._clock += value * self.batch
        return Round(value, value, 0.0)

    def reference(self) -> ReferenceRound:
        """One synthetic reference round (both components lognormal)."""
        machine = self._machine(self._clock)
        python = (
            machine
            * self._speed
            * self._reference_median
            * math.exp(self._reference_sigma * self._rng.gauss(0.0, 1.0))
        )
        native = (
            machine
            * self._speed
            * self._native_drift
            * self._reference_median
            * math.exp(self._reference_sigma * self._rng.gauss(0.0, 1.0))
        )
        self._clock += python + native
        return ReferenceRound(python, native)
