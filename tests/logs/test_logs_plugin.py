"""The log_contract marker and structured_logs fixture end to end, with pytester."""

from __future__ import annotations

import json

import pytest

from pytest_prodguard.logs.contract import SIGNATURE
from pytest_prodguard.plugin import logs as logs_plugin

CARD = "4111 1111 1111 1111"
API_KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"
PASSWORD = "hunter2-Summer99"

# A small application: a JSON formatter, a request-id context variable, and code
# paths that each break one rule.
APP = f"""
import contextvars, json, logging, threading

request_id = contextvars.ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record):
        data = {{"level": record.levelname, "logger": record.name, "msg": record.getMessage()}}
        for key in ("request_id", "order_id", "otelTraceID"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure():
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("shop")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)


log = logging.getLogger("shop")


def checkout(order_id):
    token = request_id.set("req-42")
    try:
        log.info("checkout", extra={{"request_id": request_id.get(), "order_id": order_id}})
    finally:
        request_id.reset(token)


def checkout_without_id():
    token = request_id.set("req-43")
    try:
        log.info("checkout done")
    finally:
        request_id.reset(token)


def charge():
    log.warning("charging card {CARD}", extra={{"request_id": "req-1"}})


def crash_quietly():
    try:
        1 / 0
    except ZeroDivisionError as exc:
        log.error("payment failed: %s", exc, extra={{"request_id": "req-2"}})


def crash_loudly():
    try:
        1 / 0
    except ZeroDivisionError:
        log.exception("payment failed", extra={{"request_id": "req-3"}})


def audit():
    quiet = logging.getLogger("audit")
    quiet.propagate = False
    quiet.addHandler(logging.NullHandler())
    quiet.warning("login password={PASSWORD}")


def from_thread():
    worker = threading.Thread(target=lambda: log.warning("worker started"), name="worker-1")
    worker.start()
    worker.join()
"""

TESTS = """
import pytest
import app


@pytest.fixture(autouse=True)
def _logging():
    app.configure()


@pytest.mark.log_contract(json=True, required=("request_id",), context=app.request_id)
def test_clean_path_passes():
    app.checkout(1001)


@pytest.mark.log_contract(required=("request_id",), context=app.request_id)
def test_id_missing():
    app.checkout_without_id()


@pytest.mark.log_contract(forbid=("pii",))
def test_card_logged():
    app.charge()


@pytest.mark.log_contract(error_needs_traceback=True)
def test_exception_without_traceback():
    app.crash_quietly()


@pytest.mark.log_contract(error_needs_traceback=True, json=True)
def test_exception_with_traceback_passes():
    app.crash_loudly()


@pytest.mark.log_contract(forbid="secrets")
def test_propagate_false_logger():
    app.audit()


@pytest.mark.log_contract(required=("request_id",))
def test_thread():
    app.from_thread()
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nconsole_output_style = classic\n")
    pytester.makepyfile(app=APP, test_shop=TESTS)
    pytester.syspathinsert()
    return pytester


def _literal(patterns: list[str]) -> list[str]:
    """fnmatch patterns whose square brackets match themselves (``[rule]``, ``[MASKED:...]``)."""
    return [p.replace("[", "[[]") for p in patterns]


def _no_secret_in(text: str) -> None:
    for secret in (CARD, CARD.replace(" ", ""), PASSWORD, API_KEY):
        assert secret not in text


def test_each_broken_rule_fails_with_the_record_listed(shop: pytest.Pytester) -> None:
    result = shop.runpytest("-rA")
    result.assert_outcomes(passed=2, failed=5)
    result.stdout.fnmatch_lines(
        _literal(
            [
                "*_ test_id_missing _*",
                "log contract violated: 2 violation(s) (context, required) in 1 record(s)",
                "*[required] request_id | shop | app.py:* | (missing) in {*checkout done*",
                "*[context] request_id | shop | app.py:* | (missing; the current id is req-43)",
                "*_ test_card_logged _*",
                "log contract violated: 1 violation(s) (forbid:card) in 1 record(s)",
                "*[forbid:card] msg | shop | app.py:* | msg=charging card [MASKED:card]",
                "*[error_needs_traceback] exc_info | shop | app.py:* | logged while handling*",
                "*_ test_propagate_false_logger _*",
                "*[forbid:credential_field] message | audit | app.py:* | login password=[MASKED:*",
                "*[required] request_id | shop | app.py:* | (missing) in {*worker started*",
            ]
        )
    )
    _no_secret_in(result.stdout.str() + result.stderr.str())


def test_pytest_output_sections_and_live_logs_are_masked(shop: pytest.Pytester) -> None:
    pytest.importorskip("pytest_html")  # absent from CI's oldest-pytest run
    result = shop.runpytest(
        "-rA",
        "-k",
        "card or propagate",
        "--log-cli-level=INFO",
        "--junitxml=junit.xml",
        "--html=report.html",
        "--self-contained-html",
    )
    result.assert_outcomes(failed=2)
    html = (shop.path / "report.html").read_text(encoding="utf-8")
    assert "[MASKED:card]" in html
    _no_secret_in(html)
    result.stdout.fnmatch_lines(_literal(["*Captured log call*", "*charging card [MASKED:card]*"]))
    _no_secret_in(result.stdout.str() + result.stderr.str())
    _no_secret_in((shop.path / "junit.xml").read_text(encoding="utf-8"))


def test_json_report_holds_masked_violations_only(shop: pytest.Pytester) -> None:
    result = shop.runpytest("--prodguard-report", "report.json")
    result.assert_outcomes(passed=2, failed=5)
    text = (shop.path / "report.json").read_text(encoding="utf-8")
    _no_secret_in(text)
    tests = {t["nodeid"].split("::")[1]: t for t in json.loads(text)["tests"]}
    violations = tests["test_card_logged"]["logs"][-1]["violations"]
    assert [v["rule"] for v in violations] == ["forbid:card"]
    assert tests["test_clean_path_passes"]["logs"][-1] == {
        "records": 1,
        "violations": [],
        "notes": [],
    }


def test_works_under_xdist(shop: pytest.Pytester) -> None:
    result = shop.runpytest("-n", "2", "-p", "xdist")
    result.assert_outcomes(passed=2, failed=5)
    result.stdout.fnmatch_lines(_literal(["*[forbid:card] msg | shop | app.py:* | *[MASKED:*"]))
    _no_secret_in(result.stdout.str() + result.stderr.str())


STRUCTLOG_TESTS = f"""
import io, json
import pytest
import structlog

