"""From logs to an incident's facts: the chosen request's records, date, payload, failure."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.forensics.fingerprint import fingerprint_of, signature
from pytest_prodguard.forensics.logs import read_logs
from pytest_prodguard.forensics.masking import mask_text, mask_value
from pytest_prodguard.forensics.records import LogRecord
from pytest_prodguard.forensics.triage import ErrorGroup, GroupBuilder, Triage

PAYLOAD_KEYS = ("payload", "request_body", "body", "json", "request.body", "params", "query")
STATUS_KEYS = ("status", "status_code", "http.status_code", "http.response.status_code")
#: Records of one request kept as its excerpt.
MAX_RECORDS = 500
_PAYLOAD_IN_TEXT = re.compile(r"\b(?:" + "|".join(re.escape(k) for k in PAYLOAD_KEYS) + r")=")


@dataclass(frozen=True)
class Evidence:
    """What an incident is built from, with secrets and personal data already masked."""

    records: tuple[LogRecord, ...]
    failure: LogRecord
    group: ErrorGroup | None
    request_id: str | None
    trace_id: str | None
    payload: Any

    @property
    def date(self) -> str | None:
        """The UTC date of the failure (or of the first timed record), ``YYYY-MM-DD``."""
        timed = [self.failure, *self.records]
        moment = next((r.time for r in timed if r.time is not None), None)
        return moment.date().isoformat() if moment else None

    @property
    def status(self) -> int | None:
        """The failing request's HTTP status, when a record of it says so (largest wins)."""
        statuses = [s for r in self.records if (s := status_of(r)) is not None]
        return max(statuses) if statuses else None

    def excerpt(self) -> str:
        """The request's records, whole tracebacks included, masked."""
        return "".join(mask_text(record.text) + "\n" for record in self.records)

    def summary(self) -> str:
        """``ZeroDivisionError: float division by zero`` or the error message, masked."""
        exception = self.failure.exception
        text = f"{exception.type}: {exception.message}" if exception else self.failure.message
        one_line = text.strip().replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
        return mask_text(one_line)[:300]

    def failure_facts(self) -> dict[str, Any]:
        """What the guard checks for: exception type, status, fingerprint and group facts."""
        kind, place, message = signature(self.failure)
        exception = self.failure.exception
        facts: dict[str, Any] = {
            "exception_type": kind if exception else None,
            "place": place,
            "message": message,
            "fingerprint": fingerprint_of((kind, place, message)),
            "status": self.status,
            "request_id": self.request_id,
            "trace_id": self.trace_id,
            "summary": self.summary(),
        }
        if self.group is not None:
            facts.update(
                group=self.group.number,
                count=self.group.count,
                first_seen=_iso(self.group.first_seen),
                last_seen=_iso(self.group.last_seen),
            )
        return facts


def gather(
    paths: Sequence[Path],
    *,
    group: int | None = None,
    request_id: str | None = None,
    trace_id: str | None = None,
) -> Evidence:
    """Choose the failing request (by group number, request id or trace id) and collect it.

    With an id, one pass collects that request's records; with a group (default: the
    largest), a first pass triages and a second collects the group's example request.
    """
    if request_id is None and trace_id is None:
        result = _triaged(paths)
        chosen = _group(result, group or 1, paths)
        request_id = chosen.example.request_id
        trace_id = None if request_id else chosen.example.trace_id
        if request_id is None and trace_id is None:
            return _evidence([chosen.example], chosen, None, None)
    records: list[LogRecord] = []
    builder = GroupBuilder()
    for record in read_logs(paths, field="--from-log"):
        builder.add(record)
        if len(records) < MAX_RECORDS and _belongs(record, request_id, trace_id):
            records.append(record)
    if not records:
        option, value = ("--request-id", request_id) if request_id else ("--trace-id", trace_id)
        raise ProdguardUsageError(option, value, f"an id that appears in {_names(paths)} (none do)")
    result = builder.finish([])
    failing = _failing_record(records)
    key = fingerprint_of(signature(failing))
    owner = next((g for g in result.groups if g.fingerprint == key), None)
    return _evidence(records, owner, request_id, trace_id, failing)


def _evidence(
    records: list[LogRecord],
    group: ErrorGroup | None,
    request_id: str | None,
    trace_id: str | None,
    failing: LogRecord | None = None,
) -> Evidence:
    return Evidence(
        records=tuple(records),
        failure=failing or _failing_record(records),
        group=group,
        request_id=request_id,
        trace_id=trace_id,
        payload=_payload(records),
    )


def _triaged(paths: Sequence[Path]) -> Triage:
    builder = GroupBuilder()
    for record in read_logs(paths, field="--from-log"):
        builder.add(record)
    return builder.finish([])


def _group(result: Triage, number: int, paths: Sequence[Path]) -> ErrorGroup:
    if not result.groups:
        raise ProdguardUsageError(
            "--from-log",
            _names(paths),
            f"a log with at least one error record ({result.records} records read, none)",
        )
    if not 1 <= number <= len(result.groups):
        raise ProdguardUsageError(
            "--group",
            number,
            f"a group number from 1 to {len(result.groups)} (see prodguard triage)",
        )
    return result.group(number)


def _belongs(record: LogRecord, request_id: str | None, trace_id: str | None) -> bool:
    if request_id is not None:
        return record.request_id == request_id
    return record.trace_id is not None and record.trace_id.lower() == (trace_id or "").lower()


def _failing_record(records: Sequence[LogRecord]) -> LogRecord:
    """The first record with an exception, else the first error, else the last record."""
    with_exception = [r for r in records if r.exception is not None]
    errors = [r for r in records if r.is_error]
    return (with_exception or errors or [records[-1]])[0]


def status_of(record: LogRecord) -> int | None:
    """An HTTP status from the record's fields (``status=500``, ``"status_code": 500``)."""
    for key in STATUS_KEYS:
        value = record.fields.get(key)
        try:
            status = int(str(value))
        except ValueError:
            continue
        if 100 <= status <= 599:
            return status
    return None


def _payload(records: Iterable[LogRecord]) -> Any:
    """The first JSON body or query string found in the request's records, masked."""
    for record in records:
        found = _payload_of(record)
        if found is not None:
            return mask_value(found)
    return None


def _payload_of(record: LogRecord) -> Any:
    for key in PAYLOAD_KEYS:
        value = record.fields.get(key)
        if isinstance(value, (dict, list)):
            return value
        if isinstance(value, str) and value.strip():
            parsed = _decode(value)
            if parsed is not None:
                return parsed
    if record.text.lstrip().startswith("{"):
        return None  # a JSON record: its fields were the whole story
    return _payload_in_text(record.text.splitlines()[0])


def _payload_in_text(line: str) -> Any:
    decoder = json.JSONDecoder()
    for match in _PAYLOAD_IN_TEXT.finditer(line):
        rest = line[match.end() :]
        try:
            value, _ = decoder.raw_decode(rest)
        except json.JSONDecodeError:
            token = rest.split()[0] if rest.split() else ""
            parsed = _decode(token.strip("\"'"))
            if parsed is not None:
                return parsed
            continue
        if isinstance(value, (dict, list)):
            return value
    return None


def _decode(text: str) -> Any:
    """A JSON object/array, or a query string ``a=1&b=2`` as a dict of strings."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        pairs = parse_qsl(text.lstrip("?"), keep_blank_values=True)
        return dict(pairs) if pairs and "=" in text else None
    return value if isinstance(value, (dict, list)) else None


def _names(paths: Sequence[Path]) -> str:
    return ", ".join(str(p) for p in paths)


def _iso(moment: Any) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
