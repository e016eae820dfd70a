"""Error groups from a stream of log records, with their rate rises and concentrations."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.forensics.fingerprint import fingerprint_of, signature
from pytest_prodguard.forensics.records import LogRecord, ReadStats
from pytest_prodguard.forensics.stats import Concentration, RateRise, concentration, rate_rise

#: Field names read as each dimension a group can concentrate on.
DIMENSIONS: Mapping[str, tuple[str, ...]] = {
    "endpoint": ("endpoint", "route", "http.route", "path", "url.path", "http.target", "url"),
    "user": ("user", "user_id", "userId", "customer_id", "account_id", "enduser.id"),
    "host": ("host", "hostname", "host.name", "pod", "instance"),
    "version": ("version", "app_version", "service.version", "release", "build"),
}
#: Significance level for flags, split (Bonferroni) over the groups.
ALPHA = 0.01
#: Distinct values counted per dimension; beyond it new values are not tracked.
MAX_VALUES = 50_000
#: Request and trace ids kept per group.
MAX_IDS = 20
#: Time bins a log's span is cut into for the rate test.
BINS = 20


@dataclass
class ErrorGroup:
    """Errors sharing one fingerprint: type, innermost app frames, masked message."""

    fingerprint: str
    kind: str
    place: str
    message: str
    example: LogRecord
    count: int = 0
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    request_ids: list[str] = field(default_factory=list)
    trace_ids: list[str] = field(default_factory=list)
    number: int = 0
    rise: RateRise | None = None
    concentrations: list[Concentration] = field(default_factory=list)
    minutes: Counter[int] = field(default_factory=Counter)
    values: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, record: LogRecord) -> None:
        """Count one more error of this group."""
        self.count += 1
        if record.time is not None:
            if self.first_seen is None or record.time < self.first_seen:
                self.first_seen = record.time
            if self.last_seen is None or record.time > self.last_seen:
                self.last_seen = record.time
            self.minutes[_minute(record.time)] += 1
        _remember(self.request_ids, record.request_id)
        _remember(self.trace_ids, record.trace_id)
        for dimension, value in dimension_values(record).items():
            self.values.setdefault(dimension, Counter())[value] += 1

    @property
    def title(self) -> str:
        """``ZeroDivisionError in pricing.py:discount`` or the masked message."""
        where = f" in {self.place.rsplit(' > ', 1)[-1]}" if self.place else ""
        return f"{self.kind}{where}" if self.place or not self.message else self.message[:80]

    def to_dict(self) -> dict[str, Any]:
        """A JSON view of the group."""
        return {
            "group": self.number,
            "fingerprint": self.fingerprint,
            "kind": self.kind,
            "place": self.place,
            "message": self.message,
            "title": self.title,
            "count": self.count,
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "request_ids": self.request_ids,
            "trace_ids": self.trace_ids,
            "example": {"source": self.example.source, "line": self.example.line},
            "rate_rise": _rise_dict(self.rise),
            "concentrations": [_concentration_dict(c) for c in self.concentrations],
        }


@dataclass
class Triage:
    """The result of triaging logs: error groups, largest first, and what was read."""

    groups: list[ErrorGroup]
    records: int
    errors: int
    stats: list[ReadStats]
    first: dt.datetime | None
    last: dt.datetime | None
    bin_seconds: float

    def group(self, number: int) -> ErrorGroup:
        """Group ``number`` (1-based, as printed)."""
        return self.groups[number - 1]

    def to_dict(self) -> dict[str, Any]:
        """A JSON view for tools (``prodguard triage --json``)."""
        return {
            "records": self.records,
            "errors": self.errors,
            "first": _iso(self.first),
            "last": _iso(self.last),
            "bin_seconds": self.bin_seconds,
            "alpha": ALPHA,
            "malformed": {s.source: s.malformed for s in self.stats},
            "groups": [group.to_dict() for group in self.groups],
        }


class GroupBuilder:
    """Feeds records one at a time; memory grows with groups, not with the log."""

    def __init__(self) -> None:
        self.groups: dict[str, ErrorGroup] = {}
        self.minutes: Counter[int] = Counter()
        self.values: dict[str, Counter[str]] = {name: Counter() for name in DIMENSIONS}
        self.records = 0
        self.errors = 0
        self.first: dt.datetime | None = None
        self.last: dt.datetime | None = None

    def add(self, record: LogRecord) -> None:
        """Count a record for the baselines and, if it is an error, in its group."""
        self.records += 1
        time = record.time
        if time is not None:
            self.minutes[int(time.timestamp() // 60)] += 1
            if self.first is None or time < self.first:
                self.first = time
            if self.last is None or time > self.last:
                self.last = time
        if record.fields:
            values = self.values
            for dimension, value in dimension_values(record).items():
                counter = values[dimension]
                seen = counter.get(value)  # one look-up: this runs for every record
                if seen is not None:
                    counter[value] = seen + 1
                elif len(counter) < MAX_VALUES:
                    counter[value] = 1
        if not record.is_error:
            return
        self.errors += 1
        parts = signature(record)
        key = fingerprint_of(parts)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = ErrorGroup(key, *parts, example=record)
        group.add(record)

    def finish(self, stats: list[ReadStats]) -> Triage:
        """Number the groups (largest first) and run the rate and concentration tests."""
        ordered = sorted(
            self.groups.values(),
            key=lambda g: (
                -g.count,
                g.first_seen or dt.datetime.max.replace(tzinfo=dt.timezone.utc),
            ),
        )
        bin_seconds = self._bin_seconds()
        all_bins = _rebin(self.minutes, bin_seconds)
        for number, group in enumerate(ordered, start=1):
            group.number = number
            group.rise = rate_rise(_rebin(group.minutes, bin_seconds), all_bins, bin_seconds)
            group.concentrations = [
                found
                for dimension, counts in sorted(group.values.items())
                if (found := concentration(dimension, counts, self.values[dimension])) is not None
            ]
        return Triage(ordered, self.records, self.errors, stats, self.first, self.last, bin_seconds)

    def _bin_seconds(self) -> float:
        if self.first is None or self.last is None:
            return 60.0
        span = (self.last - self.first).total_seconds()
        return float(max(60, math.ceil(span / BINS / 60) * 60))


def triage(records: Iterable[LogRecord], stats: list[ReadStats] | None = None) -> Triage:
    """Group the error records of a stream and test each group (see :class:`GroupBuilder`)."""
    builder = GroupBuilder()
    for record in records:
        builder.add(record)
    return builder.finish(stats or [])


def significant(p_value: float, groups: int) -> bool:
    """Below :data:`ALPHA` split over ``groups`` tests."""
    return p_value < ALPHA / max(1, groups)


#: For each set of field names seen (in order), the dimensions they carry and the keys
#: naming each, earliest in :data:`DIMENSIONS` first: logs repeat a few shapes.
_PLANS: dict[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]] = {}
_MAX_PLANS = 1024


def dimension_values(record: LogRecord) -> dict[str, str]:
    """The record's endpoint, user, host and version, where its fields carry them.

    When several keys name one dimension, the earlier in :data:`DIMENSIONS` wins.
    """
    fields = record.fields
    found: dict[str, str] = {}
    for dimension, keys in _plan(tuple(fields)):
        for key in keys:
            value = fields[key]
            if type(value) is str:  # the common case, text logs' only one: skip the checks
                if value:
                    found[dimension] = value[:200]
                    break
                continue
            if value is None or value == "" or isinstance(value, (dict, list)):
                continue
            found[dimension] = str(value)[:200]
            break
    return found


def _plan(names: tuple[str, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    plan = _PLANS.get(names)
    if plan is None:
        if len(_PLANS) >= _MAX_PLANS:
            _PLANS.clear()
        present = set(names)
        plan = _PLANS[names] = tuple(
            (dimension, keys)
            for dimension, candidates in DIMENSIONS.items()
            if (keys := tuple(key for key in candidates if key in present))
        )
    return plan


def _minute(moment: dt.datetime) -> int:
    return int(moment.timestamp() // 60)


def _rebin(minutes: Mapping[int, int], bin_seconds: float) -> Counter[int]:
    bins: Counter[int] = Counter()
    for minute, count in minutes.items():
        bins[int(minute * 60 // bin_seconds)] += count
    return bins


def _remember(kept: list[str], value: str | None) -> None:
    if value and value not in kept and len(kept) < MAX_IDS:
        kept.append(value)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _rise_dict(rise: RateRise | None) -> dict[str, Any] | None:
    if rise is None:
        return None
    return {
        "window_start": _iso(dt.datetime.fromtimestamp(rise.window_start, dt.timezone.utc)),
        "window_end": _iso(dt.datetime.fromtimestamp(rise.window_end, dt.timezone.utc)),
        "in_window": rise.in_window,
        "total": rise.total,
        "expected": rise.expected,
        "ratio": rise.ratio if math.isfinite(rise.ratio) else None,
        "p_value": rise.p_value,
        "test": rise.test,
    }


def _concentration_dict(found: Concentration) -> dict[str, Any]:
    return {
        "field": found.field,
        "value": found.value,
        "count": found.count,
        "total": found.total,
        "share": found.share,
        "baseline_share": found.baseline_share,
        "p_value": found.p_value,
        "test": found.test,
    }
