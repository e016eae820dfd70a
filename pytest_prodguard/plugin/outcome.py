"""Guard results -> test outcomes, in one makereport (registered in every process).

:class:`OutcomePlugin` runs for every test: ``pytest_runtest_setup`` (a bad marker
is a setup error) and the call wrapper that routes :func:`pytest_prodguard.record`
to the test's report. :class:`OutcomeReports`, registered once a concern needs it
(:func:`~pytest_prodguard.plugin.common.need`), owns the one
``pytest_runtest_makereport`` that applies every :class:`GuardResult` and the
``pytest_report_teststatus`` that gives guard failures their own letter.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard import recorder
from pytest_prodguard.plugin.common import (
    OUTCOME_REPORTS,
    body_end_key,
    is_prodguard_pair,
    judges_key,
    on_demand,
    register_plugin,
    results_key,
    usage_error_key,
)
from pytest_prodguard.plugin.failure import guard_failure, strict_xpass_reason
from pytest_prodguard.plugin.html_extras import add_flamegraph

if TYPE_CHECKING:
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

#: A guard failure's progress letter and verbose word (the short summary says FAILED).
FAILURE_STYLES = {"latency": ("L", "LATENCY"), "queries": ("Q", "QUERIES")}


class OutcomePlugin:
    """What every test needs: bad markers fail at setup, ``record()`` reaches the report."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Turn a bad marker into a clear setup error for this test only."""
        robustness = sys.modules.get("pytest_prodguard.robustness")
        if robustness is not None:
            # A failure's slice summary must only count this test's examples.
            robustness.clear_history()
        _forget_earlier_attempt(item)
        message = item.stash.get(usage_error_key, None)
        if message is not None:
            pytest.fail(f"{item.nodeid}: {message}", pytrace=False)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Route ``pytest_prodguard.record(...)`` calls made by the test to its report, and
        run the body-end callbacks a concern set up during the body (:data:`body_end_key`)."""

        def sink(kind: str, payload: dict[str, Any]) -> None:
            from pytest_prodguard.report import property_pair

            item.user_properties.append(property_pair(kind, payload))

        ends = item.stash[body_end_key] = []
        returned = False
        try:
            with recorder.recording_to(sink):
                result = yield
            returned = True
            return result
        finally:
            del item.stash[body_end_key]
            for end in ends:
                end(returned)


class OutcomeReports:
    """Applies guard results to reports; registered once a concern needs it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.summarizing = False

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Apply the results computed during the call, then ask each concern's judge.

        ``tryfirst`` makes this the outermost wrapper: it sees the report after
        pytest's own xfail handling, so a guard acts on the final outcome.
        """
        report = yield
        pending = item.stash.get(results_key, []) if call.when == "call" else []
        for result in pending:
            apply_result(item, report, result)
        pending.clear()
        for judge in self.config.stash.get(judges_key, []):
            judged = judge(item, call, report)
            if judged is not None:
                apply_result(item, report, judged)
        if call.when == "call":
            add_flamegraph(self.config, item, report)
        return report

    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, str | tuple[str, dict[str, bool]]] | None:
        """A guard failure is counted as failed, with its own letter and verbose word.

        In the short test summary the word is ``FAILED``, so tools that look for
        failures find it (pytest asks this hook there too).
        """
        if report.when != "call" or not report.failed:
            return None
        for guard, (letter, word) in FAILURE_STYLES.items():
            if getattr(report, f"prodguard_{guard}", None) == "fail":
                return "failed", letter, "FAILED" if self.summarizing else (word, {"red": True})
        return None

    def pytest_terminal_summary(self) -> None:
        """From here on pytest prints the short summary (see ``pytest_report_teststatus``)."""
        self.summarizing = True


def _forget_earlier_attempt(item: pytest.Item) -> None:
    """pytest-rerunfailures runs the same item again: only the final attempt's results count.

    An earlier attempt's pending results and prodguard properties would otherwise
    pile up on the item and show in every later attempt's report (sections repeated).
    """
    if results_key in item.stash:
        del item.stash[results_key]
    if item.user_properties:
        item.user_properties[:] = [p for p in item.user_properties if not is_prodguard_pair(p)]


def apply_result(item: pytest.Item, report: pytest.TestReport, result: GuardResult) -> None:
    """Add ``result``'s sections and records to the report and act on its status.

    A ``fail`` only turns a passing test into a failure (a test that failed on its own
    keeps its own failure; an xfail-marked test that passed becomes xfailed); an
    ``xfail`` turns a failing test into an expected failure with the headline as reason.
    """
    report.sections.extend(result.sections)
    if result.records or result.properties:
        from pytest_prodguard.report import property_pair

        pairs = [property_pair(kind, payload) for kind, payload in result.records]
        pairs += list(result.properties)
        item.user_properties.extend(pairs)
        report.user_properties.extend(pairs)
    reason = strict_xpass_reason(report)
    if result.status == "fail" and reason is not None:
        # xfail(strict=True) made the passing body a failure; the guard failed it after all
        report.outcome = "skipped"
        report.wasxfail = reason  # type: ignore[attr-defined]
        report.longrepr = None
    elif result.status == "fail" and report.passed:
        if hasattr(report, "wasxfail"):
            report.outcome = "skipped"  # xfail-marked: failing was expected
            return
        report.outcome = "failed"
        report.longrepr = guard_failure(item, result.headline)  # type: ignore[assignment]
        setattr(report, f"prodguard_{result.guard}", "fail")
    elif result.status == "xfail" and report.failed:
        report.outcome = "skipped"
        report.wasxfail = result.headline  # type: ignore[attr-defined]


def register(config: pytest.Config, settings: Settings) -> None:
    """The outcome concern runs in every process: workers make the reports."""
    register_plugin(config, OutcomePlugin(), "prodguard-outcome")
    on_demand(
        config,
        OUTCOME_REPORTS,
        lambda: register_plugin(config, OutcomeReports(config), OUTCOME_REPORTS),
    )
