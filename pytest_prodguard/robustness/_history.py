"""What a check has seen so far inside one Hypothesis test, for the slice summary.

Under ``@given`` a check sees one example per call, yet the failure message
should say what *all* the failing examples had in common. Each check call
inside a Hypothesis test remembers its example (deduplicated, bounded) under
the call site, so when Hypothesis replays the minimal failing example the
message can slice every failure and pass seen so far. Outside a Hypothesis
test nothing is remembered.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict

from hypothesis import currently_in_test_context

from pytest_prodguard.robustness._example import Example
from pytest_prodguard.robustness._format import show

__all__ = ["clear_history", "is_intermediate", "remember", "seen", "site_of_caller"]

_LIMIT = 2000
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_HISTORY: dict[tuple[str, str, int], OrderedDict[tuple[str, str], tuple[Example, bool]]] = {}


def site_of_caller(check: str) -> tuple[str, str, int]:
    """``(check, file, line)`` of the first caller outside this package."""
    frame = sys._getframe(1)
    while frame is not None and _inside_package(frame.f_code.co_filename):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return (check, "<unknown>", 0)
    return (check, frame.f_code.co_filename, frame.f_lineno)


def _inside_package(filename: str) -> bool:
    return os.path.dirname(os.path.abspath(filename)) == _PACKAGE_DIR


def remember(site: tuple[str, str, int], example: Example, failed: bool) -> None:
    """Record one checked example for ``site`` if running inside a Hypothesis test."""
    if not currently_in_test_context():
        return
    seen_here = _HISTORY.setdefault(site, OrderedDict())
    key = (show(example.varied, 400), str(example.variation))
    seen_here.pop(key, None)
    seen_here[key] = (example, failed)
    while len(seen_here) > _LIMIT:
        seen_here.popitem(last=False)


def seen(site: tuple[str, str, int]) -> tuple[list[Example], list[Example]]:
    """``(failures, passes)`` remembered for ``site``."""
    entries = list(_HISTORY.get(site, {}).values())
    return [e for e, failed in entries if failed], [e for e, failed in entries if not failed]


def is_intermediate() -> bool:
    """Whether Hypothesis will discard this failure (it is still searching or shrinking).

    Hypothesis replays the minimal failing example last, with ``is_final`` set
    on its build context (the same signal ``hypothesis.note`` uses); only that
    run's message is shown, so only it needs a slice summary and a record.
    """
    if not currently_in_test_context():
        return False
    try:
        from hypothesis.control import current_build_context

        return not current_build_context().is_final
    except (ImportError, AttributeError):  # pragma: no cover - older/newer Hypothesis
        return False


def clear_history() -> None:
    """Forget every remembered example (e.g. between tests)."""
    _HISTORY.clear()
