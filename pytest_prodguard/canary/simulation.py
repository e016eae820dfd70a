"""Seeded synthetic rollouts, for checking the verdict's error rates by simulation.

:func:`simulated_rollout` draws a baseline and a canary arm, interval by
interval, in the JSON form :func:`~pytest_prodguard.canary.canary_verdict`
reads. Error metrics are binomial counts at a given rate; latency metrics are
lognormal (:class:`LatencyShape`), optionally with a stretched upper tail so
that a percentile moves while the median stays put. The tests, the benchmark
(``benchmarks/canary_simulation.py``) and the example's data script use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Bucket edges (seconds) for simulated Prometheus histograms: 5 ms to 10 s, about 12% apart.
HISTOGRAM_EDGES = tuple(round(0.005 * 1.12**i, 6) for i in range(68))


@dataclass(frozen=True)
class LatencyShape:
    """Lognormal latency: ``median * exp(sigma * Z)``, the upper half raised to ``tail_power``.

    ``tail_power`` 1 is a plain lognormal; above 1 it stretches only the values
    above the median, so the median stays while the upper percentiles grow.
    """

    median: float = 0.05
    sigma: float = 0.5
    tail_power: float = 1.0

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray[Any, np.dtype[np.float64]]:
        """``size`` latencies."""
        z = rng.standard_normal(size)
        z = np.where(z > 0, z * self.tail_power, z)
        return np.asarray(self.median * np.exp(self.sigma * z), dtype=np.float64)

    def quantile(self, q: float) -> float:
        """The exact q-quantile."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(q)
        return self.median * math.exp(self.sigma * z * (self.tail_power if z > 0 else 1.0))

    def doubling_tail(self, q: float) -> LatencyShape:
        """The same shape with its q-quantile (q > 0.5) doubled and its median unchanged."""
        from statistics import NormalDist

        z = NormalDist().inv_cdf(q)
        return LatencyShape(self.median, self.sigma, 1.0 + math.log(2.0) / (self.sigma * z))


@dataclass(frozen=True)
class ArmSpec:
    """One arm's traffic: an error rate per error metric, a latency shape per latency metric."""

    error_rates: Mapping[str, float]
    latency: Mapping[str, LatencyShape]


def simulated_rollout(
    rng: np.random.Generator,
    baseline: ArmSpec,
    canary: ArmSpec,
    *,
    intervals: int,
    requests: int | Sequence[int],
    latency_samples: int = 200,
    histogram: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Baseline and canary arms of a rollout, per interval, in the verdict's JSON form.

    ``requests`` per arm per interval (one number, or one per interval for a
    ramp). Latency metrics get ``latency_samples`` values per interval, as raw
    samples or as cumulative histogram buckets (:data:`HISTOGRAM_EDGES`).
    """
    per_interval = [requests] * intervals if isinstance(requests, int) else list(requests)
    return (
        _arm(rng, baseline, per_interval, latency_samples, histogram),
        _arm(rng, canary, per_interval, latency_samples, histogram),
    )


def _arm(
    rng: np.random.Generator,
    spec: ArmSpec,
    requests: list[int],
    latency_samples: int,
    histogram: bool,
) -> dict[str, Any]:
    metrics: list[dict[str, Any]] = []
    for name, rate in spec.error_rates.items():
        errors = rng.binomial(requests, rate)
        metrics.append(
            {
                "name": name,
                "type": "errors",
                "requests": list(requests),
                "errors": [int(count) for count in errors],
            }
        )
    for name, shape in spec.latency.items():
        draws = [shape.draw(rng, latency_samples) for _ in requests]
        if histogram:
            metrics.append(
                {
                    "name": name,
                    "type": "latency",
                    "buckets": [histogram_buckets(values) for values in draws],
                }
            )
        else:
            metrics.append(
                {
                    "name": name,
                    "type": "latency",
                    "samples": [[float(v) for v in values] for values in draws],
                }
            )
    return {"metrics": metrics}


def histogram_buckets(values: np.ndarray[Any, np.dtype[np.float64]]) -> list[list[Any]]:
    """Cumulative ``[le, count]`` buckets of ``values`` over :data:`HISTOGRAM_EDGES` and +Inf."""
    ordered = np.sort(values)
    counts = np.searchsorted(ordered, HISTOGRAM_EDGES, side="right")
    buckets: list[list[Any]] = [
        [edge, int(count)] for edge, count in zip(HISTOGRAM_EDGES, counts, strict=True)
    ]
    buckets.append(["+Inf", len(values)])
    return buckets


PER_INTERVAL_KEYS = ("requests", "errors", "samples", "buckets", "values")


def interval_count(arm: Mapping[str, Any]) -> int:
    """How many intervals the arm's (simulated, per-interval) first metric holds."""
    metric = arm["metrics"][0]
    return len(next(metric[key] for key in PER_INTERVAL_KEYS if key in metric))


def first_intervals(arm: Mapping[str, Any], count: int) -> dict[str, Any]:
    """``arm`` (JSON form, per-interval lists) as it looked after its first ``count`` intervals."""
    metrics = [
        {key: value[:count] if key in PER_INTERVAL_KEYS else value for key, value in m.items()}
        for m in arm["metrics"]
    ]
    return {**arm, "metrics": metrics}
