"""Every bad input is a ProdguardUsageError naming the field, the value and what is accepted."""

from __future__ import annotations

import math

import pytest

from pytest_prodguard.ab import (
    Mean,
    ProdguardUsageError,
    Proportion,
    adjust_pvalues,
    mean_sample_size,
    non_inferiority_test,
    proportions_test,
    rate_power,
    required_sample_size,
    simpson_check,
    srm_test,
    welch_test,
)

NAN = math.nan


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Proportion(-1, 10), r"successes=-1: must be a whole number >= 0"),
        (lambda: Proportion(1, 0), r"trials=0: must be a whole number >= 1"),
        (lambda: Proportion(1, -5), r"trials=-5"),
        (lambda: Proportion(11, 10), r"successes=11: must not exceed trials \(10\)"),
        (lambda: Proportion(1.5, 10), r"successes=1\.5"),
        (lambda: Proportion(NAN, 10), r"successes=nan"),
        (lambda: Proportion(True, 10), r"successes=True"),
        (lambda: Mean(0, 1.0, 1.0), r"n=0: must be a whole number >= 1"),
        (lambda: Mean(10, NAN, 1.0), r"mean=nan: must be a finite real number"),
        (lambda: Mean(10, 1.0, -1.0), r"std=-1\.0: must be a finite number >= 0"),
        (lambda: Mean.from_samples([1.0, NAN, 2.0]), r"values=.*first at index 1"),
        (lambda: Mean.from_samples([1.0]), r"values=.*at least 2 values"),
        (lambda: Mean.from_samples(["a", "b"]), r"values=.*sequence of numbers"),
    ],
)
def test_bad_statistics(make, match):
    with pytest.raises(ProdguardUsageError, match=match):
        make()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0}, r"alpha=0: must be a number strictly between 0 and 1"),
        ({"alpha": 1.2}, r"alpha=1\.2"),
        ({"power": 1}, r"power=1: must be a number strictly between 0 and 1"),
        ({"power": 0.01}, r"power=0\.01: must be greater than the one-tail alpha"),
        ({"mde": 0}, r"mde=0: must be a non-zero effect size"),
        ({"mde": NAN}, r"mde=nan"),
        ({"baseline": 0}, r"baseline=0"),
        ({"baseline": 1.0}, r"baseline=1\.0"),
        ({"mde": 20}, r"mde=20(\.0)?: .*treatment rate of 2\.1"),
        ({"ratio": 0}, r"ratio=0: must be a finite number greater than 0"),
        ({"method": "exact"}, r"method='exact': must be one of 'pooled', 'unpooled', 'arcsine'"),
        ({"two_sided": "yes"}, r"two_sided='yes'"),
        ({"relative": 1}, r"relative=1: must be True or False"),
    ],
)
def test_bad_sample_size_arguments(kwargs, match):
    arguments = {"baseline": 0.1, "mde": 0.1, **kwargs}
    with pytest.raises(ProdguardUsageError, match=match):
        required_sample_size(arguments.pop("baseline"), arguments.pop("mde"), **arguments)


def test_bad_power_and_mean_arguments():
    with pytest.raises(ProdguardUsageError, match=r"n=0: must be a finite number greater than 0"):
        rate_power(0.1, 0.1, 0)
    with pytest.raises(ProdguardUsageError, match=r"std=0"):
        mean_sample_size(0, 1.0)
    with pytest.raises(ProdguardUsageError, match=r"baseline=None: is needed for a relative mde"):
        mean_sample_size(1.0, 0.1, relative=True)
    with pytest.raises(ProdguardUsageError, match=r"method='pooled': must be one of 't', 'normal'"):
        mean_sample_size(1.0, 0.1, method="pooled")


def test_bad_test_arguments():
    with pytest.raises(ProdguardUsageError, match=r"alternative='bigger'"):
        proportions_test(Proportion(1, 10), Proportion(2, 10), alternative="bigger")
    with pytest.raises(ProdguardUsageError, match=r"control=.*must be a Proportion"):
        proportions_test((1, 10), Proportion(2, 10))
    with pytest.raises(ProdguardUsageError, match=r"control\.n=1: Welch's t-test needs n >= 2"):
        welch_test(Mean(1, 1.0, 0.0), Mean(10, 1.0, 1.0))
    with pytest.raises(ProdguardUsageError, match=r"margin=0: must be a finite number greater"):
        non_inferiority_test(Proportion(1, 10), Proportion(1, 10), 0)
    with pytest.raises(ProdguardUsageError, match=r"margin=1\.5: a relative margin"):
        non_inferiority_test(Proportion(1, 10), Proportion(1, 10), 1.5)
    with pytest.raises(ProdguardUsageError, match=r"treatment='Mean'"):
        non_inferiority_test(Proportion(1, 10), Mean(10, 1.0, 1.0), 0.1)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (([100],), {}, r"counts=\[100\]: needs at least two arms"),
        (([100, -1],), {}, r"counts\['arm 1'\]=-1"),
        (([0, 0],), {}, r"counts=\[0, 0\]: must contain at least one unit"),
        (([10, 10], [1]), {}, r"expected=\[1\]: must give 2 planned weights"),
        (([10, 10], [1, 0]), {}, r"expected=0: must be a finite number greater than 0"),
        (({"a": 1, "b": 2}, {"a": 1}), {}, r"expected=.*every arm"),
        (([10, 10],), {"threshold": 0}, r"threshold=0"),
        (("ab",), {}, r"counts='ab'"),
    ],
)
def test_bad_srm_arguments(args, kwargs, match):
    with pytest.raises(ProdguardUsageError, match=match):
        srm_test(*args, **kwargs)


@pytest.mark.parametrize(
    ("pvalues", "method", "match"),
    [
        ([], "holm", r"pvalues=\[\]: must contain at least one p-value"),
        ([0.1, NAN], "holm", r"pvalues\[1\]=nan"),
        ([0.1, 1.5], "bh", r"pvalues\[1\]=1\.5: must be between 0 and 1"),
        ([0.1], "hochberg", r"method='hochberg': must be one of 'holm', 'bh', 'bonferroni'"),
    ],
)
def test_bad_adjust_arguments(pvalues, method, match):
    with pytest.raises(ProdguardUsageError, match=match):
        adjust_pvalues(pvalues, method)


def test_bad_simpson_segments():
    pair = (Proportion(1, 10), Proportion(2, 10))
    with pytest.raises(ProdguardUsageError, match=r"segments=.*at least two segment"):
        simpson_check({"web": pair})
    with pytest.raises(ProdguardUsageError, match=r"segments\['app'\].*no treatment data"):
        simpson_check({"web": pair, "app": (Proportion(1, 10), None)})
    with pytest.raises(
        ProdguardUsageError, match=r"segments\['app'\].*\(control, treatment\) pair"
    ):
        simpson_check({"web": pair, "app": (Proportion(1, 10),)})
    with pytest.raises(ProdguardUsageError, match=r"all rates or all means"):
        simpson_check({"web": pair, "app": (Mean(5, 1, 1), Mean(5, 1, 1))})
