"""Latency budgets drawn as small inline SVG charts (no JavaScript, no fonts to fetch).

One chart per measured callable, one row per budget: the measured statistic as
a dot, its confidence interval as a bar with whiskers, the budget as a red
line and, with a saved baseline, the baseline's value as a blue tick. A
comparison against the baseline adds a row for the ratio (interval against 1
and the tolerance).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_prodguard.units import format_bytes, format_duration

WIDTH = 780
LABEL_WIDTH = 150
VALUE_WIDTH = 300
ROW_HEIGHT = 26
_PLOT = WIDTH - LABEL_WIDTH - VALUE_WIDTH
_COLOURS = {
    "fail": "#b00020",
    "regressed": "#b00020",
    "pass": "#1b5e20",
    "unchanged": "#1b5e20",
    "improved": "#1b5e20",
}


@dataclass(frozen=True)
class Row:
    """One line of a chart: a statistic, its interval, and the lines to compare it with."""

    name: str
    estimate: float | None
    low: float | None
    high: float | None
    limit: float | None  # the budget, or the ratio tolerance
    reference: float | None  # the baseline's value, or 1.0 for a ratio
    status: str
    unit: str


def rows_of_call(call: Mapping[str, Any]) -> list[Row]:
    """The chart rows of one latency record (a ``latency`` result's entry)."""
    verdict = call.get("verdict") or {}
    comparison = verdict.get("comparison") or call.get("comparison")
    rows = [_budget_row(check, comparison) for check in verdict.get("checks") or ()]
    if comparison and comparison.get("ratio") is not None:
        tolerance = comparison.get("tolerance")
        rows.append(
            Row(
                name=f"ratio to baseline ({comparison.get('statistic') or 'median'})",
                estimate=comparison.get("ratio"),
                low=comparison.get("low"),
                high=comparison.get("high"),
                limit=1 + tolerance if isinstance(tolerance, (int, float)) else None,
                reference=1.0,
                status=str(comparison.get("status", "")),
                unit="x",
            )
        )
    return rows


def _budget_row(check: Mapping[str, Any], comparison: Mapping[str, Any] | None) -> Row:
    estimate = check.get("estimate")
    reference = None
    ratio = comparison.get("ratio") if comparison else None
    same_statistic = comparison is not None and comparison.get("statistic") == check.get("name")
    if same_statistic and isinstance(ratio, (int, float)) and ratio > 0 and estimate is not None:
        reference = estimate / ratio
    label = str(check.get("name", "?"))
    if check.get("tier") == "warn":
        label += " (warn)"
    return Row(
        name=label,
        estimate=estimate,
        low=check.get("low"),
        high=check.get("high"),
        limit=check.get("budget"),
        reference=reference,
        status=str(check.get("status", "")),
        unit=str(check.get("unit", "s")),
    )


def render_chart(title: str, rows: Sequence[Row]) -> str:
    """An inline SVG with one row per budget; empty when there is nothing to draw."""
    rows = [row for row in rows if row.estimate is not None]
    if not rows:
        return ""
    height = ROW_HEIGHT * len(rows) + 8
    parts = [
        f'<svg class="chart" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{html.escape(title)}</title>"
    ]
    for index, row in enumerate(rows):
        parts.append(_row_svg(row, index * ROW_HEIGHT + 4))
    parts.append("</svg>")
    return "".join(parts)


def _row_svg(row: Row, top: int) -> str:
    candidates = (row.estimate, row.low, row.high, row.limit, row.reference)
    values = [v for v in candidates if v is not None and _ok(v)]
    span = max(values) * 1.12 if values and max(values) > 0 else 1.0

    def x(value: float) -> float:
        return LABEL_WIDTH + _PLOT * min(max(value, 0.0), span) / span

    middle = top + ROW_HEIGHT / 2 - 2
    colour = _COLOURS.get(row.status, "#8a6d00")
    low = row.low if row.low is not None and _ok(row.low) else 0.0
    high = row.high if row.high is not None and _ok(row.high) else span
    assert row.estimate is not None  # rows without an estimate are filtered out
    parts = [
        f'<text x="4" y="{middle + 4:.1f}" class="lbl">{html.escape(row.name)}</text>',
        f'<line x1="{LABEL_WIDTH}" x2="{LABEL_WIDTH + _PLOT}" y1="{middle:.1f}" '
        f'y2="{middle:.1f}" class="axis"/>',
        f'<rect x="{x(low):.1f}" y="{middle - 4:.1f}" width="{max(x(high) - x(low), 1):.1f}" '
        f'height="8" fill="{colour}" opacity="0.25"><title>interval {_fmt(low, row.unit)} to '
        f"{_fmt(high, row.unit)}</title></rect>",
        f'<circle cx="{x(row.estimate):.1f}" cy="{middle:.1f}" r="4" fill="{colour}">'
        f"<title>measured {_fmt(row.estimate, row.unit)}</title></circle>",
    ]
    if _ok(row.limit):
        assert row.limit is not None
        parts.append(
            f'<line x1="{x(row.limit):.1f}" x2="{x(row.limit):.1f}" y1="{top + 1}" '
            f'y2="{top + ROW_HEIGHT - 5}" class="budget"><title>budget '
            f"{_fmt(row.limit, row.unit)}</title></line>"
        )
    if _ok(row.reference):
        assert row.reference is not None
        parts.append(
            f'<line x1="{x(row.reference):.1f}" x2="{x(row.reference):.1f}" y1="{top + 3}" '
            f'y2="{top + ROW_HEIGHT - 7}" class="baseline"><title>baseline '
            f"{_fmt(row.reference, row.unit)}</title></line>"
        )
    text = f"{_fmt(row.estimate, row.unit)} [{_fmt(row.low, row.unit)}, {_fmt(row.high, row.unit)}]"
    if _ok(row.limit):
        text += f", {'limit' if row.unit == 'x' else 'budget'} {_fmt(row.limit, row.unit)}"
    parts.append(
        f'<text x="{LABEL_WIDTH + _PLOT + 6}" y="{middle + 4:.1f}" class="val">'
        f"{html.escape(text)}</text>"
    )
    return "".join(parts)


def _ok(value: float | None) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _fmt(value: float | None, unit: str) -> str:
    if not _ok(value):
        return "–"
    assert value is not None
    if unit == "s":
        return format_duration(value)
    if unit in ("B", "bytes"):
        return format_bytes(value)
    if unit == "x":
        return f"{value:.3g}x"
    return f"{value:.3g} {unit}".strip()
