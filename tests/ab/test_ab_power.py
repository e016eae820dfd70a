"""Power, sample size and MDE against statsmodels (NormalIndPower, TTestIndPower, proportions)."""

from __future__ import annotations

import math
import warnings

import pytest

from pytest_prodguard.ab import (
    Mean,
    Proportion,
    achieved_power,
    mean_mde,
    mean_power,
    mean_sample_size,
    minimum_detectable_effect,
    rate_mde,
    rate_power,
    rate_sample_size,
    required_sample_size,
    required_sample_size_mean,
)

sm_power = pytest.importorskip("statsmodels.stats.power")
sm_prop = pytest.importorskip("statsmodels.stats.proportion")

RATE_GRID = [
    (baseline, mde, alpha, power, ratio, two_sided)
    for baseline, mde in [(0.02, 0.25), (0.1, 0.1), (0.3, -0.05), (0.5, 0.04), (0.85, 0.05)]
    for alpha, power in ((0.05, 0.8), (0.01, 0.9))
    for ratio in (0.5, 1.0, 2.0)
    for two_sided in (True, False)
]


def _alternative(two_sided: bool, effect: float) -> str:
    if two_sided:
        return "two-sided"
    return "larger" if effect > 0 else "smaller"


def test_published_anchor_ten_to_eleven_percent():
    # The anchors: pooled-normal 14,751 vs arcsine 14,745 users per arm.
    assert required_sample_size(0.10, 0.10) == 14_751
    assert required_sample_size(0.10, 0.10, method="arcsine") == 14_745
    assert required_sample_size(0.10, 0.01, relative=False) == 14_751


@pytest.mark.parametrize(("baseline", "mde", "alpha", "power", "ratio", "two_sided"), RATE_GRID)
def test_arcsine_sample_size_matches_normal_ind_power(
    baseline, mde, alpha, power, ratio, two_sided
):
    treated = baseline * (1 + mde)
    effect = sm_prop.proportion_effectsize(treated, baseline)
    expected = sm_power.NormalIndPower().solve_power(
        effect_size=effect,
        alpha=alpha,
        power=power,
        ratio=ratio,
        alternative=_alternative(two_sided, effect),
    )
    got = rate_sample_size(
        baseline, mde, alpha=alpha, power=power, ratio=ratio, two_sided=two_sided, method="arcsine"
    )
    assert got == pytest.approx(expected, rel=1e-6)
    assert required_sample_size(
        baseline, mde, alpha=alpha, power=power, ratio=ratio, two_sided=two_sided, method="arcsine"
    ) == math.ceil(got)


@pytest.mark.parametrize(("baseline", "mde", "alpha", "power", "ratio", "two_sided"), RATE_GRID)
def test_arcsine_power_matches_normal_ind_power(baseline, mde, alpha, power, ratio, two_sided):
    treated = baseline * (1 + mde)
    effect = sm_prop.proportion_effectsize(treated, baseline)
    n = 1234.5
    expected = sm_power.NormalIndPower().power(
        effect, n, alpha, ratio=ratio, alternative=_alternative(two_sided, effect)
    )
    got = rate_power(
        baseline, mde, n, alpha=alpha, ratio=ratio, two_sided=two_sided, method="arcsine"
    )
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("baseline", "mde", "alpha", "power", "ratio", "two_sided"), RATE_GRID)
def test_pooled_power_matches_power_proportions_2indep(
    baseline, mde, alpha, power, ratio, two_sided
):
    # statsmodels' sample 1 has p1 = p2 + diff and nobs2 = ratio * nobs1: sample 1 is our
    # control (n), sample 2 our treatment (ratio * n).
    treated = baseline * (1 + mde)
    n = 987.0
    expected = sm_prop.power_proportions_2indep(
        baseline - treated,
        treated,
        n,
        ratio=ratio,
        alpha=alpha,
        alternative=_alternative(two_sided, baseline - treated),
        return_results=False,
    )
    got = rate_power(baseline, mde, n, alpha=alpha, ratio=ratio, two_sided=two_sided)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("baseline", "mde", "alpha", "power", "ratio", "two_sided"), RATE_GRID)
def test_pooled_sample_size_solves_the_statsmodels_power_equation(
    baseline, mde, alpha, power, ratio, two_sided
):
    treated = baseline * (1 + mde)
    n = rate_sample_size(baseline, mde, alpha=alpha, power=power, ratio=ratio, two_sided=two_sided)
    alternative = _alternative(two_sided, baseline - treated)
    reached = sm_prop.power_proportions_2indep(
        baseline - treated, treated, n, ratio=ratio, alpha=alpha, alternative=alternative,
        return_results=False,
    )  # fmt: skip
    assert reached == pytest.approx(power, abs=1e-9)
    # The explicit one-tail formula ignores the far rejection tail; for a one-sided test
    # it is exact, for a two-sided one the far tail is worth a fraction of a user.
    one_tail = sm_prop.samplesize_proportions_2indep_onetail(
        baseline - treated, treated, power, ratio=ratio, alpha=alpha, alternative=alternative
    )
    if two_sided:
        assert n <= one_tail
        assert n == pytest.approx(one_tail, rel=1e-4)
    else:
        assert n == pytest.approx(one_tail, rel=1e-9)


