"""Per-arm statistics: rates and means, pooling, and cumulative looks.

A metric in one arm is either a :class:`Proportion` (successes out of trials:
conversion, click-through, error rate) or a :class:`Mean` (n, mean, standard
deviation: revenue per user, latency). The lowest floor of ``ab``: every other
module (the :class:`~pytest_prodguard.ab.data.Experiment`, CUPED, the event
aggregation, the tests) builds on these types.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from pytest_prodguard.ab import _validate
from pytest_prodguard.errors import ProdguardUsageError


@dataclass(frozen=True)
class Proportion:
    """``successes`` out of ``trials`` for a rate metric in one arm.

    ``trials`` must be at least 1 and ``successes`` between 0 and ``trials``;
    integral floats (``120.0``) are accepted and stored as ints.
    """

    successes: int
    trials: int

    def __post_init__(self) -> None:
        trials = _validate.count(self.trials, field="trials", minimum=1)
        successes = _validate.count(self.successes, field="successes")
        if successes > trials:
            raise ProdguardUsageError(
                "successes", self.successes, f"must not exceed trials ({trials})"
            )
        object.__setattr__(self, "trials", trials)
        object.__setattr__(self, "successes", successes)

    kind: ClassVar[str] = "rate"

    @property
    def n(self) -> int:
        """Number of units (the trials)."""
        return self.trials

    @property
    def rate(self) -> float:
        """Observed rate, successes / trials."""
        return self.successes / self.trials

    @property
    def mean(self) -> float:
        """The rate, so that rates and means share one interface."""
        return self.rate

    @property
    def variance(self) -> float:
        """Bernoulli variance of one unit, rate * (1 - rate)."""
        return self.rate * (1.0 - self.rate)

    @property
    def std(self) -> float:
        """Square root of :attr:`variance`."""
        return math.sqrt(self.variance)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"successes": self.successes, "trials": self.trials, "rate": self.rate}


@dataclass(frozen=True)
class Mean:
    """Summary of a continuous metric in one arm: ``n`` units, their ``mean`` and ``std``.

    ``std`` is the sample standard deviation (divisor n - 1). Build it from raw
    values with :meth:`from_samples`.
    """

    n: int
    mean: float
    std: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "n", _validate.count(self.n, field="n", minimum=1))
        object.__setattr__(self, "mean", _validate.real(self.mean, field="mean"))
        object.__setattr__(self, "std", _validate.non_negative(self.std, field="std"))

    kind: ClassVar[str] = "mean"

    @property
    def variance(self) -> float:
        """Sample variance, std squared."""
        return self.std * self.std

    @classmethod
    def from_samples(cls, values: Iterable[float] | np.ndarray[Any, Any]) -> Mean:
        """Summarise raw per-unit values (at least two finite numbers)."""
        array = as_finite_array(values, field="values")
        if array.size < 2:
            raise ProdguardUsageError(
                "values", f"{array.size} value(s)", "needs at least 2 values for a std"
            )
        return cls(int(array.size), float(array.mean()), float(array.std(ddof=1)))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {"n": self.n, "mean": self.mean, "std": self.std}


Stat = Proportion | Mean
MetricTable = Mapping[str, Mapping[str, Stat]]
"""metric name -> arm name -> statistic."""


def as_finite_array(values: object, *, field: str) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Convert ``values`` to a 1-D float array, refusing NaN/inf and non-numbers."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ProdguardUsageError(field, values, "must be a sequence of numbers") from error
    if array.ndim != 1:
        raise ProdguardUsageError(field, f"array of shape {array.shape}", "must be 1-dimensional")
    bad = ~np.isfinite(array)
    if bad.any():
        first = int(np.argmax(bad))
        raise ProdguardUsageError(
            field,
            f"{int(bad.sum())} NaN/inf value(s), first at index {first} ({array[first]})",
            "must contain only finite numbers; drop or impute missing values first",
        )
    return array


def pool(stats: Iterable[Stat]) -> Stat:
    """Combine statistics of disjoint groups of units (segments, periods) into one.

    Proportions add up; means are merged exactly (the pooled standard deviation
    includes the spread between the groups' means).
    """
    items = list(stats)
    if not items:
        raise ProdguardUsageError("stats", items, "needs at least one statistic to pool")
    if all(isinstance(item, Proportion) for item in items):
        proportions = [item for item in items if isinstance(item, Proportion)]
        return Proportion(
            sum(item.successes for item in proportions), sum(item.trials for item in proportions)
        )
    if all(isinstance(item, Mean) for item in items):
        return _pool_means([item for item in items if isinstance(item, Mean)])
    kinds = sorted({type(item).__name__ for item in items})
    raise ProdguardUsageError("stats", kinds, "must all be Proportion or all be Mean")


def _pool_means(means: Sequence[Mean]) -> Mean:
    total = sum(item.n for item in means)
    grand = sum(item.n * item.mean for item in means) / total
    within = sum((item.n - 1) * item.variance for item in means)
    between = sum(item.n * (item.mean - grand) ** 2 for item in means)
    std = math.sqrt((within + between) / (total - 1)) if total > 1 else 0.0
    return Mean(total, grand, std)


STAT_ACCEPTED = (
    "must be a Proportion, a Mean, a (successes, trials) pair, or a dict with keys "
    "{'successes', 'trials'}, {'n', 'mean', 'std'} or {'values': [...]}"
)


def to_stat(value: object, *, where: str) -> Stat:
    """Turn a user-supplied value into a :data:`Stat`; errors name ``where`` it came from."""
    try:
        return _to_stat(value, where)
    except ProdguardUsageError as error:
        if error.source:
            raise
        raise ProdguardUsageError(error.field, error.value, error.accepted, source=where) from None


def _to_stat(value: object, where: str) -> Stat:
    if isinstance(value, (Proportion, Mean)):
        return value
    if isinstance(value, Mapping):
        keys = set(value)
        if keys == {"successes", "trials"}:
            return Proportion(value["successes"], value["trials"])
        if keys == {"n", "mean", "std"}:
            return Mean(value["n"], value["mean"], value["std"])
        if keys == {"values"}:
            return Mean.from_samples(value["values"])
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return Proportion(value[0], value[1])
    raise ProdguardUsageError(where, value, STAT_ACCEPTED)


@dataclass(frozen=True)
class Look:
    """A cumulative snapshot of the experiment: all data up to and including period ``label``."""

    label: str
    metrics: MetricTable
