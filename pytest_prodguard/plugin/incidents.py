"""The incidents concern: ``incident_repro`` marker, ``incident`` fixture, guard outcomes.

Registered in every process: the marker is evaluated once at collection into an
``IncidentContext`` under a StashKey, ``runs=N`` repeats the test body, and the
judge turns the call report into the guard's result (an open incident's repro is
a strict expected failure); those per-test parts are registered only once a collected
test is a guard. The run-level ledger lives in :mod:`.ledger`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin.common import (
    add_judge,
    closest_marker,
    is_worker,
    need,
    on_demand,
    register_plugin,
    reject,
)
from pytest_prodguard.plugin.registry import RegistryLoader

if TYPE_CHECKING:
    from pytest_prodguard.incidents import IncidentContext
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

# The marker's signature is repeated here (and checked against
# incidents.repro.MARKER_SIGNATURE by a test) so that loading the plugin does not
# import the incidents package: unmarked suites must not pay for it.
INCIDENT_SIGNATURE = (
    "incident_repro(incident_id, *, status=None, runs=None, repro_rate=None, confidence=0.95)"
)
MARKER = (
    f"{INCIDENT_SIGNATURE}: this test guards a production incident from the registry "
    "(incidents.toml). A fixed incident's guard must pass; status='open' means the bug is "
    "not fixed yet and the repro must fail (strict). runs=N repeats the test body N times; "
    "repro_rate=r computes N so an r-reproducible regression is caught with `confidence`."
)

context_key: pytest.StashKey[IncidentContext] = pytest.StashKey()
failed_run_key = pytest.StashKey[int]()
repeating_key = pytest.StashKey[bool]()
TEST_HOOKS = "prodguard-incidents-tests"


class IncidentsPlugin:
    """Evaluates guard markers, provides the ``incident`` fixture, repeats guard tests."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.guarded_ids: set[str] = set()
        self.registry = RegistryLoader(settings)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        """Load an existing registry before xdist starts workers and whatever the verbosity,
        so a broken one is one clean usage error (``-q`` skips the header that loads it)."""
        if self.settings.incidents.exists() or self.settings.incidents_explicit:
            self.registry()

    def pytest_report_header(self, config: pytest.Config) -> str | None:
        """Name the registry in the header, only when there is one."""
        registry = self.registry() if self.settings.incidents.exists() else None
        if registry is None:
            return None
        return f"prodguard: {len(registry)} incidents in {registry.path}"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Evaluate guard markers before deselection, so the ledger's gaps are right."""
        marked = [item for item in items if closest_marker(item, "incident_repro")]
        if not marked:
            return
        need(self.config, TEST_HOOKS)
        from pytest_prodguard.incidents import parse_repro_marker

        for item in marked:
            marker = closest_marker(item, "incident_repro")
            assert marker is not None
            try:
                spec = parse_repro_marker(marker.args, marker.kwargs)
                self.guarded_ids.add(spec.incident_id)
                item.stash[context_key] = self.registry.context_for(spec)
            except ProdguardUsageError as exc:
                reject(item, "incident_repro", exc)

    @pytest.fixture
    def incident(self, request: pytest.FixtureRequest) -> IncidentContext:
        """The incident this test guards: its registry record and its artifacts.

        Example::

            @pytest.mark.incident_repro("INC-2025-001")
            def test_empty_payload_returns_400(incident, client):
                payload = incident.artifacts.json("request.json")
                assert client.post("/predict", json=payload).status_code == 400
        """
        context: IncidentContext | None = request.node.stash.get(context_key, None)
        if context is None:
            pytest.fail(
                f"{request.node.nodeid}: the 'incident' fixture needs "
                "@pytest.mark.incident_repro('INC-...') on the test",
                pytrace=False,
            )
        return context

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """A worker hands the ids it saw guarded to the controller's ledger."""
        if is_worker(self.config):
            output = self.config.workeroutput  # type: ignore[attr-defined]
            output["prodguard_guarded"] = sorted(self.guarded_ids)


class GuardRepeats:
    """Repeats ``runs=N`` guards (registered once a collected test is a guard)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Repeat the test body for ``runs=N`` guards, stopping at the first failure."""
        context = pyfuncitem.stash.get(context_key, None)
        if context is None or context.spec.runs <= 1:
            return None
        if pyfuncitem.stash.get(repeating_key, False):
            return None
        _repeat(pyfuncitem, context.spec.runs)
        return True


def _repeat(pyfuncitem: pytest.Function, runs: int) -> None:
    """Run the test body ``runs`` times through pytest's own call hook; the stash says which
    run is going on (so a failure names it)."""
    pyfuncitem.stash[repeating_key] = True
    try:
        for run in range(1, runs + 1):
            pyfuncitem.stash[failed_run_key] = run
            pyfuncitem.ihook.pytest_pyfunc_call(pyfuncitem=pyfuncitem)
        del pyfuncitem.stash[failed_run_key]
    finally:
        pyfuncitem.stash[repeating_key] = False


def judge_guard(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> GuardResult | None:
    """The guard's result for its call report (or not-run for a failed setup)."""
    context = item.stash.get(context_key, None)
    if context is None or report.when == "teardown":
        return None
    from pytest_prodguard.incidents import GuardOutcome, classify, guard_result

    if report.when == "setup":
        if report.passed:
            return None
        not_run = guard_result(context, GuardOutcome.NOT_RUN, None, item.nodeid)
        return replace(not_run, sections=())  # the setup error speaks for itself
    failed_run = item.stash.get(failed_run_key, None) if report.failed else None
    misused = call.excinfo is not None and call.excinfo.errisinstance(ProdguardUsageError)
    # A skipped call (pytest.skip(), an xfail mark) says nothing about the incident, and
    # a usage error (a missing artifact, say) is the test's mistake, not a reproduction.
    if report.skipped or misused:
        outcome = GuardOutcome.NOT_RUN
    else:
        outcome = classify(context.status, report.failed)
    return guard_result(context, outcome, failed_run, item.nodeid)


def register(config: pytest.Config, settings: Settings) -> None:
    """Guards run in every process; the ledger only on the controller."""
    from pytest_prodguard.plugin import ledger

    config.addinivalue_line("markers", MARKER)
    plugin = IncidentsPlugin(config, settings)
    register_plugin(config, plugin, "prodguard-incidents")
    run_ledger = None if is_worker(config) else ledger.register(config, settings, plugin)

    def activate() -> None:
        register_plugin(config, GuardRepeats(), TEST_HOOKS)
        add_judge(config, judge_guard)
        if run_ledger is not None:
            register_plugin(config, ledger.GuardRecords(run_ledger), ledger.RECORDS)

    on_demand(config, TEST_HOOKS, activate)
