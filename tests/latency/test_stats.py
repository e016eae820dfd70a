"""The dependency-free statistics, checked against scipy and by simulation."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from scipy import stats as scipy_stats

from pytest_prodguard.latency.sequential import (
    allocate_alpha,
    lower_bound_feasible,
    plan_looks,
    upper_bound_feasible,
)
from pytest_prodguard.latency.stats import (
    binom_cdf,
    binom_sf,
    lower_order_index,
    mean_bounds,
    min_samples_for_upper_bound,
    quantile_bounds,
    sample_quantile,
    spending_weights,
    student_t_quantile,
    upper_order_index,
)


def _binomial_cases() -> list[tuple[int, int, float]]:
    rng = random.Random(7)
    cases = []
    for n in (1, 2, 10, 72, 500, 5000, 100_000):
        for _ in range(12):
            cases.append(
                (rng.randint(-1, n + 1), n, rng.choice([0.01, 0.05, 0.5, 0.95, 0.99, rng.random()]))
            )
    return cases


@pytest.mark.parametrize(("k", "n", "p"), _binomial_cases())
def test_binomial_tails_match_scipy(k: int, n: int, p: float) -> None:
    assert binom_cdf(k, n, p) == pytest.approx(scipy_stats.binom.cdf(k, n, p), rel=1e-8, abs=1e-300)
    expected_sf = scipy_stats.binom.sf(k - 1, n, p)
    assert binom_sf(k, n, p) == pytest.approx(expected_sf, rel=1e-8, abs=1e-300)


def test_binomial_edge_probabilities() -> None:
    assert binom_cdf(3, 10, 0.0) == 1.0
    assert binom_cdf(3, 10, 1.0) == 0.0
    assert binom_sf(3, 10, 0.0) == 0.0
    assert binom_sf(3, 10, 1.0) == 1.0
    assert binom_sf(0, 10, 0.3) == 1.0
    assert binom_sf(11, 10, 0.3) == 0.0


@pytest.mark.parametrize("n", [5, 20, 72, 100, 1000])
@pytest.mark.parametrize("q", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("alpha", [0.001, 0.025])
def test_order_indices_are_the_exact_extreme_choices(n: int, q: float, alpha: float) -> None:
    r = lower_order_index(n, q, alpha)
    if r is None:
        assert scipy_stats.binom.cdf(0, n, q) > alpha
    else:
        assert scipy_stats.binom.cdf(r - 1, n, q) <= alpha * (1 + 1e-9)
        assert r == n or scipy_stats.binom.cdf(r, n, q) > alpha
    s = upper_order_index(n, q, alpha)
    if s is None:
        assert scipy_stats.binom.sf(n - 1, n, q) > alpha
    else:
        assert scipy_stats.binom.sf(s - 1, n, q) <= alpha * (1 + 1e-9)
        assert s == 1 or scipy_stats.binom.sf(s - 2, n, q) > alpha


def test_quantile_bounds_cover_the_true_quantile_by_simulation() -> None:
    # Exponential samples, true p95 = ln(20). Each bound may miss with probability <= 2.5%;
    # over 2000 seeded repetitions a miss count above 70 would have probability < 0.1% if the
    # miss rate were 2.5% (binomial(2000, 0.025): mean 50, sd 7, 99.9% quantile 72).
    rng = random.Random(11)
    truth = math.log(20.0)
    misses_low = misses_high = 0
    for _ in range(2000):
        ordered = sorted(rng.expovariate(1.0) for _ in range(120))
        low, high = quantile_bounds(ordered, 0.95, 0.025, 0.025)
        misses_low += low > truth
        misses_high += high < truth
    assert misses_low <= 72
    assert misses_high <= 72


def test_quantile_bounds_infinite_when_too_few_samples() -> None:
    low, high = quantile_bounds([1.0, 2.0, 3.0], 0.95, 0.025, 0.025)
    assert high == math.inf
    assert low == 2.0  # P(Binomial(3, 0.95) <= 1) = 0.0073 <= 0.025
    assert quantile_bounds([1.0], 0.5, 0.0, 0.0) == (-math.inf, math.inf)


def test_min_samples_for_upper_bound_is_72_for_p95() -> None:
    assert min_samples_for_upper_bound(0.95, 0.025) == 72
    assert upper_order_index(71, 0.95, 0.025) is None
    assert upper_order_index(72, 0.95, 0.025) == 72


def test_sample_quantile_matches_numpy_linear() -> None:
    numpy = pytest.importorskip("numpy")
    rng = random.Random(3)
    values = sorted(rng.random() for _ in range(37))
    for q in (0.0, 0.1, 0.5, 0.95, 1.0):
        assert sample_quantile(values, q) == pytest.approx(float(numpy.quantile(values, q)))
    assert math.isnan(sample_quantile([], 0.5))


@pytest.mark.parametrize("dof", [1, 2.5, 4, 30, 300])
@pytest.mark.parametrize("p", [0.6, 0.975, 0.999, 0.01])
def test_student_t_quantile_matches_scipy(dof: float, p: float) -> None:
    assert student_t_quantile(p, dof) == pytest.approx(scipy_stats.t.ppf(p, dof), rel=1e-8)
    assert student_t_quantile(0.5, dof) == 0.0


def test_mean_bounds_match_scipy_t_interval() -> None:
    values = [1.0, 2.0, 4.0, 3.5, 2.5, 3.0]
    low, high = mean_bounds(values, 0.025, 0.025)
    expected = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=sum(values) / 6, scale=scipy_stats.sem(values)
    )
    assert (low, high) == pytest.approx(expected)
    assert mean_bounds([1.0], 0.025, 0.025) == (-math.inf, math.inf)


@pytest.mark.parametrize("count", [1, 2, 5, 17])
def test_spending_weights_sum_to_one_and_decrease_before_the_last(count: int) -> None:
    weights = spending_weights(count)
    assert math.fsum(weights) == pytest.approx(1.0)
    assert all(a > b for a, b in itertools.pairwise(weights[:-1]))
    assert spending_weights(0) == []


def test_plan_looks_is_geometric_and_ends_at_the_maximum() -> None:
    assert plan_looks(5) == (5,)
    assert plan_looks(10) == (10,)
    assert plan_looks(90) == (10, 20, 40, 90)
    assert plan_looks(95) == (10, 20, 40, 95)
    assert plan_looks(1000) == (10, 20, 40, 80, 160, 320, 640, 1000)
    assert plan_looks(0) == (1,)


def test_allocate_alpha_skips_looks_that_cannot_decide_and_never_exceeds_alpha() -> None:
    sizes = plan_looks(200)
    shares = allocate_alpha(sizes, 0.025, upper_bound_feasible(0.95))
    assert math.fsum(shares) == pytest.approx(0.025)
    for size, share in zip(sizes, shares, strict=True):
        if share > 0:
            assert 0.95**size <= share
    assert shares[:4] == [0.0, 0.0, 0.0, 0.0]  # 10..80 samples cannot bound a p95 from above
    fail_shares = allocate_alpha(sizes, 0.025, lower_bound_feasible(0.95))
    assert fail_shares[0] == pytest.approx(
        0.0125
    )  # the first look gets half: gross violations fail fast
    assert allocate_alpha((10,), 0.025, upper_bound_feasible(0.99)) == [0.0]
