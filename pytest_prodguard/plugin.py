"""pytest-prodguard's pytest hooks: options, markers, fixtures and wiring.

Only translation between pytest and the domain packages lives here: marker
arguments are parsed by the domain, verdicts are computed by the domain, and
this module turns them into test outcomes, report sections and
``user_properties``. Nothing heavy is imported at load time.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard import recorder
from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.settings import OPTIONS, Settings, build_settings

if TYPE_CHECKING:
    from pytest_prodguard.incidents import (
        Incident,
        IncidentContext,
        Registry,
        ReproSpec,
    )
    from pytest_prodguard.incidents.outcome import IncidentSummary
    from pytest_prodguard.report import RunCollector

# The marker's signature is repeated here (and checked against
# incidents.repro.MARKER_SIGNATURE by a test) so that loading the plugin does not
# import the incidents package: unmarked suites must not pay for it.
INCIDENT_SIGNATURE = (
    "incident_repro(incident_id, *, status=None, runs=None, repro_rate=None, confidence=0.95)"
)

MARKERS = (
    f"{INCIDENT_SIGNATURE}: this test guards a production incident from the registry "
    "(incidents.toml). A fixed incident's guard must pass; status='open' means the bug is "
    "not fixed yet and the repro must fail (strict). runs=N repeats the test body N times; "
    "repro_rate=r computes N so an r-reproducible regression is caught with `confidence`.",
)


class Guard:
    """A test's validated incident marker together with its registry record."""

    __slots__ = ("record", "spec")

    def __init__(self, spec: ReproSpec, record: Incident) -> None:
        self.spec = spec
        self.record = record

    @property
    def status(self) -> str:
        """The effective status (marker wins over registry)."""
        return self.spec.status or self.record.status


guard_key = pytest.StashKey[Guard]()
usage_error_key = pytest.StashKey[str]()
failed_run_key = pytest.StashKey[int]()
repeating_key = pytest.StashKey[bool]()


# ---------------------------------------------------------------- options, markers


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare every prodguard option once, as a CLI flag and an ini key."""
    group = parser.getgroup("prodguard", "pytest-prodguard: production lessons as tests")
    for spec in OPTIONS:
        kwargs: dict[str, Any] = {"dest": spec.key, "default": None, "help": spec.help}
        if spec.kind == "bool":
            kwargs["action"] = "store_true"
        elif spec.kind == "choice":
            kwargs["choices"] = spec.choices
        elif spec.kind == "optional-tolerance":
            kwargs.update(nargs="?", const="10%", metavar=spec.metavar)
        else:
            kwargs["metavar"] = spec.metavar
        group.addoption(spec.flag, **kwargs)
        parser.addini(spec.key, spec.help, type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers and the session plugin object that owns all state."""
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    cli = {spec.key: config.getoption(spec.key) for spec in OPTIONS}
    ini = {spec.key: config.getini(spec.key) for spec in OPTIONS}
    try:
        settings = build_settings(config.rootpath, cli, ini)
    except ProdguardUsageError as exc:
        raise pytest.UsageError(f"prodguard: {exc}") from None
    session = ProdguardSession(config, settings)
    config.pluginmanager.register(session, "prodguard-session")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistHooks(session), "prodguard-xdist")


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def incident(request: pytest.FixtureRequest) -> IncidentContext:
    """The incident this test guards: its registry record and its artifacts.

    Example::

        @pytest.mark.incident_repro("INC-2025-001")
        def test_empty_payload_returns_400(incident, client):
            payload = incident.artifacts.json("request.json")
            assert client.post("/predict", json=payload).status_code == 400
    """
    from pytest_prodguard.incidents import Artifacts, IncidentContext

    guard = request.node.stash.get(guard_key, None)
    if guard is None:
        pytest.fail(
            f"{request.node.nodeid}: the 'incident' fixture needs "
            "@pytest.mark.incident_repro('INC-...') on the test",
            pytrace=False,
        )
    artifacts_dir = guard.record.artifacts_dir
    assert artifacts_dir is not None  # set for every record loaded from a file
    return IncidentContext(record=guard.record, spec=guard.spec, artifacts=Artifacts(artifacts_dir))


# ---------------------------------------------------------------- the session object


