"""Number formatting for readable reports ("14,751 users", "+1.20 pp", "p = 0.0031")."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any


def count_text(value: float) -> str:
    """Whole number with thousands separators."""
    return f"{round(value):,}"


def percent(value: float, digits: int = 2) -> str:
    """A fraction as a percentage: 0.105 -> '10.50%'."""
    return f"{value * 100:.{digits}f}%"


def signed_percent(value: float, digits: int = 1) -> str:
    """A relative change with its sign: 0.123 -> '+12.3%'."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 100:+.{digits}f}%"


def number(value: float) -> str:
    """Four significant digits, signed."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:+.4g}"


def lift_text(value: float, *, rate: bool) -> str:
    """An absolute lift: percentage points for rates, plain units for means."""
    if not math.isfinite(value):
        return "n/a"
    return f"{value * 100:+.2f} pp" if rate else number(value)


def interval_text(low: float, high: float, *, rate: bool) -> str:
    """A confidence interval of an absolute lift."""
    return f"[{lift_text(low, rate=rate)}, {lift_text(high, rate=rate)}]"


def p_text(value: float) -> str:
    """A p-value with useful precision: 'p = 0.0312', 'p = 3.1e-05', 'p < 1e-16'."""
    if math.isnan(value):
        return "p = n/a"
    if value < 1e-16:
        return "p < 1e-16"
    if value < 0.001:
        return f"p = {value:.1e}"
    return f"p = {value:.3g}" if value < 0.1 else f"p = {value:.2f}"


def jsonable(value: Any) -> Any:
    """Copy ``value`` with tuples as lists and NaN/inf as None, so ``json.dumps`` accepts it."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value
