"""How the checks compare outputs: keys, numeric tolerance, batch-row alignment."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._arrays import is_array_like, to_numpy
from pytest_prodguard.robustness._format import brief
from pytest_prodguard.robustness._models import Prediction
from pytest_prodguard.robustness._variation import Variation

__all__ = ["aligned", "comparable", "key_name", "same", "to_real"]

Key = Callable[[Any], Any]
_SCALARS = (int, float)


def comparable(output: Any, key: Key | None) -> Any:
    """What is compared: ``key(output)``; by default a Prediction's label, else the output."""
    if key is not None:
        return key(output)
    if isinstance(output, Prediction):
        return output.label
    return output


def key_name(key: Key | None) -> str:
    """How the compared value is described in messages."""
    if key is None:
        return "label (for Prediction outputs) or the whole output"
    return getattr(key, "__name__", repr(key))


def same(a: Any, b: Any, tol: float) -> bool:
    """Equal labels/objects, or numbers/arrays equal within absolute ``tol`` (NaN equals NaN)."""
    if type(a) in _SCALARS and type(b) in _SCALARS:
        # Fast path for labels and scores: no array round trip.
        return bool(a == b or abs(a - b) <= tol or (math.isnan(a) and math.isnan(b)))
    if _numeric(a) and _numeric(b):
        left, right = _as_float_array(a), _as_float_array(b)
        if left.shape != right.shape:
            return False
        with np.errstate(invalid="ignore"):
            close = np.abs(left - right) <= tol
        both_nan = np.isnan(left) & np.isnan(right)
        # Equal infinities give inf - inf = nan, so compare them directly.
        return bool(np.all(close | both_nan | (left == right)))
    try:
        result = a == b
    except Exception:  # objects whose == raises are compared by identity
        return a is b
    if isinstance(result, np.ndarray):
        return bool(result.all()) and np.shape(a) == np.shape(b)
    return bool(result)


def to_real(value: Any, field: str) -> float:
    """A key's value as a float, for directional checks."""
    if _numeric(value):
        array = _as_float_array(value)
        if array.size == 1:
            return float(array.reshape(-1)[0])
    raise ProdguardUsageError(field, brief(value), "a key returning one number per output")


def aligned(output: Any, variation: Variation, varied_output: Any) -> Any:
    """The original output's rows behind each varied row, for batch-changing variations."""
    if not is_array_like(output):
        return output
    array = to_numpy(output)
    if array.ndim == 0:
        return output
    rows = variation.source_rows(array.shape[0])
    return output if rows is None else array[rows]


def _numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    if is_array_like(value):
        return np.issubdtype(to_numpy(value).dtype, np.number)
    return False


def _as_float_array(value: Any) -> np.ndarray:
    array = to_numpy(value) if is_array_like(value) else np.asarray(value)
    return array.astype(np.float64)
