"""Per-arm data of an experiment: rates, means, and the :class:`Experiment` holding them.

A metric in one arm is either a :class:`Proportion` (successes out of trials:
conversion, click-through, error rate) or a :class:`Mean` (n, mean, standard
deviation: revenue per user, latency). An :class:`Experiment` holds every
metric for every arm, optionally split by segment (for Simpson's paradox) and
as cumulative snapshots over time (for peeking checks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from pytest_prodguard.ab import _validate
from pytest_prodguard.ab.arm_stats import (
    STAT_ACCEPTED,
    Look,
    Mean,
    MetricTable,
    Proportion,
    Stat,
    as_finite_array,
    pool,
    to_stat,
)
from pytest_prodguard.ab.events import experiment_from_events
from pytest_prodguard.errors import ProdguardUsageError

__all__ = [
    "Experiment",
    "Look",
    "Mean",
    "MetricTable",
    "Proportion",
    "Stat",
    "as_finite_array",
    "pool",
    "to_stat",
]


def _freeze(table: Mapping[str, Mapping[str, Stat]]) -> MetricTable:
    return MappingProxyType(
        {metric: MappingProxyType(dict(arms)) for metric, arms in table.items()}
    )


@dataclass(frozen=True)
class Experiment:
    """Every metric of every arm of one experiment, plus optional segments and looks.

    Build one with :meth:`from_dict` (aggregates) or :meth:`from_events`
    (unit-level rows, vectorised); the constructor takes the final tables:

    - ``metrics``: metric name -> arm name -> :class:`Proportion` or :class:`Mean`;
    - ``control``: the control arm; every other arm is a treatment;
    - ``primary``: the metric the ship decision rests on;
    - ``segments``: segment name -> metric table (every arm present), for Simpson checks;
    - ``looks``: cumulative snapshots in time order, for peeking checks;
    - ``units``: units assigned per arm, for the sample-ratio check (defaults to
      the primary metric's n per arm);
    - ``notes``: facts about how the data was built (e.g. CUPED), shown in reports.
    """

    metrics: MetricTable
    control: str
    primary: str
    segments: Mapping[str, MetricTable] = field(default_factory=dict)
    looks: tuple[Look, ...] = ()
    units: Mapping[str, int] | None = None
    notes: tuple[str, ...] = ()
    arms: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.metrics, Mapping) or not self.metrics:
            raise ProdguardUsageError(
                "metrics", self.metrics, "must map at least one metric name to its arms"
            )
        arms = _arm_order(self.metrics, self.control)
        object.__setattr__(self, "arms", arms)
        kinds = _check_table(self.metrics, arms, where="metrics")
        if self.primary not in self.metrics:
            raise ProdguardUsageError(
                "primary", self.primary, f"must be one of the metrics {sorted(self.metrics)}"
            )
        object.__setattr__(self, "metrics", _freeze(self.metrics))
        object.__setattr__(self, "segments", self._checked_segments(kinds))
        object.__setattr__(self, "looks", self._checked_looks(kinds))
        object.__setattr__(self, "units", self._checked_units())
        object.__setattr__(self, "notes", tuple(self.notes))

    def _checked_segments(self, kinds: Mapping[str, str]) -> Mapping[str, MetricTable]:
        checked: dict[str, MetricTable] = {}
        for name, table in dict(self.segments).items():
            where = f"segments[{name!r}]"
            seg_kinds = _check_table(table, self.arms, where=where)
            self._check_kinds(seg_kinds, kinds, where=where)
            checked[str(name)] = _freeze(table)
        return MappingProxyType(checked)

    def _checked_looks(self, kinds: Mapping[str, str]) -> tuple[Look, ...]:
        looks = tuple(self.looks)
        for look in looks:
            where = f"looks[{look.label!r}]"
            look_kinds = _check_table(look.metrics, self.arms, where=where)
            self._check_kinds(look_kinds, kinds, where=where)
        return tuple(Look(look.label, _freeze(look.metrics)) for look in looks)

    def _check_kinds(self, found: Mapping[str, str], kinds: Mapping[str, str], where: str) -> None:
        if self.primary not in found:
            raise ProdguardUsageError(
                where, sorted(found), f"must include the primary metric {self.primary!r}"
            )
        for metric, kind in found.items():
            if metric not in kinds:
                raise ProdguardUsageError(
                    where, metric, f"is not a metric of the experiment ({sorted(kinds)})"
                )
            if kind != kinds[metric]:
                raise ProdguardUsageError(
                    f"{where}[{metric!r}]", kind, f"must be a {kinds[metric]} like the overall data"
                )

    def _checked_units(self) -> Mapping[str, int]:
        if self.units is None:
            return MappingProxyType({arm: self.metrics[self.primary][arm].n for arm in self.arms})
        units = dict(self.units)
        if set(units) != set(self.arms):
            raise ProdguardUsageError(
                "units", sorted(units), f"must give a count for every arm {list(self.arms)}"
            )
        return MappingProxyType(
            {arm: _validate.count(units[arm], field=f"units[{arm!r}]") for arm in self.arms}
        )

    @property
    def treatments(self) -> tuple[str, ...]:
        """Every arm except the control, in order."""
        return self.arms[1:]

    def kind(self, metric: str) -> str:
        """``"rate"`` or ``"mean"`` for ``metric``."""
        return self.stat(metric, self.control).kind

    def stat(self, metric: str, arm: str) -> Stat:
        """The overall statistic of ``metric`` in ``arm``."""
        self._require_metric(metric)
        if arm not in self.arms:
            raise ProdguardUsageError("arm", arm, f"must be one of {list(self.arms)}")
        return self.metrics[metric][arm]

    def pair(self, metric: str, treatment: str) -> tuple[Stat, Stat]:
        """(control, treatment) statistics of ``metric``."""
        self._require_treatment(treatment)
        return self.stat(metric, self.control), self.stat(metric, treatment)

    def segment_pairs(self, metric: str, treatment: str) -> dict[str, tuple[Stat, Stat]]:
        """Segment name -> (control, treatment) of ``metric`` for segments that report it."""
        self._require_metric(metric)
        self._require_treatment(treatment)
        return {
            name: (table[metric][self.control], table[metric][treatment])
            for name, table in self.segments.items()
            if metric in table
        }

    def look_pairs(self, metric: str, treatment: str) -> list[tuple[str, Stat, Stat]]:
        """(label, control, treatment) of ``metric`` at each cumulative look, oldest first."""
        self._require_metric(metric)
        self._require_treatment(treatment)
        return [
            (look.label, look.metrics[metric][self.control], look.metrics[metric][treatment])
            for look in self.looks
            if metric in look.metrics
        ]

    def _require_metric(self, metric: str) -> None:
        if metric not in self.metrics:
            raise ProdguardUsageError("metric", metric, f"must be one of {sorted(self.metrics)}")

    def _require_treatment(self, treatment: str) -> None:
        if treatment not in self.treatments:
            raise ProdguardUsageError(
                "treatment", treatment, f"must be one of the treatment arms {list(self.treatments)}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (overall metrics, units, segment and look names)."""
        return {
            "control": self.control,
            "arms": list(self.arms),
            "primary": self.primary,
            "units": dict(self.units or {}),
            "metrics": {
                metric: {arm: stat.to_dict() for arm, stat in arms.items()}
                for metric, arms in self.metrics.items()
            },
            "segments": list(self.segments),
            "looks": [look.label for look in self.looks],
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Mapping[str, object]],
        *,
        control: str,
        primary: str | None = None,
        segments: Mapping[str, Mapping[str, Mapping[str, object]]] | None = None,
        periods: Mapping[str, Mapping[str, Mapping[str, object]]] | None = None,
        units: Mapping[str, int] | None = None,
    ) -> Experiment:
        """Build an experiment from plain dicts of aggregates.

        ``data`` maps arm -> metric -> value, where a value is a
        :class:`Proportion`, a :class:`Mean`, a ``(successes, trials)`` pair,
        ``{"successes": s, "trials": t}``, ``{"n": n, "mean": m, "std": s}`` or
        ``{"values": [...]}``. ``segments`` maps segment -> the same arm ->
        metric shape; ``periods`` maps period label -> the same shape, holding
        each period's *own* data in time order (cumulative looks are built from
        them). ``primary`` defaults to the control arm's first metric.
        """
        if not isinstance(data, Mapping) or not data:
            raise ProdguardUsageError("data", data, "must map arm names to their metrics")
        if control not in data:
            raise ProdguardUsageError("control", control, f"must be one of the arms {list(data)}")
        metrics = _arm_metric_to_table(data, where="data")
        chosen = primary if primary is not None else next(iter(data[control]), "")
        segment_tables = {
            str(name): _arm_metric_to_table(arms, where=f"segments[{name!r}]")
            for name, arms in (segments or {}).items()
        }
        looks = _cumulative_looks(periods or {})
        return cls(
            metrics,
            control=control,
            primary=chosen,
            segments=segment_tables,
            looks=tuple(looks),
            units=units,
        )

    @classmethod
    def from_events(
        cls,
        source: object,
        *,
        variant: str,
        converted: str | Sequence[str] | None = None,
        value: str | Sequence[str] | None = None,
        segment: str | None = None,
        period: str | None = None,
        control: str | None = None,
        primary: str | None = None,
        cuped: Mapping[str, str] | None = None,
    ) -> Experiment:
        """Build an experiment from unit-level rows, one row per unit (vectorised).

        ``source`` is a pandas DataFrame, a pyarrow Table, a dict of columns,
        or a path to a ``.csv`` or ``.parquet`` file (only the named columns are
        read). ``converted`` names 0/1 columns (rate metrics), ``value`` names
        numeric columns (mean metrics); the metric is named after its column.
        ``segment`` and ``period`` name optional columns for Simpson and peeking
        checks (periods are sorted; each look is cumulative). ``cuped`` maps a
        metric column to its pre-period covariate column: that metric is then
        CUPED-adjusted (and becomes a :class:`Mean`). ``control`` defaults to
        an arm called ``"control"``; ``primary`` to the first converted column.
        """
        return cls(
            **experiment_from_events(
                source,
                variant=variant,
                converted=converted,
                value=value,
                segment=segment,
                period=period,
                control=control,
                primary=primary,
                cuped=cuped,
            )
        )


