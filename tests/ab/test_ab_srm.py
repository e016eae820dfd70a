"""Sample ratio mismatch against scipy's chi-square goodness of fit."""

from __future__ import annotations

import pytest
from scipy import stats

from pytest_prodguard.ab import srm_test


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ([5000, 5000], None),
        ([5100, 4900], None),
        ([10_321, 9_679], [1, 1]),
        ([3000, 6100], [1, 2]),
        ([333, 340, 327], None),
        ([1000, 2000, 2950, 4100], [0.1, 0.2, 0.3, 0.4]),
    ],
)
def test_matches_scipy_chisquare(counts, expected):
    result = srm_test(counts, expected)
    total = sum(counts)
    weights = expected or [1] * len(counts)
    f_exp = [w / sum(weights) * total for w in weights]
    reference = stats.chisquare(counts, f_exp)
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-9)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    assert result.df == len(counts) - 1
    assert result.expected_counts == pytest.approx(f_exp)


def test_flags_a_real_mismatch_at_the_default_threshold():
    result = srm_test({"control": 50_000, "treatment": 48_800})
    assert result.mismatch
    assert result.p_value < 0.001
    assert result.arms == ("control", "treatment")
    assert not srm_test({"control": 50_000, "treatment": 49_900}).mismatch


def test_threshold_is_configurable():
    counts = [5150, 4850]
    p = srm_test(counts).p_value
    assert 0.001 < p < 0.01
    assert not srm_test(counts).mismatch
    assert srm_test(counts, threshold=0.01).mismatch


def test_an_empty_arm_is_a_mismatch():
    result = srm_test({"control": 2000, "treatment": 0})
    assert result.mismatch
    assert result.observed_shares == (1.0, 0.0)


def test_mapping_weights_follow_the_arm_names():
    result = srm_test({"a": 2000, "b": 1000}, {"b": 1, "a": 2})
    assert result.expected_shares == pytest.approx((2 / 3, 1 / 3))
    assert not result.mismatch


def test_too_few_units_is_not_testable_rather_than_a_pass():
    # All units in one arm of a 50/50 split gives chi-square = N; it needs N > 10.83 to
    # reach p < 0.001 with one degree of freedom.
    assert not srm_test([10, 0]).testable
    assert srm_test([11, 0]).testable
    assert srm_test([5000, 5000]).testable
