"""Unit tests of the incidents domain: registry, marker parsing, repeat-run math, outcomes.

These modules know nothing of pytest, so they are tested directly; the plugin's
translation into test outcomes is covered end to end in ``test_incidents_plugin.py``.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.incidents import (
    MARKER_SIGNATURE,
    SEVERITIES,
    STATUSES,
    Artifacts,
    GuardOutcome,
    Incident,
    RegistryError,
    ReproSpec,
    classify,
    detection_probability,
    load_registry,
    parse_repro_marker,
    runs_for_rate,
)
from pytest_prodguard.incidents import outcome as guard_text
from pytest_prodguard.incidents.outcome import GuardRecord

ENTRY = """
[[incident]]
id = "{id}"
title = "{title}"
severity = "{severity}"
status = "{status}"
date = {date}
"""


def entry(
    id: str = "INC-2025-001",
    title: str = "Empty payload crashes /predict",
    severity: str = "HIGH",
    status: str = "fixed",
    date: str = "2025-03-14",
) -> str:
    return ENTRY.format(id=id, title=title, severity=severity, status=status, date=date)


@pytest.fixture
def write_registry(tmp_path):
    def write(text: str) -> Path:
        path = tmp_path / "incidents.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


# ---------------------------------------------------------------- registry


class TestRegistryParsing:
    def test_full_entry_with_optional_and_unknown_keys_is_kept(self, write_registry):
        path = write_registry(
            """
            [[incident]]
            id = "INC-2025-001"
            title = "Empty payload crashes /predict"
            severity = "HIGH"
            status = "fixed"
            date = 2025-03-14
            root_cause = "no validation of empty JSON bodies"
            summary = "500s for 40 minutes"
            links = ["https://tracker.example/1", "https://wiki.example/pm"]
            owner = "team-serving"
            customer_impact = "12% of requests"
            detection_minutes = 17
            """
        )
        registry = load_registry(path)
        assert len(registry) == 1
        incident = registry.get("INC-2025-001")
        assert incident == Incident(
            id="INC-2025-001",
            title="Empty payload crashes /predict",
            severity="HIGH",
            status="fixed",
            date="2025-03-14",
            root_cause="no validation of empty JSON bodies",
            summary="500s for 40 minutes",
            links=("https://tracker.example/1", "https://wiki.example/pm"),
            owner="team-serving",
            extra={"customer_impact": "12% of requests", "detection_minutes": 17},
            artifacts_dir=path.parent / "incidents" / "INC-2025-001",
        )
        data = incident.to_dict()
        assert data["customer_impact"] == "12% of requests"
        assert data["detection_minutes"] == 17
        assert data["links"] == ["https://tracker.example/1", "https://wiki.example/pm"]

    def test_optional_fields_default_to_empty(self, write_registry):
        incident = load_registry(write_registry(entry())).get("INC-2025-001")
        assert incident.root_cause is None
        assert incident.summary is None
        assert incident.owner is None
        assert incident.links == ()
        assert dict(incident.extra) == {}

    def test_date_may_be_a_toml_date_or_a_string(self, write_registry):
        registry = load_registry(
            write_registry(entry(id="A", date="2025-03-14") + entry(id="B", date='"2025-Q1"'))
        )
        assert registry.get("A").date == "2025-03-14"
        assert registry.get("B").date == "2025-Q1"

    def test_non_json_unknown_values_are_stringified_in_to_dict(self, write_registry):
        path = write_registry(entry() + "resolved_at = 2025-03-15T10:00:00Z\n")
        data = load_registry(path).get("INC-2025-001").to_dict()
        assert isinstance(data["resolved_at"], str)
        assert data["resolved_at"].startswith("2025-03-15")

    def test_a_single_link_string_becomes_a_one_element_tuple(self, write_registry):
        path = write_registry(entry() + 'links = "https://tracker.example/1"\n')
        assert load_registry(path).get("INC-2025-001").links == ("https://tracker.example/1",)

    def test_severity_and_status_are_normalized_in_case(self, write_registry):
        incident = load_registry(write_registry(entry(severity="critical", status="Open"))).get(
            "INC-2025-001"
        )
        assert incident.severity == "CRITICAL"
        assert incident.status == "open"

    @pytest.mark.parametrize("severity", SEVERITIES)
    def test_every_documented_severity_is_accepted(self, write_registry, severity):
        registry = load_registry(write_registry(entry(severity=severity)))
        assert registry.get("INC-2025-001").severity == severity

    def test_an_empty_file_is_an_empty_registry(self, write_registry):
        registry = load_registry(write_registry(""))
        assert len(registry) == 0
        assert list(registry) == []

    def test_iteration_keeps_file_order(self, write_registry):
        registry = load_registry(write_registry(entry(id="B") + entry(id="A") + entry(id="C")))
        assert [incident.id for incident in registry] == ["B", "A", "C"]

    def test_artifacts_folder_is_next_to_the_registry(self, tmp_path):
        nested = tmp_path / "ops"
        nested.mkdir()
        path = nested / "registry.toml"
        path.write_text(entry(id="INC-9"), encoding="utf-8")
        assert load_registry(path).get("INC-9").artifacts_dir == nested / "incidents" / "INC-9"


class TestRegistryErrors:
    def test_missing_file_names_the_path(self, tmp_path):
        path = tmp_path / "nope.toml"
        with pytest.raises(RegistryError, match="file not found") as excinfo:
            load_registry(path)
        assert str(path) in str(excinfo.value)
        assert excinfo.value.path == path

    def test_malformed_toml_names_file_and_line(self, write_registry):
        path = write_registry(entry() + "owner = = 'x'\n")
        with pytest.raises(RegistryError) as excinfo:
            load_registry(path)
        message = str(excinfo.value)
        assert str(path) in message
        assert "invalid TOML" in message
        assert "line 8" in message

    def test_duplicate_ids_are_rejected_naming_the_id_and_entry(self, write_registry):
        path = write_registry(entry() + entry(title="again"))
        with pytest.raises(RegistryError, match=r"duplicate incident id 'INC-2025-001'.*#2"):
            load_registry(path)

    def test_bad_severity_lists_the_accepted_values(self, write_registry):
        with pytest.raises(RegistryError) as excinfo:
            load_registry(write_registry(entry(severity="HUGE")))
        assert "incident 'INC-2025-001': severity='HUGE'" in str(excinfo.value)
        assert "CRITICAL, HIGH, MEDIUM, LOW" in str(excinfo.value)

    def test_bad_status_lists_the_accepted_values(self, write_registry):
        with pytest.raises(RegistryError) as excinfo:
            load_registry(write_registry(entry(status="closed")))
        assert "status='closed'" in str(excinfo.value)
        assert "open, fixed" in str(excinfo.value)

    def test_missing_required_fields_are_listed(self, write_registry):
        path = write_registry('[[incident]]\nid = "INC-7"\ntitle = "t"\n')
        with pytest.raises(RegistryError) as excinfo:
            load_registry(path)
        message = str(excinfo.value)
        assert "[[incident]] #1 (id 'INC-7') lacks required field(s): severity, status, date" in (
            message
        )

    def test_missing_id_is_reported_by_entry_number(self, write_registry):
        path = write_registry(entry(id="A") + '[[incident]]\ntitle = "t"\n')
        with pytest.raises(
            RegistryError, match=r"\[\[incident\]\] #2 lacks required field\(s\): id"
        ):
            load_registry(path)

    @pytest.mark.parametrize("bad_id", ['""', '"   "', "7"])
    def test_id_must_be_a_non_empty_string(self, write_registry, bad_id):
        text = entry().replace('id = "INC-2025-001"', f"id = {bad_id}")
        with pytest.raises(RegistryError, match="must be a non-empty string"):
            load_registry(write_registry(text))

    def test_incident_as_a_table_instead_of_an_array_is_explained(self, write_registry):
        path = write_registry('[incident]\nid = "INC-1"\n')
        with pytest.raises(RegistryError, match=r"write \[\[incident\]\]"):
            load_registry(path)

    @pytest.mark.parametrize(
        ("line", "field"),
        [
            ("links = [1, 2]", "links"),
            ("root_cause = 3", "root_cause"),
            ("owner = ['a']", "owner"),
            ("summary = true", "summary"),
        ],
    )
    def test_optional_fields_of_the_wrong_type_are_named(self, write_registry, line, field):
        with pytest.raises(RegistryError, match=f"incident 'INC-2025-001': {field}="):
            load_registry(write_registry(entry() + line + "\n"))

    def test_title_must_be_a_string(self, write_registry):
        text = entry().replace('title = "Empty payload crashes /predict"', "title = 5")
        with pytest.raises(RegistryError, match="title=5: must be a string"):
            load_registry(write_registry(text))

    def test_date_of_the_wrong_type_is_named(self, write_registry):
        with pytest.raises(RegistryError, match="date=20250314: must be a date"):
            load_registry(write_registry(entry(date="20250314")))

    def test_registry_error_is_a_usage_error(self, tmp_path):
        with pytest.raises(ProdguardUsageError):
            load_registry(tmp_path / "missing.toml")


class TestRegistryLookup:
    def test_unknown_id_suggests_close_matches_and_lists_known_ids(self, write_registry):
        registry = load_registry(write_registry(entry() + entry(id="INC-2024-117")))
        with pytest.raises(ProdguardUsageError) as excinfo:
            registry.get("INC-2025-01")
        error = excinfo.value
        assert error.field == "incident_id"
        assert error.value == "INC-2025-01"
        assert "did you mean INC-2025-001" in str(error)
        assert "known ids: INC-2024-117, INC-2025-001" in str(error)

    def test_unknown_id_without_close_matches_gives_no_suggestion(self, write_registry):
        registry = load_registry(write_registry(entry()))
        with pytest.raises(ProdguardUsageError) as excinfo:
            registry.get("zzz")
        assert "did you mean" not in str(excinfo.value)
        assert "known ids: INC-2025-001" in str(excinfo.value)

    def test_empty_registry_says_none_are_known(self, write_registry):
        registry = load_registry(write_registry(""))
        with pytest.raises(ProdguardUsageError, match=r"known ids: \(none\)"):
            registry.get("INC-1")


# ---------------------------------------------------------------- marker arguments


class TestParseReproMarker:
    def test_defaults_to_one_run_and_the_registry_status(self):
        assert parse_repro_marker(("INC-1",), {}) == ReproSpec("INC-1", None, 1, None, None)

    def test_id_may_be_given_by_keyword(self):
        assert parse_repro_marker((), {"incident_id": "INC-1"}).incident_id == "INC-1"

    @pytest.mark.parametrize("status", STATUSES)
    def test_status_on_the_marker_is_kept(self, status):
        assert parse_repro_marker(("INC-1",), {"status": status}).status == status

    def test_runs_repeats_the_body(self):
        spec = parse_repro_marker(("INC-1",), {"runs": 7})
        assert (spec.runs, spec.repro_rate, spec.confidence) == (7, None, None)

    def test_repro_rate_computes_runs_at_the_default_confidence(self):
        spec = parse_repro_marker(("INC-1",), {"repro_rate": 0.1})
        assert (spec.runs, spec.repro_rate, spec.confidence) == (29, 0.1, 0.95)

    def test_repro_rate_with_confidence(self):
        spec = parse_repro_marker(("INC-1",), {"repro_rate": 0.1, "confidence": 0.99})
        assert spec.runs == 44

    @pytest.mark.parametrize(
        ("args", "kwargs", "field", "accepted"),
        [
            ((), {}, "incident_id", "an incident id such as 'INC-2025-001'"),
            (("",), {}, "incident_id", "a non-empty string"),
            ((" ",), {}, "incident_id", "a non-empty string"),
            ((12,), {}, "incident_id", "a non-empty string"),
            (("A", "B"), {}, "args", "exactly one positional incident id"),
            (("A",), {"status": "closed"}, "status", "'open' or 'fixed'"),
            (("A",), {"status": "Open"}, "status", "'open' or 'fixed'"),
            (("A",), {"runs": 0}, "runs", "a whole number >= 1"),
            (("A",), {"runs": -3}, "runs", "a whole number >= 1"),
            (("A",), {"runs": 2.5}, "runs", "a whole number >= 1"),
            (("A",), {"runs": True}, "runs", "a whole number >= 1"),
            (("A",), {"runs": "5"}, "runs", "a whole number >= 1"),
            (("A",), {"repro_rate": 0}, "repro_rate", "strictly between 0 and 1"),
            (("A",), {"repro_rate": 1}, "repro_rate", "strictly between 0 and 1"),
            (("A",), {"repro_rate": 1.5}, "repro_rate", "strictly between 0 and 1"),
            (("A",), {"repro_rate": -0.1}, "repro_rate", "strictly between 0 and 1"),
            (("A",), {"repro_rate": math.nan}, "repro_rate", "strictly between 0 and 1"),
            (("A",), {"repro_rate": "10%"}, "repro_rate", "strictly between 0 and 1"),
            (("A",), {"repro_rate": True}, "repro_rate", "strictly between 0 and 1"),
            (
                ("A",),
                {"repro_rate": 0.1, "confidence": 0},
                "confidence",
                "strictly between 0 and 1",
            ),
            (
                ("A",),
                {"repro_rate": 0.1, "confidence": 1.0},
                "confidence",
                "strictly between 0 and 1",
            ),
            (
                ("A",),
                {"repro_rate": 0.1, "confidence": 95},
                "confidence",
                "strictly between 0 and 1",
            ),
            (("A",), {"runs": 3, "repro_rate": 0.1}, "runs", "either runs=N or repro_rate="),
            (("A",), {"runs": 3, "confidence": 0.9}, "confidence", "only together with repro_rate"),
            (("A",), {"confidence": 0.9}, "confidence", "only together with repro_rate"),
            (("A",), {"rate": 0.1}, "rate", MARKER_SIGNATURE),
        ],
    )
    def test_bad_arguments_name_the_field_value_and_what_is_accepted(
        self, args, kwargs, field, accepted
    ):
        with pytest.raises(ProdguardUsageError) as excinfo:
            parse_repro_marker(args, kwargs)
        error = excinfo.value
        assert error.field == field
        assert accepted in error.accepted
        assert str(error).startswith(f"{field}=")


# ---------------------------------------------------------------- repeat-run math


class TestRunsForRate:
    @pytest.mark.parametrize(
        ("rate", "confidence", "runs"),
        [
            (0.1, 0.95, 29),
            (0.5, 0.95, 5),
            (0.01, 0.95, 299),
            (0.1, 0.99, 44),
            (0.05, 0.95, 59),
            (0.2, 0.9, 11),
            (0.5, 0.5, 1),
            (0.9, 0.5, 1),
        ],
    )
    def test_table(self, rate, confidence, runs):
        assert runs_for_rate(rate, confidence) == runs

    @pytest.mark.parametrize(("rate", "confidence"), [(0.1, 0.95), (0.01, 0.95), (0.3, 0.99)])
    def test_matches_the_closed_form(self, rate, confidence):
        expected = math.ceil(math.log(1 - confidence) / math.log(1 - rate))
        assert runs_for_rate(rate, confidence) == expected

    @given(
        rate=st.floats(min_value=1e-4, max_value=0.999),
        confidence=st.floats(min_value=0.01, max_value=0.9999),
    )
    def test_is_the_smallest_number_of_runs_that_reaches_the_confidence(self, rate, confidence):
        runs = runs_for_rate(rate, confidence)
        assert runs >= 1
        assert detection_probability(runs, rate) >= confidence - 1e-9
        if runs > 1:
            assert detection_probability(runs - 1, rate) < confidence + 1e-9

    @pytest.mark.parametrize(("runs", "rate"), [(29, 0.1), (5, 0.5), (299, 0.01), (1, 0.3)])
    def test_detection_probability_agrees_with_the_binomial_sum(self, runs, rate):
        # P(at least one failure) summed term by term, independent of the closed form
        at_least_once = sum(
            math.comb(runs, k) * rate**k * (1 - rate) ** (runs - k) for k in range(1, runs + 1)
        )
        assert detection_probability(runs, rate) == pytest.approx(at_least_once, rel=1e-9)

    def test_detection_probability_matches_a_simulation(self):
        np = pytest.importorskip("numpy")
        rng = np.random.default_rng(20250314)
        trials = rng.random((40_000, 29)) < 0.1
        simulated = trials.any(axis=1).mean()
        # 4 standard errors of a proportion near 0.953 over 40k trials is ~0.0042
        assert simulated == pytest.approx(detection_probability(29, 0.1), abs=0.0045)
        assert detection_probability(29, 0.1) >= 0.95 > detection_probability(28, 0.1)

    def test_detection_probability_edges(self):
        assert detection_probability(1, 0.25) == pytest.approx(0.25)
        assert detection_probability(0, 0.25) == 0


class TestGuarantee:
    def test_repro_rate_guarantee_states_runs_rate_and_confidence(self):
        spec = parse_repro_marker(("A",), {"repro_rate": 0.1})
        assert spec.guarantee() == (
            "29 runs catch a regression that reproduces in 10% of runs with probability >= 95%"
        )

    def test_plain_runs_state_the_detection_probability_of_a_10_percent_bug(self):
        spec = parse_repro_marker(("A",), {"runs": 5})
        assert spec.guarantee() == (
            "5 runs catch a 10%-reproducible regression with probability 41.0%"
        )

    def test_one_run_guarantees_nothing(self):
        assert parse_repro_marker(("A",), {}).guarantee() is None


# ---------------------------------------------------------------- outcomes and messages

RECORD = Incident(
    id="INC-2025-001",
    title="Empty payload crashes /predict",
    severity="HIGH",
    status="fixed",
    date="2025-03-14",
    root_cause="no validation",
    links=("https://tracker.example/1",),
)


class TestClassify:
    @pytest.mark.parametrize(
        ("status", "failed", "expected"),
        [
            ("fixed", False, GuardOutcome.GUARDED),
            ("fixed", True, GuardOutcome.REGRESSED),
            ("open", True, GuardOutcome.REPRODUCING),
            ("open", False, GuardOutcome.NOW_PASSES),
        ],
    )
    def test_status_and_result_map_to_an_outcome(self, status, failed, expected):
        assert classify(status, failed) == expected

    def test_bad_outcomes_are_regressed_and_now_passes(self):
        assert set(GuardOutcome.BAD) == {GuardOutcome.REGRESSED, GuardOutcome.NOW_PASSES}


class TestMessages:
    def test_now_passes_message_says_mark_it_fixed(self):
        spec = parse_repro_marker(("INC-2025-001",), {"status": "open", "runs": 3})
        message = guard_text.now_passes_message(RECORD, spec)
        assert message.startswith("[XPASS(strict)] incident INC-2025-001")
        assert "now passes in all 3 runs" in message
        assert 'status = "fixed"' in message

    def test_reproducing_reason_names_the_failing_run(self):
        spec = parse_repro_marker(("INC-2025-001",), {"runs": 10})
        reason = guard_text.reproducing_reason(RECORD, spec, 4)
        assert reason == (
            "open incident INC-2025-001 still reproduces (reproduced in run 4 of 10): "
            "Empty payload crashes /predict"
        )

    def test_runs_line_reports_the_failed_run_and_observed_rate(self):
        spec = parse_repro_marker(("A",), {"runs": 8})
        line = guard_text.runs_line(spec, 4)
        assert line.startswith("run 4 of 8 failed (observed failure rate 1/4 = 25.0%")
        assert "8 runs catch" in line

    def test_guard_section_lists_label_status_root_cause_and_links(self):
        spec = parse_repro_marker(("INC-2025-001",), {})
        section = guard_text.guard_section(RECORD, spec, GuardOutcome.REGRESSED, None)
        assert section.splitlines() == [
            "INC-2025-001 [HIGH] Empty payload crashes /predict",
            "status: fixed; outcome: regressed",
            "the guard of a FIXED incident fails: the incident is back (or the guard is broken)",
            "root cause: no validation",
            "link: https://tracker.example/1",
        ]

    def test_marker_status_wins_in_the_section(self):
        spec = parse_repro_marker(("INC-2025-001",), {"status": "open"})
        section = guard_text.guard_section(RECORD, spec, GuardOutcome.REPRODUCING, None)
        assert "status: open; outcome: reproducing" in section


class TestSummary:
    def guard(self, incident, outcome, nodeid):
        return GuardRecord(
            incident=incident,
            title=f"title {incident}",
            severity="HIGH",
            status="fixed",
            outcome=outcome,
            nodeid=nodeid,
        )

    def test_unguarded_fixed_incidents_are_the_registrys_fixed_ones_nobody_guards(
        self, write_registry
    ):
        registry = load_registry(
            write_registry(
                entry(id="A") + entry(id="B") + entry(id="C", status="open") + entry(id="D")
            )
        )
        summary = guard_text.summarize([], registry, ["A"])
        assert [incident.id for incident in summary.unguarded_fixed] == ["B", "D"]
        assert summary.registry_path == str(registry.path)

    def test_without_a_registry_nothing_is_unguarded(self):
        summary = guard_text.summarize([self.guard("A", "guarded", "t::a")], None, ["A"])
        assert summary.unguarded_fixed == ()
        assert summary.to_dict()["registry"] is None

    def test_counts_headline_and_lines_put_the_worst_news_first(self, write_registry):
        registry = load_registry(write_registry(entry(id="A") + entry(id="Z")))
        guards = [
            self.guard("A", GuardOutcome.GUARDED, "t::a"),
            self.guard("B", GuardOutcome.REPRODUCING, "t::b"),
            self.guard("A", GuardOutcome.REGRESSED, "t::a2"),
            self.guard("C", GuardOutcome.NOW_PASSES, "t::c"),
            self.guard("D", GuardOutcome.NOT_RUN, "t::d"),
        ]
        summary = guard_text.summarize(guards, registry, ["A", "B", "C", "D"])
        assert summary.counts() == {
            "guarded": 1,
            "reproducing": 1,
            "regressed": 1,
            "now-passes": 1,
            "not-run": 1,
        }
        assert summary.headline() == (
            "4 incidents guarded by 5 tests, 1 regressed, 1 open still reproducing, "
            "1 open now passing, 1 fixed without a guard"
        )
        assert [line.split()[0] for line in summary.lines()] == [
            "REGRESSED",
            "NOW",
            "REPRODUCING",
            "guarded",
            "not",
            "NO",
        ]
        assert summary.lines()[-1] == (
            "NO GUARD    Z [HIGH] Empty payload crashes /predict (fixed 2025-03-14; "
            "no collected test)"
        )

    def test_to_dict_is_json_ready(self, write_registry):
        import json

        registry = load_registry(write_registry(entry(id="A") + 'postmortem = "pm.md"\n'))
        data = guard_text.summarize([self.guard("B", "guarded", "t::b")], registry, []).to_dict()
        assert json.loads(json.dumps(data)) == data
        assert data["counts"] == {"guarded": 1}
        assert data["unguarded_fixed"][0]["id"] == "A"
        assert data["unguarded_fixed"][0]["postmortem"] == "pm.md"


# ---------------------------------------------------------------- artifacts


class TestArtifacts:
    @pytest.fixture
    def artifacts(self, tmp_path):
        folder = tmp_path / "incidents" / "INC-1"
        folder.mkdir(parents=True)
        (folder / "request.json").write_text('{"body": "", "user": "ü"}', encoding="utf-8")
        (folder / "events.jsonl").write_text('{"n": 1}\n\n{"n": 2}\n', encoding="utf-8")
        (folder / "log.txt").write_text("boom\n", encoding="utf-8")
        return Artifacts(folder)

    def test_loaders_read_json_jsonl_and_text(self, artifacts):
        assert artifacts.json("request.json") == {"body": "", "user": "ü"}
        assert artifacts.jsonl("events.jsonl") == [{"n": 1}, {"n": 2}]
        assert artifacts.text("log.txt") == "boom\n"
        assert artifacts.file("log.txt") == artifacts.path / "log.txt"
        assert artifacts.names() == ["events.jsonl", "log.txt", "request.json"]

    def test_missing_artifact_lists_what_exists(self, artifacts):
        with pytest.raises(ProdguardUsageError) as excinfo:
            artifacts.json("response.json")
        assert excinfo.value.field == "artifact"
        assert "events.jsonl, log.txt, request.json" in str(excinfo.value)

    def test_missing_folder_says_so(self, tmp_path):
        empty = Artifacts(tmp_path / "incidents" / "INC-404")
        assert empty.names() == []
        with pytest.raises(ProdguardUsageError, match="is empty or missing"):
            empty.text("log.txt")

    def test_invalid_json_names_the_file_and_line(self, artifacts):
        (artifacts.path / "bad.json").write_text('{\n  "a": ,\n}', encoding="utf-8")
        with pytest.raises(ProdguardUsageError, match=r"valid JSON \(.*bad.json: line 2"):
            artifacts.json("bad.json")

    def test_invalid_jsonl_names_the_line(self, artifacts):
        (artifacts.path / "bad.jsonl").write_text('{"a": 1}\nnot json\n', encoding="utf-8")
        with pytest.raises(ProdguardUsageError, match=r"JSON Lines \(.*bad.jsonl: line 2"):
            artifacts.jsonl("bad.jsonl")
