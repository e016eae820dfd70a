"""The ``query_budget`` marker's arguments, validated where they enter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.units import format_duration, parse_duration

SIGNATURE = (
    "query_budget(*, max_queries=None, max_duplicates=None, max_time=None, "
    "per_statement_max_time=None, min_queries=None)"
)
COUNTS = ("max_queries", "max_duplicates", "min_queries")
DURATIONS = ("max_time", "per_statement_max_time")
COUNT_ACCEPTED = "a whole number >= 0 (an int, not a bool or a float)"


@dataclass(frozen=True)
class QueryBudget:
    """Limits on the statements one test runs; None means "not limited"."""

    max_queries: int | None = None
    max_duplicates: int | None = None
    max_time: float | None = None
    per_statement_max_time: float | None = None
    min_queries: int | None = None

    def describe(self) -> str:
        """The budget as the user would write it: ``max_queries=5, max_time=50 ms``."""
        parts = []
        for name in (
            "max_queries",
            "max_duplicates",
            "max_time",
            "per_statement_max_time",
            "min_queries",
        ):
            value = getattr(self, name)
            if value is not None:
                shown = format_duration(value) if name in DURATIONS else str(value)
                parts.append(f"{name}={shown}")
        return ", ".join(parts)


def parse_budget(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> QueryBudget:
    """Validate the marker's arguments into a :class:`QueryBudget`.

    Raises :class:`ProdguardUsageError` naming the field, the value and what is accepted.
    """
    if args:
        raise ProdguardUsageError("args", args, f"keyword arguments only: {SIGNATURE}")
    unknown = sorted(set(kwargs) - set(COUNTS) - set(DURATIONS))
    if unknown:
        raise ProdguardUsageError(
            unknown[0], kwargs[unknown[0]], f"one of the keywords of {SIGNATURE}"
        )
    if not kwargs:
        raise ProdguardUsageError("query_budget", "()", f"at least one limit: {SIGNATURE}")
    values: dict[str, Any] = {}
    for name in COUNTS:
        if name in kwargs:
            values[name] = _count(name, kwargs[name])
    for name in DURATIONS:
        if name in kwargs:
            values[name] = parse_duration(kwargs[name], field=name)
    budget = QueryBudget(**values)
    low, high = budget.min_queries, budget.max_queries
    if low is not None and high is not None and low > high:
        raise ProdguardUsageError("min_queries", low, f"at most max_queries={high}")
    return budget


def _count(name: str, value: object) -> int:
    # max_duplicates=0 would call every single statement a duplicate.
    lowest = 1 if name == "max_duplicates" else 0
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        accepted = COUNT_ACCEPTED.replace(">= 0", f">= {lowest}")
        raise ProdguardUsageError(name, value, accepted)
    return value
