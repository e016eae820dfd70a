"""OpenTelemetry trace exports (OTLP JSON) and the critical path of one trace."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.forensics.records import ReadStats
from pytest_prodguard.forensics.sources import numbered_lines

_ERROR_STATUS = (2, "2", "STATUS_CODE_ERROR", "ERROR")


@dataclass(frozen=True)
class Span:
    """One span of an OTLP export; times in nanoseconds since the epoch."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int
    service: str | None = None
    error: str | None = None  # the status message / exception, when the span failed
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def duration_ns(self) -> int:
        """End minus start (0 for a malformed span that ends before it starts)."""
        return max(0, self.end_ns - self.start_ns)


def read_traces(paths: Iterable[Path], stats: list[ReadStats] | None = None) -> Iterator[Span]:
    """Stream the spans of OTLP JSON exports (one document, or one document per line)."""
    for path in paths:
        file_stats = ReadStats(source=str(path))
        if stats is not None:
            stats.append(file_stats)
        for number, document in _documents(path, file_stats):
            for span in _spans(document, number, file_stats):
                file_stats.records += 1
                yield span


def _documents(path: Path, stats: ReadStats) -> Iterator[tuple[int, Any]]:
    """JSON lines of export requests (the collector's file exporter), or one pretty document."""
    buffered: list[str] = []
    for number, line in numbered_lines(path, "--traces"):
        if buffered or (number == 1 and line.strip() in ("{", "[")):
            buffered.append(line)
            continue
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError:
            if number == 1:  # a pretty-printed document starting on the first line
                buffered.append(line)
            else:
                stats.skip(number, "invalid JSON")
    if buffered:
        try:
            yield 1, json.loads("\n".join(buffered))
        except json.JSONDecodeError as exc:
            raise ProdguardUsageError(
                "--traces", str(path), f"an OTLP JSON export (line {exc.lineno}: {exc.msg})"
            ) from None


def _spans(document: Any, number: int, stats: ReadStats) -> Iterator[Span]:
    if not isinstance(document, dict) or "resourceSpans" not in document:
        stats.skip(number, "not an OTLP export (no resourceSpans)")
        return
    for resource_spans in _list(document.get("resourceSpans")):
        resource = resource_spans.get("resource") if isinstance(resource_spans, dict) else None
        service = attributes(_list((resource or {}).get("attributes"))).get("service.name")
        for scope in _list(resource_spans.get("scopeSpans") if resource_spans else None):
            for raw in _list(scope.get("spans") if isinstance(scope, dict) else None):
                span = _span(raw, service)
                if span is None:
                    stats.skip(number, "a span without traceId, spanId or times")
                else:
                    yield span


def _span(raw: Any, service: Any) -> Span | None:
    if not isinstance(raw, dict):
        return None
    try:
        start, end = int(raw["startTimeUnixNano"]), int(raw["endTimeUnixNano"])
        trace_id, span_id = str(raw["traceId"]), str(raw["spanId"])
    except (KeyError, TypeError, ValueError):
        return None
    attrs = attributes(_list(raw.get("attributes")))
    return Span(
        trace_id=trace_id.lower(),
        span_id=span_id.lower(),
        parent_id=str(raw["parentSpanId"]).lower() if raw.get("parentSpanId") else None,
        name=str(raw.get("name", "?")),
        start_ns=start,
        end_ns=end,
        service=str(service) if service is not None else None,
        error=_span_error(raw, attrs),
        attributes=attrs,
    )


def _span_error(raw: Mapping[str, Any], attrs: Mapping[str, Any]) -> str | None:
    raw_status = raw.get("status")
    status: Mapping[str, Any] = raw_status if isinstance(raw_status, dict) else {}
    failed = status.get("code") in _ERROR_STATUS
    for event in _list(raw.get("events")):
        if isinstance(event, dict) and event.get("name") == "exception":
            event_attrs = attributes(_list(event.get("attributes")))
            kind = event_attrs.get("exception.type", "exception")
            return f"{kind}: {event_attrs.get('exception.message', '')}".rstrip(": ")
    if failed:
        return str(status.get("message") or attrs.get("error.type") or "error")
    return None


def attributes(items: list[Any]) -> dict[str, Any]:
    """OTLP ``[{"key": k, "value": {"stringValue": v}}]`` as a plain dict."""
    result: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and "key" in item and isinstance(item.get("value"), dict):
            result[str(item["key"])] = _any_value(item["value"])
    return result


def _any_value(value: Mapping[str, Any]) -> Any:
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            return value[key]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return value["intValue"]
    if "arrayValue" in value:
        return [_any_value(v) for v in _list(value["arrayValue"].get("values"))]
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class PathStep:
    """A span on the critical path and the time it alone accounts for there."""

    span: Span
    self_ns: int


def critical_path(spans: Iterable[Span]) -> list[PathStep]:
    """The chain of spans that determined the trace's end-to-end time, root first.

    From the root's end, walk back: the child that finished last before the cursor is on
    the path; recurse into it, then continue from its start. Time not covered by a child
    on the path is the span's own (self) time.
    """
    by_id = {span.span_id: span for span in spans}
    if not by_id:
        return []
    children: dict[str | None, list[Span]] = {}
    for span in by_id.values():
        parent = span.parent_id if span.parent_id in by_id else None
        children.setdefault(parent, []).append(span)
    root = max(children[None], key=lambda s: (s.duration_ns, -s.start_ns))
    steps: list[PathStep] = []
    _walk(root, root.end_ns, children, steps)
    return steps


def _walk(
    span: Span, end: int, children: Mapping[str | None, list[Span]], out: list[PathStep]
) -> None:
    index = len(out)
    out.append(PathStep(span, 0))
    cursor = min(end, span.end_ns)
    own = 0
    for child in sorted(children.get(span.span_id, []), key=lambda s: s.end_ns, reverse=True):
        if child.start_ns >= cursor or child.end_ns <= span.start_ns:
            continue
        child_end = min(child.end_ns, cursor)
        own += cursor - child_end
        _walk(child, child_end, children, out)
        cursor = max(child.start_ns, span.start_ns)
    own += max(0, cursor - span.start_ns)
    out[index] = PathStep(span, own)
