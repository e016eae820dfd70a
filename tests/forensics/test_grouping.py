"""Fingerprints, grouping, masking, critical paths and timelines."""

from __future__ import annotations

import datetime as dt

import pytest

from pytest_prodguard.forensics import (
    ExceptionInfo,
    Frame,
    LogRecord,
    Span,
    critical_path,
    mask_message,
    mask_text,
    mask_value,
    signature,
    trace_timeline,
    triage,
)
from pytest_prodguard.forensics.metrics import MetricPoint

T0 = dt.datetime(2025, 6, 1, 12, tzinfo=dt.timezone.utc)


def error(message: str, *, exc_type: str | None = "KeyError", minute: int = 0, **fields):
    frames = (
        Frame("/usr/lib/python3.11/site-packages/flask/app.py", 1, "dispatch"),
        Frame("/srv/app/api.py", 10, "handle"),
        Frame("/srv/app/promo.py", 20, "apply"),
    )
    exception = ExceptionInfo(exc_type, message, frames) if exc_type else None
    return LogRecord(
        source="app.log",
        line=minute + 1,
        text=f"ERROR {message}",
        time=T0 + dt.timedelta(minutes=minute),
        level="ERROR",
        message=message,
        exception=exception,
        request_id=fields.pop("request_id", None),
        fields=fields,
    )


def info(minute: int = 0, **fields):
    return LogRecord(
        "app.log", 1, "INFO ok", T0 + dt.timedelta(minutes=minute), "INFO", "ok", fields=fields
    )


class TestFingerprint:
    @pytest.mark.parametrize(
        ("message", "masked"),
        [
            ("order 12345 failed", "order <n> failed"),
            ("id 1b4e28ba-2fa1-11d2-883f-0016d3cca427 missing", "id <uuid> missing"),
            ("at 0x7f3a2c and deadbeef99", "at <hex> and <hex>"),
            ("user ann@example.com", "user <email>"),
            ("req ord_A7x9 gone", "req <id> gone"),
            ("retry user=bob in 3.5s", "retry user=<v> in <n>s"),
        ],
    )
    def test_messages_are_masked(self, message, masked):
        assert mask_message(message) == masked

    def test_signature_uses_innermost_application_frames(self):
        kind, place, message = signature(error("'coupon'"))
        assert (kind, place, message) == ("KeyError", "api.py:handle > promo.py:apply", "'coupon'")

    def test_records_differing_only_in_ids_share_a_group(self):
        result = triage(
            [error("order 17 lacks coupon"), error("order 99 lacks coupon"), error("other")]
        )
        assert [g.count for g in result.groups] == [2, 1]
        assert result.groups[0].title == "KeyError in promo.py:apply"

    def test_errors_without_exceptions_group_by_level_logger_and_message(self):
        records = [error("upstream 503 from pay-7", exc_type=None) for _ in range(2)]
        [group] = triage(records).groups
        assert (group.kind, group.message) == ("ERROR", "upstream <n> from <id>")


class TestTriage:
    def test_group_carries_counts_times_ids_and_numbering(self):
        records = [
            info(0),
            error("a", minute=1, request_id="r-1"),
            error("a", minute=5, request_id="r-2"),
            error("b", exc_type="ValueError", minute=3),
        ]
        result = triage(records)
        first, second = result.groups
        assert (first.number, first.count, first.request_ids) == (1, 2, ["r-1", "r-2"])
        assert (first.first_seen, first.last_seen) == (
            T0 + dt.timedelta(minutes=1),
            T0 + dt.timedelta(minutes=5),
        )
        assert second.number == 2
        assert result.group(2) is second
        assert (result.records, result.errors) == (4, 3)

    def test_a_group_on_one_host_is_flagged_as_concentrated(self):
        records = [info(m % 20, host=f"web-{m % 4}") for m in range(400)]
        records += [error("x", minute=m, host="web-2") for m in range(12)]
        [group] = triage(records).groups
        [found] = group.concentrations
        assert (found.field, found.value, found.count) == ("host", "web-2", 12)
        assert found.p_value < 1e-6

    def test_json_view_has_the_test_and_p_value(self):
        records = [info(m) for m in range(40)] + [error("x", minute=30) for _ in range(6)]
        data = triage(records).to_dict()
        rise = data["groups"][0]["rate_rise"]
        assert rise["in_window"] == 6
        assert rise["p_value"] < 0.01
        assert "binomial" in rise["test"]


