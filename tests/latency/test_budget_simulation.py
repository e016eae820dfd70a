"""The budget gate's error rates and speed, checked by simulation with a fake clock.

Every run draws per-call times from a known distribution (seeded), so the true
quantile is known exactly and the whole adaptive procedure (looks, alpha
spending, stopping, the time limit) is reproducible. Margins are binomial: a
rate that the docs guarantee to be <= p is asserted as "count <= the 99.9%
quantile of Binomial(runs, p)", so a correct gate fails the assertion with
probability below 0.1% (and, with fixed seeds, never flakes).
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
from scipy import stats as scipy_stats
from scipy.optimize import brentq

from pytest_prodguard.latency import judge, parse_latency_spec, sample
from pytest_prodguard.latency.simulation import (
    Draw,
    SyntheticSource,
    lognormal,
    lognormal_quantile,
    with_outliers,
)

CALL = 10e-3  # 10 ms synthetic calls: 100 samples per simulated second
ALPHA = 0.025  # one side of the default 95% confidence


def upper_margin(runs: int, rate: float) -> int:
    """Largest count consistent with a true rate <= ``rate`` (99.9% binomial quantile)."""
    return int(scipy_stats.binom.ppf(0.999, runs, rate))


def lower_margin(runs: int, rate: float) -> int:
    """Smallest count consistent with a true rate >= ``rate`` (0.1% binomial quantile)."""
    return int(scipy_stats.binom.ppf(0.001, runs, rate))


def run_gate(
    draw: Draw, kwargs: dict[str, object], runs: int, seed: int = 0
) -> tuple[Counter[str], list[int], list[float]]:
    spec = parse_latency_spec(kwargs)
    outcomes: Counter[str] = Counter()
    decided_at, elapsed = [], []
    for index in range(runs):
        measurement = sample(SyntheticSource(draw, seed=seed * 100_000 + index), spec)
        verdict = judge(measurement, spec)
        outcomes[verdict.status] += 1
        decided_at.append(verdict.checks[0].n)
        elapsed.append(measurement.elapsed)
    return outcomes, decided_at, elapsed


def test_p95_at_the_budget_fails_at_most_alpha() -> None:
    # True p95 exactly equal to the budget: every failure is a false failure.
    sigma, runs = 0.3, 3000
    budget = lognormal_quantile(CALL, sigma, 0.95)
    outcomes, _, _ = run_gate(lognormal(CALL, sigma), {"p95": budget, "max_time": 1.0}, runs)
    assert outcomes["fail"] <= upper_margin(runs, ALPHA)


def test_p95_just_over_the_budget_passes_at_most_alpha() -> None:
    # True p95 0.1% above the budget: every pass is a false pass.
    sigma, runs = 0.3, 1500
    budget = lognormal_quantile(CALL, sigma, 0.95) / 1.001
    outcomes, _, _ = run_gate(
        lognormal(CALL, sigma), {"p95": budget, "max_time": 3.0}, runs, seed=1
    )
    assert outcomes["pass"] <= upper_margin(runs, ALPHA)


def test_p50_at_the_budget_fails_at_most_alpha_even_with_heavy_outliers() -> None:
    sigma, runs = 0.2, 2000
    draw = with_outliers(lognormal(CALL, sigma), share=0.02, factor=20.0)

    def cdf_minus_half(m: float) -> float:
        # P(T <= m) for the mixture 98% lognormal(CALL) + 2% lognormal(20 CALL), minus 1/2
        normal = scipy_stats.norm.cdf
        return float(
            0.98 * normal(math.log(m / CALL) / sigma)
            + 0.02 * normal(math.log(m / (20 * CALL)) / sigma)
            - 0.5
        )

    median = brentq(cdf_minus_half, CALL * 0.5, CALL * 2)
    outcomes, _, _ = run_gate(draw, {"p50": median, "max_time": 1.0}, runs, seed=2)
    assert outcomes["fail"] <= upper_margin(runs, ALPHA)


def test_two_fold_violation_fails_within_ten_samples() -> None:
    # Budget 30% above the code's p95, code then twice as slow. A run misses the first look only
    # if fewer than 3 of 10 samples exceed the budget: p = P(T > 0.65 p95) = 0.69 for sigma 0.2,
    # so a miss has probability 0.0014 per run (binomial); margin = 99.9% quantile.
    sigma, runs = 0.2, 1000
    budget = 1.3 * lognormal_quantile(CALL, sigma, 0.95)
    outcomes, decided_at, _ = run_gate(lognormal(2 * CALL, sigma), {"p95": budget}, runs, seed=3)
    assert outcomes["fail"] == runs  # later looks catch the rest
    late = sum(1 for n in decided_at if n > 10)
    assert late <= upper_margin(runs, 0.0014)


def test_separates_budget_from_1_3_times_budget_within_100_samples() -> None:
    # max_time 1 s = about 100 samples. At p95 = 1.3 x budget the gate must fail in >= 95% of
    # runs (with sigma 0.25, P(T > budget) = 0.27 against 0.05 allowed, which 100 samples resolve);
    # at p95 = budget it fails in <= 2.5% (the guarantee, checked above).
    sigma, runs = 0.25, 1000
    budget = lognormal_quantile(CALL, sigma, 0.95)
    over, _, _ = run_gate(
        lognormal(1.3 * CALL, sigma), {"p95": budget, "max_time": 1.0}, runs, seed=4
    )
    assert over["fail"] >= lower_margin(runs, 0.95)
    at, _, _ = run_gate(lognormal(CALL, sigma), {"p95": budget, "max_time": 1.0}, runs, seed=5)
    assert at["fail"] <= upper_margin(runs, ALPHA)


def test_budget_with_30_percent_headroom_passes_without_false_failures() -> None:
    sigma, runs = 0.15, 1000
    budget = 1.3 * lognormal_quantile(CALL, sigma, 0.95)
    outcomes, decided_at, _ = run_gate(lognormal(CALL, sigma), {"p95": budget}, runs, seed=6)
    assert outcomes["fail"] == 0  # the true p95 is 23% below the budget: P(fail) is ~1e-9 per run
    # Passing needs an upper bound of p95, which needs >= 72 samples; with max(72 draws) below
    # 1.3 p95 in ~97% of runs, passes should dominate (binomial 0.1% quantile of 0.9).
    assert outcomes["pass"] >= lower_margin(runs, 0.9)
    assert min(decided_at) >= 72


@pytest.mark.parametrize("max_time", [0.3, 1.0])
def test_sampling_never_runs_past_max_time(max_time: float) -> None:
    # A budget sitting exactly on the p95 stays undecided: every run hits the time limit.
    sigma = 0.3
    budget = lognormal_quantile(CALL, sigma, 0.95)
    _, _, elapsed = run_gate(
        lognormal(CALL, sigma), {"p95": budget, "max_time": max_time}, 50, seed=7
    )
    # One round (at most CALL * e^(4 sigma) here) and one reference round may end after the limit.
    assert max(elapsed) <= max_time + CALL * 3.4 + 1e-3


def test_mean_budget_at_the_truth_rarely_fails() -> None:
    # The mean uses a Student-t interval (asymptotic), so check it on a skewed shape.
    sigma, runs = 0.3, 2000
    budget = CALL * math.exp(sigma**2 / 2)  # exact lognormal mean
    outcomes, _, _ = run_gate(
        lognormal(CALL, sigma), {"mean": budget, "max_time": 1.0}, runs, seed=8
    )
    assert outcomes["fail"] <= upper_margin(runs, ALPHA)


def test_warn_tier_reports_warn_without_failing() -> None:
    sigma = 0.2
    p95 = lognormal_quantile(CALL, sigma, 0.95)
    outcomes, _, _ = run_gate(
        lognormal(CALL, sigma), {"p95": 1.5 * p95, "warn_p95": 0.7 * p95}, 50, seed=9
    )
    assert outcomes["warn"] >= lower_margin(50, 0.95)
    assert outcomes["fail"] == 0


def test_inconclusive_policy_fail_turns_undecided_into_failures() -> None:
    sigma = 0.3
    budget = lognormal_quantile(CALL, sigma, 0.95)
    spec = parse_latency_spec({"p95": budget, "max_time": 0.5})
    measurement = sample(SyntheticSource(lognormal(CALL, sigma), seed=10), spec)
    assert judge(measurement, spec).status == "inconclusive"
    strict = judge(measurement, spec, inconclusive="fail")
    assert strict.status == "fail"
    assert strict.headline.startswith("latency budget undecided (counted as a failure): p95 = ")


def test_a_sampling_floor_keeps_recording_without_changing_the_verdict() -> None:
    # A baseline run being saved samples at least min_seconds; the verdict still comes from the
    # look that decided, so it is identical to the run without the floor (same seed, fake clock).
    # A budget at 2 x p95 passes at the first look that can pass (86 samples, 0.86 s).
    sigma = 0.15
    spec = parse_latency_spec({"p95": 2 * lognormal_quantile(CALL, sigma, 0.95)})
    quick = sample(SyntheticSource(lognormal(CALL, sigma), seed=11), spec)
    floored = sample(SyntheticSource(lognormal(CALL, sigma), seed=11), spec, min_seconds=1.5)
    assert quick.stop_reason == floored.stop_reason == "decided"
    assert quick.n == 86
    assert floored.elapsed >= 1.5
    assert floored.samples[: quick.n] == quick.samples
    early, late = judge(quick, spec), judge(floored, spec)
    assert early.status == late.status == "pass"
    assert early.checks[0].n == late.checks[0].n
    assert early.checks[0].estimate == late.checks[0].estimate


def test_a_sampling_floor_never_runs_past_max_time() -> None:
    sigma = 0.15
    spec = parse_latency_spec({"p95": 2 * lognormal_quantile(CALL, sigma, 0.95), "max_time": 1.2})
    floored = sample(SyntheticSource(lognormal(CALL, sigma), seed=12), spec, min_seconds=5.0)
    assert floored.stop_reason == "decided"
    assert judge(floored, spec).status == "pass"
    # One round and one reference round may end after the limit.
    assert 1.2 <= floored.elapsed < 1.2 + 3 * CALL
