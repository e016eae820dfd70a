"""Expected calibration error (ECE) and a calibration assertion.

ECE (Naeini et al. 2015; Guo et al. 2017): sort predictions into ``bins``
equal-width confidence bins ``(k/B, (k+1)/B]``, then

    ECE = sum over bins b of  |b| / n * | accuracy(b) - mean confidence(b) |

where confidence is the top-class probability and accuracy the share of
correct top-class predictions. Binary 1-D probabilities are read as
``P(class 1)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.recorder import record
from pytest_prodguard.robustness._args import check_int, check_probability
from pytest_prodguard.robustness._arrays import is_array_like, to_numpy
from pytest_prodguard.robustness._checks import RobustnessError

__all__ = [
    "CalibrationBin",
    "CalibrationError",
    "assert_calibrated",
    "calibration_bins",
    "expected_calibration_error",
]


class CalibrationError(RobustnessError):
    """The model's confidence does not match its accuracy."""


@dataclass(frozen=True)
class CalibrationBin:
    """One confidence bin: its range, size, mean confidence and accuracy."""

    low: float
    high: float
    count: int
    confidence: float
    accuracy: float

    @property
    def gap(self) -> float:
        """``confidence - accuracy``: positive means over-confident."""
        return self.confidence - self.accuracy


def _confidence_and_correct(probs: Any, labels: Any) -> tuple[np.ndarray, np.ndarray]:
    matrix = _probabilities(probs)
    truth = _labels(labels, matrix.shape[0], matrix.shape[1])
    predicted = np.argmax(matrix, axis=1)
    return matrix[np.arange(len(matrix)), predicted], predicted == truth


def _probabilities(probs: Any) -> np.ndarray:
    array = to_numpy(probs) if is_array_like(probs) else np.asarray(probs, dtype=object)
    try:
        array = array.astype(np.float64)
    except (TypeError, ValueError):
        raise ProdguardUsageError("probs", _shape_note(array), "numbers in [0, 1]") from None
    if array.ndim == 1:
        array = np.stack([1 - array, array], axis=1)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] < 2:
        raise ProdguardUsageError(
            "probs", _shape_note(array), "an (n,) array of P(class 1) or an (n, k>=2) array, n >= 1"
        )
    if not np.all(np.isfinite(array)) or array.min() < 0 or array.max() > 1:
        raise ProdguardUsageError("probs", _shape_note(array), "finite probabilities in [0, 1]")
    sums = array.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-3):
        worst = int(np.argmax(np.abs(sums - 1)))
        raise ProdguardUsageError(
            "probs", f"row {worst} sums to {sums[worst]:.4f}", "rows that sum to 1 (within 1e-3)"
        )
    return array


def _labels(labels: Any, n: int, k: int) -> np.ndarray:
    array = to_numpy(labels) if is_array_like(labels) else np.asarray(labels)
    accepted = f"{n} integer class indices in [0, {k - 1}]"
    if array.shape != (n,) or not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise ProdguardUsageError("labels", _shape_note(array), accepted)
    if n and (array.min() < 0 or array.max() >= k):
        raise ProdguardUsageError("labels", _shape_note(array), accepted)
    return array.astype(np.int64)


def _shape_note(array: np.ndarray) -> str:
    return f"<array of shape {array.shape}, dtype {array.dtype}>"


def calibration_bins(
    probs: Any, labels: Sequence[int] | Any, bins: int = 15
) -> list[CalibrationBin]:
    """The non-empty equal-width confidence bins behind :func:`expected_calibration_error`."""
    count = check_int("bins", bins, min_value=1)
    confidence, correct = _confidence_and_correct(probs, labels)
    # Bin k holds confidences in (k/B, (k+1)/B]; a confidence of exactly 0 joins bin 0.
    index = np.clip(np.ceil(confidence * count).astype(np.int64) - 1, 0, count - 1)
    result = []
    for k in range(count):
        members = index == k
        if members.any():
            result.append(
                CalibrationBin(
                    low=k / count,
                    high=(k + 1) / count,
                    count=int(members.sum()),
                    confidence=float(confidence[members].mean()),
                    accuracy=float(correct[members].mean()),
                )
            )
    return result


def expected_calibration_error(probs: Any, labels: Sequence[int] | Any, bins: int = 15) -> float:
    """ECE of ``probs`` ((n, k) class probabilities, or (n,) for P(class 1)) against ``labels``."""
    table = calibration_bins(probs, labels, bins)
    total = sum(b.count for b in table)
    return float(sum(b.count / total * abs(b.gap) for b in table))


def assert_calibrated(
    probs: Any, labels: Sequence[int] | Any, *, max_ece: float = 0.05, bins: int = 15
) -> float:
    """ECE must be at most ``max_ece``; returns the ECE. The message shows the worst bins."""
    __tracebackhide__ = True  # pytest shows the failure at the caller
    limit = check_probability("max_ece", max_ece, allow_zero=True)
    table = calibration_bins(probs, labels, bins)
    total = sum(b.count for b in table)
    ece = float(sum(b.count / total * abs(b.gap) for b in table))
    summary = _calibration_summary(table, ece=ece, limit=limit, passed=ece <= limit)
    if ece <= limit:
        record("robustness", summary)  # a pass keeps its figure, for trends across runs
        return ece
    worst = sorted(table, key=lambda b: -b.count * abs(b.gap))[:5]
    lines = [
        f"assert_calibrated: expected calibration error {ece:.4f} > max_ece {limit:g} "
        f"({total} predictions, {bins} bins); bins contributing most:",
        *(
            f"  confidence ({b.low:.2f}, {b.high:.2f}]: {b.count} predictions, mean confidence "
            f"{b.confidence:.3f}, accuracy {b.accuracy:.3f} "
            f"({'over' if b.gap > 0 else 'under'}-confident by {abs(b.gap):.3f})"
            for b in worst
        ),
    ]
    record("robustness", summary)
    raise CalibrationError("\n".join(lines), summary)


def _calibration_summary(
    table: Sequence[CalibrationBin], *, ece: float, limit: float, passed: bool
) -> dict[str, Any]:
    """The ``robustness`` record of one calibration check, passed or failed."""
    return {
        "check": "assert_calibrated",
        "passed": passed,
        "ece": ece,
        "max_ece": limit,
        "n": sum(b.count for b in table),
        "bins": [
            {
                "low": b.low,
                "high": b.high,
                "count": b.count,
                "confidence": b.confidence,
                "accuracy": b.accuracy,
            }
            for b in table
        ],
    }
