"""Baseline comparison by simulation: false regressions, detection, improvements, labels.

Each trial builds a baseline from several simulated processes and compares one
more process with it. A process has a random overall speed (which the
reference tracks and the ratio removes) and a random target-only drift (which
it does not: the between-process noise the comparison must budget for).
Margins are 99.9% binomial quantiles, as in test_budget_simulation.
"""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from scipy import stats as scipy_stats

from pytest_prodguard.latency import Baseline, compare_to_baseline, sample
from pytest_prodguard.latency.baseline import BaselineRun, run_from_measurement
from pytest_prodguard.latency.compare import (
    MAX_SLOPE,
    SLOPE_PENALTY,
    baseline_model,
    prepare_comparison,
)
from pytest_prodguard.latency.measurement import Measurement
from pytest_prodguard.latency.simulation import SyntheticSource, lognormal

CALL = 2e-3
ALPHA = 0.025


def upper_margin(runs: int, rate: float) -> int:
    return int(scipy_stats.binom.ppf(0.999, runs, rate))


def lower_margin(runs: int, rate: float) -> int:
    return int(scipy_stats.binom.ppf(0.001, runs, rate))


def process(
    rng: random.Random,
    seed: int,
    drift_sigma: float,
    slowdown: float = 1.0,
    tracking: float = 1.0,
) -> SyntheticSource:
    return SyntheticSource(
        lognormal(CALL * slowdown, 0.2),
        seed=seed,
        process_speed=math.exp(0.2 * rng.gauss(0.0, 1.0)),
        target_drift=math.exp(drift_sigma * rng.gauss(0.0, 1.0)),
        tracking=tracking,
    )


def build_baseline(
    rng: random.Random, seed: int, drift_sigma: float, runs: int, tracking: float = 1.0
) -> Baseline:
    saved = [
        run_from_measurement(
            sample(process(rng, seed * 100 + i, drift_sigma, tracking=tracking), None)
        )
        for i in range(runs)
    ]
    return Baseline("tests/test_x.py::test_x", tuple(saved))


def compare_trial(
    seed: int,
    drift_sigma: float,
    slowdown: float,
    baseline_runs: int = 5,
    tracking: float = 1.0,
) -> tuple[str, Measurement]:
    rng = random.Random(seed)
    baseline = build_baseline(rng, seed, drift_sigma, baseline_runs, tracking)
    setup = prepare_comparison(baseline, {}, has_reference=True)
    measurement = sample(
        process(rng, seed * 100 + 99, drift_sigma, slowdown, tracking),
        None,
        setup=setup,
        tolerance=0.1,
    )
    return compare_to_baseline(measurement, baseline, tolerance=0.1).status, measurement


def run_trials(
    drift_sigma: float,
    slowdown: float,
    trials: int,
    baseline_runs: int = 5,
    tracking: float = 1.0,
) -> Counter[str]:
    return Counter(
        compare_trial(seed, drift_sigma, slowdown, baseline_runs, tracking)[0]
        for seed in range(trials)
    )


def test_identical_code_is_rarely_called_regressed() -> None:
    # Between-process drift 5% = the prior: the documented guarantee is <= 2.5% regressed.
    trials = 300
    outcomes = run_trials(0.05, 1.0, trials)
    assert outcomes["regressed"] <= upper_margin(trials, ALPHA)
    assert outcomes["unchanged"] >= lower_margin(trials, 0.8)


def test_identical_code_with_more_drift_than_the_prior_stays_safe() -> None:
    # 8% drift is larger than the 5% prior; the baseline's own runs reveal it.
    trials = 300
    outcomes = run_trials(0.08, 1.0, trials)
    assert outcomes["regressed"] <= upper_margin(trials, ALPHA)


def test_a_25_percent_slowdown_is_caught_with_a_five_run_baseline() -> None:
    # With 2% drift the interval margin is about 0.1 in log units against a log(1.25) = 0.22 shift.
    trials = 200
    outcomes = run_trials(0.02, 1.25, trials)
    assert outcomes["regressed"] >= lower_margin(trials, 0.95)


def test_a_two_fold_slowdown_is_caught_even_with_a_single_baseline_run() -> None:
    trials = 200
    outcomes = run_trials(0.03, 2.0, trials, baseline_runs=1)
    assert outcomes["regressed"] >= lower_margin(trials, 0.99)


def test_a_two_fold_slowdown_fails_within_ten_pairs() -> None:
    status, measurement = compare_trial(1, 0.03, 2.0)
    assert status == "regressed"
    assert measurement.looks == (10,)


