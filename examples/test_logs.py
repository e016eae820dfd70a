"""Log contracts for the sentiment service: structured, traceable, and free of personal data."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sentiment_service.logs import REQUEST_ID, configure_logging, request_context

REVIEWS_WITH_CONTACTS = [
    "great film, write to me at ann.smith@example.com",
    "awful plot; call me on +44 7911 123456 for a refund",
]


@pytest.fixture(autouse=True)
def _service_logging() -> Iterator[None]:
    configure_logging()
    yield
    log = logging.getLogger("sentiment_service")  # other suites: quiet and unconfigured
    log.handlers.clear()
    log.setLevel(logging.NOTSET)
    log.propagate = True


@pytest.mark.log_contract(
    json=True,
    required=("request_id", "status"),
    context=REQUEST_ID,
    forbid=("secrets", "pii"),
    max_records=10,
)
def test_requests_log_one_json_line_with_the_request_id_and_no_personal_data(
    service, structured_logs
):
    for number, text in enumerate(REVIEWS_WITH_CONTACTS):
        with request_context(f"req-{number}"):
            assert service.handle({"text": text})["status"] == 200
    with request_context("req-bad"):
        assert service.handle({"text": "   "})["status"] == 400
    assert len(structured_logs.filter(logger="sentiment_service")) >= 3
