"""The report concern, on the controller only: collect results, summarise, write the file.

Every phase report's prodguard pairs are folded into one run collector (they
cross pytest-xdist workers in ``user_properties``). At the end the terminal gets
the "prodguard latency" section and each run section (incidents, ...), and
``--prodguard-report`` gets the JSON or HTML file.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from pytest_prodguard.plugin.common import is_prodguard_pair, is_worker, register_plugin

if TYPE_CHECKING:
    from pytest_prodguard.report import PhaseText, RunCollector
    from pytest_prodguard.settings import Settings


class RunSection(Protocol):
    """A run-level section another concern adds to the summary and the report file."""

    name: str

    def to_dict(self) -> Any:
        """The section in the report file (None: left out)."""

    def write_terminal(self, terminalreporter: Any, verbosity: int) -> None:
        """Write the section to the terminal (or nothing); ``verbosity`` as pytest's."""


_sections_key = pytest.StashKey[list[RunSection]]()


def add_run_section(config: pytest.Config, section: RunSection) -> None:
    """Have the report concern show ``section`` in the summary and write it to the report."""
    config.stash.setdefault(_sections_key, []).append(section)


class ReportPlugin:
    """Collects the run's prodguard results; writes the summary and the report file."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.started = time.time()
        self.error: str | None = None
        self._collector: RunCollector | None = None
        self.run_report: dict[str, Any] | None = None
        self.github = os.environ.get("GITHUB_ACTIONS") == "true"  # annotations, job summary

    @property
    def collector(self) -> RunCollector:
        """The run's results, created on first use."""
        if self._collector is None:
            from pytest_prodguard.report import RunCollector

            self._collector = RunCollector()
        return self._collector

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        """Fold every phase report into the run collector, first.

        The outermost wrapper: it sees every report whole, before the JUnit concern
        hides prodguard's pairs from junitxml (``plugin/junit.py``).
        """
        # Without a report file only prodguard results matter: skip the rest cheaply.
        wanted = self.settings.report is not None or self.github
        if wanted or any(map(is_prodguard_pair, report.user_properties)):
            _fold(self.collector, report)
        return (yield)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Write the report file (after the ledger settled the exit status)."""
        if self.settings.report is None and not self.github:
            return
        from pytest_prodguard.report import build_report, run_environment, write_report

        sections = {section.name: section.to_dict() for section in self._sections()}
        self.run_report = report = build_report(
            self.collector,
            sections=sections,
            started=self.started,
            finished=time.time(),
            exit_status=int(session.exitstatus),
            environment=run_environment(self.config.rootpath),
        )
        if self.settings.report is None:
            return
        try:
            write_report(self.settings.report, report)
        except OSError as exc:
            # A note in the summary, not a warning: -W error would make a warning a crash.
            self.error = f"prodguard: could not write report {self.settings.report}: {exc}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The "prodguard latency" section, each run section, and where the report went.

        Verbosity as in junitxml: ``-q`` shows only what needs attention, ``-qq`` only
        what changed the exit status; the report's path is printed at verbosity >= 0.
        """
        verbosity = self.config.getoption("verbose")
        if self.error is not None:
            terminalreporter.write_line(self.error, yellow=True)
        if verbosity > -2:
            _latency_summary(terminalreporter, self._collector, self.config, quiet=verbosity < 0)
        for section in self._sections():
            section.write_terminal(terminalreporter, verbosity)
        if self.settings.report is not None and self.error is None and verbosity >= 0:
            terminalreporter.write_line(f"prodguard report: {self.settings.report}")
        if self.run_report is not None and self.github:
            from pytest_prodguard.report.github import publish

            for line in publish(self.run_report, self.settings.report):
                terminalreporter.write_line(line)

    def _sections(self) -> list[RunSection]:
        return self.config.stash.get(_sections_key, [])


def _latency_summary(
    terminalreporter: Any, collector: RunCollector | None, config: pytest.Config, *, quiet: bool
) -> None:
    """The "prodguard latency" section (only the calls that need attention when ``quiet``)."""
    tests = collector.with_results("latency") if collector else []
    if not tests:
        return
    from pytest_prodguard.report import latency_lines

    records = [(t.nodeid, t.results["latency"][-1]) for t in tests]
    lines = latency_lines(records, quiet=quiet)
    if not lines:
        return
    terminalreporter.write_sep("=", "prodguard latency")
    for line in lines:
        terminalreporter.write_line(line)
    workers = getattr(config.option, "numprocesses", None)
    if workers and not quiet:
        from pytest_prodguard.report.terminal import xdist_note

        dist = getattr(config.option, "dist", "no")
        terminalreporter.write_line(xdist_note(workers, dist), yellow=True)


def _fold(collector: RunCollector, report: pytest.TestReport) -> None:
    """Fold one phase report into the run collector."""
    collector.add(
        report.nodeid,
        report.when,
        report.outcome,
        report.duration,
        report.user_properties,
        xfailed=hasattr(report, "wasxfail") and report.skipped,
        text=_phase_text(report),
    )


def _phase_text(report: pytest.TestReport) -> PhaseText:
    """The failure (or skip/xfail reason) text of a phase report, with the test's location."""
    from pytest_prodguard.report import PhaseText

    path, line, _ = report.location
    line_1 = line + 1 if line is not None else None
    if hasattr(report, "wasxfail"):
        reason = str(report.wasxfail) or "expected failure"
        return PhaseText.short(f"xfail: {reason}", report.longreprtext, path, line_1)
    if report.passed:
        return PhaseText(path=path, line=line_1)
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, "Skipped: reason")
        return PhaseText.short(str(longrepr[2]), "", path, line_1)
    crash = getattr(longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or report.longreprtext
    return PhaseText.short(message, report.longreprtext, path, line_1)


def register(config: pytest.Config, settings: Settings) -> None:
    """The report lives on the controller only (workers send their results in reports)."""
    if not is_worker(config):
        register_plugin(config, ReportPlugin(config, settings), "prodguard-report")