def test_a_large_speed_up_is_flagged_as_improved() -> None:
    trials = 100
    outcomes = run_trials(0.03, 0.7, trials)
    assert outcomes["improved"] >= lower_margin(trials, 0.95)


def test_process_speed_alone_does_not_read_as_a_regression() -> None:
    # A process 40% slower overall (slow machine or mode), identical code: the ratio cancels it.
    rng = random.Random(5)
    baseline = build_baseline(rng, 5, 0.0, 5)
    slow = SyntheticSource(lognormal(CALL, 0.2), seed=555, process_speed=1.4)
    setup = prepare_comparison(baseline, {}, has_reference=True)
    measurement = sample(slow, None, setup=setup, tolerance=0.1)
    verdict = compare_to_baseline(measurement, baseline, tolerance=0.1)
    assert verdict.status == "unchanged"
    assert 0.95 < verdict.ratio < 1.05


def test_comparison_stops_early_when_decided() -> None:
    status, measurement = compare_trial(2, 0.02, 1.0)
    assert status == "unchanged"
    assert measurement.stop_reason == "decided"
    assert measurement.n < measurement.planned_looks[-1]


def with_statistic(run, value: float):
    from dataclasses import replace

    return replace(run, statistic=value)


def test_a_baseline_run_saved_in_a_slow_mode_is_left_out() -> None:
    rng = random.Random(7)
    baseline = build_baseline(rng, 7, 0.02, 5)
    runs = list(baseline.runs)
    center = sorted(run.statistic for run in runs)[2]
    runs[0] = with_statistic(runs[0], center + math.log(1.4))  # one process 40% slow
    setup = prepare_comparison(Baseline(baseline.nodeid, tuple(runs)), {}, has_reference=True)
    assert setup.left_out == 1
    assert runs[0] not in setup.runs
    assert len(setup.runs) == 4


def test_runs_within_twice_the_prior_are_all_kept() -> None:
    rng = random.Random(8)
    runs = list(build_baseline(rng, 8, 0.02, 5).runs)
    center = sorted(run.statistic for run in runs)[2]
    runs = [with_statistic(run, center) for run in runs]
    runs[0] = with_statistic(runs[0], center + math.log(1.09))  # 9%: within 2 x 5%
    setup = prepare_comparison(Baseline("t::x", tuple(runs)), {}, has_reference=True)
    assert setup.left_out == 0
    # with fewer than three runs nothing is left out, however far apart
    far = (runs[1], with_statistic(runs[2], center + 1.0))
    assert prepare_comparison(Baseline("t::x", far), {}, has_reference=True).left_out == 0


def test_a_slowdown_is_still_caught_against_a_baseline_with_one_slow_mode_run() -> None:
    # Without leaving the 40%-slow run out, its spread (sd ~ 17%) would swamp a 25% slowdown.
    caught = left_out = 0
    trials = 40
    for seed in range(trials):
        rng = random.Random(1000 + seed)
        baseline = build_baseline(rng, 1000 + seed, 0.02, 5)
        runs = list(baseline.runs)
        runs[0] = with_statistic(runs[0], runs[0].statistic + math.log(1.4))
        bad = Baseline(baseline.nodeid, tuple(runs))
        setup = prepare_comparison(bad, {}, has_reference=True)
        measurement = sample(
            process(rng, (1000 + seed) * 100 + 99, 0.02, 1.25), None, setup=setup, tolerance=0.1
        )
        verdict = compare_to_baseline(measurement, bad, tolerance=0.1)
        caught += verdict.status == "regressed"
        if verdict.left_out:
            left_out += 1
            assert "1 saved run(s) left out as outliers" in verdict.details
    # The 4-MAD rule is deliberately cautious: when the other runs are themselves spread out
    # (one seed here has a second run 8% off) the slow run may stay in.
    assert left_out >= trials - 2
    assert caught >= lower_margin(trials, 0.95)


# Code that follows the machine's speed only partly (tracking 0.4: numpy-like; the shared
# machines' slow modes slowed numpy sorting about half as much as the reference in log terms).
# Every process draws its speed with a 20% spread, so the ratio statistic itself moves by
# 0.6 x 20% = 12% between processes unless the baseline learns the speed trend.


def test_partly_tracking_code_is_rarely_called_regressed() -> None:
    trials = 200
    outcomes = run_trials(0.02, 1.0, trials, baseline_runs=10, tracking=0.4)
    assert outcomes["regressed"] <= upper_margin(trials, ALPHA)


