"""Drive traffic through the order service and write the evidence production would keep.

Run from ``examples/``: ``python -m shop.generate_evidence`` (add ``--fixed`` to run the
fixed code). Everything is seeded and the clock is simulated, so the files are the same
on every run: ``evidence/app.log`` (text, tracebacks included), ``evidence/app.jsonl``
(JSON lines, OpenTelemetry's older ``otelTraceID`` naming), ``evidence/traces.otlp.jsonl``
(OTLP JSON, one export request per line) and ``evidence/metrics.csv``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

from shop import service
from shop.tracing import TRACER, SpanRecord

HERE = Path(__file__).resolve().parent
HEALTHY_REQUESTS = 300
#: The requests that hit each seeded bug, sent after the 1.5.0 deploy.
BUG_REQUESTS: list[dict[str, Any]] = [
    {"path": "/checkout", "items": [{"sku": "book", "quantity": 0}], "currency": "EUR"},
    {"path": "/promo", "customer": "Ann", "email": "ann@example.com"},
    {"path": "/receipt", "customer": "José Núñez"},
    {"path": "/checkout", "items": [], "currency": "EUR", "card_number": "4111 1111 1111 1111"},
    {"path": "/quote", "sku": "pen", "quantity": ""},
    {"path": "/checkout", "items": [{"sku": "lamp", "quantity": 1}], "currency": "CHF"},
]
BUG_REPEATS = 6


class Context(logging.Filter):
    """Stamps each record with the simulated time and the current request's ids."""

    current: dict[str, Any] = {}  # noqa: RUF012 - one shared request context

    def filter(self, record: logging.LogRecord) -> bool:
        seconds = TRACER.now_ns / 1e9
        record.created, record.msecs = seconds, (seconds % 1) * 1000
        for key in ("request_id", "trace_id", "span_id", "route", "user", "host", "version"):
            setattr(record, key, self.current.get(key, "-"))
        record.payload = self.current.get("payload")
        record.status = self.current.get("status")
        return True


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value...``; tracebacks with deployed paths."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s "
            "request_id=%(request_id)s trace_id=%(trace_id)s route=%(route)s "
            "user=%(user)s host=%(host)s version=%(version)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )

    def formatException(self, ei: Any) -> str:
        return deployed_paths(super().formatException(ei))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, the field names of common JSON log formatters."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "otelTraceID": getattr(record, "trace_id", None),
            "otelSpanID": getattr(record, "span_id", None),
            "route": getattr(record, "route", None),
            "user": getattr(record, "user", None),
            "host": getattr(record, "host", None),
            "version": getattr(record, "version", None),
        }
        if getattr(record, "payload", None) is not None and "received" in record.getMessage():
            data["payload"] = record.payload
        if getattr(record, "status", None) is not None:
            data["status"] = record.status
        if record.exc_info:
            data["exception"] = deployed_paths(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


def deployed_paths(text: str) -> str:
    """Tracebacks say where the code is deployed, not where this checkout is."""
    return text.replace(str(HERE.parent), "/srv/app")


def traffic(rng: random.Random) -> list[tuple[dict[str, Any], str]]:
    """Healthy requests throughout, the bug requests after the deploy (version 1.5.0)."""
    skus = sorted(service.PRICES)
    requests: list[tuple[dict[str, Any], str]] = []
    for index in range(HEALTHY_REQUESTS):
        kind = rng.choice(["/checkout", "/checkout", "/promo", "/receipt", "/quote"])
        request: dict[str, Any] = {"path": kind}
        if kind == "/checkout":
            quantity = rng.choice([1, 1, 2, 3, 25])
            request.update(items=[{"sku": rng.choice(skus), "quantity": quantity}])
            request["currency"] = rng.choice(["EUR", "USD", "GBP"])
        elif kind == "/promo":
            request["coupon"] = rng.choice(["SAVE10", "WELCOME"])
        elif kind == "/receipt":
            request["customer"] = rng.choice(["Ann", "Bob", "Chen"])
        else:
            request.update(sku=rng.choice(skus), quantity=str(rng.randint(1, 5)))
        requests.append((request, "1.4.2" if index < HEALTHY_REQUESTS * 0.6 else "1.5.0"))
    deploy = int(HEALTHY_REQUESTS * 0.6)
    burst = rng.randint(deploy, len(requests))
    for _ in range(BUG_REPEATS):  # a client retrying the first bug: a burst of errors
        requests.insert(burst, (dict(BUG_REQUESTS[0]), "1.5.0"))
    for bug in BUG_REQUESTS[1:]:
        for _ in range(BUG_REPEATS):
            requests.insert(rng.randint(deploy, len(requests)), (dict(bug), "1.5.0"))
    return requests


def run(out: Path, seed: int = 2026) -> dict[str, int]:
    """Send the traffic, write the four evidence files into ``out``; returns a tally."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("shop")
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handlers = [
        _handler(out / "app.log", TextFormatter()),
        _handler(out / "app.jsonl", JsonFormatter()),
    ]
    for handler in handlers:
        logger.addHandler(handler)
    minutes: dict[int, list[tuple[int, float]]] = {}
    tally = {"requests": 0, "errors": 0}
    try:
        for number, (request, version) in enumerate(traffic(rng), start=1):
            TRACER.work(rng.expovariate(1 / 2000))
            status, took = _serve(rng, number, request, version, logger)
            minutes.setdefault(int(TRACER.now_ns // 60e9), []).append((status, took))
            tally["requests"] += 1
            tally["errors"] += status >= 500
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    _write_traces(out / "traces.otlp.jsonl", TRACER.spans)
    _write_metrics(out / "metrics.csv", minutes)
    return tally


def _serve(
    rng: random.Random, number: int, request: dict[str, Any], version: str, logger: logging.Logger
) -> tuple[int, float]:
    TRACER.trace_id = f"{rng.getrandbits(128):032x}"
    Context.current = {
        "request_id": f"req-{number:05d}",
        "trace_id": TRACER.trace_id,
        "span_id": f"{number:016x}",
        "route": request["path"],
        "user": f"u-{rng.randint(1, 60):03d}",
        "host": rng.choice(["web-1", "web-2", "web-3"]),
        "version": version,
        "payload": request,
    }
    logger.info("request received payload=%s", json.dumps(request, ensure_ascii=False))
    start = TRACER.now_ns
    response = service.handle(request)
    took = (TRACER.now_ns - start) / 1e6
    root = TRACER.spans[-1]
    root.attributes["http.status_code"] = str(response["status"])
    if response["status"] >= 500:
        root.error = root.error or f"HTTP {response['status']}"
    Context.current["status"] = response["status"]
    logger.info("request done status=%s", response["status"])
    Context.current.pop("status")
    return int(response["status"]), took


def _handler(path: Path, formatter: logging.Formatter) -> logging.Handler:
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(formatter)
    handler.addFilter(Context())
    return handler


def _write_traces(path: Path, spans: list[SpanRecord], batch: int = 200) -> None:
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]}
    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, len(spans), batch):
            document = {
                "resourceSpans": [
                    {
                        "resource": resource,
                        "scopeSpans": [
                            {
                                "scope": {"name": "shop.tracing"},
                                "spans": [_otlp_span(s) for s in spans[start : start + batch]],
                            }
                        ],
                    }
                ]
            }
            handle.write(json.dumps(document, ensure_ascii=False) + "\n")


def _otlp_span(span: SpanRecord) -> dict[str, Any]:
    data: dict[str, Any] = {
        "traceId": span.trace_id,
        "spanId": span.span_id,
        "name": span.name,
        "startTimeUnixNano": str(span.start_ns),
        "endTimeUnixNano": str(span.end_ns),
        "attributes": [
            {"key": k, "value": {"stringValue": v}} for k, v in sorted(span.attributes.items())
        ],
        "status": {"code": 2, "message": span.error} if span.error else {},
    }
    if span.parent_id:
        data["parentSpanId"] = span.parent_id
    return data


def _write_metrics(path: Path, minutes: dict[int, list[tuple[int, float]]]) -> None:
    lines = ["timestamp,name,value"]
    for minute in sorted(minutes):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minute * 60 + 60))
        served = minutes[minute]
        latencies = sorted(took for _, took in served)
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        lines.append(f"{stamp},http_requests_total,{len(served)}")
        lines.append(f"{stamp},http_errors_5xx_total,{sum(s >= 500 for s, _ in served)}")
        lines.append(f"{stamp},http_latency_p95_ms,{p95:.1f}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    """``python -m shop.generate_evidence [--fixed] [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixed", action="store_true", help="run the fixed code")
    parser.add_argument("--out", type=Path, default=HERE / "evidence")
    args = parser.parse_args()
    if args.fixed:
        os.environ["SHOP_FIXED"] = "1"
    tally = run(args.out)
    print(f"{tally['requests']} requests, {tally['errors']} answered 5xx; evidence in {args.out}")


if __name__ == "__main__":
    main()
