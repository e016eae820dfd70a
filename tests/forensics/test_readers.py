"""Evidence readers on real formats, malformed, mixed and binary input."""

from __future__ import annotations

import gzip
import io
import json
import logging
from pathlib import Path

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.forensics import (
    ReadStats,
    read_log,
    read_logs,
    read_metrics,
    read_traces,
    triage,
)

TEXT_LOG = """\
2025-06-01 12:00:00,120 INFO app.api: request received request_id=r-1
2025-06-01 12:00:01,500 ERROR app.api: checkout failed request_id=r-2 user=u-9
Traceback (most recent call last):
  File "/srv/app/shop/service.py", line 41, in handle
    body = _route(path, request)
  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
  File "/srv/app/shop/pricing.py", line 12, in discount
    return total / quantity
ZeroDivisionError: float division by zero
2025-06-01 12:00:02,000 INFO app.api: request done request_id=r-2 status=500
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def records_and_stats(path: Path):
    stats = ReadStats(source=str(path))
    return list(read_log(path, stats)), stats


class TestTextLogs:
    def test_a_traceback_stays_whole_in_its_record_with_its_final_line(self, tmp_path):
        records, stats = records_and_stats(write(tmp_path, "app.log", TEXT_LOG))
        assert [r.level for r in records] == ["INFO", "ERROR", "INFO"]
        error = records[1]
        assert error.text.splitlines()[-1] == "ZeroDivisionError: float division by zero"
        assert len(error.text.splitlines()) == 9
        assert error.exception is not None
        assert (error.exception.type, error.exception.message) == (
            "ZeroDivisionError",
            "float division by zero",
        )
        assert [f.function for f in error.exception.frames] == ["handle", "loads", "discount"]
        assert (error.request_id, error.fields["user"], error.logger) == ("r-2", "u-9", "app.api")
        assert error.message == "checkout failed"  # trailing context pairs are fields
        assert error.time is not None
        assert error.time.isoformat() == "2025-06-01T12:00:01.500000+00:00"
        assert stats.malformed == 0
        assert stats.records == 3

    def test_chained_exceptions_keep_the_last_one_raised(self, tmp_path):
        text = (
            "2025-06-01T12:00:00Z ERROR boom\n"
            "Traceback (most recent call last):\n"
            '  File "a.py", line 1, in f\n'
            "KeyError: 'x'\n"
            "\n"
            "During handling of the above exception, another exception occurred:\n"
            "\n"
            "Traceback (most recent call last):\n"
            '  File "b.py", line 2, in g\n'
            "ValueError: bad x\n"
        )
        [record], _ = records_and_stats(write(tmp_path, "app.log", text))
        assert record.exception is not None
        assert (record.exception.type, record.exception.frames[0].path) == ("ValueError", "b.py")

    def test_stdlib_basic_config_format_is_read(self, tmp_path):
        path = tmp_path / "basic.log"
        handler = logging.FileHandler(path)
        handler.setFormatter(logging.Formatter(logging.BASIC_FORMAT))
        logger = logging.getLogger("forensics.basic")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            raise RuntimeError("disk full")
        except RuntimeError:
            logger.exception("write failed")
        finally:
            handler.close()
            logger.removeHandler(handler)
        [record], stats = records_and_stats(path)
        assert (record.level, record.logger, record.message) == (
            "ERROR",
            "forensics.basic",
            "write failed",
        )
        assert record.exception is not None
        assert record.exception.type == "RuntimeError"
        assert stats.malformed == 0

    def test_text_before_any_record_is_skipped_and_counted(self, tmp_path):
        text = "garbage line\nmore garbage\n" + TEXT_LOG
        records, stats = records_and_stats(write(tmp_path, "app.log", text))
        assert len(records) == 3
        assert stats.malformed == 2
        assert "app.log:1: text outside any record" in stats.examples[0]

    def test_a_stray_nul_or_bad_byte_in_a_text_log_is_not_binary(self, tmp_path):
        path = tmp_path / "app.log"
        path.write_bytes(TEXT_LOG.encode() + b"2025-06-01T12:00:09Z ERROR bad \xff byte \x00\n")
        records, stats = records_and_stats(path)
        assert records[-1].message == "bad \ufffd byte \x00"
        assert stats.malformed == 0

    def test_gzip_logs_are_read(self, tmp_path):
        path = tmp_path / "app.log.gz"
        path.write_bytes(gzip.compress(TEXT_LOG.encode()))
        records, _ = records_and_stats(path)
        assert len(records) == 3

    @pytest.mark.parametrize(
        "content", [b"\x00\x01\x02PK\x03\x04" * 100, b"\xff\xfe\xfa\xfb" * 100], ids=["nul", "utf8"]
    )
    def test_binary_input_is_a_clear_error(self, tmp_path, content):
        path = tmp_path / "app.log"
        path.write_bytes(content)
        with pytest.raises(ProdguardUsageError, match="binary"):
            list(read_log(path))

    def test_a_missing_file_is_a_clear_error(self, tmp_path):
        with pytest.raises(ProdguardUsageError, match="a readable file"):
            list(read_log(tmp_path / "nope.log"))


class TestJsonLines:
    def test_python_json_logger_output_with_otel_ids(self, tmp_path):
        from pythonjsonlogger.json import JsonFormatter

        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger = logging.getLogger("forensics.pjl")
        logger.addHandler(handler)
        logger.propagate = False
        try:
            1 / 0  # noqa: B018
        except ZeroDivisionError:
            logger.exception(
                "pricing failed", extra={"otelTraceID": "ABCD" * 8, "otelSpanID": "12" * 8}
            )
        logger.removeHandler(handler)
        [record], stats = records_and_stats(write(tmp_path, "app.jsonl", stream.getvalue()))
        assert (record.level, record.logger, record.message) == (
            "ERROR",
            "forensics.pjl",
            "pricing failed",
        )
        assert record.trace_id == "ABCD" * 8
        assert record.span_id == "12" * 8
        assert record.exception is not None
        assert record.exception.type == "ZeroDivisionError"
        assert record.time is not None
        assert stats.malformed == 0

    def test_structlog_event_and_dict_tracebacks(self, tmp_path):
        import structlog

        stream = io.StringIO()
        logger = structlog.wrap_logger(
            structlog.PrintLogger(stream),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.dict_tracebacks,
                structlog.processors.JSONRenderer(),
            ],
        )
        try:
            {}["coupon"]
        except KeyError:
            logger.exception("promo failed", trace_id="f" * 32, request_id="r-5")
        [record], _ = records_and_stats(write(tmp_path, "app.jsonl", stream.getvalue()))
        assert (record.level, record.message, record.request_id) == ("ERROR", "promo failed", "r-5")
        assert record.trace_id == "f" * 32
        assert record.exception is not None
        assert record.exception.type == "KeyError"
        assert record.exception.frames[-1].function.startswith("test_structlog")

    def test_structlog_string_tracebacks(self, tmp_path):
        import structlog

        stream = io.StringIO()
        logger = structlog.wrap_logger(
            structlog.PrintLogger(stream),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
        )
        try:
            int("")
        except ValueError:
            logger.exception("quote failed")
        [record], _ = records_and_stats(write(tmp_path, "app.jsonl", stream.getvalue()))
        assert record.exception is not None
        assert record.exception.type == "ValueError"

    def test_nested_fields_epoch_times_and_numeric_levels(self, tmp_path):
        line = json.dumps(
            {"ts": 1748779200123, "log": {"level": 40}, "msg": "x", "http": {"route": "/a"}}
        )
        [record], _ = records_and_stats(write(tmp_path, "app.jsonl", line + "\n"))
        assert record.level == "ERROR"
        assert record.time is not None
        assert record.time.isoformat().startswith("2025-06-01T12:00:00.123")
        assert record.fields["http.route"] == "/a"

    def test_malformed_and_non_object_lines_are_skipped_and_counted(self, tmp_path):
        text = (
            '{"level": "info", "message": "ok"}\n'
            '{"level": "error", "message": "cut off\n'
            "[1, 2, 3]\n"
            '{"level": "error", "message": "after"}\n'
        )
        records, stats = records_and_stats(write(tmp_path, "app.jsonl", text))
        assert [r.message for r in records] == ["ok", "after"]
        # "[1, 2, 3]" is not JSON-object-looking text, so it is text outside any record
        assert stats.malformed == 2

    def test_mixed_text_and_json_lines_in_one_file(self, tmp_path):
        text = TEXT_LOG + '{"level": "error", "message": "json one", "request_id": "r-3"}\n'
        records, stats = records_and_stats(write(tmp_path, "mixed.log", text))
        assert [r.request_id for r in records] == ["r-1", "r-2", "r-2", "r-3"]
        assert stats.malformed == 0


OTLP = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "traceId": "AA" * 16,
                            "spanId": "01" * 8,
                            "name": "GET /a",
                            "startTimeUnixNano": "1000000000",
                            "endTimeUnixNano": "1100000000",
                            "attributes": [
                                {"key": "http.status_code", "value": {"intValue": "500"}}
                            ],
                            "status": {"code": 2, "message": "boom"},
                        },
                        {
                            "traceId": "AA" * 16,
                            "spanId": "02" * 8,
                            "parentSpanId": "01" * 8,
                            "name": "db",
                            "startTimeUnixNano": "1010000000",
                            "endTimeUnixNano": "1090000000",
                            "events": [
                                {
                                    "name": "exception",
                                    "attributes": [
                                        {
                                            "key": "exception.type",
                                            "value": {"stringValue": "Timeout"},
                                        },
                                        {
                                            "key": "exception.message",
                                            "value": {"stringValue": "5s"},
                                        },
                                    ],
                                }
                            ],
                        },
                        {"traceId": "AA" * 16, "name": "no span id"},
                    ]
                }
            ],
        }
    ]
}


class TestLightReading:
    """``light=True`` (what ``prodguard triage`` reads with) must not change any triage result."""

    MIXED = TEXT_LOG + (
        "2025-06-01 12:00:03,000 WARNING [app.db] slow query route=/api/v2/cart host=web-2\n"
        '2025-06-01T12:00:04.5Z INFO shop - msg="a b" user="u 7" version=1.4.0 endpoint=/x\n'
        "2025-06-01 12:00:05 INFO plain text, no fields at all\n"
        "INFO:app.cli:started user_id=u-3 hostname=h-1 host=\n"
        "2025-06-01 12:00:06 INFO app: handled, then logged a traceback user=u-9\n"
        "Traceback (most recent call last):\n"
        '  File "/srv/app/shop/cart.py", line 7, in first_item\n'
        "IndexError: list index out of range\n"
        "2025-06-01 12:00:07 CRITICAL app: pool exhausted after 3 retries host=web-1\n"
        + json.dumps({"time": 1748779208, "level": 20, "msg": "ok", "user": {"id": 4}})
        + "\n"
        + json.dumps(
            {
                "timestamp": "2025-06-01T12:00:09Z",
                "levelname": "INFO",
                "exc_type": "KeyError",
                "exc_value": "'coupon'",
                "route": "/c",
            }
        )
        + "\n"
        + json.dumps(
            {
                "time": "2025-06-01T12:00:10Z",
                "severity": "error",
                "event": "boom",
                "request_id": "r-3",
                "host": "web-5",
            }
        )
        + "\n"
        "[1, 2]\n"
    )

    def test_light_records_keep_what_triage_reads(self, tmp_path):
        path = write(tmp_path, "mixed.log", self.MIXED)
        full, light = list(read_log(path)), list(read_log(path, light=True))
        assert [(r.line, r.time, r.level, dict(r.fields), r.is_error) for r in light] == [
            (r.line, r.time, r.level, dict(r.fields), r.is_error) for r in full
        ]
        assert [r for r in light if r.is_error] == [r for r in full if r.is_error]
        assert any(r.message and not r.is_error for r in full)
        assert all(not r.message for r in light if not r.is_error)

    def test_triage_of_a_light_read_is_the_same(self, tmp_path):
        path = write(tmp_path, "mixed.log", self.MIXED)
        light_stats: list[ReadStats] = []
        full_stats: list[ReadStats] = []
        light = triage(read_logs([path], light_stats, light=True), light_stats).to_dict()
        full = triage(read_logs([path], full_stats), full_stats).to_dict()
        assert light == full
        assert light["errors"] == 5  # ERROR, CRITICAL, a traceback, a JSON exc_type, "error"


class TestTraces:
    def test_a_pretty_printed_export_is_read_with_attributes_and_errors(self, tmp_path):
        path = write(tmp_path, "trace.json", json.dumps(OTLP, indent=2))
        stats: list[ReadStats] = []
        root, child = list(read_traces([path], stats))
        assert (root.trace_id, root.service, root.error) == ("aa" * 16, "shop", "boom")
        assert root.attributes["http.status_code"] == 500
        assert (child.parent_id, child.error) == ("01" * 8, "Timeout: 5s")
        assert stats[0].malformed == 1  # the span without an id

    def test_json_lines_exports_skip_bad_lines(self, tmp_path):
        text = json.dumps(OTLP) + "\n{not json\n" + json.dumps({"other": 1}) + "\n"
        stats: list[ReadStats] = []
        spans = list(read_traces([write(tmp_path, "t.jsonl", text)], stats))
        assert len(spans) == 2
        assert stats[0].malformed == 3  # bad span, bad line, a document without resourceSpans

    def test_a_broken_single_document_is_a_clear_error(self, tmp_path):
        path = write(tmp_path, "t.json", '{\n  "resourceSpans": [\n')
        with pytest.raises(ProdguardUsageError, match="OTLP JSON export"):
            list(read_traces([path]))

    def test_binary_traces_are_a_clear_error(self, tmp_path):
        path = tmp_path / "t.json"
        path.write_bytes(b"\x00" * 64)
        with pytest.raises(ProdguardUsageError, match="binary"):
            list(read_traces([path]))


class TestMetrics:
    def test_prometheus_exposition_with_histograms_and_timestamps(self, tmp_path):
        text = (
            "# HELP http_requests_total Requests.\n"
            "# TYPE http_requests_total counter\n"
            'http_requests_total{method="post",code="500"} 3 1748779200000\n'
            'latency_bucket{le="0.1"} 5\n'
            'latency_bucket{le="+Inf"} 9\n'
            "latency_sum 1.5e0\n"
            "up NaN\n"
            "this is not a sample\n"
        )
        stats: list[ReadStats] = []
        points = list(read_metrics([write(tmp_path, "m.prom", text)], stats))
        assert [p.name for p in points] == [
            "http_requests_total",
            "latency_bucket",
            "latency_bucket",
            "latency_sum",
            "up",
        ]
        first = points[0]
        assert first.labels == {"method": "post", "code": "500"}
        assert first.value == 3
        assert first.time is not None
        assert first.time.isoformat().startswith("2025-06-01T12:00:00")
        assert points[2].labels == {"le": "+Inf"}
        assert stats[0].malformed == 1

    def test_long_csv_with_label_columns(self, tmp_path):
        text = (
            "timestamp,name,value,route\n"
            "2025-06-01T12:00:00Z,errors,3,/a\n"
            "2025-06-01T12:01:00Z,errors,oops,/a\n"
            "not a time,errors,1,/a\n"
        )
        stats: list[ReadStats] = []
        points = list(read_metrics([write(tmp_path, "m.csv", text)], stats))
        assert [(p.name, p.value, dict(p.labels)) for p in points] == [
            ("errors", 3.0, {"route": "/a"})
        ]
        assert stats[0].malformed == 2

    def test_wide_csv_gives_one_point_per_numeric_column(self, tmp_path):
        text = "time,cpu,mem\n2025-06-01T12:00:00Z,0.5,1024\n2025-06-01T12:01:00Z,x,y\n"
        stats: list[ReadStats] = []
        points = list(read_metrics([write(tmp_path, "m.csv", text)], stats))
        assert [(p.name, p.value) for p in points] == [("cpu", 0.5), ("mem", 1024.0)]
        assert stats[0].malformed == 1

    def test_binary_metrics_are_a_clear_error(self, tmp_path):
        path = tmp_path / "m.csv"
        path.write_bytes(b"\x00\x01" * 40)
        with pytest.raises(ProdguardUsageError, match="binary"):
            list(read_metrics([path]))