def test_a_25_percent_slowdown_of_partly_tracking_code_is_caught() -> None:
    # The residual spread around the speed trend is the 2% drift, so the margin is about
    # t(10) x 3% (prior-pooled) against log(1.25) = 0.22; without the trend it would be 12%.
    trials = 200
    outcomes = run_trials(0.02, 1.25, trials, baseline_runs=10, tracking=0.4)
    assert outcomes["regressed"] >= lower_margin(trials, 0.95)


def speed_run(statistic: float, log_reference: float) -> BaselineRun:
    """A saved run with this statistic whose reference ran at exp(log_reference) seconds."""
    reference = math.exp(log_reference)
    return BaselineRun(
        saved_at="2026-01-01T00:00:00+00:00",
        fingerprint={},
        kind="ratio",
        statistic=statistic,
        statistic_se=0.0,
        n=100,
        pairs=100,
        batch=1,
        reference_medians={"python": reference, "native": reference},
    )


def test_the_baseline_model_is_the_mean_without_a_speed() -> None:
    runs = [speed_run(value, -10.4) for value in (0.1, 0.2, 0.3)]
    model = baseline_model(runs, 0.05)
    assert model.center == pytest.approx(0.2)
    assert model.slope == 0.0
    assert model.dof == 2 + 3 - 1
    assert model.scale == pytest.approx(math.sqrt(1 + 1 / 3))


def test_the_baseline_model_learns_a_speed_trend_with_a_shrunk_slope() -> None:
    # Runs spread over +-30% of speed, statistic exactly -0.6 x log speed (numpy-like code).
    speeds = [-10.7, -10.55, -10.4, -10.25, -10.1]
    runs = [speed_run(1.0 - 0.6 * (x + 10.4), x) for x in speeds]
    sxx = sum((x + 10.4) ** 2 for x in speeds)
    model = baseline_model(runs, 0.05, log_reference=-10.1)
    slope = -0.6 * sxx / (sxx + SLOPE_PENALTY)
    assert model.slope == pytest.approx(slope)
    assert model.center == pytest.approx(1.0 + slope * 0.3)
    assert model.speed_shift == pytest.approx(0.3)
    assert model.dof == 2 + 5 - 2
    assert model.scale == pytest.approx(math.sqrt(1 + 1 / 5 + 0.09 / (sxx + SLOPE_PENALTY)))


def test_runs_saved_at_one_speed_leave_the_slope_near_zero() -> None:
    # 1% speed jitter cannot identify a trend: the statistics line up with a slope of 5 here
    # (least squares), and the ridge penalty shrinks it 51-fold (sxx = 0.001 against 0.05).
    runs = [speed_run(0.05 * i, -10.4 + 0.01 * i) for i in range(-2, 3)]
    model = baseline_model(runs, 0.05, log_reference=-10.0)
    assert model.slope == pytest.approx(5.0 * 0.001 / (0.001 + SLOPE_PENALTY))


def test_the_slope_is_kept_within_one() -> None:
    runs = [speed_run(3.0 * x, x) for x in (-1.0, -0.5, 0.0, 0.5, 1.0)]
    assert baseline_model(runs, 0.05, log_reference=0.0).slope == MAX_SLOPE


def test_a_speed_adjusted_comparison_says_so_in_its_details() -> None:
    rng = random.Random(21)
    baseline = build_baseline(rng, 21, 0.02, 10, tracking=0.4)
    setup = prepare_comparison(baseline, {}, has_reference=True)
    slow = SyntheticSource(lognormal(CALL, 0.2), seed=2199, process_speed=1.4, tracking=0.4)
    measurement = sample(slow, None, setup=setup, tolerance=0.1)
    verdict = compare_to_baseline(measurement, baseline, tolerance=0.1)
    assert verdict.status == "unchanged"
    assert verdict.slope < -0.3
    assert "machine speed: the reference ran " in verdict.details
    assert "so the baseline is predicted -" in verdict.details
    assert verdict.to_dict()["reference_speed"] > 1.2


def test_a_trend_the_runs_do_not_show_clearly_is_not_used() -> None:
    # Statistics scattered 3% around a faint trend over a narrow speed range (the JSON case of
    # the benchmark): the least-squares slope is within 3 standard errors, so the prediction is
    # the runs' mean and extrapolating to a run in a slow mode shifts nothing.
    speeds = [-10.5, -10.45, -10.4, -10.35, -10.3]
    values = (0.03, -0.03, 0.02, -0.04, 0.0)
    runs = [speed_run(value, x) for value, x in zip(values, speeds, strict=True)]
    model = baseline_model(runs, 0.05, log_reference=-10.0)
    assert model.slope == 0.0
    assert model.center == pytest.approx(-0.004)
    assert model.scale == pytest.approx(math.sqrt(1 + 1 / 5))
