"""The order service: ``handle(request) -> {"status": ..., ...}``.

Seeded bugs (``SHOP_FIXED=1`` switches every one off):

1. ``/checkout`` with ``quantity`` 0 divides by zero in the per-unit discount.
2. ``/promo`` without a ``coupon`` key raises ``KeyError``.
3. ``/receipt`` for a customer name outside ASCII raises ``UnicodeEncodeError``.
4. ``/checkout`` with an empty ``items`` list raises ``IndexError``.
5. ``/quote`` with ``quantity`` "" (an empty query value) raises ``ValueError``.
6. ``/checkout`` in an unsupported currency logs an error and answers 502
   (no exception: the guard sees the status).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from shop.tracing import span, work

log = logging.getLogger("shop.api")
RATES = {"EUR": 1.0, "USD": 1.08, "GBP": 0.85}
PRICES = {"book": 12.0, "pen": 1.5, "lamp": 40.0, "desk": 250.0}


def fixed() -> bool:
    """Whether the fixed code runs (``SHOP_FIXED=1``)."""
    return os.environ.get("SHOP_FIXED") == "1"


class BadRequest(ValueError):
    """The client's fault: answered with 400."""


def handle(request: dict[str, Any]) -> dict[str, Any]:
    """Serve one request; unexpected errors are logged with their traceback and answer 500."""
    path = str(request.get("path", "/"))
    with span(f"POST {path}", route=path):
        try:
            body = _route(path, request)
        except BadRequest as exc:
            return {"status": 400, "error": str(exc)}
        except UpstreamError as exc:
            log.error("currency conversion failed: %s", exc)
            return {"status": 502, "error": "conversion failed"}
        except Exception:
            log.exception("unhandled error serving %s", path)
            return {"status": 500, "error": "internal error"}
        return {"status": 200, **body}


class UpstreamError(RuntimeError):
    """The currency service could not convert."""


def _route(path: str, request: dict[str, Any]) -> dict[str, Any]:
    handlers = {"/checkout": _checkout, "/promo": _promo, "/receipt": _receipt, "/quote": _quote}
    if path not in handlers:
        raise BadRequest(f"no such endpoint {path}")
    return handlers[path](request)


def _checkout(request: dict[str, Any]) -> dict[str, Any]:
    items = request.get("items", [])
    if fixed() and not items:
        raise BadRequest("items must not be empty")
    with span("validate"):
        work(2)
        first = items[0]  # bug 4: IndexError on an empty cart
    quantity = int(first.get("quantity", 1))
    with span("price"):
        total = _price(first["sku"], quantity)
        total -= _unit_discount(total, quantity) * quantity
    with span("convert"):
        total = _convert(total, str(request.get("currency", "EUR")))
    with span("db.insert_order"):
        work(30 if quantity > 20 else 6)
    return {"total": round(total, 2)}


def _price(sku: str, quantity: int) -> float:
    work(3)
    if sku not in PRICES:
        raise BadRequest(f"unknown sku {sku}")
    return PRICES[sku] * quantity


def _unit_discount(total: float, quantity: int) -> float:
    if fixed() and quantity <= 0:
        raise BadRequest("quantity must be at least 1")
    return total * 0.05 / quantity  # bug 1: ZeroDivisionError for quantity 0


def _convert(amount: float, currency: str) -> float:
    work(8)
    if currency not in RATES:
        if fixed():
            raise BadRequest(f"unsupported currency {currency}")
        raise UpstreamError(f"no rate for currency={currency}")  # bug 6: a 502 for bad input
    return amount * RATES[currency]


def _promo(request: dict[str, Any]) -> dict[str, Any]:
    work(4)
    coupon = request.get("coupon", "") if fixed() else request["coupon"]  # bug 2: KeyError
    return {"discount": 10 if str(coupon).startswith("SAVE") else 0}


def _receipt(request: dict[str, Any]) -> dict[str, Any]:
    work(5)
    name = str(request.get("customer", ""))
    encoding = "utf-8" if fixed() else "ascii"  # bug 3: UnicodeEncodeError for "José"
    return {"receipt": f"Receipt for {name}".encode(encoding).decode(encoding)}


def _quote(request: dict[str, Any]) -> dict[str, Any]:
    work(3)
    raw = str(request.get("quantity", "1"))
    if fixed() and not raw.strip().isdigit():
        raise BadRequest("quantity must be a whole number")
    quantity = int(raw)  # bug 5: ValueError for ""
    return {"quote": _price(str(request.get("sku", "book")), quantity)}
