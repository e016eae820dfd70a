"""Exact tests behind the canary verdict: error counts and latency percentiles.

Error counts (conditional binomial)
    Given ``k`` errors in both arms of an interval, with the canary serving a
    share ``s`` of the requests, the canary's errors are Binomial(k, s) when its
    error rate equals the baseline's (errors as Poisson counts; with
    per-request errors the count is hypergeometric, less spread out, so the
    test stays conservative). A rate ratio ``r`` makes the canary's share of
    the errors ``r s / (r s + 1 - s)``. This needs no baseline errors at all:
    0 against 8 at equal traffic is ``p = 0.5**8``. The fixed-horizon p-value
    equals ``scipy.stats.binomtest(x, k, s, alternative="greater")``.

Always valid over intervals
    Each interval contributes a likelihood ratio of "ratio r" against "ratio
    1"; their product, averaged over a grid of ratios around the effect the
    rollout must detect, is a nonnegative supermartingale when the canary is
    no worse. By Ville's inequality the chance that it ever reaches ``1 /
    alpha``, at any interval, is at most alpha, so evaluating after every
    interval does not inflate false rollbacks. This is exact for small counts,
    where the A/B package's normal-approximation mSPRT is not (mostly-zero
    error counters are the case that matters). The same machinery checks an
    absolute SLO on the canary's own requests.

Latency percentiles (distribution-free)
    The canary's q-quantile is shown above the baseline's when, for some
    threshold t, few enough canary values are <= t (Binomial(n, >= q) if the
    canary quantile were <= t) *and* enough baseline values are < t. The
    p-value ``2 min_t max(p_canary(t), p_baseline(t))`` is valid for any
    distribution (each t has one true hypothesis, and the two sides are
    monotone in t). Repeated looks spend alpha as 1/2, 1/6, 1/12, ... of it
    (``look_weight``), which sums to at most 1 however many looks are taken.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import special
from scipy import stats as scipy_stats

from pytest_prodguard.canary.distributions import Counts

#: The near grid is effect**(1/4), effect**(2/4), ..., effect**(NEAR_STEPS/4). Reaching
#: below the effect matters: a real 2x shows up as 1.4x about one time in 20 at 6,000
#: requests per arm. Simulated 1% -> 2% at 6,000/arm (10 intervals, 2,000 runs) flagged at
#: alpha 0.05: this grid 97.6%; effect**(j/2), j=1..6: 95.1%; effect alone: 96.6%.
NEAR_STEPS = 5
#: Far ratios effect**2, **3, **4 carry FAR_WEIGHT of the mixture, so that a zero baseline
#: against a burst of canary errors (0 vs 12: fixed-horizon p = 0.5**12) is not capped by
#: the near grid's largest ratio.
FAR_POWERS = (2, 3, 4)
FAR_WEIGHT = 0.2


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k), X ~ Binomial(n, p).

    scipy's C routine rather than :func:`pytest_prodguard.latency.stats.binom_cdf`, which
    is pure Python so that the latency gate runs without scipy: a ten-metric verdict makes
    thousands of these calls, and the continued fraction took 80% of its time.
    """
    if k < 0:
        return 0.0
    return 1.0 if k >= n else float(special.bdtr(k, n, p))


def binom_sf(k: int, n: int, p: float) -> float:
    """P(X >= k), X ~ Binomial(n, p)."""
    if k <= 0:
        return 1.0
    return 0.0 if k > n else float(special.bdtrc(k - 1, n, p))


def ratio_grid(effect: float) -> tuple[tuple[float, float], ...]:
    """``(rate ratio, weight)`` pairs the always-valid test mixes over; weights sum to 1."""
    near = [
        (effect ** (step / 4), (1 - FAR_WEIGHT) / NEAR_STEPS) for step in range(1, NEAR_STEPS + 1)
    ]
    far = [(effect**power, FAR_WEIGHT / len(FAR_POWERS)) for power in FAR_POWERS]
    return tuple(near + far)


def odds_shifted(share: float, ratio: float) -> float:
    """The share ``share`` becomes under a rate (odds) ratio ``ratio``."""
    return ratio * share / (ratio * share + 1.0 - share)


def count_p_value(hits: int, trials: int, share: float) -> float:
    """One-sided exact P(X >= hits), X ~ Binomial(trials, share)."""
    return binom_sf(hits, trials, share)


def rate_ratio_interval(hits: int, trials: int, share: float, alpha: float) -> tuple[float, float]:
    """Clopper-Pearson interval of the canary's error share, as a rate ratio."""
    if trials == 0:
        return 0.0, math.inf
    low = float(scipy_stats.beta.ppf(alpha / 2, hits, trials - hits + 1)) if hits > 0 else 0.0
    high = (
        float(scipy_stats.beta.ppf(1 - alpha / 2, hits + 1, trials - hits))
        if hits < trials
        else 1.0
    )
    return _share_to_ratio(low, share), _share_to_ratio(high, share)


