"""LogCapture and the contract as plain Python: hooks in and out, records, parsing errors."""

from __future__ import annotations

import contextvars
import logging
import logging.handlers
import queue

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.logs.capture import LogCapture
from pytest_prodguard.logs.contract import check_records, parse_contract


def test_a_record_carries_its_traceback_text() -> None:
    capture = LogCapture()
    capture.start()
    try:
        try:
            raise KeyError("order 17")
        except KeyError:
            logging.getLogger("tb").exception("lookup failed")
    finally:
        capture.stop()
    [record] = capture.records
    assert (record.has_exc_info, record.in_exception, record.level) == (True, True, "ERROR")
    assert record.exception is not None
    assert record.exception.endswith("KeyError: 'order 17'")


def test_hooks_are_removed_on_stop() -> None:
    originals = (logging.Logger.callHandlers, logging.Handler.format)
    capture = LogCapture()
    capture.start()
    assert logging.Logger.callHandlers is not originals[0]
    capture.stop()
    assert (logging.Logger.callHandlers, logging.Handler.format) == originals
    logging.getLogger("after").warning("not captured")
    assert capture.records == []


def test_queue_handler_output_is_tied_to_the_record() -> None:
    q: queue.Queue[logging.LogRecord] = queue.Queue()
    target = logging.StreamHandler()
    target.setFormatter(logging.Formatter("rendered %(message)s"))
    listener = logging.handlers.QueueListener(q, target)
    log = logging.getLogger("queued")
    log.propagate = False
    log.handlers[:] = [logging.handlers.QueueHandler(q)]
    capture = LogCapture()
    capture.start()
    listener.start()
    try:
        log.warning("hello %s", "world")
    finally:
        listener.stop()
        capture.stop()
        log.handlers[:] = []
    [record] = capture.records
    assert record.message == "hello world"
    assert record.lines == ["rendered hello world"]


def test_context_ids_are_taken_where_the_record_is_emitted() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    contract = parse_contract((), {"context": request_id})
    capture = LogCapture(contract.context)
    capture.start()
    try:
        token = request_id.set("req-9")
        logging.getLogger("ctx").warning("inside", extra={"request_id": "req-9"})
        logging.getLogger("ctx").warning("inside, no id")
        request_id.reset(token)
        logging.getLogger("ctx").warning("outside")
    finally:
        capture.stop()
    verdict = check_records(capture.records, contract)
    assert [(v.rule, v.field) for v in verdict.violations] == [("context", "request_id")]
    assert "req-9" in verdict.violations[0].value


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"json": "yes"}, "json"),
        ({"required": ["ok", 3]}, "required"),
        ({"max_records": -1}, "max_records"),
        ({"min_records": True}, "min_records"),
        ({"context": 42}, "context"),
        ({"allow": ("[",)}, "allow"),
    ],
)
def test_bad_contract_values_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ProdguardUsageError) as info:
        parse_contract((), kwargs)
    assert info.value.field == field


def test_violations_never_hold_a_raw_value_even_for_detectors_not_forbidden() -> None:
    capture = LogCapture()
    capture.start()
    try:
        logging.getLogger("x").warning("mail ann@example.com card 4111 1111 1111 1111")
    finally:
        capture.stop()
    verdict = check_records(capture.records, parse_contract((), {"forbid": ("card",)}))
    [violation] = verdict.violations
    assert violation.value == "mail [MASKED:email] card [MASKED:card]"


def test_an_apps_redaction_filter_runs_before_the_check() -> None:
    class Redact(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = str(record.msg).replace("hunter22x", "***")
            return True

    handler = logging.StreamHandler()
    handler.addFilter(Redact())
    log = logging.getLogger("redacting")
    log.handlers[:] = [handler]
    log.propagate = False
    capture = LogCapture()
    capture.start()
    try:
        log.warning("login password=hunter22x")
    finally:
        capture.stop()
        log.handlers[:] = []
    [record] = capture.records
    assert record.lines == ["login password=***"]
    assert check_records(capture.records, parse_contract((), {})).violations == []


def test_structlog_through_stdlib_is_captured_once_as_the_handler_renders_it() -> None:
    structlog = pytest.importorskip("structlog")
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processor=structlog.processors.JSONRenderer())
    )
    log = logging.getLogger("bridged")
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO)
    structlog.configure(
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    capture = LogCapture()
    capture.start()
    try:
        structlog.get_logger("bridged").info("paid", order_id=7)
    finally:
        capture.stop()
        structlog.reset_defaults()
        log.handlers[:] = []
    [record] = capture.records
    assert (record.source, record.logger, record.level) == ("logging", "bridged", "INFO")
    assert (record.message, record.lines) == ("paid", ['{"order_id": 7, "event": "paid"}'])
    assert record.structured()["order_id"] == 7
    assert record.where.endswith("test_logs_capture.py:" + str(record.lineno))


def test_context_by_import_path(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path.joinpath("ctxmod.py").write_text(
        "import contextvars\nREQUEST_ID = contextvars.ContextVar('request_id')\nNOT_A_VAR = 3\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    import ctxmod  # type: ignore[import-not-found]

    assert parse_contract((), {"context": "ctxmod:REQUEST_ID"}).context == (ctxmod.REQUEST_ID,)
    for bad in ("ctxmod:NOT_A_VAR", "ctxmod:MISSING", "no_such_module_x:VAR"):
        with pytest.raises(ProdguardUsageError, match="its import path"):
            parse_contract((), {"context": bad})


def test_python_json_logger_output_is_the_checked_line() -> None:
    jsonlogger = pytest.importorskip("pythonjsonlogger.json")
    handler = logging.StreamHandler()
    handler.setFormatter(jsonlogger.JsonFormatter("%(levelname)s %(name)s %(message)s"))
    log = logging.getLogger("pjl")
    log.handlers[:] = [handler]
    log.propagate = False
    capture = LogCapture()
    capture.start()
    try:
        log.warning("paid", extra={"request_id": "r-5", "email": "ann@example.com"})
    finally:
        capture.stop()
        log.handlers[:] = []
    contract = parse_contract((), {"json": True, "required": ("request_id",)})
    violations = check_records(capture.records, contract).violations
    assert [(v.rule, v.field, v.value) for v in violations] == [
        ("forbid:email", "email", "email=[MASKED:email]")
    ]


@pytest.mark.parametrize(("processors", "violations"), [((), 1), (("format_exc_info",), 0)])
def test_structlog_exceptions_need_a_renderer_that_keeps_the_traceback(
    processors: tuple[str, ...], violations: int
) -> None:
    structlog = pytest.importorskip("structlog")
    structlog.configure(
        processors=[
            *(getattr(structlog.processors, name) for name in processors),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    capture = LogCapture()
    capture.start()
    try:
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            structlog.get_logger().exception("payment failed")
    finally:
        capture.stop()
        structlog.reset_defaults()
    verdict = check_records(capture.records, parse_contract((), {"error_needs_traceback": True}))
    assert [(v.rule, v.value) for v in verdict.violations] == [
        ("error_needs_traceback", "the handler's output drops the traceback")
    ][:violations]
