"""A tiny tracer with a simulated clock, so generated evidence is deterministic.

The service marks its steps with ``span(name)`` and charges simulated work to the
clock with ``work(ms)``; a collector, when installed, keeps the finished spans.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class SpanRecord:
    """A finished span, times in nanoseconds since the epoch."""

    trace_id: str
    span_id: str
    parent_id: str | None
    name: str
    start_ns: int
    end_ns: int = 0
    error: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class Tracer:
    """The simulated clock, the current trace and the finished spans."""

    now_ns: int = 1_773_478_800 * 10**9  # 2026-03-14T09:00:00Z
    trace_id: str = "0" * 32
    spans: list[SpanRecord] = field(default_factory=list)
    stack: list[SpanRecord] = field(default_factory=list)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def work(self, milliseconds: float) -> None:
        """Charge simulated work to the clock."""
        self.now_ns += int(milliseconds * 1e6)


TRACER = Tracer()


def work(milliseconds: float) -> None:
    """Charge simulated work to the clock."""
    TRACER.work(milliseconds)


@contextmanager
def span(name: str, **attributes: str) -> Iterator[SpanRecord]:
    """Record a span around a block; an exception marks it failed and propagates."""
    parent = TRACER.stack[-1].span_id if TRACER.stack else None
    record = SpanRecord(
        TRACER.trace_id,
        f"{next(TRACER.ids):016x}",
        parent,
        name,
        TRACER.now_ns,
        attributes=attributes,
    )
    TRACER.stack.append(record)
    try:
        yield record
    except Exception as exc:
        record.error = f"{type(exc).__name__}: {exc}"
        raise
    finally:
        TRACER.stack.pop()
        record.end_ns = TRACER.now_ns
        TRACER.spans.append(record)
