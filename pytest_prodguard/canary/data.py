"""What a canary verdict reads: one arm's metrics, validated where they enter.

An arm (the baseline or the canary) is a list of named metrics, each given as
totals or per interval (per-interval values are what lets the verdict be
re-evaluated at every interval of a rollout):

- :class:`ErrorCounts`: requests and errors (whole numbers, errors <= requests);
- :class:`LatencyData`: raw samples or Prometheus-style cumulative histogram
  buckets (``le`` upper edges, ascending, counts never decreasing);
- :class:`Gauge`: a throughput or saturation reading (CPU, memory, pool
  utilisation) judged against a limit.

:meth:`Arm.from_dict` reads the JSON format documented in ``docs/canary.md``;
every bad value raises :class:`ProdguardUsageError` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pytest_prodguard.ab import _validate
from pytest_prodguard.canary.distributions import Histogram, Samples
from pytest_prodguard.errors import ProdguardUsageError

GAUGE_KINDS = ("throughput", "saturation")
METRIC_TYPES = ("errors", "latency", *GAUGE_KINDS)


@dataclass(frozen=True)
class ErrorCounts:
    """Requests and errors of one arm, one pair per interval (a total is one interval)."""

    name: str
    requests: tuple[int, ...]
    errors: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_name(self.name)
        field_ = f"{self.name}.requests"
        requests = _counts(self.requests, field_)
        errors = _counts(self.errors, f"{self.name}.errors")
        if len(errors) != len(requests):
            raise ProdguardUsageError(
                f"{self.name}.errors", self.errors, f"must have one count per interval ({field_})"
            )
        for index, (sent, failed) in enumerate(zip(requests, errors, strict=True)):
            if failed > sent:
                raise ProdguardUsageError(
                    f"{self.name}.errors[{index}]", failed, f"must not exceed the {sent} requests"
                )
        object.__setattr__(self, "requests", requests)
        object.__setattr__(self, "errors", errors)

    @property
    def intervals(self) -> int:
        """Number of intervals (looks)."""
        return len(self.requests)


@dataclass(frozen=True)
class LatencyData:
    """Latency of one arm, per interval: raw samples or cumulative histogram buckets."""

    name: str
    intervals_data: tuple[Samples | Histogram, ...]

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.intervals_data:
            raise ProdguardUsageError(self.name, self.intervals_data, "needs at least one interval")
        kinds = {type(part) for part in self.intervals_data}
        if len(kinds) > 1:
            raise ProdguardUsageError(
                self.name, sorted(k.__name__ for k in kinds), "use samples or buckets, not both"
            )
        first = self.intervals_data[0]
        for index, part in enumerate(self.intervals_data):
            same_edges = not isinstance(first, Histogram) or (
                isinstance(part, Histogram) and part.edges == first.edges
            )
            if not same_edges:
                raise ProdguardUsageError(
                    f"{self.name}.buckets[{index}]",
                    list(getattr(part, "edges", ())),
                    "every interval must use the same bucket edges as the first",
                )

    @property
    def intervals(self) -> int:
        """Number of intervals (looks)."""
        return len(self.intervals_data)

    def up_to(self, look: int) -> Samples | Histogram:
        """Everything recorded in intervals ``0..look``, pooled."""
        return self.pooled_looks[look]

    @cached_property
    def pooled_looks(self) -> tuple[Samples | Histogram, ...]:
        """The pooled distribution after each interval, computed once."""
        looks = [self.intervals_data[0]]
        for part in self.intervals_data[1:]:
            previous = looks[-1]
            if isinstance(part, Samples) and isinstance(previous, Samples):
                looks.append(Samples.pooled([previous, part]))
            elif isinstance(part, Histogram) and isinstance(previous, Histogram):
                looks.append(Histogram.pooled([previous, part]))
        return tuple(looks)


@dataclass(frozen=True)
class Gauge:
    """A throughput or saturation reading per interval, judged against ``limit``.

    Saturation (``kind="saturation"``) must stay at or below its limit;
    throughput must stay at or above it. ``limit=None`` reports the reading
    without judging it.
    """

    name: str
    kind: str
    values: tuple[float, ...]
    limit: float | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        _validate.choice(self.kind, field=f"{self.name}.type", options=GAUGE_KINDS)
        values = _sequence(self.values, f"{self.name}.values")
        if not values:
            raise ProdguardUsageError(
                f"{self.name}.values", self.values, "needs at least one value"
            )
        checked = tuple(
            _validate.non_negative(value, field=f"{self.name}.values[{index}]")
            for index, value in enumerate(values)
        )
        object.__setattr__(self, "values", checked)
        if self.limit is not None:
            limit = _validate.non_negative(self.limit, field=f"{self.name}.limit")
            object.__setattr__(self, "limit", limit)

    @property
    def higher_is_worse(self) -> bool:
        """Saturation is worse when higher, throughput when lower."""
        return self.kind == "saturation"

    @property
    def intervals(self) -> int:
        """Number of intervals (looks)."""
        return len(self.values)


Metric = ErrorCounts | LatencyData | Gauge


@dataclass(frozen=True)
class Arm:
    """One arm's metrics plus what to keep as evidence (window, error groups, queries)."""

    metrics: tuple[Metric, ...]
    window: tuple[str, str] | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    error_groups: Mapping[str, int] = field(default_factory=dict)
    queries: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for metric in self.metrics:
            if not isinstance(metric, (ErrorCounts, LatencyData, Gauge)):
                raise ProdguardUsageError(
                    "metrics", metric, "must be ErrorCounts, LatencyData or Gauge"
                )
            if metric.name in seen:
                raise ProdguardUsageError("metrics", metric.name, "names a metric twice")
            seen.add(metric.name)
        if not self.metrics:
            raise ProdguardUsageError("metrics", self.metrics, "needs at least one metric")
        for group, count in self.error_groups.items():
            _validate.count(count, field=f"error_groups[{group!r}]")

    def metric(self, name: str) -> Metric | None:
        """The metric called ``name``, or None."""
        return next((metric for metric in self.metrics if metric.name == name), None)

    @classmethod
    def from_dict(cls, data: object, *, role: str = "arm") -> Arm:
        """Read an arm from its JSON form (``docs/canary.md``); ``role`` prefixes field names."""
        if not isinstance(data, Mapping):
            raise ProdguardUsageError(role, _short(data), "must be an object with 'metrics'")
        unknown = set(data) - {"metrics", "window", "labels", "error_groups", "queries"}
        if unknown:
            raise ProdguardUsageError(
                role,
                sorted(unknown),
                "unknown keys; accepted: metrics, window, labels, error_groups, queries",
            )
        raw_metrics = data.get("metrics")
        if not isinstance(raw_metrics, list) or not raw_metrics:
            raise ProdguardUsageError(f"{role}.metrics", _short(raw_metrics), "a non-empty list")
        metrics = tuple(
            _metric_from_dict(item, f"{role}.metrics[{i}]") for i, item in enumerate(raw_metrics)
        )
        return cls(
            metrics=metrics,
            window=_window(data.get("window"), f"{role}.window"),
            labels=_string_map(data.get("labels", {}), f"{role}.labels"),
            error_groups=_groups(data.get("error_groups", {}), f"{role}.error_groups"),
            queries=tuple(_strings(data.get("queries", []), f"{role}.queries")),
        )


