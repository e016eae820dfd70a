"""The logs concern: ``structured_logs`` fixture, ``log_contract`` marker, masked reports.

The capture starts before the test's fixtures are set up and stops after
they are torn down; the contract is checked when the test body returns and its
:class:`~pytest_prodguard.results.GuardResult` is queued for the call report (a
broken contract fails a passing test, listing every violating record with
values masked). While a contract forbids detectors, a judge masks everything
the test's reports carry (captured stdout/stderr/log sections, the failure
text), and the capture masks pytest's own log handlers (live logs,
``caplog.text``), so a leaked value does not leak again through the terminal,
JUnit XML, pytest-html or the JSON report. Domain logic lives in
:mod:`pytest_prodguard.logs`; nothing of it is imported until a test uses it, and
the per-test hooks are registered only once a collected test has a contract or asks
for the fixture.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin.common import (
    add_judge,
    add_result,
    closest_marker,
    need,
    on_demand,
    register_plugin,
    reject,
    usage_error_key,
)

if TYPE_CHECKING:
    from pytest_prodguard.logs.capture import LogCapture
    from pytest_prodguard.logs.contract import LogContract
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

# Repeated from logs.contract.SIGNATURE (a test checks they agree) so that loading
# the plugin does not import the logs package.
SIGNATURE = (
    "log_contract(*, json=False, required=(), context=None, error_needs_traceback=False, "
    "forbid=('secrets', 'pii'), max_records=None, min_records=None, allow=())"
)
MARKER = (
    f"{SIGNATURE}: the logs this test emits (stdlib logging, structlog) must be one JSON object "
    "per line, carry the required fields and the current request/trace id (context= a "
    "ContextVar or 'opentelemetry'), keep tracebacks of errors, stay within the record counts, "
    "and leak nothing the forbidden detectors find ('secrets', 'pii' or detector names; allow= "
    "exempts values). Violations fail the test with values masked. See docs/logs.md."
)
FIXTURE = "structured_logs"
TEST_HOOKS = "prodguard-logs-tests"

contract_key = pytest.StashKey["LogContract"]()
capture_key = pytest.StashKey["LogCapture"]()

Masker = Callable[[str], str]


class LogsPlugin:
    """Evaluates ``log_contract`` markers and provides the ``structured_logs`` fixture."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Evaluate every ``log_contract`` marker once (a bad one errors its test at setup)."""
        marked = [item for item in items if closest_marker(item, "log_contract")]
        if marked or any(FIXTURE in getattr(item, "fixturenames", ()) for item in items):
            need(self.config, TEST_HOOKS)
        if not marked:
            return
        from pytest_prodguard.logs.contract import parse_contract

        for item in marked:
            marker = closest_marker(item, "log_contract")
            assert marker is not None
            try:
                item.stash[contract_key] = parse_contract(marker.args, marker.kwargs)
            except ProdguardUsageError as exc:
                reject(item, "log_contract", exc)

    @pytest.fixture
    def structured_logs(self, request: pytest.FixtureRequest) -> LogCapture:
        """Every log record the test emits, as the application's handlers rendered it.

        Captures stdlib logging (any logger, ``propagate=False`` ones included, from
        any thread) and structlog, after the app's own processors and formatters.
        Example::

            def test_checkout_logs_the_request_id(structured_logs, client):
                client.post("/checkout", json=ORDER)
                for record in structured_logs.filter(level="INFO", logger="shop"):
                    assert record.structured()["request_id"]
        """
        node: pytest.Item = request.node
        capture = node.stash.get(capture_key, None)
        if capture is not None:
            return capture
        need(self.config, TEST_HOOKS)  # asked for with request.getfixturevalue(...)
        return start_capture(node)


class LogsTestHooks:
    """Captures each test's logs and checks its contract (registered once a test needs it)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Start capturing before the test's fixtures run, so their records count too."""
        if usage_error_key in item.stash:
            return
        if contract_key in item.stash or FIXTURE in getattr(item, "fixturenames", ()):
            start_capture(item)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Check the contract once the test body returned (a failing body keeps its failure)."""
        result = yield
        contract = item.stash.get(contract_key, None)
        capture = item.stash.get(capture_key, None)
        if contract is not None and capture is not None:
            from pytest_prodguard.logs.contract import check_records

            add_result(item, check_records(capture.records, contract).result())
        return result

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        """Stop capturing once the fixtures are torn down (their live logs stay masked)."""
        try:
            return (yield)
        finally:
            capture = item.stash.get(capture_key, None)
            if capture is not None:
                capture.stop()


def start_capture(item: pytest.Item) -> LogCapture:
    """Start (and remember) the capture of ``item``; masking pytest's handlers under a contract."""
    from pytest_prodguard.logs.capture import LogCapture

    contract = item.stash.get(contract_key, None)
    capture = LogCapture(
        contract.context if contract else (),
        mask_test_output=masker(contract) if contract else None,
    )
    capture.start()
    item.stash[capture_key] = capture
    return capture


def masker(contract: LogContract) -> Masker | None:
    """A function masking what ``contract`` forbids; None when it forbids nothing."""
    if not contract.forbid:
        return None
    from pytest_prodguard.logs.detectors import mask

    names = contract.forbid
    return lambda text: mask(text, names)


def mask_report(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> GuardResult | None:
    """A judge that changes no outcome: it masks the report's sections and failure text.

    Judges run in the one makereport after every result was applied, so this sees
    the report's final text (pytest prints captured records raw otherwise).
    """
    contract = item.stash.get(contract_key, None)
    hide = masker(contract) if contract is not None else None
    if hide is None:
        return None
    report.sections = [(title, hide(text)) for title, text in report.sections]
    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = hide(text)
        if masked != text:
            report.longrepr = masked
    return None


def register(config: pytest.Config, settings: Settings) -> None:
    """The logs concern runs in every process (workers run the tests and make the reports)."""
    config.addinivalue_line("markers", MARKER)
    register_plugin(config, LogsPlugin(config), "prodguard-logs")

    def activate() -> None:
        register_plugin(config, LogsTestHooks(), TEST_HOOKS)
        add_judge(config, mask_report)

    on_demand(config, TEST_HOOKS, activate)
