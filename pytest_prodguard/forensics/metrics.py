"""Metric points from CSV (long or wide) or Prometheus text exposition."""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pytest_prodguard.forensics.records import ReadStats, parse_time
from pytest_prodguard.forensics.sources import open_text

_TIME_COLUMNS = ("timestamp", "time", "ts", "datetime", "date")
_NAME_COLUMNS = ("name", "metric", "__name__")
_PROM_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+(?P<ts>-?\d+))?\s*$"
)
_PROM_LABEL = re.compile(r'\s*([a-zA-Z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


@dataclass(frozen=True)
class MetricPoint:
    """One sample: metric name, labels, value, and its time when the source gives one."""

    name: str
    value: float
    time: dt.datetime | None
    labels: Mapping[str, str] = field(default_factory=dict)


def read_metrics(
    paths: Iterable[Path], stats: list[ReadStats] | None = None
) -> Iterator[MetricPoint]:
    """Stream the points of each metrics file: ``.csv`` as CSV, anything else Prometheus text."""
    for path in paths:
        file_stats = ReadStats(source=str(path))
        if stats is not None:
            stats.append(file_stats)
        reader = _read_csv if path.suffix.lower() in (".csv", ".tsv") else _read_prometheus
        for point in reader(path, file_stats):
            file_stats.records += 1
            yield point


def _read_csv(path: Path, stats: ReadStats) -> Iterator[MetricPoint]:
    """Long form (time, name, value, labels...) or wide form (time, one column per metric)."""
    with open_text(path, "--metrics") as handle:
        rows = csv.DictReader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
        columns = [c.strip() for c in rows.fieldnames or []]
        time_column = next(
            (c for c in rows.fieldnames or [] if c.strip().lower() in _TIME_COLUMNS), None
        )
        name_column = next(
            (c for c in rows.fieldnames or [] if c.strip().lower() in _NAME_COLUMNS), None
        )
        if not columns:
            return
        for number, row in enumerate(rows, start=2):
            time = parse_time(row.get(time_column)) if time_column else None
            if time_column and time is None:
                stats.skip(number, f"no readable time in column {time_column!r}")
                continue
            if name_column and "value" in row:
                point = _long_point(row, name_column, time_column, time)
                if point is None:
                    stats.skip(number, "value is not a number")
                else:
                    yield point
                continue
            yield from _wide_points(row, time_column, time, stats, number)


def _long_point(
    row: Mapping[str, str | None],
    name_column: str,
    time_column: str | None,
    time: dt.datetime | None,
) -> MetricPoint | None:
    value = _number(row.get("value"))
    if value is None or not row.get(name_column):
        return None
    labels = {
        k: str(v) for k, v in row.items() if k not in (name_column, time_column, "value") and v
    }
    return MetricPoint(str(row[name_column]), value, time, labels)


def _wide_points(
    row: Mapping[str, str | None],
    time_column: str | None,
    time: dt.datetime | None,
    stats: ReadStats,
    number: int,
) -> Iterator[MetricPoint]:
    found = False
    for column, raw in row.items():
        if column == time_column or column is None:
            continue
        value = _number(raw)
        if value is not None:
            found = True
            yield MetricPoint(column.strip(), value, time)
    if not found:
        stats.skip(number, "no numeric value in the row")


def _read_prometheus(path: Path, stats: ReadStats) -> Iterator[MetricPoint]:
    with open_text(path, "--metrics") as handle:
        for number, raw_line in enumerate(handle, start=1):
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            match = _PROM_SAMPLE.match(line)
            value = _number(match["value"]) if match else None
            if match is None or value is None:
                stats.skip(number, "not a Prometheus sample (name{labels} value [timestamp])")
                continue
            time = parse_time(int(match["ts"]) / 1000) if match["ts"] else None
            labels = dict(_PROM_LABEL.findall(match["labels"] or ""))
            yield MetricPoint(match["name"], value, time, labels)


def _number(raw: object) -> float | None:
    if raw is None:
        return None
    text = str(raw).strip()
    special = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}
    if text in special:
        return special[text]
    try:
        return float(text)
    except ValueError:
        return None
