"""Readable, bounded text for inputs and outputs in failure messages."""

from __future__ import annotations

from typing import Any

import numpy as np

from pytest_prodguard.robustness._arrays import dtype_name, is_array_like, is_tensor, to_numpy
from pytest_prodguard.robustness._prediction import Prediction

__all__ = ["brief", "show"]


def show(value: Any, limit: int = 160) -> str:
    """``repr``-like text for ``value``, at most about ``limit`` characters.

    Long strings keep their head and tail; arrays and tensors show shape,
    dtype and a summarised body.
    """
    if is_array_like(value):
        return _show_array(value, limit)
    if isinstance(value, np.generic):
        value = value.item()
    text = str(value) if _has_readable_str(value) else repr(value)
    if len(text) <= limit:
        return text
    keep = max(limit // 2 - 10, 8)
    return f"{text[:keep]}…({len(text) - 2 * keep} chars)…{text[-keep:]}"


def brief(value: object, limit: int = 80) -> object:
    """``value`` itself if its repr is short, else a short description (for usage errors)."""
    text = repr(value)
    if len(text) <= limit:
        return value
    return f"<{type(value).__name__}: {show(value, limit)}>"


def _has_readable_str(value: Any) -> bool:
    return isinstance(value, Prediction)


def _show_array(value: Any, limit: int) -> str:
    array = to_numpy(value)
    kind = "tensor" if is_tensor(value) else "array"
    with np.printoptions(threshold=12, edgeitems=2, precision=4, linewidth=limit):
        body = np.array2string(array, separator=", ")
    body = " ".join(body.split())
    if len(body) > limit:
        body = body[: limit - 1] + "…"
    return f"{kind}(shape={tuple(array.shape)}, dtype={dtype_name(value)}, {body})"
