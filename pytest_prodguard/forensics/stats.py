"""Exact binomial tails and the two tests triage runs (rate rise, concentration).

Plain ``math`` in log space, so the core needs neither numpy nor scipy; the tests
check these against scipy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

#: Terms below this fraction of the running sum end a tail sum.
_NEGLIGIBLE = 1e-17


def log_binomial_pmf(k: int, n: int, p: float) -> float:
    """log P(X = k) for X ~ Binomial(n, p), 0 < p < 1."""
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return log_comb + k * math.log(p) + (n - k) * math.log1p(-p)


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the exact one-sided upper tail."""
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    mode = math.floor((n + 1) * p)
    if k > mode:
        return min(1.0, _tail_sum(k, n, p, range(k, n + 1)))
    return max(0.0, 1.0 - _tail_sum(k - 1, n, p, range(k - 1, -1, -1)))


def _tail_sum(start: int, n: int, p: float, ks: range) -> float:
    """Sum pmf over ``ks`` (moving away from the mode), stopping once terms are negligible."""
    log_first = log_binomial_pmf(start, n, p)
    total = 0.0
    for k in ks:
        term = math.exp(log_binomial_pmf(k, n, p) - log_first)
        total += term
        if term < _NEGLIGIBLE * total:
            break
    return total * math.exp(log_first)


@dataclass(frozen=True)
class RateRise:
    """A group's errors piled up in one time window beyond its share of all records."""

    window_start: float
    window_end: float
    in_window: int
    total: int
    expected: float
    p_value: float  # Bonferroni-adjusted over the windows tried
    test: str = "exact binomial (errors in window | group total, share of records in window)"

    @property
    def ratio(self) -> float:
        """Observed over expected errors in the window."""
        return self.in_window / self.expected if self.expected else math.inf


def rate_rise(
    group_bins: Mapping[int, int], all_bins: Mapping[int, int], bin_seconds: float
) -> RateRise | None:
    """The window where a group's share of errors rose most, tested against all traffic.

    Under "no rise", each of the group's errors falls in a window with probability
    equal to that window's share of all records (the conditional test of two Poisson
    rates), so the count in a window is Binomial(group total, share).
    """
    total = sum(group_bins.values())
    records = sum(all_bins.values())
    if total < 2 or records == 0 or len(all_bins) < 2:
        return None
    best: RateRise | None = None
    for window, count in group_bins.items():
        share = all_bins.get(window, 0) / records
        p_value = binomial_sf(count, total, share) if share < 1 else 1.0
        if best is None or p_value < best.p_value:
            best = RateRise(
                window * bin_seconds,
                (window + 1) * bin_seconds,
                count,
                total,
                total * share,
                p_value,
            )
    if best is None:
        return None
    adjusted = min(1.0, best.p_value * len(all_bins))
    return RateRise(
        best.window_start, best.window_end, best.in_window, total, best.expected, adjusted
    )


@dataclass(frozen=True)
class Concentration:
    """A group's records concentrated on one value of a field (endpoint, user, host, ...)."""

    field: str
    value: str
    count: int
    total: int
    baseline_share: float
    p_value: float  # Bonferroni-adjusted over the values seen in the group
    test: str = "exact binomial (group records with the value | share among all records)"

    @property
    def share(self) -> float:
        """The group's share on this value."""
        return self.count / self.total


def concentration(
    field: str, group_counts: Mapping[str, int], all_counts: Mapping[str, int]
) -> Concentration | None:
    """The value of ``field`` most over-represented in a group, with its exact p-value."""
    total = sum(group_counts.values())
    records = sum(all_counts.values())
    if total < 2 or records == 0:
        return None
    value, count = max(group_counts.items(), key=lambda item: (item[1], item[0]))
    baseline = all_counts.get(value, 0) / records
    if baseline == 0 or baseline >= 1:
        return None
    p_value = min(1.0, binomial_sf(count, total, baseline) * len(group_counts))
    return Concentration(field, value, count, total, baseline, p_value)
