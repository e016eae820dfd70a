"""Expected calibration error against a direct reference and by simulation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import (
    CalibrationError,
    assert_calibrated,
    calibration_bins,
    expected_calibration_error,
)


def reference_ece(probs: np.ndarray, labels: np.ndarray, bins: int) -> float:
    """ECE straight from the definition: bins (k/B, (k+1)/B], weighted |accuracy - confidence|."""
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    total = 0.0
    for k in range(bins):
        low, high = k / bins, (k + 1) / bins
        members = (confidence > low) & (confidence <= high)
        if members.any():
            total += (
                members.sum()
                / len(probs)
                * abs(correct[members].mean() - confidence[members].mean())
            )
    return total


def test_hand_computed_example() -> None:
    probs = np.array([[0.95, 0.05], [0.85, 0.15], [0.35, 0.65], [0.55, 0.45]])
    labels = np.array([0, 1, 1, 0])
    # bins of 0.2: (0.8, 1.0] holds 0.95 (right) and 0.85 (wrong): |0.5 - 0.9| * 2/4 = 0.2
    #              (0.6, 0.8] holds 0.65 (right):               |1 - 0.65| * 1/4 = 0.0875
    #              (0.4, 0.6] holds 0.55 (right):               |1 - 0.55| * 1/4 = 0.1125
    assert expected_calibration_error(probs, labels, bins=5) == pytest.approx(0.4)
    table = calibration_bins(probs, labels, bins=5)
    assert [(b.count, round(b.accuracy, 3)) for b in table] == [(1, 1.0), (1, 1.0), (2, 0.5)]


def test_matches_the_definition_on_random_multiclass_data() -> None:
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(500, 4)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 4, size=500)
    for bins in (1, 10, 15):
        assert expected_calibration_error(probs, labels, bins) == pytest.approx(
            reference_ece(probs, labels, bins), abs=1e-12
        )


def test_binary_probabilities_are_read_as_p_class_1() -> None:
    p = np.array([0.9, 0.2, 0.6])
    labels = np.array([1, 0, 0])
    two_column = np.stack([1 - p, p], axis=1)
    assert expected_calibration_error(p, labels) == expected_calibration_error(two_column, labels)


# n draws with labels sampled from the stated probabilities. McDiarmid: changing one sample
# moves the ECE by at most 2/n, so P(ECE >= E[ECE] + t) <= exp(-n t^2 / 2). With 15 bins,
# E[ECE] <= 0.5 * sqrt(15 / n) (Cauchy-Schwarz over the bins) = 0.0137 at n = 20000, and
# t = 0.03 makes a false failure rarer than exp(-9) = 1.2e-4 for any seed.
N = 20_000
CALIBRATED_BOUND = 0.5 * np.sqrt(15 / N) + 0.03


def test_a_calibrated_model_has_a_small_ece(recorded: Any) -> None:
    rng = np.random.default_rng(11)
    p = rng.uniform(0, 1, size=N)
    labels = (rng.uniform(0, 1, size=N) < p).astype(int)
    with recorded:
        ece = assert_calibrated(p, labels, max_ece=CALIBRATED_BOUND)
    assert ece < CALIBRATED_BOUND
    [(kind, summary)] = recorded  # a pass records its ECE, for trends across runs
    assert (kind, summary["passed"], summary["ece"]) == ("robustness", True, ece)
    assert summary["n"] == N


def test_an_overconfident_model_fails_with_the_worst_bins(recorded: Any) -> None:
    rng = np.random.default_rng(12)
    # Claims 0.95 but is right 70% of the time: ECE is 0.25 up to the same deviation bound.
    p = np.full(N, 0.95)
    labels = (rng.uniform(0, 1, size=N) < 0.70).astype(int)
    assert expected_calibration_error(p, labels) == pytest.approx(0.25, abs=0.03)
    with recorded, pytest.raises(CalibrationError) as info:
        assert_calibrated(p, labels, max_ece=0.05)
    message = str(info.value)
    assert message.startswith("assert_calibrated: expected calibration error 0.2")
    assert "confidence (0.93, 1.00]: 20000 predictions, mean confidence 0.950" in message
    assert "over-confident by 0.2" in message
    assert recorded[-1][1]["check"] == "assert_calibrated"


@pytest.mark.parametrize(
    ("probs", "labels", "options", "message"),
    [
        ([[0.5, 0.5]], [0], {"bins": 0}, r"bins=0: an integer >= 1"),
        ([[0.7, 0.7]], [0], {}, r"probs='row 0 sums to 1.4000': rows that sum to 1"),
        ([1.5], [0], {}, r"finite probabilities in \[0, 1\]"),
        ([[np.nan, 1.0]], [0], {}, r"finite probabilities"),
        ([], [], {}, r"an \(n,\) array of P\(class 1\) or an \(n, k>=2\) array, n >= 1"),
        ([["a", "b"]], [0], {}, r"probs=.*numbers in \[0, 1\]"),
        ([[0.5, 0.5]], [2], {}, r"labels=.*1 integer class indices in \[0, 1\]"),
        ([[0.5, 0.5]], [0, 1], {}, r"labels=.*1 integer class indices"),
        ([[0.5, 0.5]], [0.5], {}, r"labels=.*integer class indices"),
    ],
)
def test_bad_inputs(probs: Any, labels: Any, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        expected_calibration_error(probs, labels, **options)


def test_max_ece_must_be_a_probability() -> None:
    with pytest.raises(ProdguardUsageError, match=r"max_ece=-0.1: a number in \[0, 1\]"):
        assert_calibrated([0.5], [1], max_ece=-0.1)