def _arm_order(metrics: MetricTable, control: str) -> tuple[str, ...]:
    seen: list[str] = []
    for metric, by_arm in metrics.items():
        if not isinstance(by_arm, Mapping):
            raise ProdguardUsageError(
                f"metrics[{metric!r}]", by_arm, "must map each arm to its statistic"
            )
        seen += [str(arm) for arm in by_arm if str(arm) not in seen]
    if control not in seen:
        raise ProdguardUsageError("control", control, f"must be one of the arms {seen}")
    if len(seen) < 2:
        raise ProdguardUsageError(
            "arms", seen, "an experiment needs a control and at least one treatment arm"
        )
    return (control, *[arm for arm in seen if arm != control])


def _check_table(table: object, arms: tuple[str, ...], *, where: str) -> dict[str, str]:
    """Check every metric of ``table`` has every arm, one kind; return metric -> kind."""
    if not isinstance(table, Mapping) or not table:
        raise ProdguardUsageError(where, table, "must map metric names to {arm: statistic}")
    kinds: dict[str, str] = {}
    for metric, by_arm in table.items():
        if not isinstance(by_arm, Mapping):
            raise ProdguardUsageError(f"{where}[{metric!r}]", by_arm, "must map arm -> statistic")
        missing = [arm for arm in arms if arm not in by_arm]
        extra = [arm for arm in by_arm if arm not in arms]
        if missing or extra:
            raise ProdguardUsageError(
                f"{where}[{metric!r}]",
                sorted(map(str, by_arm)),
                f"must have exactly the arms {list(arms)} (missing {missing}, unexpected {extra});"
                " every segment and look needs data for every arm",
            )
        found = set()
        for arm in arms:
            stat = by_arm[arm]
            if not isinstance(stat, (Proportion, Mean)):
                raise ProdguardUsageError(f"{where}[{metric!r}][{arm!r}]", stat, STAT_ACCEPTED)
            found.add(stat.kind)
        if len(found) > 1:
            raise ProdguardUsageError(
                f"{where}[{metric!r}]", sorted(found), "must be all rates or all means"
            )
        kinds[str(metric)] = found.pop()
    return kinds


