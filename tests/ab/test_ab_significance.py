"""z-test, Welch's t-test, their intervals and non-inferiority against statsmodels/scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from pytest_prodguard.ab import (
    Mean,
    Proportion,
    compare,
    non_inferiority_test,
    proportions_test,
    welch_test,
)

sm_prop = pytest.importorskip("statsmodels.stats.proportion")
sm_weight = pytest.importorskip("statsmodels.stats.weightstats")
sm_delta = pytest.importorskip("statsmodels.stats._delta_method")

RATE_CASES = [
    (100, 1000, 120, 1000),
    (5, 400, 15, 380),
    (9_870, 100_000, 10_100, 99_500),
    (480, 500, 470, 510),
    (30, 31, 10, 29),
    (1, 50, 2, 60),
]


@pytest.mark.parametrize(("x_c", "n_c", "x_t", "n_t"), RATE_CASES)
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_z_test_matches_proportions_ztest(x_c, n_c, x_t, n_t, alternative):
    result = proportions_test(Proportion(x_c, n_c), Proportion(x_t, n_t), alternative=alternative)
    z, p = sm_prop.proportions_ztest([x_t, x_c], [n_t, n_c], alternative=alternative)
    assert result.statistic == pytest.approx(z, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize(("x_c", "n_c", "x_t", "n_t"), RATE_CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_rate_intervals_match_confint_proportions_2indep(x_c, n_c, x_t, n_t, alpha):
    result = proportions_test(Proportion(x_c, n_c), Proportion(x_t, n_t), alpha=alpha)
    low, high = sm_prop.confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=alpha
    )
    assert result.ci == pytest.approx((low, high), rel=1e-9)
    low, high = sm_prop.confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="log", compare="ratio", alpha=alpha
    )
    assert result.relative_ci == pytest.approx((low - 1, high - 1), rel=1e-9, abs=1e-12)
    assert result.absolute_lift == pytest.approx(x_t / n_t - x_c / n_c)
    assert result.relative_lift == pytest.approx((x_t / n_t) / (x_c / n_c) - 1)


def test_zero_successes_use_the_adjusted_log_interval():
    result = proportions_test(Proportion(0, 100), Proportion(3, 100))
    low, high = sm_prop.confint_proportions_2indep(
        3, 100, 0, 100, method="log-adjusted", compare="ratio"
    )
    assert result.relative_ci == pytest.approx((low - 1, high - 1), rel=1e-9)
    assert result.relative_lift == math.inf


def test_no_variation_in_either_arm_is_no_evidence():
    result = proportions_test(Proportion(0, 100), Proportion(0, 120))
    assert result.p_value == 1.0
    assert not result.significant


def _samples(seed: int, n_c: int, n_t: int, shift: float, scale_t: float):
    rng = np.random.default_rng(seed)
    control = rng.lognormal(1.0, 0.8, n_c)
    treatment = rng.lognormal(1.0, 0.8, n_t) * scale_t + shift
    return control, treatment


MEAN_CASES = [
    (1, 40, 60, 0.5, 1.0),
    (2, 500, 450, 0.0, 1.3),
    (3, 12, 9, 2.0, 0.5),
    (4, 3000, 3100, 0.1, 1.0),
]


@pytest.mark.parametrize(("seed", "n_c", "n_t", "shift", "scale_t"), MEAN_CASES)
@pytest.mark.parametrize("alternative", ["two-sided", "larger", "smaller"])
def test_welch_matches_scipy(seed, n_c, n_t, shift, scale_t, alternative):
    control, treatment = _samples(seed, n_c, n_t, shift, scale_t)
    result = welch_test(
        Mean.from_samples(control), Mean.from_samples(treatment), alternative=alternative
    )
    expected = stats.ttest_ind(
        treatment,
        control,
        equal_var=False,
        alternative={"two-sided": "two-sided", "larger": "greater", "smaller": "less"}[alternative],
    )
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9)
    assert result.df == pytest.approx(expected.df, rel=1e-9)
    from_stats = stats.ttest_ind_from_stats(
        treatment.mean(), treatment.std(ddof=1), n_t, control.mean(), control.std(ddof=1), n_c,
        equal_var=False,
    )  # fmt: skip
    if alternative == "two-sided":
        assert result.p_value == pytest.approx(from_stats.pvalue, rel=1e-9)


@pytest.mark.parametrize(("seed", "n_c", "n_t", "shift", "scale_t"), MEAN_CASES)
def test_welch_intervals_match_statsmodels(seed, n_c, n_t, shift, scale_t):
    control, treatment = _samples(seed, n_c, n_t, shift, scale_t)
    c, t = Mean.from_samples(control), Mean.from_samples(treatment)
    result = welch_test(c, t, alpha=0.1)
    compared = sm_weight.CompareMeans(
        sm_weight.DescrStatsW(treatment), sm_weight.DescrStatsW(control)
    )
    assert result.ci == pytest.approx(compared.tconfint_diff(alpha=0.1, usevar="unequal"), rel=1e-9)
    # Relative lift: delta method on mean_t / mean_c with independent arms.
    delta = sm_delta.NonlinearDeltaCov(
        lambda params: np.array([params[1] / params[0] - 1]),
        np.array([c.mean, t.mean]),
        np.diag([c.variance / c.n, t.variance / t.n]),
    )
    low, high = delta.conf_int(alpha=0.1)[0]
    assert result.relative_ci == pytest.approx((low, high), rel=1e-6)


def test_welch_degenerate_zero_variance():
    same = welch_test(Mean(10, 1.0, 0.0), Mean(12, 1.0, 0.0))
    assert same.p_value == 1.0
    different = welch_test(Mean(10, 1.0, 0.0), Mean(12, 2.0, 0.0))
    assert different.p_value == 0.0
    assert different.ci == (1.0, 1.0)


def test_compare_dispatches_on_the_metric_kind():
    assert compare(Proportion(1, 10), Proportion(2, 10)).test.startswith("two-proportion")
    assert compare(Mean(10, 1, 1), Mean(10, 2, 1)).test == "Welch's t-test"


def test_z_test_rejects_at_alpha_under_the_null():
    # 4000 A/A experiments at 10% with 2000 users per arm. Binomial sd of the rejection
    # rate at 0.05 is sqrt(.05 * .95 / 4000) = 0.0034; +-0.012 is about 3.5 sd.
    rng = np.random.default_rng(20240601)
    replications, n = 4000, 2000
    controls = rng.binomial(n, 0.1, replications)
    treatments = rng.binomial(n, 0.1, replications)
    rejections = sum(
        proportions_test(Proportion(int(c), n), Proportion(int(t), n)).significant
        for c, t in zip(controls, treatments, strict=True)
    )
    assert abs(rejections / replications - 0.05) < 0.012


def test_welch_rejects_at_alpha_under_the_null():
    # 2000 A/A experiments on skewed data with unequal sizes; sd of the rate is 0.0049,
    # +-0.017 is 3.5 sd.
    rng = np.random.default_rng(7)
    replications = 2000
    rejections = 0
    for _ in range(replications):
        control = rng.exponential(3.0, 200)
        treatment = rng.exponential(3.0, 300)
        rejections += welch_test(
            Mean.from_samples(control), Mean.from_samples(treatment)
        ).significant
    assert abs(rejections / replications - 0.05) < 0.017


# Non-inferiority -------------------------------------------------------------------------


@pytest.mark.parametrize(("x_c", "n_c", "x_t", "n_t"), RATE_CASES[:4])
@pytest.mark.parametrize("margin", [0.01, 0.03])
def test_absolute_rate_non_inferiority_matches_wald_test(x_c, n_c, x_t, n_t, margin):
    result = non_inferiority_test(
        Proportion(x_c, n_c), Proportion(x_t, n_t), margin, relative=False
    )
    _, p = sm_prop.test_proportions_2indep(
        x_t, n_t, x_c, n_c, value=-margin, method="wald", compare="diff", alternative="larger"
    )
    assert result.p_value == pytest.approx(p, rel=1e-9)
    worse = non_inferiority_test(
        Proportion(x_c, n_c), Proportion(x_t, n_t), margin, relative=False, lower_is_better=True
    )
    _, p = sm_prop.test_proportions_2indep(
        x_t, n_t, x_c, n_c, value=margin, method="wald", compare="diff", alternative="smaller"
    )
    assert worse.p_value == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize(("x_c", "n_c", "x_t", "n_t"), RATE_CASES[:4])
def test_relative_rate_non_inferiority_matches_log_ratio_test(x_c, n_c, x_t, n_t):
    result = non_inferiority_test(Proportion(x_c, n_c), Proportion(x_t, n_t), 0.1)
    _, p = sm_prop.test_proportions_2indep(
        x_t, n_t, x_c, n_c, value=0.9, method="log", compare="ratio", alternative="larger"
    )
    assert result.p_value == pytest.approx(p, rel=1e-9)
    # The bound is the one-sided (1 - alpha) lower limit: a two-sided (1 - 2 alpha) interval.
    low, _ = sm_prop.confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="log", compare="ratio", alpha=0.1
    )
    assert result.bound == pytest.approx(low - 1, rel=1e-9)
    assert result.passed == (result.bound > -0.1)


@pytest.mark.parametrize(("seed", "n_c", "n_t", "shift", "scale_t"), MEAN_CASES[:2])
def test_absolute_mean_non_inferiority_matches_ztest_ind(seed, n_c, n_t, shift, scale_t):
    control, treatment = _samples(seed, n_c, n_t, shift, scale_t)
    result = non_inferiority_test(
        Mean.from_samples(control), Mean.from_samples(treatment), 0.3, relative=False
    )
    compared = sm_weight.CompareMeans(
        sm_weight.DescrStatsW(treatment), sm_weight.DescrStatsW(control)
    )
    _, p = compared.ztest_ind(alternative="larger", usevar="unequal", value=-0.3)
    assert result.p_value == pytest.approx(p, rel=1e-9)


def test_relative_mean_non_inferiority_uses_the_delta_method():
    control, treatment = Mean(4000, 10.0, 6.0), Mean(4000, 9.9, 6.0)
    result = non_inferiority_test(control, treatment, 0.05)
    lift = 9.9 / 10.0 - 1
    se = math.sqrt((36 / 4000 + 0.99**2 * 36 / 4000) / 100)
    assert result.estimate == pytest.approx(lift)
    assert result.p_value == pytest.approx(stats.norm.sf((lift + 0.05) / se), rel=1e-9)
    assert result.bound == pytest.approx(lift - stats.norm.isf(0.05) * se, rel=1e-9)
    lower = non_inferiority_test(control, treatment, 0.05, lower_is_better=True)
    assert lower.p_value == pytest.approx(stats.norm.sf((0.05 - lift) / se), rel=1e-9)
    assert lower.bound == pytest.approx(lift + stats.norm.isf(0.05) * se, rel=1e-9)


def test_non_inferiority_outcomes():
    big = Proportion(10_000, 100_000)
    assert non_inferiority_test(big, Proportion(9_990, 100_000), 0.05).passed
    assert not non_inferiority_test(big, Proportion(9_000, 100_000), 0.05).passed
    # Too little data to show anything: not shown non-inferior.
    assert not non_inferiority_test(Proportion(10, 100), Proportion(10, 100), 0.05).passed
