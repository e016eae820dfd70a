"""The incident ledger, on the controller only: guards by outcome and unguarded incidents.

Folds every guard's record from the reports (which cross pytest-xdist workers),
fails a run that leaves a fixed incident unguarded when
``prodguard_require_guards`` is on, and gives the report concern its
"prodguard incidents" section. Under xdist a small glue object merges the
guarded ids each worker collected.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard.plugin.common import register_plugin, xdist_active
from pytest_prodguard.plugin.report import add_run_section

#: The ledger's on-demand part: guard records folded from the reports.
RECORDS = "prodguard-ledger-records"

if TYPE_CHECKING:
    from pytest_prodguard.incidents.outcome import GuardRecord, IncidentSummary
    from pytest_prodguard.plugin.incidents import IncidentsPlugin
    from pytest_prodguard.settings import Settings


class IncidentLedger:
    """Guard records of the run plus the registry's fixed incidents nobody guards."""

    name = "incidents"

    def __init__(self, config: pytest.Config, settings: Settings, guards: IncidentsPlugin):
        self.config = config
        self.settings = settings
        self.guards = guards
        self.records: dict[str, GuardRecord] = {}

    def summary(self) -> IncidentSummary | None:
        """None when the run has neither guards nor a registry (nothing to say)."""
        guarded = self.guards.guarded_ids
        if not (self.records or guarded or self.settings.incidents.exists()):
            return None
        from pytest_prodguard.incidents import outcome

        reported = {record.incident for record in self.records.values()}
        records = list(self.records.values())
        return outcome.summarize(records, self.guards.registry(), guarded | reported)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Fail the run for unguarded fixed incidents (when required); before the report."""
        summary = self.summary()
        gap = summary is not None and bool(summary.unguarded_fixed)
        if gap and exitstatus == 0 and guards_enforced(self.config, self.settings):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def to_dict(self) -> dict[str, Any] | None:
        """The report's ``incidents`` section, with every guarded id (shard merges need them)."""
        summary = self.summary()
        if summary is None:
            return None
        reported = {record.incident for record in self.records.values()}
        return {**summary.to_dict(), "guarded_ids": sorted(self.guards.guarded_ids | reported)}

    def write_terminal(self, terminalreporter: Any, verbosity: int) -> None:
        """The "prodguard incidents" section: ``-q`` lists only the bad news, ``-qq`` only a
        failure of ``prodguard_require_guards`` (it changed the exit status)."""
        summary = self.summary()
        if summary is None or (not summary.guards and not summary.unguarded_fixed):
            return
        lines = summary.lines(bad_only=verbosity < 0) if verbosity > -2 else []
        if verbosity >= 0 or lines:
            terminalreporter.write_sep("=", "prodguard incidents")
        if verbosity >= 0:
            terminalreporter.write_line(summary.headline())
        for line in lines:
            terminalreporter.write_line(line)
        if self.settings.require_guards and summary.unguarded_fixed:
            if guards_enforced(self.config, self.settings):
                terminalreporter.write_line(
                    f"FAILED: prodguard_require_guards is on and {len(summary.unguarded_fixed)} "
                    "fixed incident(s) have no guard test",
                    red=True,
                    bold=True,
                )
            elif verbosity >= 0:
                terminalreporter.write_line(
                    "prodguard_require_guards not enforced: this run cannot judge guard "
                    f"coverage: {partial_run(self.config)}, so guards elsewhere may be missed",
                    yellow=True,
                )


def guards_enforced(config: pytest.Config, settings: Settings) -> bool:
    """Require guards only on runs that collect every test file (see :func:`partial_run`)."""
    return settings.require_guards and partial_run(config) is None


def partial_run(config: pytest.Config) -> str | None:
    """Why this run may not collect every guard (so unguarded incidents cannot be judged).

    ``pytest tests/test_api.py`` or ``--lf`` cannot see guards in other files, so
    failing such a run for "unguarded" incidents would be a false alarm. ``-k``,
    ``-m`` and ``--deselect`` are fine: guards are counted before deselection.
    """
    limiting = (("lf", "--lf"), ("stepwise", "--sw"), ("ignore", "--ignore"))
    for dest, flag in (*limiting, ("ignore_glob", "--ignore-glob")):
        if getattr(config.option, dest, None):
            return f"{flag} limits which test files are collected"
    invocation = config.invocation_params.dir
    for arg in config.args:
        target = arg.split("::", 1)[0]
        if "::" in arg or (invocation / target).is_file():
            return f"it names specific test files or node ids ({arg})"
    return None


class GuardRecords:
    """Folds guard records from the reports into the ledger (registered once a test is a guard)."""

    def __init__(self, ledger: IncidentLedger) -> None:
        self.ledger = ledger

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep each guard test's latest record."""
        pairs = [value for name, value in report.user_properties if name == "prodguard.incident"]
        if not pairs:
            return
        import json

        from pytest_prodguard.incidents import GuardRecord

        self.ledger.records[report.nodeid] = GuardRecord.from_dict(json.loads(str(pairs[-1])))


class XdistGlue:
    """Hooks that exist only when pytest-xdist distributes the run (controller side)."""

    def __init__(self, guards: IncidentsPlugin) -> None:
        self.guards = guards

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Merge each worker's collected guard ids, so gaps are right under ``-n``."""
        output = getattr(node, "workeroutput", {}) or {}
        self.guards.guarded_ids.update(output.get("prodguard_guarded", ()))


def register(config: pytest.Config, settings: Settings, guards: IncidentsPlugin) -> IncidentLedger:
    """Register the ledger (and the xdist glue when xdist is active) on the controller."""
    ledger = IncidentLedger(config, settings, guards)
    register_plugin(config, ledger, "prodguard-ledger")
    add_run_section(config, ledger)
    if xdist_active(config):
        register_plugin(config, XdistGlue(guards), "prodguard-xdist")
    return ledger
