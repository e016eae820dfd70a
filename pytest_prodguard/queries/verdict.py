"""Judge a test's captured statements against its budget: rules broken, a table, a record."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.queries.budget import QueryBudget
from pytest_prodguard.queries.capture import Statement
from pytest_prodguard.queries.normalize import abbreviate, shorten
from pytest_prodguard.results import GuardResult
from pytest_prodguard.units import format_duration

N_PLUS_ONE_ADVICE = "load them in one query (a join or an IN list, e.g. selectinload)"
TABLE_ROWS = 15
OPAQUE = "<script>"


#: The title of a met budget's section in the report.
SECTION_TITLE = "prodguard queries"


@dataclass
class StatementGroup:
    """The statements with one normalized form issued from one call site."""

    normalized: str
    site: str
    count: int = 0
    total: float = 0.0
    slowest: float = 0.0
    rows: int | None = None

    def add(self, statement: Statement) -> None:
        """Count ``statement`` in this group."""
        self.count += 1
        self.total += statement.duration
        self.slowest = max(self.slowest, statement.duration)
        if statement.rowcount is not None:
            self.rows = (self.rows or 0) + statement.rowcount

    def to_dict(self) -> dict[str, Any]:
        """A JSON view (statement text normalized: no parameter values)."""
        return {
            "statement": self.normalized,
            "site": self.site,
            "count": self.count,
            "total_s": round(self.total, 9),
            "slowest_s": round(self.slowest, 9),
            "rows": self.rows,
        }


@dataclass
class QueryVerdict:
    """What a budgeted test's statements did, and which rules they broke."""

    budget: QueryBudget
    count: int
    total: float
    groups: list[StatementGroup]
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    plans: list[tuple[str, str]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when at least one rule was broken."""
        return bool(self.violations)

    def headline(self) -> str:
        """One line: the budget and what ran."""
        state = "exceeded" if self.failed else "met"
        return (
            f"query budget {state} ({self.budget.describe()}): {self.count} queries, "
            f"{format_duration(self.total)} in the database"
        )

    def message(self) -> str:
        """The failure message: headline, the rules broken, then the table."""
        lines = [self.headline(), *(f"  {rule}" for rule in self.violations), "", self.table()]
        for statement, plan in self.plans:
            lines += ["", f"EXPLAIN {shorten(statement)}", plan]
        return "\n".join(lines)

    def table(self) -> str:
        """Statements grouped by shape and call site, the most expensive first."""
        rows = sorted(self.groups, key=lambda g: (-g.total, -g.count))
        header = ("count", "total", "slowest", "call site", "statement")
        body = [
            (
                str(g.count),
                format_duration(g.total),
                format_duration(g.slowest),
                g.site,
                shorten(g.normalized),
            )
            for g in rows[:TABLE_ROWS]
        ]
        widths = [max(len(row[i]) for row in [header, *body]) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
            + "  "
            + row[4]
            for row in [header, *body]
        ]
        if len(rows) > TABLE_ROWS:
            lines.append(f"... and {len(rows) - TABLE_ROWS} more statement shapes")
        return "\n".join(line.rstrip() for line in lines)

    def result(self) -> GuardResult:
        """The guard result: a failure with the table in its message, or a pass whose section
        (shown with ``-rP``) holds the table; the verdict's record either way."""
        records = (("queries", self.to_dict()),)
        if self.failed:  # the table is in the failure itself; no section repeats it
            return GuardResult("queries", "fail", self.message(), records=records)
        section = "\n".join([self.headline(), *self.notes, "", self.table()])
        return GuardResult("queries", "pass", sections=((SECTION_TITLE, section),), records=records)

    def unjudged_result(self) -> GuardResult:
        """For a test that failed on its own: the statement table as evidence, not judged."""
        title = f"{SECTION_TITLE} (budget not judged: the test failed on its own)"
        body = f"{self.count} queries, {format_duration(self.total)} in the database"
        return GuardResult("queries", "pass", sections=((title, f"{body}\n\n{self.table()}"),))

    def to_dict(self) -> dict[str, Any]:
        """The record stored in the test's ``user_properties`` (kind ``queries``)."""
        return {
            "budget": self.budget.describe(),
            "status": "fail" if self.failed else "pass",
            "count": self.count,
            "total_s": round(self.total, 9),
            "violations": self.violations,
            "notes": self.notes,
            "statements": [group.to_dict() for group in self.groups],
            "plans": [{"statement": s, "plan": p} for s, p in self.plans],
        }


def judge(budget: QueryBudget, statements: Sequence[Statement], root: str) -> QueryVerdict:
    """Check ``statements`` against ``budget``; call sites are shown relative to ``root``.

    Raises :class:`ProdguardUsageError` when ``max_duplicates`` is set but the driver
    handed over statements without SQL text, so duplicates cannot be told apart.
    """
    opaque = [s for s in statements if s.sql is None]
    if budget.max_duplicates is not None and opaque:
        raise ProdguardUsageError(
            "max_duplicates",
            budget.max_duplicates,
            f"a driver that passes SQL text, but {opaque[0].source} ran {len(opaque)} statement(s) "
            "without it (a script, or an object it could not render); use max_queries instead",
        )
    groups = group_statements(statements, root)
    verdict = QueryVerdict(budget, len(statements), sum(s.duration for s in statements), groups)
    verdict.violations = [
        *_count_rules(budget, len(statements)),
        *_time_rules(budget, verdict.total, statements, root),
        *_duplicate_rules(budget, groups),
    ]
    if not statements and budget.min_queries is None:
        verdict.notes.append(
            "no query was captured: the budget was not exercised (a connection made before the "
            "test needs pytest_prodguard.queries.wrap(); add min_queries=1 to make this a failure)"
        )
    return verdict


def group_statements(statements: Sequence[Statement], root: str) -> list[StatementGroup]:
    """Group by (normalized form, call site), in order of first appearance."""
    groups: dict[tuple[str, str], StatementGroup] = {}
    for statement in statements:
        key = (statement.normalized or OPAQUE, site_of(statement, root))
        group = groups.get(key)
        if group is None:
            group = groups[key] = StatementGroup(*key)
        group.add(statement)
    return list(groups.values())


def site_of(statement: Statement, root: str) -> str:
    """``path:line`` of the statement's call site, relative to ``root`` when inside it."""
    path = statement.filename
    if os.path.isabs(path):
        relative = os.path.relpath(path, root)
        if not relative.startswith(".."):
            path = relative.replace(os.sep, "/")
    return f"{path}:{statement.lineno}"


def _count_rules(budget: QueryBudget, count: int) -> list[str]:
    rules = []
    if budget.max_queries is not None and count > budget.max_queries:
        rules.append(f"max_queries={budget.max_queries}: {count} queries ran")
    if budget.min_queries is not None and count < budget.min_queries:
        rules.append(f"min_queries={budget.min_queries}: only {count} queries ran")
    return rules


def _time_rules(
    budget: QueryBudget, total: float, statements: Sequence[Statement], root: str
) -> list[str]:
    rules = []
    if budget.max_time is not None and total > budget.max_time:
        rules.append(
            f"max_time={format_duration(budget.max_time)}: the statements took "
            f"{format_duration(total)} in the database"
        )
    limit = budget.per_statement_max_time
    slow = [s for s in statements if limit is not None and s.duration > limit]
    if limit is not None and slow:
        worst = max(slow, key=lambda s: s.duration)
        rules.append(
            f"per_statement_max_time={format_duration(limit)}: "
            f"{len(slow)} statement(s) took longer; "
            f"slowest {format_duration(worst.duration)}: {abbreviate(worst.normalized or OPAQUE)} "
            f"from {site_of(worst, root)}"
        )
    return rules


def _duplicate_rules(budget: QueryBudget, groups: Sequence[StatementGroup]) -> list[str]:
    limit = budget.max_duplicates
    if limit is None:
        return []
    rules = []
    by_shape: dict[str, list[StatementGroup]] = {}
    for group in groups:
        by_shape.setdefault(group.normalized, []).append(group)
    for shape, sites in by_shape.items():
        looped = [g for g in sites if g.count > limit]
        for group in looped:
            rules.append(f"max_duplicates={limit}: {n_plus_one_message(group)}")
        total = sum(g.count for g in sites)
        if not looped and total > limit:
            rules.append(
                f"max_duplicates={limit}: {total} × {abbreviate(shape)} "
                f"from {len(sites)} call sites ({_sites(sites)})"
            )
    return rules


def _sites(groups: Sequence[StatementGroup], shown: int = 3) -> str:
    more = ", ..." if len(groups) > shown else ""
    return ", ".join(group.site for group in groups[:shown]) + more


def n_plus_one_message(group: StatementGroup) -> str:
    """``N+1: 10 × SELECT … FROM child WHERE parent_id = ? from app/models.py:42 (...)``."""
    return (
        f"N+1: {group.count} × {abbreviate(group.normalized)} from {group.site} "
        f"(issued in a loop); {N_PLUS_ONE_ADVICE}"
    )