def as_arm(value: object, role: str) -> Arm:
    """``value`` if it is an :class:`Arm`, else read it with :meth:`Arm.from_dict`."""
    return value if isinstance(value, Arm) else Arm.from_dict(value, role=role)


def _metric_from_dict(item: object, where: str) -> Metric:
    if not isinstance(item, Mapping):
        raise ProdguardUsageError(where, _short(item), "must be an object with 'name' and 'type'")
    name = _check_name(item.get("name"), where=f"{where}.name")
    kind = _validate.choice(item.get("type"), field=f"{name}.type", options=METRIC_TYPES)
    allowed = {
        "errors": {"requests", "errors"},
        "latency": {"samples", "buckets"},
        "throughput": {"values", "limit"},
        "saturation": {"values", "limit"},
    }[kind] | {"name", "type"}
    unknown = set(item) - allowed
    if unknown:
        raise ProdguardUsageError(
            name, sorted(unknown), f"unknown keys for a {kind} metric; accepted: {sorted(allowed)}"
        )
    if kind == "errors":
        return ErrorCounts(
            name,
            _counts(_per_interval(item.get("requests"), f"{name}.requests"), f"{name}.requests"),
            _counts(_per_interval(item.get("errors"), f"{name}.errors"), f"{name}.errors"),
        )
    if kind == "latency":
        return _latency_from_dict(name, item)
    field_ = f"{name}.values"
    return Gauge(
        name, kind, _readings(_per_interval(item.get("values"), field_), field_), item.get("limit")
    )


