"""One check per metric (and per latency percentile and SLO): numbers, p-value, power.

A :class:`Check` is built here before the family-wise correction; the verdict
(:mod:`pytest_prodguard.canary.verdict`) adjusts the p-values together and
decides each check's status. Gauges are judged against their limits and carry
no p-value (a reading is a measurement of the canary, not a sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.ab._format import count_text, percent
from pytest_prodguard.canary import stats
from pytest_prodguard.canary.data import ErrorCounts, Gauge, LatencyData
from pytest_prodguard.canary.distributions import Histogram, Samples, Scaled

#: Power at which "enough data" is judged: the configured effect is flagged 4 times in 5.
POWER = 0.8
#: The rule of three: with no errors in N requests, the rate is below 3/N at 95% confidence.
RULE_OF_THREE = 3.0


@dataclass(frozen=True)
class Check:
    """One judged line of a verdict, before its status is decided.

    ``p_value`` is always valid over the intervals seen (None for gauges);
    ``shortfall`` says how many more requests the check needs to detect the
    configured effect (None when it has enough).
    """

    name: str
    metric: str
    kind: str
    critical: bool
    baseline: str
    canary: str
    ratio: float
    interval: tuple[float, float]
    p_value: float | None
    threshold: str
    limit_broken: bool = False
    shortfall: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)


def error_rate_check(
    baseline: ErrorCounts,
    canary: ErrorCounts,
    *,
    effect: float,
    alpha: float,
    level: float,
    critical: bool,
) -> Check:
    """Canary error rate against the baseline's: exact conditional test, always valid."""
    n_b, n_c = sum(baseline.requests), sum(canary.requests)
    x_b, x_c = sum(baseline.errors), sum(canary.errors)
    looks = [
        (c_err, b_err + c_err, c_req / (b_req + c_req) if b_req + c_req else 0.0)
        for b_req, b_err, c_req, c_err in zip(
            baseline.requests, baseline.errors, canary.requests, canary.errors, strict=True
        )
    ]
    p_values = stats.always_valid_count_p_values(looks, stats.ratio_grid(effect))
    both_served = n_b > 0 and n_c > 0
    share = n_c / (n_b + n_c) if both_served else 0.5
    rate_b, rate_c = _rate(x_b, n_b), _rate(x_c, n_c)
    ratio = rate_c / rate_b if rate_b > 0 else (math.inf if rate_c > 0 else 1.0)
    if not both_served:
        ratio = math.nan  # an arm that served nothing has no rate to compare
    fixed = stats.count_p_value(x_c, x_b + x_c, share) if both_served else 1.0
    return Check(
        name=canary.name,
        metric=canary.name,
        kind="error rate",
        critical=critical,
        baseline=_rate_text(x_b, n_b),
        canary=_rate_text(x_c, n_c),
        ratio=ratio,
        interval=(
            stats.rate_ratio_interval(x_c, x_b + x_c, share, alpha)
            if both_served
            else (0.0, math.inf)
        ),
        p_value=p_values[-1] if both_served else 1.0,
        threshold=f"rate ratio <= 1 (effect to detect {effect:g}x)",
        shortfall=_error_shortfall(x_b + x_c, n_b + n_c, share, effect, level),
        numbers={
            "baseline_requests": n_b,
            "baseline_errors": x_b,
            "canary_requests": n_c,
            "canary_errors": x_c,
            "fixed_horizon_p_value": fixed,
            "p_values": p_values,
        },
    )


def error_slo_check(canary: ErrorCounts, *, slo: float, effect: float, critical: bool) -> Check:
    """Canary error rate against an absolute SLO (the baseline may be just as bad)."""
    n_c, x_c = sum(canary.requests), sum(canary.errors)
    looks = [(err, req, slo) for req, err in zip(canary.requests, canary.errors, strict=True)]
    p_values = stats.always_valid_count_p_values(looks, stats.ratio_grid(effect))
    rate = _rate(x_c, n_c)
    return Check(
        name=f"{canary.name} SLO",
        metric=canary.name,
        kind="slo",
        critical=critical,
        baseline="-",
        canary=_rate_text(x_c, n_c),
        ratio=rate / slo,
        interval=(math.nan, math.nan),
        p_value=p_values[-1],
        threshold=f"error rate <= {percent(slo)}",
        numbers={"slo": slo, "canary_requests": n_c, "canary_errors": x_c, "p_values": p_values},
    )


def latency_check(
    baseline: LatencyData,
    canary: LatencyData,
    q: float,
    *,
    effect: float,
    alpha: float,
    level: float,
    critical: bool,
) -> Check:
    """The canary's q-quantile against the baseline's: order-statistic test, spent over looks."""
    looks = canary.intervals
    p_value = stats.spent_p_value(
        [stats.quantile_shift_p_value(baseline.up_to(i), canary.up_to(i), q) for i in range(looks)]
    )
    pooled_b, pooled_c = baseline.up_to(looks - 1), canary.up_to(looks - 1)
    low_b, high_b = pooled_b.bounds(q, alpha / 4, alpha / 4)
    low_c, high_c = pooled_c.bounds(q, alpha / 4, alpha / 4)
    estimate_b, estimate_c = pooled_b.estimate(q), pooled_c.estimate(q)
    label = _percentile_label(q)
    return Check(
        name=f"{canary.name} {label}",
        metric=canary.name,
        kind="latency",
        critical=critical,
        baseline=_duration_text(estimate_b, pooled_b),
        canary=_duration_text(estimate_c, pooled_c),
        ratio=_ratio(estimate_c, estimate_b),
        interval=(_ratio(low_c, high_b), _ratio(high_c, low_b)),
        p_value=p_value,
        threshold=f"{label} ratio <= 1 (effect to detect {effect:g}x)",
        shortfall=_latency_shortfall(
            pooled_b, pooled_c.n, q, effect, level * stats.look_weight(looks - 1)
        ),
        numbers={
            "quantile": q,
            "baseline": estimate_b,
            "canary": estimate_c,
            "baseline_bounds": [low_b, high_b],
            "canary_bounds": [low_c, high_c],
            "baseline_n": pooled_b.n,
            "canary_n": pooled_c.n,
            "looks": looks,
        },
    )


