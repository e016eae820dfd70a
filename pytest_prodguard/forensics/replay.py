"""Replaying a captured request through the application, for an incident's guard test.

The guard printed by ``prodguard incidents new --entry module:function`` calls
:func:`replay_incident`; it fails (``AssertionError``) when the captured failure
happens again: the same exception type, the same HTTP status, or an error logged with
the same type and place as the captured error group.
"""

from __future__ import annotations

import importlib
import logging
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.forensics.fingerprint import exception_signature
from pytest_prodguard.forensics.records import ExceptionInfo, Frame

if TYPE_CHECKING:
    from pytest_prodguard.incidents.outcome import IncidentContext

FAILURE_FILE = "failure.json"
REQUEST_FILE = "request.json"


@dataclass
class Replay:
    """What one replay did: its return value or exception, and the errors it logged."""

    result: Any = None
    exception: BaseException | None = None
    logged: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def status(self) -> int | None:
        """The response's HTTP status when the result carries one."""
        return response_status(self.result)


def resolve_entry(entry: str | Callable[..., Any]) -> Callable[..., Any]:
    """``"package.module:function"`` imported (a callable is returned as is)."""
    if callable(entry):
        return entry
    accepted = "'package.module:function' naming an importable callable"
    module_name, _, attribute = str(entry).partition(":")
    if not module_name or not attribute:
        raise ProdguardUsageError("entry", entry, accepted)
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProdguardUsageError("entry", entry, f"{accepted} (import failed: {exc})") from None
    for part in attribute.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise ProdguardUsageError("entry", entry, f"{accepted} ({attribute} not found)")
    return target  # type: ignore[no-any-return]


def replay(entry: Callable[..., Any], payload: Any) -> Replay:
    """Call ``entry(payload)`` (``entry()`` without a payload), recording errors it logs."""
    outcome = Replay()
    with _logged_errors(outcome.logged):
        try:
            outcome.result = entry() if payload is None else entry(payload)
        except Exception as exc:  # the guard decides what an exception means
            outcome.exception = exc
    return outcome


def recurrence(failure: Mapping[str, Any], outcome: Replay) -> str | None:
    """Why the replay shows the captured failure again, or None when it does not."""
    wanted_type = failure.get("exception_type")
    if outcome.exception is not None and type(outcome.exception).__name__ == wanted_type:
        return f"raised {wanted_type} again: {outcome.exception}"
    status = failure.get("status")
    if status is not None and outcome.status == status:
        return f"returned status {status} again"
    for kind, place, message in outcome.logged:
        if (kind, place) == (wanted_type or failure.get("kind"), failure.get("place")):
            return f"logged the same error again: {kind} at {place or '?'} ({message})"
    return None


def replay_incident(
    incident: IncidentContext, entry: str | Callable[..., Any], *, payload: Any = None
) -> Any:
    """Replay the incident's captured request through ``entry``; fail if the failure recurs.

    The request is the ``request.json`` artifact (or ``payload=``); the failure to
    look for is ``failure.json``. An exception of another type than the captured one
    propagates: it is a new failure, not this incident. Returns the entry's result.
    """
    __tracebackhide__ = True  # pytest: show the guard's line, not ours
    failure = incident.artifacts.json(FAILURE_FILE)
    if payload is None and REQUEST_FILE in incident.artifacts.names():
        payload = incident.artifacts.json(REQUEST_FILE)
    outcome = replay(resolve_entry(entry), payload)
    why = recurrence(failure, outcome)
    if why is not None:
        raise AssertionError(
            f"incident {incident.id} recurs: replaying the captured request through "
            f"{_name(entry)} {why} (captured: {failure.get('summary', '?')})"
        )
    if outcome.exception is not None:
        raise outcome.exception
    return outcome.result


def response_status(result: Any) -> int | None:
    """``result["status"]``/``["status_code"]`` or the attribute of that name, if an int."""
    for name in ("status_code", "status"):
        value = result.get(name) if isinstance(result, Mapping) else getattr(result, name, None)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def live_exception(exc: BaseException, tb: TracebackType | None) -> ExceptionInfo:
    """A raised exception in the shape the log readers produce."""
    frames = tuple(
        Frame(entry.filename, entry.lineno or 0, entry.name) for entry in traceback.extract_tb(tb)
    )
    return ExceptionInfo(type(exc).__name__, str(exc), frames)


class _ErrorCollector(logging.Handler):
    def __init__(self, sink: list[tuple[str, str, str]]) -> None:
        super().__init__(level=logging.ERROR)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            info = live_exception(record.exc_info[1], record.exc_info[2])
            self.sink.append(exception_signature(info))


@contextmanager
def _logged_errors(sink: list[tuple[str, str, str]]) -> Iterator[None]:
    handler = _ErrorCollector(sink)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _name(entry: str | Callable[..., Any]) -> str:
    return entry if isinstance(entry, str) else getattr(entry, "__qualname__", repr(entry))
