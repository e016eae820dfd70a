"""Post-mortem discipline: ``--prodguard-require-postmortem`` and overdue action items.

One plugin object, registered from ``pytest_configure``. It records which incidents
the collected tests guard (shipped from xdist workers), then at the end of the run
fails it when an incident at or above the chosen severity lacks its post-mortem, and
lists action items past their due date in the "prodguard post-mortems" section.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pytest_prodguard.settings import Settings

_WORKER_KEY = "prodguard_postmortem_guarded"


def register(config: pytest.Config, settings: Settings) -> None:
    """Add the post-mortem plugin (and its xdist hooks where xdist is installed)."""
    plugin = PostmortemPlugin(config, settings)
    config.pluginmanager.register(plugin, "prodguard-postmortem")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(plugin), "prodguard-postmortem-xdist")


class PostmortemPlugin:
    """Collects guarded incident ids; judges and reports post-mortems at the end."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.guarded: set[str] = set()
        self.problems: list[str] = []
        self.overdue: list[str] = []
        self.partial_run = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Note the incident each collected guard names (before -k/-m deselect it)."""
        for item in items:
            for marker in item.iter_markers("incident_repro"):
                incident_id = marker.args[0] if marker.args else marker.kwargs.get("incident_id")
                if isinstance(incident_id, str):
                    self.guarded.add(incident_id)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Judge the registry's post-mortems; a lacking one fails an otherwise green run."""
        if hasattr(self.config, "workerinput"):
            self.config.workeroutput[_WORKER_KEY] = sorted(self.guarded)  # type: ignore[attr-defined]
            return
        registry = self._registry()
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
        self.partial_run = _limited_to_files(self.config)
        for record in sorted(registry, key=lambda r: r.id):
            if not postmortem.at_or_above(record.severity, threshold):
                continue
            guarded = self.partial_run or record.id in self.guarded
            lacking = postmortem.missing(record, guarded)
            if lacking:
                self.problems.append(
                    f"NO POST-MORTEM {record.id} [{record.severity}] {record.status}: "
                    f"lacks {', '.join(lacking)}"
                )
        if self.problems and exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The "prodguard post-mortems" section, after the incidents one: lacking, overdue."""
        if not (self.problems or self.overdue):
            return
        terminalreporter.write_sep("=", "prodguard post-mortems")
        for line in self.problems:
            terminalreporter.write_line(line, red=True)
        for line in self.overdue:
            terminalreporter.write_line(line, yellow=True)
        if self.problems:
            terminalreporter.write_line(
                f"FAILED: --prodguard-require-postmortem {self.settings.require_postmortem}: "
                f"{len(self.problems)} incident(s) lack their post-mortem",
                red=True,
                bold=True,
            )
        if self.partial_run and self.settings.require_postmortem:
            terminalreporter.write_line(
                "guard tests not judged: this run was limited to specific files or node ids",
                yellow=True,
            )

    def _registry(self) -> Any:
        path = self.settings.incidents
        if not path.exists():
            return None
        from pytest_prodguard.incidents import RegistryError, load_registry

        try:
            return load_registry(path)
        except RegistryError:
            return None  # the incidents plugin reports a broken registry


class _XdistHooks:
    def __init__(self, plugin: PostmortemPlugin) -> None:
        self.plugin = plugin

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Merge the guarded incident ids a worker collected."""
        output = getattr(node, "workeroutput", {})
        self.plugin.guarded.update(output.get(_WORKER_KEY, []))


def _limited_to_files(config: pytest.Config) -> bool:
    """Whether the run named files or node ids, so guards elsewhere were not collected."""
    invocation = config.invocation_params.dir
    return any("::" in arg or (invocation / arg.split("::", 1)[0]).is_file() for arg in config.args)
