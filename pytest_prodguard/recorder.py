"""Hand results from domain code to the running test's report, without pytest.

Domain functions (an A/B checklist, a robustness check) call :func:`record`
with a JSON-serialisable payload. While a test runs, the plugin installs a sink
that stores the payload in the test's ``user_properties`` (so it crosses
pytest-xdist workers and lands in the JSON report); outside a test, or without
the plugin, :func:`record` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Sink = Callable[[str, dict[str, Any]], None]

_sink: Sink | None = None


RESERVED_KINDS = frozenset(
    {"nodeid", "outcome", "duration", "location", "message", "failure", "profile_files"}
)


def record(kind: str, payload: dict[str, Any]) -> None:
    """Attach ``payload`` under ``kind`` (e.g. ``"ab"``) to the running test, if any."""
    if not isinstance(kind, str) or not kind or kind in RESERVED_KINDS:
        from pytest_prodguard.errors import ProdguardUsageError

        raise ProdguardUsageError(
            "kind", kind, "a non-empty name other than " + ", ".join(sorted(RESERVED_KINDS))
        )
    if _sink is not None:
        _sink(kind, payload)


@contextmanager
def recording_to(sink: Sink) -> Iterator[None]:
    """Route :func:`record` calls to ``sink`` for the duration of the block."""
    global _sink
    previous, _sink = _sink, sink
    try:
        yield
    finally:
        _sink = previous