class TestMasking:
    @pytest.mark.parametrize(
        ("text", "kept", "gone"),
        [
            ("mail ann.lee+x@example.co.uk now", "mail", "ann.lee"),
            ("card 4111 1111 1111 1111 paid", "paid", "4111"),
            ("Authorization: Bearer abc.def-123456789", "Bearer", "abc.def"),
            ('{"password": "hunter2", "user": "ann"}', '"user": "ann"', "hunter2"),
            ("api_key=sk_live_123456 ok", "ok", "sk_live"),
            ("jwt eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl", "jwt", "eyJhbGci"),
        ],
    )
    def test_secrets_and_personal_data_are_masked(self, text, kept, gone):
        masked = mask_text(text)
        assert kept in masked
        assert gone not in masked
        assert "[MASKED" in masked

    def test_numbers_that_fail_luhn_are_kept(self):
        assert mask_text("order 1234567890123") == "order 1234567890123"

    def test_payload_values_under_credential_names_are_masked(self):
        payload = {"user": {"email": "a@b.io", "token": 5}, "items": [{"card_number": "x"}]}
        assert mask_value(payload) == {
            "user": {"email": "[MASKED:email]", "token": "[MASKED]"},
            "items": [{"card_number": "[MASKED]"}],
        }


def span(span_id, parent, name, start_ms, end_ms, error=None):
    return Span("t1", span_id, parent, name, start_ms * 10**6, end_ms * 10**6, "svc", error)


class TestCriticalPath:
    def test_the_path_follows_the_child_that_finished_last(self):
        spans = [
            span("r", None, "root", 0, 100),
            span("a", "r", "auth", 5, 20),
            span("b", "r", "db", 25, 90, error="Timeout"),
            span("c", "r", "cache", 30, 40),  # concurrent with db, ends first: off the path
            span("d", "b", "query", 30, 80),
        ]
        path = critical_path(spans)
        assert [(s.span.name, s.self_ns // 10**6) for s in path] == [
            ("root", 20),
            ("db", 15),
            ("query", 50),
            ("auth", 15),
        ]
        timeline = trace_timeline("T1", spans)
        assert timeline is not None
        slowest = timeline.slowest
        assert slowest is not None
        assert slowest.span.name == "query"
        assert timeline.share(slowest) == pytest.approx(0.5)
        assert [s.name for s in timeline.errors_on_path] == ["db"]

    def test_timeline_puts_logs_and_metrics_of_the_window_in_order(self):
        timeline = trace_timeline("t1", [span("r", None, "root", 0, 100)])
        assert timeline is not None
        start = dt.datetime.fromtimestamp(0, dt.timezone.utc)
        timeline.add_log(LogRecord("a", 1, "ERROR inside", start + dt.timedelta(milliseconds=50)))
        timeline.add_log(LogRecord("a", 2, "INFO later", start + dt.timedelta(seconds=5)))
        timeline.add_log(
            LogRecord("a", 3, "ERROR ours", start + dt.timedelta(seconds=9), trace_id="T1")
        )
        timeline.add_metrics(
            [
                MetricPoint("errors", 2, start + dt.timedelta(seconds=30)),
                MetricPoint("errors", 9, start + dt.timedelta(minutes=5)),
            ]
        )
        assert [(e.kind, e.text) for e in timeline.ordered_events()] == [
            ("span", "root (100.0 ms, own 100.0 ms)"),
            ("log", "ERROR inside"),
            ("log", "ERROR ours"),
            ("metric", "errors = 2"),
        ]

    def test_an_unknown_trace_gives_none(self):
        assert trace_timeline("zz", [span("r", None, "root", 0, 1)]) is None
