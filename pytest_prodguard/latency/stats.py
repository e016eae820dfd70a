"""Exact, dependency-free statistics for the latency gate.

Everything here is plain Python (``math`` only) so that the decision logic can
run inside the measured process without importing scipy:

- the binomial distribution through the regularised incomplete beta function
  (continued fraction, accurate to about 1e-13 for any ``n``);
- distribution-free confidence bounds for a quantile from order statistics;
- Student-t quantiles (for the ``mean`` budget, the one budget that is not
  distribution-free);
- the alpha-spending weights that keep repeated looks at a growing sample
  honest.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from statistics import NormalDist

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITERATIONS = 10_000


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the continued fraction of I_x(a, b)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_ITERATIONS):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            delta = c * d
            result *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """Return the regularised incomplete beta function I_x(a, b) for a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def binom_cdf(k: int, n: int, p: float) -> float:
    """Return P(X <= k) for X ~ Binomial(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 0.0
    return regularized_beta(n - k, k + 1, 1.0 - p)


def binom_sf(k: int, n: int, p: float) -> float:
    """Return P(X >= k) for X ~ Binomial(n, p), accurate far into the tail."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return regularized_beta(k, n - k + 1, p)


def _normal_guess(n: int, q: float, alpha: float, sign: float) -> int:
    """Normal-approximation starting point for the order-index searches."""
    z = normal_quantile(1.0 - alpha) if 0.0 < alpha < 1.0 else 0.0
    return round(n * q + sign * z * math.sqrt(n * q * (1.0 - q)))


@lru_cache(maxsize=8192)
def lower_order_index(n: int, q: float, alpha: float) -> int | None:
    """Return the largest r (1-based) with P(X_(r) > quantile_q) <= alpha, or None.

    ``X_(r) > quantile_q`` means fewer than r of the n samples are at or below
    the q-quantile, and that count is Binomial(n, >= q); so the r-th order
    statistic is a lower confidence bound of level 1 - alpha for *any*
    distribution, continuous or not.
    """
    if n <= 0 or binom_cdf(0, n, q) > alpha:
        return None

    def ok(r: int) -> bool:
        return binom_cdf(r - 1, n, q) <= alpha

    r = min(n, max(1, _normal_guess(n, q, alpha, -1.0)))
    while r > 1 and not ok(r):
        r -= 1
    while r < n and ok(r + 1):
        r += 1
    return r


@lru_cache(maxsize=8192)
def upper_order_index(n: int, q: float, alpha: float) -> int | None:
    """Return the smallest s (1-based) with P(X_(s) < quantile_q) <= alpha, or None.

    ``X_(s) < quantile_q`` needs at least s samples strictly below the
    quantile, a Binomial(n, <= q) count; so the s-th order statistic is an upper
    confidence bound of level 1 - alpha for any distribution.
    """
    if n <= 0 or binom_sf(n, n, q) > alpha:
        return None

    def ok(s: int) -> bool:
        return binom_sf(s, n, q) <= alpha

    s = min(n, max(1, _normal_guess(n, q, alpha, 1.0) + 1))
    while s < n and not ok(s):
        s += 1
    while s > 1 and ok(s - 1):
        s -= 1
    return s


def quantile_bounds(
    ordered: Sequence[float], q: float, alpha_low: float, alpha_high: float
) -> tuple[float, float]:
    """Distribution-free bounds (lo, hi) of the q-quantile from sorted samples.

    ``lo`` is below the true quantile with probability >= 1 - alpha_low and
    ``hi`` above it with probability >= 1 - alpha_high. A bound that the sample
    is too small to give is returned as -inf / +inf.
    """
    n = len(ordered)
    r = lower_order_index(n, q, alpha_low) if alpha_low > 0 else None
    s = upper_order_index(n, q, alpha_high) if alpha_high > 0 else None
    low = ordered[r - 1] if r is not None else -math.inf
    high = ordered[s - 1] if s is not None else math.inf
    return low, high


def min_samples_for_upper_bound(q: float, alpha: float) -> int:
    """Fewest samples for which any upper bound of the q-quantile exists at level alpha.

    The widest upper bound is the maximum, and P(max < quantile_q) <= q**n, so it
    exists once q**n <= alpha (72 samples for p95 at alpha 0.025).
    """
    return max(1, math.ceil(math.log(alpha) / math.log(q)))


def sample_quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolation sample quantile (numpy's default) of sorted samples."""
    n = len(ordered)
    if n == 0:
        return math.nan
    position = q * (n - 1)
    below = math.floor(position)
    above = min(below + 1, n - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction


def normal_quantile(p: float) -> float:
    """Return the standard normal quantile."""
    return NormalDist().inv_cdf(p)


def student_t_cdf(t: float, dof: float) -> float:
    """Return P(T <= t) for Student's t with ``dof`` degrees of freedom."""
    tail = 0.5 * regularized_beta(dof / 2.0, 0.5, dof / (dof + t * t))
    return 1.0 - tail if t > 0 else tail


def _student_t_density(t: float, dof: float) -> float:
    log_density = (
        math.lgamma((dof + 1) / 2)
        - math.lgamma(dof / 2)
        - 0.5 * math.log(dof * math.pi)
        - (dof + 1) / 2 * math.log1p(t * t / dof)
    )
    return math.exp(log_density)


@lru_cache(maxsize=4096)
def student_t_quantile(p: float, dof: float) -> float:
    """Return the p-quantile of Student's t (Newton steps on the exact CDF, bisection fallback)."""
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -student_t_quantile(1.0 - p, dof)
    low, high = 0.0, max(1.0, normal_quantile(p))
    while student_t_cdf(high, dof) < p:
        high *= 2.0
    t = min(high, max(low, normal_quantile(p)))
    for _ in range(100):
        error = student_t_cdf(t, dof) - p
        if error < 0:
            low = t
        else:
            high = t
        if abs(error) < 1e-14:
            return t
        step = error / _student_t_density(t, dof)
        candidate = t - step
        t = candidate if low < candidate < high else 0.5 * (low + high)
        if high - low < 1e-13 * max(1.0, high):
            break
    return t


def mean_bounds(
    values: Sequence[float], alpha_low: float, alpha_high: float
) -> tuple[float, float]:
    """Student-t bounds of the mean; approximate (CLT), unlike the quantile bounds.

    A side with no error to spend (alpha 0) has no bound: it is infinite.
    """
    n = len(values)
    if n < 2:
        return -math.inf, math.inf
    mean = math.fsum(values) / n
    variance = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    standard_error = math.sqrt(variance / n)
    low, high = -math.inf, math.inf
    if alpha_low > 0:
        low = mean - student_t_quantile(1.0 - alpha_low, n - 1) * standard_error
    if alpha_high > 0:
        high = mean + student_t_quantile(1.0 - alpha_high, n - 1) * standard_error
    return low, high


def spending_weights(count: int) -> list[float]:
    """Alpha-spending weights for ``count`` looks: 1/2, 1/6, 1/12, ..., last 1/count.

    The i-th look gets 1/((i+1)(i+2)) and the last one the remainder 1/count, so the
    weights sum to exactly 1 and the union bound keeps the overall error at alpha
    however many looks are actually taken. Early looks get most of the error
    budget because a gross violation should be caught on the first 10 samples.
    """
    if count <= 0:
        return []
    weights = [1.0 / ((i + 1) * (i + 2)) for i in range(count - 1)]
    weights.append(1.0 / count)
    return weights
