"""The log contract: parsed from marker arguments, checked against captured records.

Rules (each optional): every rendered line is one JSON object (``json``),
named fields are present (``required``), records emitted inside a request
context carry its id (``context``), errors logged while handling an exception
carry the traceback (``error_needs_traceback``), no detector in ``forbid``
finds anything (``allow`` exempts values), and the record count stays within
``min_records``/``max_records``. A violation never holds a raw value: every
excerpt is masked with all detectors.
"""

from __future__ import annotations

import contextvars
import importlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.logs.capture import OPENTELEMETRY
from pytest_prodguard.logs.detectors import (
    Finding,
    compile_pattern,
    find,
    mask,
    resolve_names,
)
from pytest_prodguard.logs.record import CapturedRecord, parse_json_object
from pytest_prodguard.results import GuardResult

SIGNATURE = (
    "log_contract(*, json=False, required=(), context=None, error_needs_traceback=False, "
    "forbid=('secrets', 'pii'), max_records=None, min_records=None, allow=())"
)
TRACE_ID_FIELDS = ("trace_id", "otelTraceID")
_EXCERPT = 140


@dataclass(frozen=True)
class LogContract:
    """What a test's captured logs must satisfy (see the module docstring)."""

    json: bool = False
    required: tuple[str, ...] = ()
    context: tuple[contextvars.ContextVar[Any] | str, ...] = ()
    error_needs_traceback: bool = False
    forbid: tuple[str, ...] = ()
    max_records: int | None = None
    min_records: int | None = None
    allow: tuple[re.Pattern[str], ...] = ()

    def allows(self, value: str) -> bool:
        """Whether ``value`` matches one of the ``allow`` patterns in full."""
        return any(pattern.fullmatch(value) for pattern in self.allow)


def parse_contract(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> LogContract:
    """A validated :class:`LogContract` from ``log_contract(...)`` marker arguments."""
    if args:
        raise ProdguardUsageError("args", args, f"keyword arguments only: {SIGNATURE}")
    known = set(LogContract.__dataclass_fields__)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise ProdguardUsageError(unknown[0], kwargs[unknown[0]], f"one of {SIGNATURE}")
    return LogContract(
        json=_flag(kwargs, "json"),
        required=_names(kwargs.get("required", ()), "required"),
        context=_context_sources(kwargs.get("context")),
        error_needs_traceback=_flag(kwargs, "error_needs_traceback"),
        forbid=resolve_names(_forbid_names(kwargs.get("forbid", ("secrets", "pii")))),
        max_records=_count(kwargs, "max_records"),
        min_records=_count(kwargs, "min_records"),
        allow=tuple(compile_pattern("allow", p) for p in _sequence(kwargs.get("allow", ()))),
    )


def _flag(kwargs: Mapping[str, Any], name: str) -> bool:
    value = kwargs.get(name, False)
    if not isinstance(value, bool):
        raise ProdguardUsageError(name, value, "True or False")
    return value


def _sequence(value: object) -> tuple[object, ...]:
    return (value,) if isinstance(value, (str, re.Pattern)) else tuple(value or ())  # type: ignore[arg-type]


def _names(value: object, name: str) -> tuple[str, ...]:
    if not isinstance(value, (tuple, list)) or not all(isinstance(v, str) and v for v in value):
        raise ProdguardUsageError(name, value, "a tuple of non-empty strings, e.g. ('request_id',)")
    return tuple(value)


def _forbid_names(value: object) -> tuple[str, ...]:
    """``forbid="secrets"`` reads naturally, so one name is accepted as well as a tuple."""
    return (value,) if isinstance(value, str) else _names(value, "forbid")


_CONTEXT_ACCEPTED = (
    "a contextvars.ContextVar, its import path ('myapp.context:REQUEST_ID'), "
    "'opentelemetry', or a tuple of these"
)


def _context_sources(value: object) -> tuple[contextvars.ContextVar[Any] | str, ...]:
    items = value if isinstance(value, (tuple, list)) else (() if value is None else (value,))
    return tuple(_context_source(item) for item in items)


def _context_source(item: object) -> contextvars.ContextVar[Any] | str:
    if isinstance(item, contextvars.ContextVar):
        return item
    if item in (OPENTELEMETRY, "otel"):
        return OPENTELEMETRY
    if isinstance(item, str) and ":" in item:
        module_name, _, attribute = item.partition(":")
        try:
            variable = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError, ValueError) as exc:
            raise ProdguardUsageError("context", item, f"{_CONTEXT_ACCEPTED} ({exc})") from None
        if isinstance(variable, contextvars.ContextVar):
            return variable
    raise ProdguardUsageError("context", item, _CONTEXT_ACCEPTED)