def _latency_from_dict(name: str, item: Mapping[str, Any]) -> LatencyData:
    if ("samples" in item) == ("buckets" in item):
        raise ProdguardUsageError(name, sorted(item), "give exactly one of 'samples' or 'buckets'")
    if "samples" in item:
        raw = item["samples"]
        field_ = f"{name}.samples"
        if not isinstance(raw, list) or not raw:
            raise ProdguardUsageError(field_, _short(raw), "a non-empty list of durations")
        nested = raw if isinstance(raw[0], list) else [raw]
        return LatencyData(
            name, tuple(Samples.of(part, field=f"{field_}[{i}]") for i, part in enumerate(nested))
        )
    field_ = f"{name}.buckets"
    return LatencyData(
        name,
        tuple(
            Histogram.of(part, field=f"{field_}[{i}]")
            for i, part in enumerate(_bucket_intervals(item["buckets"], field_))
        ),
    )


def _bucket_intervals(raw: object, field_: str) -> list[object]:
    """One histogram (``{le: count}`` or ``[[le, count], ...]``) or a list of them, as a list."""
    if isinstance(raw, Mapping):
        return [raw]
    if not isinstance(raw, list) or not raw:
        raise ProdguardUsageError(field_, _short(raw), "a non-empty list of [le, count] pairs")
    first = raw[0]
    if isinstance(first, Mapping):
        return list(raw)
    if isinstance(first, list) and first and isinstance(first[0], (list, Mapping)):
        return list(raw)
    return [raw]


def _check_name(name: object, *, where: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise ProdguardUsageError(where, name, "a non-empty metric name")
    return name


def _sequence(value: object, field_: str) -> tuple[object, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ProdguardUsageError(field_, _short(value), "a list of numbers (one per interval)")
    return tuple(value)


def _counts(value: object, field_: str) -> tuple[int, ...]:
    values = _sequence(value, field_)
    if not values:
        raise ProdguardUsageError(field_, value, "needs at least one interval")
    return tuple(
        _validate.count(count, field=f"{field_}[{index}]") for index, count in enumerate(values)
    )


def _readings(value: object, field_: str) -> tuple[float, ...]:
    values = _sequence(value, field_)
    if not values:
        raise ProdguardUsageError(field_, value, "needs at least one reading")
    return tuple(
        _validate.non_negative(item, field=f"{field_}[{index}]")
        for index, item in enumerate(values)
    )


def _per_interval(value: object, field_: str) -> tuple[object, ...]:
    """A total (one number) or one number per interval, as a tuple."""
    if isinstance(value, list):
        return tuple(value)
    if value is None:
        raise ProdguardUsageError(field_, value, "a whole number or a list, one per interval")
    return (value,)


def _window(value: object, field_: str) -> tuple[str, str] | None:
    if value is None:
        return None
    if isinstance(value, Mapping) and set(value) == {"start", "end"}:
        start, end = value["start"], value["end"]
        if isinstance(start, str) and isinstance(end, str):
            return start, end
    raise ProdguardUsageError(field_, _short(value), 'an object {"start": "...", "end": "..."}')


def _string_map(value: object, field_: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ProdguardUsageError(field_, _short(value), "an object of string values")
    return dict(value)


def _groups(value: object, field_: str) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ProdguardUsageError(field_, _short(value), "an object: error group -> count")
    return {
        str(group): _validate.count(count, field=f"{field_}[{group!r}]")
        for group, count in value.items()
    }


def _strings(value: object, field_: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ProdguardUsageError(field_, _short(value), "a list of strings")
    return list(value)


def _short(value: object) -> object:
    """A value small enough to quote in an error message."""
    text = repr(value)
    return value if len(text) <= 80 else text[:77] + "..."
