"""mSPRT always-valid p-values: formula, guarantees under repeated looks, and power."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pytest_prodguard.ab import Mean, ProdguardUsageError, Proportion, sequential_test


def _cumulative_looks(rng, p_control, p_treatment, batch, looks):
    control = np.cumsum(rng.binomial(batch, p_control, looks))
    treatment = np.cumsum(rng.binomial(batch, p_treatment, looks))
    return [
        (Proportion(int(c), batch * (k + 1)), Proportion(int(t), batch * (k + 1)))
        for k, (c, t) in enumerate(zip(control, treatment, strict=True))
    ]


def test_p_value_follows_the_mixture_likelihood_ratio():
    control, treatment = Mean(400, 10.0, 3.0), Mean(500, 10.6, 4.0)
    tau = 0.5
    result = sequential_test([(control, treatment)], mixing_sd=tau)
    variance = 9 / 400 + 16 / 500
    theta = 0.6
    ratio = math.sqrt(variance / (variance + tau**2)) * math.exp(
        tau**2 * theta**2 / (2 * variance * (variance + tau**2))
    )
    assert result.p_value == pytest.approx(min(1.0, 1 / ratio), rel=1e-12)
    radius = math.sqrt(
        variance
        * (variance + tau**2)
        / tau**2
        * (2 * math.log(1 / 0.05) + math.log((variance + tau**2) / variance))
    )
    assert result.ci == pytest.approx((theta - radius, theta + radius))
    assert result.naive_p_values[0] == pytest.approx(
        2 * 0.5 * math.erfc(theta / math.sqrt(variance) / math.sqrt(2))
    )


def test_p_values_never_increase_and_the_interval_only_shrinks():
    rng = np.random.default_rng(3)
    looks = _cumulative_looks(rng, 0.1, 0.1, 500, 15)
    result = sequential_test(looks, mixing_sd=0.01)
    assert list(result.p_values) == sorted(result.p_values, reverse=True)
    assert result.labels[0] == "look 1"
    assert result.control_n[-1] == 7500


def test_labelled_looks_keep_their_labels():
    looks = [
        ("day 1", Proportion(10, 100), Proportion(12, 100)),
        ("day 2", Proportion(22, 200), Proportion(25, 200)),
    ]
    result = sequential_test(looks, mixing_sd=0.02)
    assert result.labels == ("day 1", "day 2")


def test_false_positives_stay_below_alpha_with_twenty_looks_while_naive_peeking_does_not():
    # 2000 A/A experiments at 10%, 20 looks of +250 users per arm. The always-valid
    # p-value must keep "ever significant" below alpha = 0.05 (Ville's inequality);
    # stopping at the first naive p < 0.05 is known to reach about 25% with 20 looks.
    # Binomial sd at 0.05 is 0.0049: asserting mSPRT < 0.05 with its true rate near 0.01
    # leaves > 8 sd, and naive > 0.05 + 0.017 (3.5 sd) rules out a naive rate <= alpha.
    rng = np.random.default_rng(11)
    replications = 2000
    safe = naive = 0
    for _ in range(replications):
        result = sequential_test(_cumulative_looks(rng, 0.1, 0.1, 250, 20), mixing_sd=0.01)
        safe += result.first_significant_look is not None
        naive += result.naive_first_significant_look is not None
    assert safe / replications < 0.05
    assert naive / replications > 0.05 + 0.017


def test_a_real_effect_becomes_significant():
    # +20% relative at 10% with 40,000 users per arm: fixed-horizon power is ~1, and the
    # always-valid test reaches p < 0.05 too (deterministic for this seed).
    rng = np.random.default_rng(5)
    result = sequential_test(_cumulative_looks(rng, 0.1, 0.12, 2000, 20), mixing_sd=0.01)
    assert result.significant
    assert result.first_significant_look is not None
    assert result.ci[0] > 0


def test_looks_must_be_cumulative():
    looks = [(Proportion(10, 200), Proportion(10, 200)), (Proportion(5, 100), Proportion(9, 210))]
    with pytest.raises(ProdguardUsageError, match=r"looks\[1\].*cumulative"):
        sequential_test(looks, mixing_sd=0.01)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mixing_sd": 0}, "mixing_sd=0"),
        ({"mixing_sd": 0.01, "alpha": 1.5}, "alpha=1.5"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ProdguardUsageError, match=match):
        sequential_test([(Proportion(1, 10), Proportion(2, 10))], **kwargs)


def test_bad_looks():
    with pytest.raises(ProdguardUsageError, match="looks"):
        sequential_test([], mixing_sd=0.1)
    with pytest.raises(ProdguardUsageError, match="two rates or two means"):
        sequential_test([(Proportion(1, 10), Mean(10, 1.0, 1.0))], mixing_sd=0.1)
    with pytest.raises(ProdguardUsageError, match=r"looks\[0\]"):
        sequential_test([(Proportion(1, 10),)], mixing_sd=0.1)