def test_unpooled_method_matches_normal_ind_power_with_a_wald_effect():
    baseline, treated = 0.1, 0.11
    sd = math.sqrt((baseline * (1 - baseline) + treated * (1 - treated)) / 2)
    expected = sm_power.NormalIndPower().solve_power(
        effect_size=(treated - baseline) / sd, alpha=0.05, power=0.8
    )
    assert rate_sample_size(baseline, 0.1, method="unpooled") == pytest.approx(expected, rel=1e-6)


MEAN_GRID = [
    (d, ratio, alpha, power, two_sided)
    for d in (0.02, 0.1, 0.25, 0.5, 1.0)
    for ratio in (0.5, 1.0, 3.0)
    for alpha, power in ((0.05, 0.8), (0.01, 0.95))
    for two_sided in (True, False)
]


@pytest.mark.parametrize(("d", "ratio", "alpha", "power", "two_sided"), MEAN_GRID)
def test_mean_sample_size_matches_tt_ind_solve_power(d, ratio, alpha, power, two_sided):
    std = 3.0
    alternative = "two-sided" if two_sided else "larger"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = sm_power.tt_ind_solve_power(
            effect_size=d, alpha=alpha, power=power, ratio=ratio, alternative=alternative
        )
    got = mean_sample_size(std, d * std, alpha=alpha, power=power, ratio=ratio, two_sided=two_sided)
    assert got == pytest.approx(expected, rel=1e-6)
    # And exactly on statsmodels' own power curve (its root finder stops at xtol=1e-5 or so).
    reached = sm_power.TTestIndPower().power(d, got, alpha, ratio=ratio, alternative=alternative)
    assert reached == pytest.approx(power, abs=1e-9)


@pytest.mark.parametrize(("d", "ratio", "alpha", "power", "two_sided"), MEAN_GRID[::3])
def test_mean_power_matches_ttest_ind_power(d, ratio, alpha, power, two_sided):
    alternative = "two-sided" if two_sided else "larger"
    n = 57.0
    expected = sm_power.TTestIndPower().power(d, n, alpha, ratio=ratio, alternative=alternative)
    got = mean_power(2.0, 2.0 * d, n, alpha=alpha, ratio=ratio, two_sided=two_sided)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("d", "ratio", "alpha", "power", "two_sided"), MEAN_GRID[::4])
def test_normal_mean_method_matches_normal_ind_power(d, ratio, alpha, power, two_sided):
    alternative = "two-sided" if two_sided else "larger"
    expected = sm_power.NormalIndPower().solve_power(
        effect_size=d, alpha=alpha, power=power, ratio=ratio, alternative=alternative
    )
    got = mean_sample_size(
        1.0, d, alpha=alpha, power=power, ratio=ratio, two_sided=two_sided, method="normal"
    )
    assert got == pytest.approx(expected, rel=1e-6)


def test_relative_mean_mde_scales_by_the_baseline():
    absolute = mean_sample_size(4.0, 0.5)
    assert mean_sample_size(4.0, 0.05, baseline=10.0, relative=True) == pytest.approx(absolute)
    assert required_sample_size_mean(4.0, 0.5) == math.ceil(absolute)


@pytest.mark.parametrize("method", ["pooled", "unpooled", "arcsine"])
@pytest.mark.parametrize("relative", [True, False])
def test_rate_mde_inverts_rate_power(method, relative):
    n = 5000
    mde = rate_mde(0.2, n, relative=relative, method=method, ratio=1.5)
    assert mde > 0
    reached = rate_power(0.2, mde, n, relative=relative, method=method, ratio=1.5)
    assert reached == pytest.approx(0.8, abs=1e-9)


def test_rate_mde_is_infinite_when_even_a_rate_of_one_is_not_detectable():
    assert rate_mde(0.5, 3) == math.inf


@pytest.mark.parametrize("method", ["t", "normal"])
def test_mean_mde_inverts_mean_power(method):
    mde = mean_mde(2.0, 400, method=method, ratio=0.5)
    assert mean_power(2.0, mde, 400, method=method, ratio=0.5) == pytest.approx(0.8, abs=1e-9)
    relative = mean_mde(2.0, 400, baseline=-8.0, relative=True, method=method, ratio=0.5)
    assert relative == pytest.approx(mde / 8.0)


def test_observed_experiment_helpers_use_control_baseline_and_observed_ratio():
    control, treatment = Proportion(100, 1000), Proportion(220, 2000)
    assert achieved_power(control, treatment, 0.1) == pytest.approx(
        rate_power(0.1, 0.1, 1000, ratio=2.0)
    )
    assert minimum_detectable_effect(control, treatment) == pytest.approx(
        rate_mde(0.1, 1000, ratio=2.0)
    )
    c_mean, t_mean = Mean(500, 10.0, 4.0), Mean(500, 10.4, 4.2)
    assert achieved_power(c_mean, t_mean, 0.05) == pytest.approx(
        mean_power(4.0, 0.05, 500, baseline=10.0, relative=True)
    )
    assert minimum_detectable_effect(c_mean, t_mean, relative=False) == pytest.approx(
        mean_mde(4.0, 500)
    )


def test_power_grows_with_sample_size_and_two_sided_needs_more_users():
    powers = [rate_power(0.1, 0.1, n) for n in (1000, 5000, 20000)]
    assert powers == sorted(powers)
    assert required_sample_size(0.1, 0.1, two_sided=False) < required_sample_size(0.1, 0.1)