OUT = io.StringIO()


def redact(logger, method, event_dict):
    # The application's own redaction processor: passwords only.
    if "password" in event_dict:
        event_dict["password"] = "***"
    return event_dict


@pytest.fixture(autouse=True)
def _structlog():
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, redact,
                    structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        logger_factory=structlog.WriteLoggerFactory(OUT),
        cache_logger_on_first_use=False,
    )
    yield
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()


@pytest.mark.log_contract(json=True, required=("request_id",))
def test_redacted_password_and_bound_context_pass(structured_logs):
    structlog.contextvars.bind_contextvars(request_id="req-7")
    structlog.get_logger("api").info("login", password="{PASSWORD}")
    record = structured_logs.records[0]
    assert (record.source, record.logger) == ("structlog", "structlog")
    assert json.loads(record.line) == {{"event": "login", "password": "***",
                                       "request_id": "req-7", "level": "info"}}


@pytest.mark.log_contract(forbid=("secrets",))
def test_a_key_the_redaction_misses_fails():
    structlog.get_logger().info("calling provider", api_key="{API_KEY}")
"""


def test_structlog_records_are_checked_after_the_apps_processors(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("structlog")
    pytester.makepyfile(test_structlog=STRUCTLOG_TESTS)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        _literal(
            [
                "*[forbid:credential_field] api_key | structlog | test_structlog.py:* | "
                "api_key=[MASKED:credential_field]",
            ]
        )
    )
    _no_secret_in(result.stdout.str())


OTEL_TESTS = """
import logging
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

tracer = TracerProvider().get_tracer("shop")
log = logging.getLogger("otel-shop")


@pytest.mark.log_contract(context="opentelemetry")
def test_span_id_carried_as_otelTraceID():
    with tracer.start_as_current_span("checkout") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        log.warning("inside", extra={"otelTraceID": trace_id})
    log.warning("outside a span: nothing to carry")


@pytest.mark.log_contract(context="opentelemetry")
def test_span_id_missing():
    with tracer.start_as_current_span("checkout"):
        log.warning("inside")
"""


def test_opentelemetry_span_ids_must_be_carried(pytester: pytest.Pytester) -> None:
    pytest.importorskip("opentelemetry.sdk")
    pytester.makepyfile(test_otel=OTEL_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(_literal(["*[context] trace_id or otelTraceID | otel-shop | *"]))


BAD_MARKERS = """
import logging
import pytest


