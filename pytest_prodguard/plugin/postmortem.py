"""Post-mortem discipline, on the controller only: lacking post-mortems, overdue action items.

A run section (see :mod:`.report`): with ``--prodguard-require-postmortem [SEVERITY]``
it fails a run when an incident at or above that severity lacks its post-mortem
(a fixed one: root cause, action items or a guard test; an open one: its guard),
and it lists action items past their due date. Guarded incident ids come from the
incidents concern, which also gathers them from pytest-xdist workers.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard.plugin.common import is_worker, register_plugin
from pytest_prodguard.plugin.ledger import partial_run
from pytest_prodguard.plugin.report import add_run_section

if TYPE_CHECKING:
    from pytest_prodguard.plugin.incidents import IncidentsPlugin
    from pytest_prodguard.settings import Settings


class PostmortemSection:
    """Judges the registry's post-mortems at the end of the run and reports them."""

    name = "postmortems"

    def __init__(self, config: pytest.Config, settings: Settings, guards: IncidentsPlugin):
        self.config = config
        self.settings = settings
        self.guards = guards
        self.lacking: list[dict[str, Any]] = []
        self.overdue: list[str] = []
        self.partial: str | None = None  # why guards cannot be judged in this run

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Find lacking post-mortems and overdue items; a lacking one fails a green run."""
        registry = self.guards.registry() if self.settings.incidents.exists() else None
        if registry is None:
            return
        from pytest_prodguard.incidents import postmortem

        today = dt.date.today()
        self.overdue = [
            postmortem.overdue_line(record, item, today)
            for record, item in postmortem.overdue_items(registry, today)
        ]
        threshold = self.settings.require_postmortem
        if threshold is None:
            return
        self.partial = partial_run(self.config)
        for record in sorted(registry, key=lambda r: r.id):
            if postmortem.at_or_above(record.severity, threshold):
                guarded = self.partial is not None or record.id in self.guards.guarded_ids
                lacking = postmortem.missing(record, guarded)
                if lacking:
                    self.lacking.append({"incident": record.id, "lacks": lacking})
        if self.lacking and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def to_dict(self) -> dict[str, Any] | None:
        """The report's ``postmortems`` section (None when there is nothing to say)."""
        if not (self.lacking or self.overdue):
            return None
        return {"lacking": self.lacking, "overdue": self.overdue}

    def write_terminal(self, terminalreporter: Any, verbosity: int) -> None:
        """The "prodguard post-mortems" section; ``-qq`` keeps only what failed the run."""
        overdue = self.overdue if verbosity > -2 else []
        if not (self.lacking or overdue):
            return
        registry = self.guards.registry()
        records = {record.id: record for record in registry} if registry else {}
        terminalreporter.write_sep("=", "prodguard post-mortems")
        for entry in self.lacking:
            record = records[entry["incident"]]
            terminalreporter.write_line(
                f"NO POST-MORTEM {record.id} [{record.severity}] {record.status}: "
                f"lacks {', '.join(entry['lacks'])}",
                red=True,
            )
        for line in overdue:
            terminalreporter.write_line(line, yellow=True)
        if self.lacking:
            terminalreporter.write_line(
                f"FAILED: --prodguard-require-postmortem {self.settings.require_postmortem}: "
                f"{len(self.lacking)} incident(s) lack their post-mortem",
                red=True,
                bold=True,
            )
        if self.partial is not None:
            terminalreporter.write_line(f"guard tests not judged: {self.partial}", yellow=True)


def register(config: pytest.Config, settings: Settings) -> None:
    """Register the section on the controller, after the incidents concern."""
    if is_worker(config):
        return
    guards = config.pluginmanager.get_plugin("prodguard-incidents")
    assert guards is not None, "the incidents concern registers before this one"
    section = PostmortemSection(config, settings, guards)
    register_plugin(config, section, "prodguard-postmortem")
    add_run_section(config, section)
