"""Post-mortem fields of a registry entry, and the discipline checks on them.

Optional keys of ``[[incident]]``: ``timeline`` (strings, or tables with ``at`` and
``event``), ``root_cause`` (string), ``contributing_factors`` (strings),
``action_items`` (tables with ``what``, ``owner``, ``due`` date and optional
``done``) and ``postmortem`` (a link).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError

FIELDS = ("timeline", "contributing_factors", "action_items", "postmortem")
#: Severities from worst to mildest (the registry's order).
ORDER = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
_ACTION_KEYS = ("what", "owner", "due", "done")


@dataclass(frozen=True)
class ActionItem:
    """One follow-up of a post-mortem."""

    what: str
    owner: str
    due: dt.date
    done: bool = False

    def overdue(self, today: dt.date) -> bool:
        """Not done and past its due date."""
        return not self.done and self.due < today


@dataclass(frozen=True)
class Postmortem:
    """The post-mortem part of one registry entry."""

    root_cause: str | None
    timeline: tuple[str, ...]
    contributing_factors: tuple[str, ...]
    action_items: tuple[ActionItem, ...]
    link: str | None


def parse_postmortem(entry: Mapping[str, Any], where: str) -> Postmortem:
    """Validate the post-mortem keys of a raw entry; ``ValueError`` names key and value."""
    return Postmortem(
        root_cause=entry.get("root_cause"),
        timeline=tuple(_timeline(entry.get("timeline", []), where)),
        contributing_factors=tuple(
            _strings(entry.get("contributing_factors", []), where, "contributing_factors")
        ),
        action_items=tuple(_action_items(entry.get("action_items", []), where)),
        link=_link(entry.get("postmortem"), where),
    )


def _timeline(value: object, where: str) -> Iterable[str]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: timeline={value!r}: must be a list")
    for item in value:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict) and isinstance(item.get("event"), str) and "at" in item:
            yield f"{item['at']} {item['event']}"
        else:
            raise ValueError(
                f"{where}: timeline item {item!r}: must be a string or a table "
                '{ at = "2025-03-14T09:30Z", event = "..." }'
            )


def _strings(value: object, where: str, key: str) -> list[str]:
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ValueError(f"{where}: {key}={value!r}: must be a list of strings")


def _link(value: object, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{where}: postmortem={value!r}: must be a link (string)")


def _action_items(value: object, where: str) -> Iterable[ActionItem]:
    shape = '{ what = "...", owner = "...", due = 2025-04-01, done = false }'
    if not isinstance(value, list):
        raise ValueError(f"{where}: action_items={value!r}: must be a list of tables {shape}")
    for item in value:
        if not isinstance(item, dict):
            raise ValueError(f"{where}: action item {item!r}: must be a table {shape}")
        unknown = sorted(set(item) - set(_ACTION_KEYS))
        if unknown:
            raise ValueError(f"{where}: action item key {unknown[0]!r}: allowed {_ACTION_KEYS}")
        what, owner, due, done = (item.get(k) for k in _ACTION_KEYS)
        if not isinstance(what, str) or not isinstance(owner, str) or not owner.strip():
            raise ValueError(f"{where}: action item {item!r}: needs what and owner (strings)")
        if not isinstance(due, dt.date) or isinstance(due, dt.datetime):
            raise ValueError(
                f"{where}: action item {what!r}: due={due!r}: must be a TOML date such as "
                "2025-04-01 (no quotes)"
            )
        if done is not None and not isinstance(done, bool):
            raise ValueError(f"{where}: action item {what!r}: done={done!r}: true or false")
        yield ActionItem(what, owner, due, bool(done))


def postmortem_of(record: Any) -> Postmortem:
    """The post-mortem of a loaded :class:`~pytest_prodguard.incidents.Incident`."""
    return parse_postmortem({"root_cause": record.root_cause, **record.extra}, record.id)


def parse_severity(value: object, source: str) -> str:
    """A severity name, any case; a usage error lists the accepted ones."""
    text = str(value).strip().upper()
    if text not in ORDER:
        raise ProdguardUsageError(
            "prodguard_require_postmortem", value, f"one of {', '.join(ORDER)}", source=source
        )
    return text


def at_or_above(severity: str, threshold: str) -> bool:
    """``CRITICAL`` is at or above ``HIGH``; ``LOW`` is not."""
    return ORDER.index(severity) <= ORDER.index(threshold)


def missing(record: Any, guarded: bool) -> list[str]:
    """What a post-mortem lacks: a fixed incident needs root cause, action items and a
    guard; an open one (still being investigated) needs its guard, the repro."""
    lacking = []
    if record.status == "fixed":
        post = postmortem_of(record)
        if not post.root_cause:
            lacking.append("root_cause")
        if not post.action_items:
            lacking.append("action_items")
    if not guarded:
        lacking.append("a guard test")
    return lacking


def overdue_items(records: Iterable[Any], today: dt.date) -> list[tuple[Any, ActionItem]]:
    """``(incident, item)`` for every action item past due and not done, oldest first."""
    found = [
        (record, item)
        for record in records
        for item in postmortem_of(record).action_items
        if item.overdue(today)
    ]
    return sorted(found, key=lambda pair: (pair[1].due, pair[0].id))


def overdue_line(record: Any, item: ActionItem, today: dt.date) -> str:
    """``OVERDUE INC-1 'add retries' (owner bob, due 2025-01-01, 12 days late)``."""
    late = (today - item.due).days
    return (
        f"OVERDUE     {record.id} {item.what!r} (owner {item.owner}, due {item.due}, "
        f"{late} day{'s' if late != 1 else ''} late)"
    )


def registry_postmortem_error(where: str, entry: Mapping[str, Any]) -> str | None:
    """The problem with an entry's post-mortem keys, or None (for the registry loader)."""
    try:
        parse_postmortem(entry, where)
    except ValueError as exc:
        return str(exc)
    return None