@pytest.mark.log_contract(forbid=("credit_card",))
def test_unknown_detector():
    pass


@pytest.mark.log_contract(required="request_id")
def test_required_string():
    pass


@pytest.mark.log_contract(allow=("(unclosed",))
def test_bad_pattern():
    pass


@pytest.mark.log_contract(max_record=3)
def test_unknown_argument():
    pass


@pytest.mark.log_contract(context="request_id")
def test_context_name_only():
    pass


@pytest.mark.log_contract()
def test_logs_nothing():
    pass


@pytest.mark.log_contract(min_records=1)
def test_logs_nothing_but_must():
    pass


@pytest.mark.log_contract(allow=(r"4111 1111 1111 1111",), forbid="pii")
def test_allowed_test_card():
    logging.getLogger("x").warning("test card 4111 1111 1111 1111")
"""


def test_bad_markers_are_clear_setup_errors(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad=BAD_MARKERS)
    before = _files(pytester)
    result = pytester.runpytest("-rA")
    result.assert_outcomes(errors=5, passed=2, failed=1)
    result.stdout.fnmatch_lines_random(
        _literal(
            [
                "*test_unknown_detector: @pytest.mark.log_contract: forbid='credit_card': "
                "a detector name or group: secrets, pii, card, *",
                "*test_required_string: @pytest.mark.log_contract: required='request_id': "
                "a tuple of non-empty strings, e.g. ('request_id',)",
                "*test_bad_pattern: @pytest.mark.log_contract: allow='(unclosed': "
                "a regular expression that compiles (missing ), unterminated subpattern*",
                "*test_unknown_argument: @pytest.mark.log_contract: max_record=3: one of log_con*",
                "*test_context_name_only: *context='request_id': a contextvars.ContextVar, *",
                "*note: the test logged nothing, so the log contract checked nothing*",
                "*[min_records] records | (all loggers) | (whole test) | 0 record(s) < 1*",
            ]
        )
    )
    assert "Traceback" not in result.stdout.str()
    assert _files(pytester) == before


def _files(pytester: pytest.Pytester) -> dict[str, str]:
    return {
        p.name: p.read_text(encoding="utf-8")
        for p in pytester.path.iterdir()
        if p.is_file() and not p.name.startswith(".")
    }


def test_capture_follows_handlers_the_app_swaps_mid_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json, logging
        import pytest

        @pytest.mark.log_contract(json=True)
        def test_reconfigured(structured_logs):
            log = logging.getLogger("svc")
            log.warning("before setup")           # no app handler yet: not JSON
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter('{"msg": "%(message)s"}'))
            logging.getLogger().handlers[:] = [handler]
            log.warning("after setup")
            logging.getLogger().handlers[:] = []
            assert [r.lines for r in structured_logs] == [[], ['{"msg": "after setup"}']]
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        _literal(["*[json] line | svc | *(no application handler rendered this record)"])
    )


def test_fixture_alone_captures_without_checking(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_records="""
        import logging

        def test_records(structured_logs):
            logging.getLogger("a.b").warning("card 4111 1111 1111 1111 on file")
            [record] = structured_logs.filter(level="warning", logger="a")
            assert (record.level, record.logger, record.message) == (
                "WARNING", "a.b", "card 4111 1111 1111 1111 on file")
            assert record.where.endswith("test_records.py:4") and not record.has_exc_info
            assert structured_logs.lines == ["card 4111 1111 1111 1111 on file"]
            structured_logs.clear()
            assert len(structured_logs) == 0
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_marker_is_registered_with_its_signature(pytester: pytest.Pytester) -> None:
    assert logs_plugin.SIGNATURE == SIGNATURE
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(_literal([f"@pytest.mark.{SIGNATURE}: *"]))


def test_live_logs_of_fixture_teardown_are_masked_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        f"""
        import logging
        import pytest

        @pytest.fixture
        def session_client():
            yield
            logging.getLogger("client").warning("closing session api_key={API_KEY}")

        @pytest.mark.log_contract(forbid="secrets")
        def test_body_is_clean(session_client):
            logging.getLogger("client").warning("request sent")
        """
    )
    result = pytester.runpytest("--log-cli-level=WARNING", "-rA")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(_literal(["*closing session api_key=[MASKED:credential_field]*"]))
    _no_secret_in(result.stdout.str())