class ProdguardSession:
    """Per-run state and the hooks that need it (registered in ``pytest_configure``)."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self._collector: RunCollector | None = None
        self.guarded_ids: set[str] = set()
        self.registry: Registry | None = None
        self.registry_loaded = False
        self.started = time.time()
        self.report_error: str | None = None

    # -- registry

    @property
    def collector(self) -> RunCollector:
        """The run's results, created on first use."""
        if self._collector is None:
            from pytest_prodguard.report import RunCollector

            self._collector = RunCollector()
        return self._collector

    def load_registry(self) -> Registry | None:
        """Load the registry once; None when the default file does not exist."""
        if not self.registry_loaded:
            from pytest_prodguard.incidents import RegistryError, load_registry

            self.registry_loaded = True
            path = self.settings.incidents
            if path.exists() or self.settings.incidents_explicit:
                try:
                    self.registry = load_registry(path)
                except RegistryError as exc:
                    if path.exists():
                        raise pytest.UsageError(f"prodguard: {exc}") from None
        return self.registry

    # -- collection

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Validate incident markers before deselection, so gaps count every collected guard."""
        marked = [item for item in items if item.get_closest_marker("incident_repro")]
        if not marked:
            return
        from pytest_prodguard.incidents import parse_repro_marker

        for item in marked:
            marker = item.get_closest_marker("incident_repro")
            if marker is None:
                continue
            try:
                spec = parse_repro_marker(marker.args, marker.kwargs)
                self.guarded_ids.add(spec.incident_id)
                item.stash[guard_key] = Guard(spec, self._record_for(spec))
            except ProdguardUsageError as exc:
                item.stash[usage_error_key] = f"@pytest.mark.incident_repro: {exc}"

    def _record_for(self, spec: ReproSpec) -> Incident:
        registry = self.load_registry()
        if registry is None:
            path = self.settings.incidents
            raise ProdguardUsageError(
                "incident_id",
                spec.incident_id,
                f"an id from the incident registry, but {path} does not exist: create it "
                "or point --prodguard-incidents / ini prodguard_incidents at it",
            )
        return registry.get(spec.incident_id)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Load an existing registry before xdist starts workers and whatever the verbosity,
        so a broken one is one clean usage error (``-q`` skips the header that loads it)."""
        if self.settings.incidents.exists():
            self.load_registry()

    def pytest_report_header(self, config: pytest.Config) -> str | None:
        """Name the registry in the header, only when there is one."""
        registry = self.load_registry() if self.settings.incidents.exists() else None
        if registry is None:
            return None
        return f"prodguard: {len(registry)} incidents in {registry.path}"

    # -- running

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Turn a bad marker into a clear setup error for this test only."""
        message = item.stash.get(usage_error_key, None)
        if message is not None:
            pytest.fail(f"{item.nodeid}: {message}", pytrace=False)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Repeat the test body for ``runs=N`` guards, stopping at the first failure."""
        guard = pyfuncitem.stash.get(guard_key, None)
        if guard is None or guard.spec.runs <= 1 or pyfuncitem.stash.get(repeating_key, False):
            return None
        pyfuncitem.stash[repeating_key] = True
        try:
            for run in range(1, guard.spec.runs + 1):
                pyfuncitem.stash[failed_run_key] = run
                pyfuncitem.ihook.pytest_pyfunc_call(pyfuncitem=pyfuncitem)
            del pyfuncitem.stash[failed_run_key]
        finally:
            pyfuncitem.stash[repeating_key] = False
        return True

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Route ``pytest_prodguard.record(...)`` calls made by the test to its report."""

        def sink(kind: str, payload: dict[str, Any]) -> None:
            from pytest_prodguard.report import property_pair

            item.user_properties.append(property_pair(kind, payload))

        with recorder.recording_to(sink):
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Apply incident semantics to the call report (open = strict expected failure)."""
        report = yield
        guard = item.stash.get(guard_key, None)
        if guard is not None and call.when == "call":
            self._apply_guard(item, call, report, guard)
        elif guard is not None and call.when == "setup" and not report.passed:
            self._record_guard(item, report, guard, "not-run", None)
        return report

    def _apply_guard(
        self,
        item: pytest.Item,
        call: pytest.CallInfo[None],
        report: pytest.TestReport,
        guard: Guard,
    ) -> None:
        from pytest_prodguard.incidents import GuardOutcome, classify
        from pytest_prodguard.incidents import outcome as guard_text

        failed_run = item.stash.get(failed_run_key, None) if report.failed else None
        misused = call.excinfo is not None and call.excinfo.errisinstance(ProdguardUsageError)
        # A skipped call (pytest.skip(), an xfail mark) says nothing about the incident, and
        # a usage error (a missing artifact, say) is the test's mistake, not a reproduction.
        if report.skipped or misused:
            outcome = GuardOutcome.NOT_RUN
        else:
            outcome = classify(guard.status, report.failed)
        if outcome == GuardOutcome.REPRODUCING:
            report.outcome = "skipped"
            report.wasxfail = guard_text.reproducing_reason(guard.record, guard.spec, failed_run)
        elif outcome == GuardOutcome.NOW_PASSES:
            report.outcome = "failed"
            report.longrepr = guard_text.now_passes_message(guard.record, guard.spec)
        report.sections.append(
            (
                f"prodguard incident {guard.record.id}",
                guard_text.guard_section(guard.record, guard.spec, outcome, failed_run),
            )
        )
        self._record_guard(item, report, guard, outcome, failed_run)

    def _record_guard(
        self,
        item: pytest.Item,
        report: pytest.TestReport,
        guard: Guard,
        outcome: str,
        failed_run: int | None,
    ) -> None:
        from pytest_prodguard.report import property_pair

        payload = {
            "incident": guard.record.id,
            "title": guard.record.title,
            "severity": guard.record.severity,
            "status": guard.status,
            "outcome": outcome,
            "runs": guard.spec.runs,
            "failed_run": failed_run,
            "guarantee": guard.spec.guarantee(),
            "nodeid": item.nodeid,
        }
        pair = property_pair("incident", payload)
        item.user_properties.append(pair)
        report.user_properties.append(pair)

    # -- reports (controller side under xdist)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Fold every phase report into the run collector."""
        # Without a report file only prodguard results matter: skip the rest cheaply.
        if self.settings.report is None and not any(
            isinstance(name, str) and name.startswith("prodguard.")
            for name, _ in report.user_properties
        ):
            return
        self.collector.add(
            report.nodeid,
            report.when,
            report.outcome,
            report.duration,
            report.user_properties,
            xfailed=hasattr(report, "wasxfail") and report.skipped,
        )

    def incident_summary(self) -> IncidentSummary | None:
        """Guards by outcome plus the registry's fixed incidents that nobody guards.

        None when the run has neither guards nor a registry (nothing to say).
        """
        has_results = self._collector is not None and self._collector.with_results("incident")
        if not (has_results or self.guarded_ids or self.settings.incidents.exists()):
            return None
        from pytest_prodguard.incidents import outcome as guard_text

        guards = [test.results["incident"][-1] for test in self.collector.with_results("incident")]
        reported = {guard["incident"] for guard in guards}
        return guard_text.summarize(guards, self.load_registry(), self.guarded_ids | reported)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Fail the run for unguarded fixed incidents (if required) and write the report."""
        if hasattr(self.config, "workerinput"):
            self.config.workeroutput["prodguard_guarded"] = sorted(self.guarded_ids)  # type: ignore[attr-defined]
            return
        summary = self.incident_summary()
        if (
            self.settings.require_guards
            and summary is not None
            and summary.unguarded_fixed
            and exitstatus == 0
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.settings.report is not None:
            from pytest_prodguard.report import build_report, write_report

            report = build_report(
                self.collector,
                sections={"incidents": summary.to_dict() if summary else None},
                started=self.started,
                finished=time.time(),
                exit_status=int(session.exitstatus),
            )
            try:
                write_report(self.settings.report, report)
            except OSError as exc:
                # A note in the summary, not a warning: -W error would make a warning a crash.
                self.report_error = (
                    f"prodguard: could not write report {self.settings.report}: {exc}"
                )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The "prodguard incidents" section: guards by outcome and prevention gaps."""
        if self.report_error is not None:
            terminalreporter.write_line(self.report_error, yellow=True)
        summary = self.incident_summary()
        if summary is None or (not summary.guards and not summary.unguarded_fixed):
            return
        terminalreporter.write_sep("=", "prodguard incidents")
        terminalreporter.write_line(summary.headline())
        for line in summary.lines():
            terminalreporter.write_line(line)
        if self.settings.require_guards and summary.unguarded_fixed:
            terminalreporter.write_line(
                f"FAILED: prodguard_require_guards is on and {len(summary.unguarded_fixed)} "
                "fixed incident(s) have no guard test",
                red=True,
                bold=True,
            )
        if self.settings.report is not None and self.report_error is None:
            terminalreporter.write_line(f"prodguard report: {self.settings.report}")


class XdistHooks:
    """Hooks that exist only with pytest-xdist (registered only when it is installed)."""

    def __init__(self, session: ProdguardSession) -> None:
        self.session = session

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Merge each worker's collected guard ids, so gaps are right under ``-n``."""
        output = getattr(node, "workeroutput", {}) or {}
        self.session.guarded_ids.update(output.get("prodguard_guarded", ()))
