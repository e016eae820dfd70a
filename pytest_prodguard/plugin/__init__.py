"""pytest-prodguard's pytest hooks: options, markers, fixtures and wiring.

Only translation between pytest and the domain packages lives here: marker
arguments are parsed by the domain, verdicts are computed by the domain, and
this module turns them into test outcomes, report sections and
``user_properties``. Nothing heavy is imported at load time.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard import recorder
from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.settings import OPTIONS, Settings, build_settings

if TYPE_CHECKING:
    from pytest_prodguard.gate import GateOutcome, GateSettings, TestGate
    from pytest_prodguard.incidents import (
        Incident,
        IncidentContext,
        Registry,
        ReproSpec,
    )
    from pytest_prodguard.incidents.outcome import IncidentSummary
    from pytest_prodguard.latency import LatencySpec, Measurement
    from pytest_prodguard.report import PhaseText, RunCollector

# The marker's signature is repeated here (and checked against
# incidents.repro.MARKER_SIGNATURE by a test) so that loading the plugin does not
# import the incidents package: unmarked suites must not pay for it.
INCIDENT_SIGNATURE = (
    "incident_repro(incident_id, *, status=None, runs=None, repro_rate=None, confidence=0.95)"
)

LATENCY_SIGNATURE = (
    "latency_budget(*, p50=None, p90=None, p95=None, p99=None, max=None, mean=None, "
    "warn_p50=None, warn_p90=None, warn_p95=None, warn_p99=None, warn_max=None, warn_mean=None, "
    "warn_ratio=None, peak_memory=None, warn_peak_memory=None, max_time='2s', warmup=None, "
    "confidence=0.95, include_cpu_wait=False)"
)
PROFILE_SIGNATURE = "profile_on_failure(profiler='auto')"

MARKERS = (
    f"{LATENCY_SIGNATURE}: latency and memory budget for what the test measures with the "
    "'latency' fixture (or pytest-benchmark's 'benchmark'). Durations in seconds or strings "
    "('150us', '20ms'), memory like '64MB'. Judged with distribution-free confidence intervals: "
    "fails only when confidently over budget; undecided after max_time is a warning.",
    f"{PROFILE_SIGNATURE}: when this test fails, re-run its body under a profiler "
    "('auto', 'py-spy', 'torch' or 'builtin') and attach the hottest frames and a flamegraph.",
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
latency_spec_key: pytest.StashKey[LatencySpec] = pytest.StashKey()
gate_key: pytest.StashKey[TestGate] = pytest.StashKey()
profiler_key = pytest.StashKey[str]()
sections_key = pytest.StashKey[list[tuple[str, str]]]()
latency_failed_key = pytest.StashKey[bool]()


class LatencyWarning(pytest.PytestWarning):
    """A latency budget's warn tier was exceeded, its verdict stayed undecided, or it improved."""


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


