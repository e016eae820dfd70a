"""Exact binomial tails against scipy; rate-rise and concentration tests by simulation."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from scipy import stats as scipy_stats

from pytest_prodguard.forensics import binomial_sf, concentration, rate_rise


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [
        (0, 10, 0.3),
        (3, 10, 0.3),
        (5, 10, 0.3),
        (10, 10, 0.99),
        (50, 1000, 0.02),
        (1, 1_000_000, 1e-7),
        (400, 1000, 0.5),
        (900, 1000, 0.5),
        (7, 7, 0.05),
        (30, 200_000, 1e-4),
    ],
)
def test_binomial_tail_matches_scipy(k, n, p):
    expected = scipy_stats.binom.sf(k - 1, n, p)
    assert binomial_sf(k, n, p) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    ("k", "n", "p", "expected"), [(11, 10, 0.5, 0.0), (3, 10, 0.0, 0.0), (3, 10, 1.0, 1.0)]
)
def test_binomial_tail_edges(k, n, p, expected):
    assert binomial_sf(k, n, p) == expected


def simulate_bins(rng: random.Random, records: int, errors: int, bins: int, rise_bin: int | None):
    """Uniform traffic over bins; errors uniform, or with extra errors piled into one bin."""
    all_bins = Counter(rng.randrange(bins) for _ in range(records))
    group = Counter(rng.randrange(bins) for _ in range(errors))
    if rise_bin is not None:
        group[rise_bin] += errors  # the rate doubles overall, all of it in one window
    return group, all_bins


def test_rate_rise_holds_its_false_alarm_rate_under_no_change():
    # 400 runs without a rise at alpha 0.01: a Bonferroni-bounded test flags at most
    # 1%; the binomial 99.9% upper bound on 400 draws at 1% is 11 flags.
    rng = random.Random(19)
    flags = 0
    for _ in range(400):
        group, all_bins = simulate_bins(rng, 2000, 30, 20, None)
        found = rate_rise(group, all_bins, 60)
        flags += found is not None and found.p_value < 0.01
    assert flags <= 11


def test_rate_rise_finds_a_burst_and_its_window():
    rng = random.Random(7)
    found_right = 0
    for _ in range(50):
        group, all_bins = simulate_bins(rng, 2000, 15, 20, rise_bin=13)
        found = rate_rise(group, all_bins, 60)
        found_right += found is not None and found.p_value < 0.01 and found.window_start == 13 * 60
    assert found_right >= 48  # 15 extra errors in one of 20 windows stand out every time


def test_rate_rise_needs_two_errors_and_two_windows():
    assert rate_rise({1: 1}, {1: 10, 2: 10}, 60) is None
    assert rate_rise({1: 5}, {1: 10}, 60) is None


def test_concentration_p_value_is_the_bonferroni_adjusted_exact_tail():
    found = concentration(
        "host", {"web-1": 9, "web-2": 1}, {"web-1": 100, "web-2": 200, "web-3": 100}
    )
    assert found is not None
    assert (found.value, found.count, found.total) == ("web-1", 9, 10)
    expected = scipy_stats.binom.sf(8, 10, 0.25) * 2
    assert found.p_value == pytest.approx(expected, rel=1e-9)


def test_concentration_false_alarms_stay_rare_when_errors_follow_traffic():
    rng = random.Random(3)
    hosts = ["web-1", "web-2", "web-3", "web-4"]
    flags = 0
    for _ in range(300):
        traffic = Counter(rng.choice(hosts) for _ in range(1000))
        errors = Counter(rng.choice(hosts) for _ in range(20))
        found = concentration("host", errors, traffic)
        flags += found is not None and found.p_value < 0.01
    assert flags <= 10  # binomial 99.9% upper bound on 300 draws at 1%