def _arm_metric_to_table(data: object, *, where: str) -> dict[str, dict[str, Stat]]:
    """Turn arm -> metric -> value into metric -> arm -> Stat."""
    if not isinstance(data, Mapping) or not data:
        raise ProdguardUsageError(where, data, "must map arm names to {metric: value}")
    table: dict[str, dict[str, Stat]] = {}
    for arm, by_metric in data.items():
        if not isinstance(by_metric, Mapping) or not by_metric:
            raise ProdguardUsageError(
                f"{where}[{arm!r}]", by_metric, "must map metric names to values"
            )
        for metric, raw in by_metric.items():
            stat = to_stat(raw, where=f"{where}[{arm!r}][{metric!r}]")
            table.setdefault(str(metric), {})[str(arm)] = stat
    return table


def _cumulative_looks(periods: Mapping[str, Mapping[str, Mapping[str, object]]]) -> list[Look]:
    """Accumulate per-period data into looks; a look is kept once every arm has data."""
    tables = [
        (str(label), _arm_metric_to_table(data, where=f"periods[{label!r}]"))
        for label, data in periods.items()
    ]
    arms = {arm for _, table in tables for by_arm in table.values() for arm in by_arm}
    looks: list[Look] = []
    running: dict[str, dict[str, Stat]] = {}
    for label, table in tables:
        for metric, by_arm in table.items():
            slot = running.setdefault(metric, {})
            for arm, stat in by_arm.items():
                slot[arm] = pool([slot[arm], stat]) if arm in slot else stat
        complete = {
            metric: dict(by_arm) for metric, by_arm in running.items() if set(by_arm) == arms
        }
        if complete:
            looks.append(Look(label, complete))
    return looks