@pytest.fixture
def latency(request: pytest.FixtureRequest) -> Any:
    """Measure a callable adaptively: ``latency(fn, *args, **kwargs)`` returns a Measurement.

    With ``@pytest.mark.latency_budget(...)`` every call is judged against the
    budget after the test body returns; without a marker it measures and records
    only. Example::

        @pytest.mark.latency_budget(p95="20ms")
        def test_predict_is_fast(latency, service):
            result = latency(service.predict, ["a short review"])
            assert result.n > 0
    """
    session: ProdguardSession = request.config.pluginmanager.get_plugin("prodguard-session")  # type: ignore[assignment]
    gate = session.gate_for(request.node)

    def measure(fn: Any, /, *args: Any, **kwargs: Any) -> Measurement:
        __tracebackhide__ = True
        from pytest_prodguard.latency import BaselineError

        try:
            return gate.measure(fn, args, kwargs)
        except (ProdguardUsageError, BaselineError) as exc:
            message = f"{request.node.nodeid}: latency(): {exc}"
        pytest.fail(message, pytrace=False)

    return measure


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
        self._gate_settings: GateSettings | None = None
        self.run_report: dict[str, Any] | None = None
        self.github = os.environ.get("GITHUB_ACTIONS") == "true"

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
        """Validate prodguard markers; incident guards before deselection, so gaps are right."""
        self._validate_latency_markers(items)
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

    def _validate_latency_markers(self, items: list[pytest.Item]) -> None:
        xdist_group = self.config.pluginmanager.hasplugin("xdist")
        for item in items:
            budget = item.get_closest_marker("latency_budget")
            if budget is not None:
                self._validate_budget(item, budget, xdist_group)
            profile = item.get_closest_marker("profile_on_failure")
            if profile is not None:
                self._validate_profile_marker(item, profile)

    def _validate_budget(self, item: pytest.Item, marker: pytest.Mark, xdist_group: bool) -> None:
        from pytest_prodguard.latency import parse_latency_spec

        fixtures = set(getattr(item, "fixturenames", ()))
        try:
            if marker.args:
                raise ProdguardUsageError(
                    "args", marker.args, f"keyword arguments only: {LATENCY_SIGNATURE}"
                )
            spec = parse_latency_spec(marker.kwargs, scale=self.settings.latency_scale)
            if not fixtures & {"latency", "benchmark"}:
                raise ProdguardUsageError(
                    "fixtures",
                    _requested_fixtures(item),
                    "a test that uses the 'latency' fixture "
                    "(latency(fn, *args)) or pytest-benchmark's 'benchmark' fixture",
                )
        except ProdguardUsageError as exc:
            item.stash[usage_error_key] = f"@pytest.mark.latency_budget: {exc}"
            return
        item.stash[latency_spec_key] = spec
        if xdist_group:
            # Serial on one worker under --dist loadgroup (see the README on xdist).
            item.add_marker(pytest.mark.xdist_group("prodguard-latency"))

    def _validate_profile_marker(self, item: pytest.Item, marker: pytest.Mark) -> None:
        from pytest_prodguard.profiling import check_profile_options

        profiler = marker.args[0] if marker.args else marker.kwargs.get("profiler", "auto")
        unknown = sorted(set(marker.kwargs) - {"profiler"})
        try:
            if unknown or len(marker.args) > 1:
                raise ProdguardUsageError(
                    unknown[0] if unknown else "args",
                    marker.kwargs[unknown[0]] if unknown else marker.args,
                    f"only {PROFILE_SIGNATURE}",
                )
            check_profile_options(profiler=profiler, source="marker")
        except ProdguardUsageError as exc:
            item.stash[usage_error_key] = f"@pytest.mark.profile_on_failure: {exc}"
            return
        item.stash[profiler_key] = str(profiler)

    @property
    def gate_settings(self) -> GateSettings:
        """The slice of the settings the latency gate needs."""
        if self._gate_settings is None:
            from pytest_prodguard.gate import GateSettings

            s = self.settings
            self._gate_settings = GateSettings(
                mode=s.latency,
                inconclusive=s.latency_inconclusive,
                normalize=s.latency_normalize == "auto",
                baseline_save=s.baseline_save,
                baseline_compare=s.baseline_compare,
                baseline_dir=s.baseline_dir,
                profile=s.profile,
                profile_with=s.profile_with,
                profile_seconds=s.profile_seconds,
                profile_dir=s.profile_dir,
                profile_top=s.profile_top,
            )
        return self._gate_settings

    def gate_for(self, item: pytest.Item) -> TestGate:
        """The latency gate of ``item``, created on first use."""
        gate = item.stash.get(gate_key, None)
        if gate is None:
            from pytest_prodguard.gate import TestGate

            gate = TestGate(
                item.nodeid,
                item.stash.get(latency_spec_key, None),
                self.gate_settings,
                display_id=_invocation_relative(self.config, item.nodeid),
            )
            item.stash[gate_key] = gate
        return gate

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
        robustness = sys.modules.get("pytest_prodguard.robustness")
        if robustness is not None:
            # A failure's slice summary must only count this test's examples.
            robustness.clear_history()
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
            try:
                result = yield
            except BaseException:
                self._finish_latency(item, judge=False)
                raise
        self._finish_latency(item, judge=True)
        return result

    def _finish_latency(self, item: pytest.Item, *, judge: bool) -> None:
        """Judge what the test measured: fail it, warn, or pass, with a report section."""
        __tracebackhide__ = True
        spec = item.stash.get(latency_spec_key, None)
        if spec is None and gate_key not in item.stash:
            return
        gate = self.gate_for(item)
        if spec is not None and not gate.calls and self.settings.latency != "off":
            self._judge_benchmark(item, gate)
        if not gate.calls:
            if judge and spec is not None and self.settings.latency != "off" and not gate.notes:
                pytest.fail(
                    f"{item.nodeid}: @pytest.mark.latency_budget: nothing was measured; call "
                    "latency(fn, *args) in the test (or use pytest-benchmark's benchmark(fn))",
                    pytrace=False,
                )
            return
        outcome = gate.outcome() if judge else gate.outcome_without_verdict()
        self._attach(item, outcome)
        if outcome.status == "fail":
            item.stash[latency_failed_key] = True
            pytest.fail(outcome.message, pytrace=False)
        if outcome.status == "warn":
            path, line, _ = item.location
            warnings.warn_explicit(
                LatencyWarning(f"{item.nodeid}: {outcome.message}"),
                LatencyWarning,
                filename=str(self.config.rootpath / path),
                lineno=(line or 0) + 1,
            )

    def _judge_benchmark(self, item: pytest.Item, gate: TestGate) -> None:
        bench = getattr(item, "funcargs", {}).get("benchmark")
        if bench is None:
            return
        stats = getattr(getattr(bench, "stats", None), "stats", None)
        data = list(getattr(stats, "data", None) or ())
        if data:
            gate.judge_samples(data)
        else:
            gate.notes.append(
                "pytest-benchmark measured nothing (disabled, e.g. under xdist or "
                "--benchmark-disable): the latency budget was not judged"
            )
            self._attach(item, gate.outcome())

    def _attach(self, item: pytest.Item, outcome: GateOutcome) -> None:
        from pytest_prodguard.report import property_pair

        item.stash.setdefault(sections_key, []).extend(outcome.sections)
        for kind, payload in outcome.records:
            item.user_properties.append(property_pair(kind, payload))
        if outcome.profile is not None:
            for name, path in outcome.profile.files.items():
                item.user_properties.append((f"prodguard.profile.{name}", path))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Apply incident semantics to the call report (open = strict expected failure)."""
        report = yield
        if call.when == "call":
            self._decorate_call_report(item, report)
        guard = item.stash.get(guard_key, None)
        if guard is not None and call.when == "call":
            self._apply_guard(item, call, report, guard)
        elif guard is not None and call.when == "setup" and not report.passed:
            self._record_guard(item, report, guard, "not-run", None)
        return report

    def _decorate_call_report(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """Latency/profile sections, the latency status flag, profiling a failed test."""
        stash = item.stash
        if not (latency_spec_key in stash or profiler_key in stash or gate_key in stash):
            return  # the common case: a test prodguard has nothing to do with
        sections: list[tuple[str, str]] = stash.get(sections_key, [])
        report.sections.extend(sections)
        if item.stash.get(latency_failed_key, False):
            report.prodguard_latency = "fail"  # type: ignore[attr-defined]
        elif report.failed and profiler_key in item.stash and self.settings.profile != "off":
            self._profile_failed_test(item, report)
        if report.passed:
            from pytest_prodguard.gate import discard_profile_of

            discard_profile_of(item.nodeid, self.gate_settings)
        self._add_html_extras(item, report)

    def _profile_failed_test(self, item: pytest.Item, report: pytest.TestReport) -> None:
        from dataclasses import replace

        from pytest_prodguard.gate import profile_section_title, profile_thunk
        from pytest_prodguard.report import property_pair

        settings = replace(self.gate_settings, profile_with=item.stash[profiler_key])
        if self.settings.profile_with != "auto":
            settings = self.gate_settings  # the command line wins over the marker
        result = profile_thunk(_test_body(item), item.nodeid, settings)
        report.sections.append((profile_section_title(), result.section()))
        pairs = [property_pair("profile", result.to_dict())]
        pairs += [(f"prodguard.profile.{name}", path) for name, path in result.files.items()]
        item.user_properties.extend(pairs)
        report.user_properties.extend(pairs)

    def _add_html_extras(self, item: pytest.Item, report: pytest.TestReport) -> None:
        """Embed the flamegraph in pytest-html's report (a local path would not travel)."""
        html = self.config.pluginmanager.getplugin("html")
        svg = next((v for k, v in item.user_properties if k == "prodguard.profile.svg"), None)
        if html is None or not isinstance(svg, str):
            return
        import base64

        try:
            content = base64.b64encode(Path(svg).read_bytes()).decode("ascii")
        except OSError:
            return
        extras = list(getattr(report, "extras", []))
        # pytest-html takes images as base64 and inlines them (--self-contained-html) or
        # writes them next to the report: either way they travel with it.
        extras.append(html.extras.svg(content, name="prodguard flamegraph"))
        report.extras = extras  # type: ignore[attr-defined]

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport, config: pytest.Config
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        """Latency failures get their own letter: ``L`` / ``LATENCY``."""
        latency_failed = getattr(report, "prodguard_latency", None) == "fail"
        if report.when == "call" and report.failed and latency_failed:
            return "failed", "L", ("LATENCY", {"red": True})
        return None

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
        if (
            self.settings.report is None
            and not self.github
            and not any(
                isinstance(name, str) and name.startswith("prodguard.")
                for name, _ in report.user_properties
            )
        ):
            return
        self.collector.add(
            report.nodeid,
            report.when,
            report.outcome,
            report.duration,
            report.user_properties,
            xfailed=hasattr(report, "wasxfail") and report.skipped,
            text=_phase_text(report),
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
        gap = summary is not None and bool(summary.unguarded_fixed)
        if gap and exitstatus == 0 and self._guards_enforced():
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.settings.report is not None or self.github:
            from pytest_prodguard.report import build_report, run_environment

            self.run_report = report = build_report(
                self.collector,
                sections={"incidents": self._incidents_section(summary)},
                started=self.started,
                finished=time.time(),
                exit_status=int(session.exitstatus),
                environment=run_environment(self.config.rootpath),
            )
        if self.settings.report is not None:
            from pytest_prodguard.report import write_report

            try:
                write_report(self.settings.report, report)
            except OSError as exc:
                # A note in the summary, not a warning: -W error would make a warning a crash.
                self.report_error = (
                    f"prodguard: could not write report {self.settings.report}: {exc}"
                )

    def _incidents_section(self, summary: IncidentSummary | None) -> dict[str, Any] | None:
        """The report's incidents view, with every guarded id (so shard merges see them)."""
        if summary is None:
            return None
        reported = {guard["incident"] for guard in summary.guards}
        return {**summary.to_dict(), "guarded_ids": sorted(self.guarded_ids | reported)}

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The "prodguard latency" and "prodguard incidents" sections."""
        if self.report_error is not None:
            terminalreporter.write_line(self.report_error, yellow=True)
        self._latency_summary(terminalreporter)
        self._incident_summary(terminalreporter)
        if self.settings.report is not None and self.report_error is None:
            terminalreporter.write_line(f"prodguard report: {self.settings.report}")
        if self.run_report is not None and self.github:
            from pytest_prodguard.report.github import publish

            for line in publish(self.run_report, self.settings.report):
                terminalreporter.write_line(line)

    def _latency_summary(self, terminalreporter: Any) -> None:
        tests = self._collector.with_results("latency") if self._collector else []
        if not tests:
            return
        from pytest_prodguard.gate import summary_lines

        terminalreporter.write_sep("=", "prodguard latency")
        for line in summary_lines([(t.nodeid, t.results["latency"][-1]) for t in tests]):
            terminalreporter.write_line(line)
        workers = getattr(self.config.option, "numprocesses", None)
        if workers and getattr(self.config.option, "dist", "no") != "loadgroup":
            terminalreporter.write_line(
                f"note: latency was measured while {workers} pytest-xdist workers ran other "
                "tests in parallel; budgets were not widened. Run with --dist loadgroup to "
                "measure latency tests serially on one worker (group 'prodguard-latency').",
                yellow=True,
            )

    def _incident_summary(self, terminalreporter: Any) -> None:
        summary = self.incident_summary()
        if summary is None or (not summary.guards and not summary.unguarded_fixed):
            return
        terminalreporter.write_sep("=", "prodguard incidents")
        terminalreporter.write_line(summary.headline())
        for line in summary.lines():
            terminalreporter.write_line(line)
        if self.settings.require_guards and summary.unguarded_fixed:
            if self._guards_enforced():
                terminalreporter.write_line(
                    f"FAILED: prodguard_require_guards is on and {len(summary.unguarded_fixed)} "
                    "fixed incident(s) have no guard test",
                    red=True,
                    bold=True,
                )
            else:
                terminalreporter.write_line(
                    "prodguard_require_guards not enforced: this run was limited to "
                    "specific test files or node ids, so guards elsewhere were not collected",
                    yellow=True,
                )

    def _guards_enforced(self) -> bool:
        """Require guards only on runs over whole folders (or testpaths), not chosen files.

        A run of ``pytest tests/test_api.py`` cannot see the guards in other files,
        so failing it for "unguarded" incidents would be a false alarm.
        """
        if not self.settings.require_guards:
            return False
        invocation = self.config.invocation_params.dir
        for arg in self.config.args:
            target = arg.split("::", 1)[0]
            if "::" in arg or (invocation / target).is_file():
                return False
        return True


def _phase_text(report: pytest.TestReport) -> PhaseText | None:
    """The failure (or skip/xfail reason) text of a phase report, with the test's location."""
    from pytest_prodguard.report import PhaseText

    path, line, _ = report.location
    line_1 = line + 1 if line is not None else None
    if report.passed and not hasattr(report, "wasxfail"):
        return PhaseText(path=path, line=line_1)
    if hasattr(report, "wasxfail"):
        reason = str(report.wasxfail) or "expected failure"
        return PhaseText.short(f"xfail: {reason}", report.longreprtext, path, line_1)
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (file, line, "Skipped: reason")
        return PhaseText.short(str(longrepr[2]), "", path, line_1)
    crash = getattr(longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or report.longreprtext
    return PhaseText.short(message, report.longreprtext, path, line_1)


def _requested_fixtures(item: pytest.Item) -> list[str]:
    """The fixtures the test function asks for by name (autouse ones of other plugins left out)."""
    import inspect

    function = getattr(item, "obj", None)
    if function is None:
        return []
    try:
        return sorted(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []


def _invocation_relative(config: pytest.Config, nodeid: str) -> str:
    """The node id as typed from the folder pytest was started in (for reproduce lines)."""
    import os

    path, sep, rest = nodeid.partition("::")
    try:
        relative = os.path.relpath(config.rootpath / path, config.invocation_params.dir)
    except ValueError:  # another drive on Windows
        return nodeid
    return relative.replace(os.sep, "/") + sep + rest


def _test_body(item: pytest.Item) -> Any:
    """A thunk that runs the test function again with the same fixture values.

    Calling the function directly (rather than ``item.runtest``), through a partial
    with no Python frame of its own, keeps pytest's and pluggy's frames out of the profile.
    """
    import functools
    import inspect

    function = getattr(item, "obj", None)
    funcargs = getattr(item, "funcargs", {})
    if function is None:
        return item.runtest
    names = inspect.signature(function).parameters
    arguments = {name: funcargs[name] for name in names if name in funcargs}
    return functools.partial(function, **arguments)


class XdistHooks:
    """Hooks that exist only with pytest-xdist (registered only when it is installed)."""

    def __init__(self, session: ProdguardSession) -> None:
        self.session = session

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Merge each worker's collected guard ids, so gaps are right under ``-n``."""
        output = getattr(node, "workeroutput", {}) or {}
        self.session.guarded_ids.update(output.get("prodguard_guarded", ()))
