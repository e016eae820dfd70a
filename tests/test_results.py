"""The one result shape (GuardResult), the typed incident record, and their builders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_prodguard.incidents import (
    Artifacts,
    GuardOutcome,
    GuardRecord,
    Incident,
    IncidentContext,
    guard_result,
    parse_repro_marker,
)
from pytest_prodguard.report import latency_lines
from pytest_prodguard.results import STATUSES, GuardResult

RECORD = Incident(
    id="INC-1",
    title="Empty payload crashes /predict",
    severity="HIGH",
    status="open",
    date="2025-03-14",
)


def context(*args: object, **kwargs: object) -> IncidentContext:
    spec = parse_repro_marker(("INC-1", *args), kwargs)
    return IncidentContext(RECORD, spec, Artifacts(Path("incidents") / "INC-1"))


class TestGuardResult:
    def test_round_trips_through_json(self):
        result = GuardResult(
            "latency",
            "fail",
            "latency budget exceeded",
            sections=(("prodguard latency", "details"),),
            records=(("latency", [{"status": "fail"}]),),
            properties=(("prodguard.profile.svg", "/tmp/f.svg"),),
        )
        assert GuardResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result

    def test_an_unknown_status_is_refused(self):
        with pytest.raises(ValueError, match="status must be one of"):
            GuardResult("latency", "failed")
        assert STATUSES == ("pass", "fail", "warn", "xfail")

    def test_including_appends_the_other_results_details_and_keeps_the_verdict(self):
        base = GuardResult("latency", "fail", "slow", sections=(("a", "1"),))
        profile = GuardResult("profile", "pass", sections=(("b", "2"),), records=(("p", {}),))
        merged = base.including(profile)
        assert (merged.guard, merged.status, merged.headline) == ("latency", "fail", "slow")
        assert merged.sections == (("a", "1"), ("b", "2"))
        assert merged.records == (("p", {}),)


class TestIncidentGuardResult:
    @pytest.mark.parametrize(
        ("outcome", "status", "headline"),
        [
            (GuardOutcome.REPRODUCING, "xfail", "open incident INC-1 still reproduces*"),
            (GuardOutcome.NOW_PASSES, "fail", "[[]XPASS(strict)[]] incident INC-1 *now passes*"),
            (GuardOutcome.GUARDED, "pass", ""),
            (GuardOutcome.REGRESSED, "pass", ""),
            (GuardOutcome.NOT_RUN, "pass", ""),
        ],
    )
    def test_each_outcome_maps_to_one_status(self, outcome, status, headline):
        from fnmatch import fnmatch

        result = guard_result(context(status="open"), outcome, None, "t.py::test_x")
        assert result.guard == "incident"
        assert result.status == status
        assert fnmatch(result.headline, headline) if headline else result.headline == ""
        ((title, body),) = result.sections
        assert title == "prodguard incident INC-1"
        assert f"outcome: {outcome}" in body
        ((kind, payload),) = result.records
        assert kind == "incident"
        assert GuardRecord.from_dict(payload).outcome == outcome

    def test_the_record_is_typed_and_round_trips(self):
        record = guard_result(context(runs=3), GuardOutcome.REGRESSED, 2, "t.py::test_x").records
        payload = json.loads(json.dumps(record[0][1]))
        typed = GuardRecord.from_dict(payload)
        assert typed == GuardRecord(
            incident="INC-1",
            title="Empty payload crashes /predict",
            severity="HIGH",
            status="open",
            outcome=GuardOutcome.REGRESSED,
            nodeid="t.py::test_x",
            runs=3,
            failed_run=2,
            guarantee=typed.guarantee,
        )
        assert typed.guarantee is not None
        assert "3 runs" in typed.guarantee
        assert typed.to_dict() == payload


LATENCY_CALLS = (
    ("t.py::a", [{"label": "f", "status": "pass", "headline": "met"}]),
    ("t.py::b", [{"label": "g", "status": "fail", "headline": "exceeded"}]),
    ("t.py::c", [{"label": "h", "status": "improved", "headline": "faster"}]),
)


class TestLatencyLines:
    def test_every_call_worst_first(self):
        lines = latency_lines(LATENCY_CALLS)
        assert [line.split()[0] for line in lines[:3]] == ["FAIL", "IMPROVED", "pass"]
        assert "re-save with --prodguard-baseline-save" in lines[-1]

    def test_quiet_keeps_only_what_needs_attention(self):
        assert latency_lines(LATENCY_CALLS, quiet=True) == ["FAIL         t.py::b [g]: exceeded"]
