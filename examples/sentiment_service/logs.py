"""The service's logging: one JSON object per line, with the request id of the current request."""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

#: The id of the request being handled (set by the web layer, here by ``request_context``).
REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

log = logging.getLogger("sentiment_service")


class JsonLines(logging.Formatter):
    """``{"level", "logger", "msg", "request_id", ...extra fields, "exc_info"}`` per record."""

    FIELDS = ("texts", "labels", "status", "error", "payload")

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON object."""
        data = {
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": REQUEST_ID.get(),
        }
        data.update({key: getattr(record, key) for key in self.FIELDS if hasattr(record, key)})
        if record.exc_info:
            data["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(data)


def configure_logging() -> None:
    """What the service does at start-up: JSON lines on stderr, INFO and above."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines())
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


@contextmanager
def request_context(request_id: str) -> Iterator[None]:
    """Handle one request under ``request_id``."""
    token = REQUEST_ID.set(request_id)
    try:
        yield
    finally:
        REQUEST_ID.reset(token)