def _count(kwargs: Mapping[str, Any], name: str) -> int | None:
    value = kwargs.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ProdguardUsageError(name, value, "a whole number >= 0, or None")
    return value


# ---------------------------------------------------------------- checking


@dataclass(frozen=True)
class Violation:
    """One broken rule on one record; ``value`` is a masked excerpt."""

    rule: str
    field: str
    logger: str
    where: str
    value: str

    def line(self) -> str:
        """One readable line for a failure message."""
        return f"[{self.rule}] {self.field} | {self.logger} | {self.where} | {self.value}"

    def to_dict(self) -> dict[str, str]:
        """A JSON-serialisable view (already masked)."""
        return {
            "rule": self.rule,
            "field": self.field,
            "logger": self.logger,
            "where": self.where,
            "value": self.value,
        }


@dataclass
class LogVerdict:
    """The contract's result over one test's records."""

    records: int
    violations: list[Violation] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """Whether any rule was broken."""
        return bool(self.violations)

    def headline(self) -> str:
        """``log contract violated: 3 violations (forbid:card, required) in 12 records``."""
        rules = sorted({v.rule for v in self.violations})
        return (
            f"log contract violated: {len(self.violations)} violation(s) "
            f"({', '.join(rules)}) in {self.records} record(s)"
        )

    def details(self, limit: int = 50) -> str:
        """The headline and one line per violation (at most ``limit``)."""
        lines = [self.headline(), "  [rule] field | logger | file:line | value (masked)"]
        lines += ["  " + v.line() for v in self.violations[:limit]]
        if len(self.violations) > limit:
            lines.append(f"  ... and {len(self.violations) - limit} more")
        return "\n".join(lines + self.notes)

    def result(self) -> GuardResult:
        """The verdict as the plugin applies it: a failure headline, notes, the JSON record."""
        notes = (("prodguard log contract", "\n".join(self.notes)),) if self.notes else ()
        return GuardResult(
            "logs",
            "fail" if self.failed else "pass",
            headline=self.details() if self.failed else "",
            sections=() if self.failed else notes,
            records=(("logs", self.to_dict()),),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (already masked)."""
        return {
            "records": self.records,
            "violations": [v.to_dict() for v in self.violations],
            "notes": list(self.notes),
        }


def check_records(records: Iterable[CapturedRecord], contract: LogContract) -> LogVerdict:
    """Check every record against ``contract``."""
    records = list(records)
    verdict = LogVerdict(len(records))
    if not records and contract.min_records is None:
        verdict.notes.append("note: the test logged nothing, so the log contract checked nothing")
    verdict.violations += _count_violations(len(records), contract)
    for record in records:
        verdict.violations += check_record(record, contract)
    return verdict


def _count_violations(count: int, contract: LogContract) -> list[Violation]:
    if contract.min_records is not None and count < contract.min_records:
        return [_run_violation("min_records", f"{count} record(s) < {contract.min_records}")]
    if contract.max_records is not None and count > contract.max_records:
        return [_run_violation("max_records", f"{count} record(s) > {contract.max_records}")]
    return []


def _run_violation(rule: str, value: str) -> Violation:
    return Violation(rule, "records", "(all loggers)", "(whole test)", value)


def check_record(record: CapturedRecord, contract: LogContract) -> list[Violation]:
    """The violations of one record."""
    found: list[Violation] = []

    def add(rule: str, field_name: str, value: str) -> None:
        found.append(Violation(rule, field_name, record.logger, record.where, value))

    if contract.json:
        _check_json(record, add)
    if contract.required:
        present = record.structured()
        for name in contract.required:
            if present.get(name) in (None, ""):
                add("required", name, f"(missing) in {excerpt(record.line)}")
    for name, expected in record.context.items():
        if not _carries(record, name, expected):
            shown = "trace_id or otelTraceID" if name == "trace_id" else name
            add("context", shown, f"(missing; the current id is {expected})")
    if contract.error_needs_traceback:
        _check_traceback(record, add)
    for place, text in _places(record):
        for finding in find(text, contract.forbid):
            if not contract.allows(finding.value(text)):
                add(f"forbid:{finding.name}", place, excerpt(text, finding))
    return found


def _check_json(record: CapturedRecord, add: Any) -> None:
    if not record.lines:
        add("json", "line", "(no application handler rendered this record)")
    for line in record.lines:
        if parse_json_object(line) is None:
            add("json", "line", f"not one JSON object: {excerpt(line)}")


def _check_traceback(record: CapturedRecord, add: Any) -> None:
    if record.levelno < logging.ERROR or not record.in_exception:
        return
    if not record.has_exc_info:
        add(
            "error_needs_traceback",
            "exc_info",
            "logged while handling an exception, without its traceback "
            "(use logger.exception(...) or exc_info=True)",
        )
    elif record.lines and not any(_shows_traceback(line) for line in record.lines):
        add("error_needs_traceback", "line", "the handler's output drops the traceback")


def _shows_traceback(line: str) -> bool:
    return "Traceback (most recent call last)" in line or '"frames"' in line


def _carries(record: CapturedRecord, name: str, expected: str) -> bool:
    names = TRACE_ID_FIELDS if name == "trace_id" else (name,)
    fields = record.structured()
    for key in names:
        value = fields.get(key)
        if value is not None and _same_id(value, expected):
            return True
    return any(expected in line for line in record.lines)


def _same_id(value: object, expected: str) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return format(value, "032x") == expected.lower() or str(value) == expected
    return str(value).lower() == expected.lower()


def _places(record: CapturedRecord) -> list[tuple[str, str]]:
    """The texts to scan for secrets, named for the failure message.

    Rendered output when the app rendered the record (what production writes,
    after its redaction); the message and fields otherwise.
    """
    places: list[tuple[str, str]] = []
    for line in record.lines:
        parsed = parse_json_object(line)
        if parsed is None:
            places.append(("line", line))
        else:
            places += [(key, f"{key}={value}") for key, value in _flatten(parsed)]
    if not record.lines:
        places.append(("message", record.message))
        places += [(key, f"{key}={value}") for key, value in record.fields.items()]
    return places


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        items: list[tuple[str, Any]] = []
        for key, item in value.items():
            items += _flatten(item, f"{prefix}.{key}" if prefix else str(key))
        return items
    if isinstance(value, list):
        return [pair for i, item in enumerate(value) for pair in _flatten(item, f"{prefix}[{i}]")]
    return [(prefix, value)]


def excerpt(text: str, finding: Finding | None = None) -> str:
    """``text`` masked with every detector, cut to about 140 characters around ``finding``."""
    masked = mask(text)
    start = 0
    if finding is not None:
        marker = masked.find("[MASKED:")
        start = max(0, marker - _EXCERPT // 3)
    piece = masked[start : start + _EXCERPT].replace("\n", "\\n")
    return ("…" if start else "") + piece + ("…" if start + _EXCERPT < len(masked) else "")
