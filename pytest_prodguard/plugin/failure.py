"""How a guard failure reads in pytest's report: the headline, then the test's location.

The location is the test's definition, so ``--tb=line`` and ``--tb=short`` point at the
test rather than at a prodguard frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class GuardLocation:
    """Where a guard failure points: the test's definition (what ``--tb=line`` prints)."""

    path: str
    lineno: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.lineno}: {self.message}"


@dataclass(frozen=True)
class GuardFailure:
    """The ``longrepr`` of a test a guard failed: the headline, then the test's location."""

    headline: str
    reprcrash: GuardLocation
    where: str

    def toterminal(self, tw: Any) -> None:
        """Write the failure as pytest writes a report's ``longrepr``."""
        for line in self.headline.splitlines():
            tw.line(line, red=True, bold=True)
        tw.line(self.where)

    def __str__(self) -> str:
        return self.headline


def strict_xpass_reason(report: pytest.TestReport) -> str | None:
    """The xfail reason when pytest turned a passing strict-xfail call into a failure."""
    text = report.longrepr if report.failed and report.when == "call" else None
    prefix = "[XPASS(strict)] "
    return text[len(prefix) :] if isinstance(text, str) and text.startswith(prefix) else None


def guard_failure(item: pytest.Item, headline: str) -> GuardFailure:
    """The longrepr of ``item`` failed by a guard: ``headline``, then the test's location."""
    path, lineno, name = item.location
    line = (lineno or 0) + 1
    first = headline.splitlines()[0] if headline else ""
    crash = GuardLocation(str(item.config.rootpath / path), line, first)
    return GuardFailure(headline, crash, f"{path}:{line}: in {name}")
