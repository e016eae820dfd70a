"""Guards for the sentiment service's past incidents (see incidents.toml)."""

from __future__ import annotations

import json

import pytest


def _strict_json(text: str) -> object:
    def reject(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=reject)


@pytest.mark.incident_repro("INC-2025-001")
def test_whitespace_only_text_is_a_400_not_a_crash(service, incident):
    payload = incident.artifacts.json("request.json")
    response = service.handle(payload)
    assert response["status"] == 400
    assert "non-empty" in response["error"]


@pytest.mark.incident_repro("INC-2025-002")
def test_non_finite_confidence_serialises_as_strict_json(service, incident):
    for captured in incident.artifacts.jsonl("responses.jsonl"):
        document = _strict_json(service.serialize(captured))
        assert document["predictions"][0]["label"] in service.classes_


@pytest.mark.incident_repro("INC-2025-003", repro_rate=0.2, confidence=0.99)
def test_identical_requests_get_identical_answers(service):
    # The bug disagreed on about 1 request in 5: 21 runs catch it with 99 % confidence.
    request = {"texts": ["the delivery was slow but the phone is great", "awful support"]}
    assert service.handle(request) == service.handle(request)


@pytest.mark.incident_repro("INC-2025-004")
def test_sentiment_at_the_end_of_a_long_review_counts(service):
    # Open incident: this still fails (strict xfail) until the chunked encoder lands.
    review = " ".join(["the delivery of my order was today and the item is the phone"] * 30)
    review += " terrible terrible awful refund"
    assert service.predict([review]) == ["negative"]
