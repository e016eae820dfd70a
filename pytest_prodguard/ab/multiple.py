"""Corrections for testing several metrics (or arms) at once.

- ``"holm"``: Holm's step-down method controls the family-wise error rate (the
  chance of *any* false positive) under any dependence between the tests; it
  is uniformly more powerful than Bonferroni.
- ``"bh"``: Benjamini-Hochberg controls the false discovery rate (the expected
  share of false positives among the metrics declared significant), for
  independent or positively dependent tests.
- ``"bonferroni"``: p times the number of tests, for comparison.

Adjusted p-values agree with statsmodels ``multipletests`` (``holm``,
``fdr_bh``, ``bonferroni``); compare each to the unadjusted alpha.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np

from pytest_prodguard.ab import _validate
from pytest_prodguard.errors import ProdguardUsageError

METHODS = ("holm", "bh", "bonferroni")


@overload
def adjust_pvalues(pvalues: Mapping[str, float], method: str = ...) -> dict[str, float]: ...


@overload
def adjust_pvalues(pvalues: Sequence[float], method: str = ...) -> list[float]: ...


def adjust_pvalues(
    pvalues: Sequence[float] | Mapping[str, float], method: str = "holm"
) -> list[float] | dict[str, float]:
    """Adjust p-values for multiple testing; same order (or same keys) as given.

    ``method`` is ``"holm"`` (family-wise error), ``"bh"`` (false discovery
    rate) or ``"bonferroni"``.
    """
    method_ = _validate.choice(method, field="method", options=METHODS)
    if isinstance(pvalues, Mapping):
        names = list(pvalues)
        adjusted = _adjust([pvalues[name] for name in names], method_)
        return dict(zip(names, adjusted, strict=True))
    if isinstance(pvalues, (str, bytes)) or not isinstance(pvalues, Sequence):
        raise ProdguardUsageError(
            "pvalues", pvalues, "must be a sequence of p-values or a mapping name -> p-value"
        )
    return _adjust(list(pvalues), method_)


def _adjust(values: list[object], method: str) -> list[float]:
    if not values:
        raise ProdguardUsageError("pvalues", values, "must contain at least one p-value")
    p = np.array([_p_value(value, index) for index, value in enumerate(values)])
    m = p.size
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    adjusted_sorted: np.ndarray[Any, np.dtype[np.float64]]
    if method == "bonferroni":
        adjusted_sorted = np.minimum(ranked * m, 1.0)
    elif method == "holm":
        holm_factors = m - np.arange(m, dtype=np.float64)
        adjusted_sorted = np.minimum(np.maximum.accumulate(ranked * holm_factors), 1.0)
    else:
        bh_factors = m / np.arange(1, m + 1, dtype=np.float64)
        adjusted_sorted = np.minimum(np.minimum.accumulate((ranked * bh_factors)[::-1])[::-1], 1.0)
    adjusted = np.empty(m)
    adjusted[order] = adjusted_sorted
    return [float(value) for value in adjusted]


def _p_value(value: object, index: int) -> float:
    number = _validate.real(value, field=f"pvalues[{index}]")
    if not 0.0 <= number <= 1.0:
        raise ProdguardUsageError(f"pvalues[{index}]", value, "must be between 0 and 1")
    return number
