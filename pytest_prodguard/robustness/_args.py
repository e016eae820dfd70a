"""Argument checks shared by the robustness modules.

Every public function validates what the user passed where it enters and
raises :class:`~pytest_prodguard.errors.ProdguardUsageError` naming the
argument, the value and what is accepted.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError


def check_int(field: str, value: object, *, min_value: int, max_value: int | None = None) -> int:
    """Return ``value`` if it is an int in ``[min_value, max_value]``, else raise."""
    upper = "" if max_value is None else f" and <= {max_value}"
    accepted = f"an integer >= {min_value}{upper}"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProdguardUsageError(field, value, accepted)
    if value < min_value or (max_value is not None and value > max_value):
        raise ProdguardUsageError(field, value, accepted)
    return value


def check_positive_float(field: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number > 0, else raise."""
    accepted = "a finite number > 0"
    number = _as_real(field, value, accepted)
    if not number > 0:
        raise ProdguardUsageError(field, value, accepted)
    return number


def check_non_negative_float(field: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite number >= 0, else raise."""
    accepted = "a finite number >= 0"
    number = _as_real(field, value, accepted)
    if number < 0:
        raise ProdguardUsageError(field, value, accepted)
    return number


def check_probability(field: str, value: object, *, allow_zero: bool = False) -> float:
    """Return ``value`` if it lies in (0, 1] (or [0, 1] with ``allow_zero``), else raise."""
    accepted = "a number in [0, 1]" if allow_zero else "a number in (0, 1]"
    number = _as_real(field, value, accepted)
    if number > 1 or number < 0 or (number == 0 and not allow_zero):
        raise ProdguardUsageError(field, value, accepted)
    return number


def _as_real(field: str, value: object, accepted: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            import numpy as np

            if isinstance(value, np.number) and not isinstance(value, np.complexfloating):
                return _finite(field, float(value), accepted, value)
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        raise ProdguardUsageError(field, value, accepted)
    return _finite(field, float(value), accepted, value)


def _finite(field: str, number: float, accepted: str, original: object) -> float:
    if not math.isfinite(number):
        raise ProdguardUsageError(field, original, accepted)
    return number


def check_choice(field: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise."""
    if not isinstance(value, str) or value not in choices:
        raise ProdguardUsageError(field, value, "one of " + ", ".join(repr(c) for c in choices))
    return value


def check_op_selection(field: str, value: object, ops: Sequence[str]) -> tuple[str, ...]:
    """Turn a kind switch (``True``/``False`` or a subset of op names) into op names.

    ``True`` selects every op of the kind, ``False`` none, and a collection of
    names selects those (in the kind's canonical order, so shrinking is stable).
    """
    accepted = f"True, False or a non-empty subset of {list(ops)}"
    if value is True:
        return tuple(ops)
    if value is False or value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ProdguardUsageError(field, value, accepted)
    chosen = list(value)
    if not chosen or any(not isinstance(c, str) or c not in ops for c in chosen):
        raise ProdguardUsageError(field, value, accepted)
    return tuple(op for op in ops if op in chosen)


def check_sequence(field: str, value: object, *, min_size: int = 1) -> Sequence[Any]:
    """Return ``value`` if it is a list-like sequence (not a str) of at least ``min_size``."""
    accepted = f"a list or tuple with at least {min_size} item(s)"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        if _is_array(value):
            if len(value) < min_size:  # type: ignore[arg-type]
                raise ProdguardUsageError(field, _short(value), accepted)
            return value  # type: ignore[return-value]
        raise ProdguardUsageError(field, _short(value), accepted)
    if len(value) < min_size:
        raise ProdguardUsageError(field, value, accepted)
    return value


def check_callable(field: str, value: object, accepted: str) -> Any:
    """Return ``value`` if it is callable, else raise with ``accepted``."""
    if not callable(value):
        raise ProdguardUsageError(field, _short(value), accepted)
    return value


def check_same_length(field: str, value: Collection[Any], other_field: str, other: int) -> None:
    """Raise unless ``len(value) == other``."""
    if len(value) != other:
        raise ProdguardUsageError(
            field, f"<{len(value)} items>", f"as many items as {other_field} ({other})"
        )


def _is_array(value: object) -> bool:
    return hasattr(value, "shape") and hasattr(value, "__len__")


def _short(value: object) -> object:
    """Keep error messages readable for large values."""
    text = repr(value)
    if len(text) <= 80:
        return value
    return f"<{type(value).__name__} {text[:60]}...>"


def short_value(value: object) -> object:
    """``value`` itself when its repr is short, else a bounded description (for usage errors)."""
    text = repr(value)
    return value if len(text) <= 80 else f"<{type(value).__name__} {text[:60]}...>"
