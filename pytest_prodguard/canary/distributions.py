"""Latency distributions as counts: raw samples, or Prometheus cumulative histograms.

A percentile comparison needs only "how many values are at most t" and "how
many are below t". Raw samples answer exactly; a histogram knows counts only at
its bucket edges, so it answers with the bound that keeps a test conservative:
:meth:`Histogram.at_most` rounds *up* to the next edge and :meth:`Histogram.below`
*down* to the previous one. Quantile bounds from a histogram are the edges of
the buckets that hold the bounding order statistics.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from pytest_prodguard.ab import _validate
from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.latency.stats import (
    lower_order_index,
    quantile_bounds,
    sample_quantile,
    upper_order_index,
)


class Counts(Protocol):
    """What the percentile tests read from a distribution."""

    @property
    def n(self) -> int:
        """Number of values."""

    def at_most(self, t: float) -> int:
        """Number of values <= t (or an upper estimate of it)."""

    def below(self, t: float) -> int:
        """Number of values < t (or a lower estimate of it)."""

    def thresholds(self) -> Sequence[float]:
        """Sorted values at which the counts change (sample values, bucket edges)."""


@dataclass(frozen=True)
class Samples:
    """Raw latency samples (seconds or any one unit), kept sorted."""

    values: tuple[float, ...]

    @classmethod
    def of(cls, values: object, *, field: str) -> Samples:
        """Validate a non-empty list of finite, non-negative durations."""
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ProdguardUsageError(field, values, "a non-empty list of durations")
        checked = [
            _validate.non_negative(value, field=f"{field}[{index}]")
            for index, value in enumerate(values)
        ]
        return cls(tuple(sorted(checked)))

    @classmethod
    def pooled(cls, parts: Sequence[Samples]) -> Samples:
        """All samples of ``parts`` together."""
        return cls(tuple(sorted(value for part in parts for value in part.values)))

    @property
    def n(self) -> int:
        """Number of samples."""
        return len(self.values)

    def at_most(self, t: float) -> int:
        """Exact number of samples <= t."""
        return bisect.bisect_right(self.values, t)

    def below(self, t: float) -> int:
        """Exact number of samples < t."""
        return bisect.bisect_left(self.values, t)

    def thresholds(self) -> Sequence[float]:
        """The sorted samples."""
        return self.values

    def estimate(self, q: float) -> float:
        """The sample q-quantile (linear interpolation, numpy's default)."""
        return sample_quantile(self.values, q)

    def bounds(self, q: float, alpha_low: float, alpha_high: float) -> tuple[float, float]:
        """Distribution-free order-statistic bounds of the q-quantile."""
        return quantile_bounds(self.values, q, alpha_low, alpha_high)


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts at ascending upper edges (``le``), as Prometheus exports them."""

    edges: tuple[float, ...]
    cumulative: tuple[int, ...]

    @classmethod
    def of(cls, buckets: object, *, field: str) -> Histogram:
        """Validate ``{le: count}`` or ``[[le, count], ...]``: sorted edges, cumulative counts."""
        pairs = _pairs(buckets, field)
        edges = tuple(_edge(le, f"{field}[{index}] le") for index, (le, _) in enumerate(pairs))
        counts = tuple(
            _validate.count(count, field=f"{field}[{index}] count")
            for index, (_, count) in enumerate(pairs)
        )
        for index in range(1, len(edges)):
            if edges[index] <= edges[index - 1]:
                raise ProdguardUsageError(
                    f"{field}[{index}] le", pairs[index][0], "bucket edges must be sorted ascending"
                )
            if counts[index] < counts[index - 1]:
                raise ProdguardUsageError(
                    f"{field}[{index}] count",
                    counts[index],
                    f"buckets must be cumulative (never below the previous {counts[index - 1]})",
                )
        if counts[-1] == 0:
            raise ProdguardUsageError(field, buckets, "is empty (no observations)")
        return cls(edges, counts)

    @classmethod
    def pooled(cls, parts: Sequence[Histogram]) -> Histogram:
        """The sum of histograms that share their bucket edges."""
        columns = zip(*(part.cumulative for part in parts), strict=True)
        return cls(parts[0].edges, tuple(sum(column) for column in columns))

    @property
    def n(self) -> int:
        """Number of observations."""
        return self.cumulative[-1]

    def at_most(self, t: float) -> int:
        """Upper estimate of the count <= t: the count at the first edge >= t."""
        index = bisect.bisect_left(self.edges, t)
        return self.n if index >= len(self.edges) else self.cumulative[index]

    def below(self, t: float) -> int:
        """Lower estimate of the count < t: the count at the last edge < t."""
        index = bisect.bisect_left(self.edges, t)
        return 0 if index == 0 else self.cumulative[index - 1]

    def thresholds(self) -> Sequence[float]:
        """The finite bucket edges."""
        return [edge for edge in self.edges if math.isfinite(edge)]

    def estimate(self, q: float) -> float:
        """Prometheus ``histogram_quantile``: linear interpolation inside the bucket."""
        rank = q * self.n
        index = next(i for i, count in enumerate(self.cumulative) if count >= rank)
        upper = self.edges[index]
        lower = self.edges[index - 1] if index > 0 else 0.0
        if not math.isfinite(upper):
            return lower
        below = self.cumulative[index - 1] if index > 0 else 0
        inside = self.cumulative[index] - below
        return lower + (upper - lower) * ((rank - below) / inside if inside else 1.0)

    def bounds(self, q: float, alpha_low: float, alpha_high: float) -> tuple[float, float]:
        """Bucket edges around the order statistics that bound the q-quantile."""
        r = lower_order_index(self.n, q, alpha_low) if alpha_low > 0 else None
        s = upper_order_index(self.n, q, alpha_high) if alpha_high > 0 else None
        low = -math.inf if r is None else self._lower_edge_of_rank(r)
        high = math.inf if s is None else self.edges[self._bucket_of_rank(s)]
        return low, high

    def _bucket_of_rank(self, rank: int) -> int:
        return bisect.bisect_left(self.cumulative, rank)

    def _lower_edge_of_rank(self, rank: int) -> float:
        index = self._bucket_of_rank(rank)
        return self.edges[index - 1] if index > 0 else 0.0


@dataclass(frozen=True)
class Scaled:
    """A distribution with values times ``value_factor`` and counts times ``count_factor``.

    Used to ask "would an effect of this size be seen at this many requests?"
    with the baseline's own shape.
    """

    base: Counts
    value_factor: float
    count_factor: float

    @property
    def n(self) -> int:
        """Number of values after scaling the counts."""
        return round(self.base.n * self.count_factor)

    def at_most(self, t: float) -> int:
        """Expected count <= t."""
        return round(self.base.at_most(t / self.value_factor) * self.count_factor)

    def below(self, t: float) -> int:
        """Expected count < t."""
        return round(self.base.below(t / self.value_factor) * self.count_factor)

    def thresholds(self) -> Sequence[float]:
        """The base's thresholds, scaled."""
        return [t * self.value_factor for t in self.base.thresholds()]


def _pairs(buckets: object, field: str) -> list[tuple[object, object]]:
    if isinstance(buckets, Mapping):
        items = list(buckets.items())
    elif isinstance(buckets, Sequence) and not isinstance(buckets, (str, bytes)):
        items = list(buckets)
    else:
        raise ProdguardUsageError(field, buckets, "{le: count} or a list of [le, count] pairs")
    if not items:
        raise ProdguardUsageError(field, buckets, "is empty (no buckets)")
    pairs = []
    for index, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ProdguardUsageError(f"{field}[{index}]", item, "an [le, count] pair")
        pairs.append((item[0], item[1]))
    return pairs


def _edge(value: object, field: str) -> float:
    """A bucket's ``le``: a number, or a string such as ``"0.25"`` or ``"+Inf"``."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ProdguardUsageError(field, value, 'a number or "+Inf"') from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise ProdguardUsageError(field, value, 'a number or "+Inf"')
    if math.isnan(number) or number < 0:
        raise ProdguardUsageError(field, value, 'a duration >= 0 or "+Inf"')
    return number
