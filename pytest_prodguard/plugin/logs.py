"""Log contracts in pytest: the ``structured_logs`` fixture and the ``log_contract`` marker.

The capture starts before the test's fixtures are set up and stops when its
teardown begins; the contract is checked when the test body returns, and a
broken contract fails the test with every violating record listed (values
masked). While a contract forbids secrets, everything pytest reports for the
test (captured stdout/stderr/log sections, live logs, the failure text) is
masked with the detectors as well, so a leaked value does not leak again
through the test report, JUnit XML or pytest-html. Domain logic lives in
:mod:`pytest_prodguard.logs`; nothing heavy is imported until a test uses it.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard.errors import ProdguardUsageError

if TYPE_CHECKING:
    from pytest_prodguard.logs.capture import LogCapture
    from pytest_prodguard.logs.contract import LogContract

# Repeated from logs.contract.SIGNATURE (a test checks they agree) so that loading
# the plugin does not import the logs package.
SIGNATURE = (
    "log_contract(*, json=False, required=(), context=None, error_needs_traceback=False, "
    "forbid=('secrets', 'pii'), max_records=None, min_records=None, allow=())"
)
MARKER_HELP = (
    f"{SIGNATURE}: the logs this test emits (stdlib logging, structlog) must be one JSON object "
    "per line, carry the required fields and the current request/trace id, keep tracebacks "
    "of errors, stay within the record counts, and leak nothing the forbidden detectors find "
    "('secrets', 'pii' or detector names; allow= exempts values). Violations fail the test "
    "with values masked. See docs/logs.md."
)
FIXTURE = "structured_logs"

contract_key = pytest.StashKey["LogContract"]()
capture_key = pytest.StashKey["LogCapture"]()
error_key = pytest.StashKey[str]()


def register(config: pytest.Config) -> None:
    """Register the marker and this module's hooks and fixture (called from pytest_configure)."""
    config.addinivalue_line("markers", MARKER_HELP)
    config.pluginmanager.register(sys.modules[__name__], "prodguard-logs")


@pytest.fixture
def structured_logs(request: pytest.FixtureRequest) -> LogCapture:
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
    if capture is None:  # requested dynamically, after setup started
        capture = _start_capture(node)
    return capture


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Validate each ``log_contract`` marker once; a bad one becomes that test's setup error."""
    marked = [item for item in items if item.get_closest_marker("log_contract")]
    if not marked:
        return
    from pytest_prodguard.logs.contract import parse_contract

    for item in marked:
        marker = item.get_closest_marker("log_contract")
        assert marker is not None
        try:
            item.stash[contract_key] = parse_contract(marker.args, marker.kwargs)
        except ProdguardUsageError as exc:
            item.stash[error_key] = f"@pytest.mark.log_contract: {exc}"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Report a bad marker as a setup error, else start capturing before fixtures run."""
    message = item.stash.get(error_key, None)
    if message is not None:
        pytest.fail(f"{item.nodeid}: {message}", pytrace=False)
    if contract_key in item.stash or FIXTURE in getattr(item, "fixturenames", ()):
        _start_capture(item)


def _start_capture(item: pytest.Item) -> LogCapture:
    from pytest_prodguard.logs.capture import LogCapture

    contract = item.stash.get(contract_key, None)
    capture = LogCapture(
        contract.context if contract else (),
        mask_test_output=_masker(contract) if contract else None,
    )
    capture.start()
    item.stash[capture_key] = capture
    return capture


def _masker(contract: LogContract) -> Any:
    if not contract.forbid:
        return None
    from pytest_prodguard.logs.detectors import mask

    names = contract.forbid
    return lambda text: mask(text, names)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Check the contract when the test body returned; a failing body is left as it is."""
    result = yield
    contract = item.stash.get(contract_key, None)
    capture = item.stash.get(capture_key, None)
    if contract is None or capture is None:
        return result
    __tracebackhide__ = True
    from pytest_prodguard.logs.contract import check_records
    from pytest_prodguard.report import property_pair

    verdict = check_records(capture.records, contract)
    item.user_properties.append(property_pair("logs", verdict.to_dict()))
    if verdict.failed:
        pytest.fail(f"{item.nodeid}: {verdict.details()}", pytrace=False)
    if verdict.notes:
        item.add_report_section("call", "prodguard log contract", "\n".join(verdict.notes))
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Mask what the test report carries (output sections, failure text) under a contract."""
    report = yield
    contract = item.stash.get(contract_key, None)
    masker = _masker(contract) if contract is not None else None
    if masker is not None:
        report.sections = [(title, masker(text)) for title, text in report.sections]
        if report.longrepr is not None:
            text = str(report.longrepr)
            masked = masker(text)
            if masked != text:
                report.longrepr = masked
    return report


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Stop capturing: fixture teardown is not part of what the contract checks."""
    capture = item.stash.get(capture_key, None)
    if capture is not None:
        capture.stop()
