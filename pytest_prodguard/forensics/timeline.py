"""One trace as a timeline: critical path, slowest span, errors, logs and metrics in its window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pytest_prodguard.forensics.metrics import MetricPoint
from pytest_prodguard.forensics.records import LogRecord
from pytest_prodguard.forensics.traces import PathStep, Span, critical_path

#: Metric points this far either side of the trace count as "in its window": a scrape
#: interval is typically 15-60 s, so a point inside a 200 ms trace is rare.
METRIC_PADDING = dt.timedelta(seconds=60)
#: Log records kept on one timeline.
MAX_EVENTS = 500


@dataclass(frozen=True)
class Event:
    """One line of a timeline."""

    time: dt.datetime
    kind: str  # "span", "log", "metric"
    text: str


@dataclass
class TraceTimeline:
    """Everything known about one trace, in time order."""

    trace_id: str
    spans: list[Span]
    path: list[PathStep]
    events: list[Event] = field(default_factory=list)
    logs_kept: int = 0

    @cached_property
    def start(self) -> dt.datetime:
        """When the trace's first span started."""
        return _time(min(span.start_ns for span in self.spans))

    @cached_property
    def end(self) -> dt.datetime:
        """When the trace's last span ended."""
        return _time(max(span.end_ns for span in self.spans))

    @property
    def duration_ns(self) -> int:
        """The root span's duration."""
        return self.path[0].span.duration_ns if self.path else 0

    @property
    def slowest(self) -> PathStep | None:
        """The span on the critical path with the most time of its own."""
        return max(self.path, key=lambda step: step.self_ns, default=None)

    def share(self, step: PathStep) -> float:
        """A step's own time as a share of the whole trace."""
        return step.self_ns / self.duration_ns if self.duration_ns else 0.0

    @property
    def errors_on_path(self) -> list[Span]:
        """Spans on the critical path that failed."""
        return [step.span for step in self.path if step.span.error]

    def add_log(self, record: LogRecord) -> None:
        """Keep a record of this trace, or an untraced record inside its window."""
        if record.time is None or self.logs_kept >= MAX_EVENTS:
            return
        if record.trace_id is not None:
            keep = record.trace_id.lower() == self.trace_id
        else:
            keep = self.start <= record.time <= self.end
        if keep:
            self.events.append(Event(record.time, "log", record.text.splitlines()[0][:200]))
            self.logs_kept += 1

    def add_metrics(self, points: Iterable[MetricPoint]) -> None:
        """Keep metric points within :data:`METRIC_PADDING` of the trace."""
        low, high = self.start - METRIC_PADDING, self.end + METRIC_PADDING
        for point in points:
            if point.time is not None and low <= point.time <= high:
                labels = ",".join(f"{k}={v}" for k, v in sorted(point.labels.items()))
                name = f"{point.name}{{{labels}}}" if labels else point.name
                self.events.append(Event(point.time, "metric", f"{name} = {point.value:g}"))

    def ordered_events(self) -> list[Event]:
        """Spans of the critical path, logs and metrics, sorted by time."""
        spans = [
            Event(
                _time(step.span.start_ns),
                "span",
                f"{step.span.name} ({_ms(step.span.duration_ns)}, own {_ms(step.self_ns)})"
                + (f" ERROR {step.span.error}" if step.span.error else ""),
            )
            for step in self.path
        ]
        return sorted([*spans, *self.events], key=lambda event: (event.time, event.kind))

    def to_dict(self) -> dict[str, Any]:
        """A JSON view of the timeline."""
        slowest = self.slowest
        return {
            "trace_id": self.trace_id,
            "duration_ms": self.duration_ns / 1e6,
            "critical_path": [
                {
                    "span": step.span.name,
                    "service": step.span.service,
                    "duration_ms": step.span.duration_ns / 1e6,
                    "self_ms": step.self_ns / 1e6,
                    "share": self.share(step),
                    "error": step.span.error,
                }
                for step in self.path
            ],
            "slowest": {"span": slowest.span.name, "share": self.share(slowest)}
            if slowest
            else None,
            "errors_on_path": [
                {"span": span.name, "error": span.error} for span in self.errors_on_path
            ],
            "timeline": [
                {"time": e.time.isoformat(), "kind": e.kind, "text": e.text}
                for e in self.ordered_events()
            ],
        }


def trace_timeline(trace_id: str, spans: Iterable[Span]) -> TraceTimeline | None:
    """The timeline skeleton of ``trace_id`` (None when no span has that id)."""
    wanted = trace_id.lower()
    own = [span for span in spans if span.trace_id == wanted]
    if not own:
        return None
    return TraceTimeline(wanted, own, critical_path(own))


def _time(nanoseconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(nanoseconds / 1e9, tz=dt.timezone.utc)


def _ms(nanoseconds: int) -> str:
    return f"{nanoseconds / 1e6:.1f} ms"