def _share_to_ratio(value: float, share: float) -> float:
    if value >= 1.0:
        return math.inf
    return value / (1.0 - value) * (1.0 - share) / share


def _log_lr(hits: int, trials: int, share: float, alternative: float) -> float:
    """log of P(hits | alternative share) / P(hits | share) for a binomial count."""
    if trials == 0 or not 0.0 < share < 1.0:
        return 0.0  # an interval where one arm served nothing says nothing about the ratio
    return hits * math.log(alternative / share) + (trials - hits) * math.log1p(
        -(alternative - share) / (1.0 - share)
    )


def _log_weighted_sum(values: Sequence[float], weights: Sequence[float]) -> float:
    top = max(values)
    return top + math.log(
        math.fsum(w * math.exp(v - top) for v, w in zip(values, weights, strict=True))
    )


def always_valid_count_p_values(
    looks: Sequence[tuple[int, int, float]], grid: Sequence[tuple[float, float]]
) -> list[float]:
    """Always-valid one-sided p-value after each look of ``(hits, trials, share)`` increments.

    Each look adds an interval's counts (not cumulative totals); the p-value at
    look t is ``min(1, 1 / max_{i<=t} M_i)`` with ``M`` the mixture likelihood
    ratio over ``grid`` (:func:`ratio_grid`).
    """
    ratios = [ratio for ratio, _ in grid]
    weights = [weight for _, weight in grid]
    sums = [0.0] * len(ratios)
    best, p_values = 0.0, []
    for hits, trials, share in looks:
        for index, ratio in enumerate(ratios):
            sums[index] += _log_lr(hits, trials, share, odds_shifted(share, ratio))
        best = max(best, _log_weighted_sum(sums, weights))
        p_values.append(min(1.0, math.exp(-best)))
    return p_values


def errors_needed(share: float, effect: float, level: float, power: float) -> int:
    """Total errors (both arms) at which a rate ratio ``effect`` is flagged with ``power``.

    One look at the mixture test of :func:`always_valid_count_p_values` at
    significance ``level``, with the canary serving ``share`` of the requests.
    """
    grid = ratio_grid(effect)
    alternative = odds_shifted(share, effect)

    def achieved(total: int) -> float:
        critical = _critical_hits(total, share, grid, level)
        return 0.0 if critical is None else binom_sf(critical, total, alternative)

    high = 8
    while achieved(high) < power:
        high *= 2
        if high > 10_000_000:
            return high
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if achieved(middle) < power else (low, middle)
    return high


def _critical_hits(
    total: int, share: float, grid: Sequence[tuple[float, float]], level: float
) -> int | None:
    """Fewest canary errors out of ``total`` that the mixture test flags at ``level``."""

    def flagged(hits: int) -> bool:
        return always_valid_count_p_values([(hits, total, share)], grid)[0] <= level

    if not flagged(total):
        return None
    low, high = -1, total  # flagged(high) holds; the test is monotone in hits
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if flagged(middle) else (middle, high)
    return high


def look_weight(look: int) -> float:
    """Share of alpha the ``look``-th (0-based) latency look may spend: 1/((i+1)(i+2))."""
    return 1.0 / ((look + 1) * (look + 2))


def spent_p_value(p_values: Sequence[float]) -> float:
    """One p-value valid over all looks: the smallest ``p / look_weight(look)``, at most 1."""
    return min(1.0, min(p / look_weight(look) for look, p in enumerate(p_values)))


def quantile_shift_p_value(baseline: Counts, canary: Counts, q: float) -> float:
    """Distribution-free one-sided p-value that the canary's q-quantile exceeds the baseline's."""
    values = set(baseline.thresholds()) | set(canary.thresholds())
    # Just above each value, "< t" counts the value itself: seven canary 100s against
    # baseline 1s separate at t = 1+, not at any sample value.
    thresholds = sorted(values | {math.nextafter(value, math.inf) for value in values})
    if not thresholds or baseline.n == 0 or canary.n == 0:
        return 1.0

    def sides(t: float) -> tuple[float, float]:
        return (
            binom_cdf(canary.at_most(t), canary.n, q),
            binom_sf(baseline.below(t), baseline.n, q),
        )

    # p_canary grows with t and p_baseline shrinks: the best t is where they cross.
    low, high = 0, len(thresholds) - 1
    while low < high:
        middle = (low + high) // 2
        canary_side, baseline_side = sides(thresholds[middle])
        low, high = (middle + 1, high) if canary_side < baseline_side else (low, middle)
    candidates = [thresholds[i] for i in {max(0, low - 1), low}]
    return min(1.0, 2.0 * min(max(sides(t)) for t in candidates))


def quantile_above_p_value(canary: Counts, q: float, limit: float) -> float:
    """Distribution-free one-sided p-value that the canary's q-quantile exceeds ``limit``."""
    return binom_cdf(canary.at_most(limit), canary.n, q)