def latency_slo_check(canary: LatencyData, q: float, *, slo: float, critical: bool) -> Check:
    """The canary's q-quantile against an absolute latency SLO."""
    looks = canary.intervals
    p_value = stats.spent_p_value(
        [stats.quantile_above_p_value(canary.up_to(i), q, slo) for i in range(looks)]
    )
    pooled = canary.up_to(looks - 1)
    estimate = pooled.estimate(q)
    label = _percentile_label(q)
    return Check(
        name=f"{canary.name} {label} SLO",
        metric=canary.name,
        kind="slo",
        critical=critical,
        baseline="-",
        canary=_duration_text(estimate, pooled),
        ratio=estimate / slo,
        interval=(math.nan, math.nan),
        p_value=p_value,
        threshold=f"{label} <= {slo:g}",
        numbers={"quantile": q, "slo": slo, "canary": estimate, "canary_n": pooled.n},
    )


def gauge_check(baseline: Gauge, canary: Gauge, *, critical: bool) -> Check:
    """A saturation or throughput reading against its limit (the canary's mean over the window)."""
    mean_b = math.fsum(baseline.values) / len(baseline.values)
    mean_c = math.fsum(canary.values) / len(canary.values)
    limit = canary.limit if canary.limit is not None else baseline.limit
    worst = max(canary.values) if canary.higher_is_worse else min(canary.values)
    if limit is None:
        broken, threshold = False, "no limit (reported only)"
    elif canary.higher_is_worse:
        broken, threshold = mean_c > limit, f"mean <= {limit:g}"
    else:
        broken, threshold = mean_c < limit, f"mean >= {limit:g}"
    return Check(
        name=canary.name,
        metric=canary.name,
        kind=canary.kind,
        critical=critical,
        baseline=f"{mean_b:.4g}",
        canary=f"{mean_c:.4g} ({'peak' if canary.higher_is_worse else 'low'} {worst:.4g})",
        ratio=_ratio(mean_c, mean_b),
        interval=(math.nan, math.nan),
        p_value=None,
        threshold=threshold,
        limit_broken=broken,
        numbers={"baseline_mean": mean_b, "canary_mean": mean_c, "worst": worst, "limit": limit},
    )


def _error_shortfall(
    errors: int, requests: int, share: float, effect: float, level: float
) -> str | None:
    needed = stats.errors_needed(share, effect, level, POWER)
    if errors >= needed:
        return None
    if errors > 0:
        more = math.ceil((needed - errors) * requests / errors)
        return (
            f"needs about {count_text(more)} more requests across both arms "
            f"({needed} errors in all, has {errors}) to detect a {effect:g}x error rate"
        )
    if requests == 0:
        return f"no requests yet: needs {needed} errors in all to detect a {effect:g}x error rate"
    more = math.ceil(needed * requests / RULE_OF_THREE - requests)
    return (
        f"no errors yet: needs {needed} errors in all to detect a {effect:g}x error rate, "
        f"at least {count_text(max(more, 1))} more requests across both arms"
    )


def _latency_shortfall(
    baseline: Samples | Histogram, canary_n: int, q: float, effect: float, level: float
) -> str | None:
    """Requests per arm at which a ``effect``-times slower percentile would be flagged.

    Judged at the expected counts (the baseline's shape, scaled), so about half
    of such rollouts would be flagged at exactly that size.
    """

    def detected(factor: float) -> bool:
        shifted = Scaled(baseline, effect, factor * canary_n / baseline.n)
        same = Scaled(baseline, 1.0, factor)
        return stats.quantile_shift_p_value(same, shifted, q) <= level

    if detected(1.0):
        return None
    high = 2.0
    while not detected(high):
        high *= 2
        if high > 2**24:
            return f"cannot detect a {effect:g}x {_percentile_label(q)} with these buckets"
    low = high / 2
    while high / low > 1.05:
        middle = math.sqrt(low * high)
        low, high = (low, middle) if detected(middle) else (middle, high)
    more = math.ceil((high - 1.0) * max(baseline.n, canary_n))
    return (
        f"needs about {count_text(more)} more requests per arm to detect a {effect:g}x "
        f"{_percentile_label(q)}"
    )


def _rate(errors: int, requests: int) -> float:
    return errors / requests if requests else 0.0


def _rate_text(errors: int, requests: int) -> str:
    return f"{count_text(errors)}/{count_text(requests)} = {percent(_rate(errors, requests))}"


def _duration_text(value: float, distribution: Samples | Histogram) -> str:
    return f"{value:.4g} (n={count_text(distribution.n)})"


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator`` for non-negative readings, with the limits spelled out."""
    if denominator == 0:
        return math.inf if numerator > 0 else math.nan
    if math.isinf(denominator):
        return 0.0 if math.isfinite(numerator) else math.nan
    return max(0.0, numerator / denominator)


def _percentile_label(q: float) -> str:
    return f"p{q * 100:g}"
