"""Replaying a captured request: what counts as the captured failure happening again."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.forensics import replay, replay_incident, resolve_entry
from pytest_prodguard.forensics.replay import recurrence
from pytest_prodguard.incidents import Artifacts, Incident, IncidentContext, ReproSpec

log = logging.getLogger("forensics.replay.test")


def discount(payload):
    return payload["total"] / payload["quantity"]


def logged_discount(payload):
    try:
        return discount(payload)
    except ZeroDivisionError:
        log.exception("discount failed")
        return {"status": 500}


def context(tmp_path: Path, failure: dict, payload=None) -> IncidentContext:
    folder = tmp_path / "incidents" / "INC-1"
    folder.mkdir(parents=True)
    (folder / "failure.json").write_text(json.dumps(failure))
    if payload is not None:
        (folder / "request.json").write_text(json.dumps(payload))
    record = Incident("INC-1", "Div", "HIGH", "open", "2025-06-01")
    spec = ReproSpec("INC-1", None, 1, None, None)
    return IncidentContext(record, spec, Artifacts(folder))


FAILURE = {
    "exception_type": "ZeroDivisionError",
    "place": "test_replay.py:logged_discount > test_replay.py:discount",
    "status": 500,
    "summary": "ZeroDivisionError: division by zero",
}


def test_the_same_exception_type_is_a_recurrence(tmp_path):
    incident = context(tmp_path, FAILURE, {"total": 10, "quantity": 0})
    with pytest.raises(AssertionError, match=r"recurs: .* raised ZeroDivisionError again"):
        replay_incident(incident, discount)


def test_the_same_status_is_a_recurrence(tmp_path):
    incident = context(tmp_path, FAILURE, {"total": 10, "quantity": 0})
    with pytest.raises(AssertionError, match="returned status 500 again"):
        replay_incident(incident, logged_discount)


def test_a_logged_error_with_the_same_type_and_place_is_a_recurrence():
    outcome = replay(logged_discount, {"total": 1, "quantity": 0})
    failure = {**FAILURE, "status": None}
    assert recurrence(failure, outcome) is not None
    assert "logged the same error again: ZeroDivisionError" in str(recurrence(failure, outcome))


def test_a_healthy_replay_returns_the_result(tmp_path):
    incident = context(tmp_path, FAILURE, {"total": 10, "quantity": 4})
    assert replay_incident(incident, discount) == 2.5


def test_a_different_exception_propagates_as_a_new_failure(tmp_path):
    incident = context(tmp_path, FAILURE, {"total": 10})
    with pytest.raises(KeyError, match="quantity"):
        replay_incident(incident, discount)


def test_payload_argument_overrides_the_artifact(tmp_path):
    incident = context(tmp_path, FAILURE)
    assert replay_incident(incident, discount, payload={"total": 9, "quantity": 3}) == 3


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("no_colon", "'package.module:function'"),
        ("not_a_module_xyz:f", "import failed"),
        ("json:no_such_function", "no_such_function not found"),
    ],
)
def test_bad_entry_points_are_usage_errors(entry, why):
    with pytest.raises(ProdguardUsageError, match=why):
        resolve_entry(entry)


def test_entry_points_resolve_dotted_attributes():
    assert resolve_entry("json:JSONDecoder.decode") is json.JSONDecoder.decode
