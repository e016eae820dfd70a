"""End-to-end tests of incident guards: the ``incident_repro`` marker, the ``incident``
fixture, the "prodguard incidents" summary, bad input, and the same under ``-n 2``."""

from __future__ import annotations

import json

import pytest

from pytest_prodguard.incidents import MARKER_SIGNATURE

REGISTRY = """
[[incident]]
id = "INC-2025-001"
title = "Empty payload crashes /predict"
severity = "HIGH"
status = "fixed"
date = 2025-03-14
root_cause = "no validation of empty JSON bodies"
links = ["https://tracker.example/INC-2025-001"]
owner = "team-serving"
customer_impact = "12% of requests failed for 40 minutes"

[[incident]]
id = "INC-2025-002"
title = "Race in cache warm-up"
severity = "MEDIUM"
status = "open"
date = 2025-04-01

[[incident]]
id = "INC-2025-003"
title = "Timezone off-by-one in billing"
severity = "LOW"
status = "fixed"
date = 2025-05-20
"""

INI = "[pytest]\nconsole_output_style = classic\n"

# A body that fails on one chosen run only: counts runs in a file next to the test.
COUNTING = """
import pathlib
import pytest

def bump(name):
    path = pathlib.Path(__file__).with_name(name + ".count")
    count = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(count))
    return count
"""


@pytest.fixture
def tester(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with the three-incident registry at its rootdir."""
    pytester.makeini(INI)
    pytester.path.joinpath("incidents.toml").write_text(REGISTRY, encoding="utf-8")
    return pytester


def count_of(pytester: pytest.Pytester, name: str) -> int:
    return int(pytester.path.joinpath(f"{name}.count").read_text())


# ---------------------------------------------------------------- outcomes


class TestGuardOutcomes:
    def test_fixed_incident_whose_guard_passes_passes(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_empty_payload_is_rejected():
                assert True
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK

    def test_fixed_incident_whose_guard_fails_says_the_incident_is_back(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_empty_payload_is_rejected():
                assert 500 == 400
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "E       assert 500 == 400",
                "*- prodguard incident INC-2025-001 -*",
                "INC-2025-001 [HIGH] Empty payload crashes /predict",
                "status: fixed; outcome: regressed",
                "the guard of a FIXED incident fails: the incident is back*",
                "root cause: no validation of empty JSON bodies",
                "link: https://tracker.example/INC-2025-001",
            ],
            consecutive=False,
        )

    def test_open_incident_whose_repro_fails_is_an_expected_failure(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-002")
            def test_warm_up_race():
                raise RuntimeError("cache not warm")
            """
        )
        result = tester.runpytest("-rx")
        result.assert_outcomes(xfailed=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            [
                "XFAIL test_*::test_warm_up_race - open incident INC-2025-002 still "
                "reproduces: Race in cache warm-up"
            ]
        )

    def test_open_incident_that_passes_fails_with_mark_it_fixed_message(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-002")
            def test_warm_up_race():
                pass
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "[[]XPASS(strict)] incident INC-2025-002 ('Race in cache warm-up') now passes: "
                "the repro no longer fails, so the bug looks fixed. Mark it fixed: set "
                'status = "fixed" for INC-2025-002 in the registry*',
                "status: open; outcome: now-passes",
            ]
        )

    def test_open_status_on_the_marker_wins_over_a_fixed_registry_entry(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001", status="open")
            def test_still_broken():
                assert False

            @pytest.mark.incident_repro("INC-2025-001", status="open")
            def test_now_fixed():
                pass
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(xfailed=1, failed=1)
        result.stdout.fnmatch_lines(["*XPASS(strict)] incident INC-2025-001*now passes*"])

    def test_fixed_status_on_the_marker_wins_over_an_open_registry_entry(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-002", status="fixed")
            def test_fixed_in_this_branch():
                pass

            @pytest.mark.incident_repro("INC-2025-002", status="fixed")
            def test_regressed_in_this_branch():
                assert False
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(["status: fixed; outcome: regressed"])

    def test_a_passing_guard_shows_the_incident_id_and_title_in_its_report(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_guard():
                pass
            """
        )
        result = tester.runpytest("-rP")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(
            [
                "*= PASSES =*",
                "*- prodguard incident INC-2025-001 -*",
                "INC-2025-001 [HIGH] Empty payload crashes /predict",
                "status: fixed; outcome: guarded",
            ]
        )

    def test_marker_on_a_class_or_module_guards_every_test_in_it(self, tester):
        tester.makepyfile(
            test_module="""
            import pytest

            pytestmark = pytest.mark.incident_repro("INC-2025-002")

            def test_one():
                assert False

            def test_two():
                assert False
            """,
            test_class="""
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            class TestGuards:
                @pytest.mark.parametrize("body", ["", "{}"])
                def test_rejected(self, body, incident):
                    assert incident.id == "INC-2025-001"
            """,
        )
        result = tester.runpytest()
        result.assert_outcomes(passed=2, xfailed=2)
        result.stdout.fnmatch_lines(["2 incidents guarded by 4 tests, *"])

    def test_dash_m_incident_repro_selects_every_guard_and_nothing_else(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_guard():
                pass

            @pytest.mark.incident_repro("INC-2025-003")
            class TestMore:
                def test_guard(self):
                    pass

            def test_plain():
                pass
            """
        )
        result = tester.runpytest("-m", "incident_repro", "-v")
        result.assert_outcomes(passed=2, deselected=1)
        result.stdout.no_fnmatch_line("*test_plain*PASSED*")

    def test_a_skipped_guard_stays_skipped_and_is_not_counted_as_run(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-002")
            def test_open_skipped():
                pytest.skip("needs the staging cache")

            @pytest.mark.incident_repro("INC-2025-001")
            def test_fixed_skipped():
                pytest.skip("needs a GPU")
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(skipped=2)
        result.stdout.no_fnmatch_line("NOW PASSES*")
        result.stdout.no_fnmatch_line("guarded *")
        result.stdout.fnmatch_lines(["not run     INC-2025-001*", "not run     INC-2025-002*"])


# ---------------------------------------------------------------- repeated runs


class TestRepeatedRuns:
    def test_runs_repeats_the_body_n_times_when_it_keeps_passing(self, tester):
        tester.makepyfile(
            COUNTING
            + """
@pytest.mark.incident_repro("INC-2025-001", runs=7)
def test_flaky_guard():
    bump("flaky")
"""
        )
        result = tester.runpytest("-rP")
        result.assert_outcomes(passed=1)
        assert count_of(tester, "flaky") == 7
        result.stdout.fnmatch_lines(
            ["passed all 7 runs; 7 runs catch a 10%-reproducible regression with probability 52.2%"]
        )

    def test_runs_stops_at_the_first_failure_and_reports_the_run_and_observed_rate(self, tester):
        tester.makepyfile(
            COUNTING
            + """
@pytest.mark.incident_repro("INC-2025-001", runs=10)
def test_flaky_guard():
    assert bump("flaky") != 4
"""
        )
        result = tester.runpytest()
        result.assert_outcomes(failed=1)
        assert count_of(tester, "flaky") == 4
        result.stdout.fnmatch_lines(
            [
                "status: fixed; outcome: regressed",
                "*run 4 of 10 failed (observed failure rate 1/4 = 25.0% over the runs made)*",
            ]
        )

    def test_repro_rate_runs_29_times_and_states_the_guarantee(self, tester):
        tester.makepyfile(
            COUNTING
            + """
@pytest.mark.incident_repro("INC-2025-001", repro_rate=0.1)
def test_flaky_guard():
    bump("rate")
"""
        )
        result = tester.runpytest("-rP")
        result.assert_outcomes(passed=1)
        assert count_of(tester, "rate") == 29
        result.stdout.fnmatch_lines(
            [
                "passed all 29 runs; 29 runs catch a regression that reproduces in 10% of "
                "runs with probability >= 95%"
            ]
        )

    def test_repro_rate_with_confidence_computes_its_own_runs(self, tester):
        tester.makepyfile(
            COUNTING
            + """
@pytest.mark.incident_repro("INC-2025-001", repro_rate=0.1, confidence=0.99)
def test_flaky_guard():
    bump("rate")
"""
        )
        result = tester.runpytest("-rP")
        result.assert_outcomes(passed=1)
        assert count_of(tester, "rate") == 44
        result.stdout.fnmatch_lines(["passed all 44 runs; *probability >= 99%"])

    def test_open_flaky_incident_that_reproduces_names_the_run_in_the_xfail_reason(self, tester):
        tester.makepyfile(
            COUNTING
            + """
@pytest.mark.incident_repro("INC-2025-002", runs=6)
def test_warm_up_race():
    assert bump("race") < 3
"""
        )
        result = tester.runpytest("-rx")
        result.assert_outcomes(xfailed=1)
        assert count_of(tester, "race") == 3
        result.stdout.fnmatch_lines(
            [
                "XFAIL *test_warm_up_race - open incident INC-2025-002 still reproduces "
                "(reproduced in run 3 of 6): Race in cache warm-up"
            ]
        )

    def test_open_incident_that_passes_every_run_says_so(self, tester):
        tester.makepyfile(
            COUNTING
            + """
@pytest.mark.incident_repro("INC-2025-002", runs=5)
def test_warm_up_race():
    bump("race")
"""
        )
        result = tester.runpytest()
        result.assert_outcomes(failed=1)
        assert count_of(tester, "race") == 5
        result.stdout.fnmatch_lines(["*incident INC-2025-002 (*) now passes in all 5 runs: *"])


# ---------------------------------------------------------------- the incident fixture


class TestIncidentFixture:
    def test_fixture_gives_the_record_and_the_effective_status(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_record(incident):
                assert incident.id == "INC-2025-001"
                assert incident.title == "Empty payload crashes /predict"
                assert incident.status == "fixed"
                record = incident.record
                assert record.severity == "HIGH"
                assert record.date == "2025-03-14"
                assert record.owner == "team-serving"
                assert record.links == ("https://tracker.example/INC-2025-001",)
                assert record.extra["customer_impact"].startswith("12%")

            @pytest.mark.incident_repro("INC-2025-001", status="open")
            def test_marker_status(incident):
                assert incident.status == "open"
                assert incident.record.status == "fixed"
                raise AssertionError("still reproduces")
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(passed=1, xfailed=1)

    def test_artifacts_folder_is_next_to_the_registry_with_loaders(self, tester):
        folder = tester.mkdir("incidents").joinpath("INC-2025-001")
        folder.mkdir()
        folder.joinpath("request.json").write_text('{"body": ""}', encoding="utf-8")
        folder.joinpath("events.jsonl").write_text('{"n": 1}\n{"n": 2}\n', encoding="utf-8")
        folder.joinpath("server.log").write_text("ERROR empty body\n", encoding="utf-8")
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_artifacts(incident, request):
                artifacts = incident.artifacts
                assert artifacts.path == request.config.rootpath / "incidents" / "INC-2025-001"
                assert artifacts.json("request.json") == {"body": ""}
                assert artifacts.jsonl("events.jsonl") == [{"n": 1}, {"n": 2}]
                assert "empty body" in artifacts.text("server.log")
                assert artifacts.names() == ["events.jsonl", "request.json", "server.log"]
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(passed=1)

    def test_a_missing_artifact_lists_what_exists_without_plugin_frames(self, tester):
        folder = tester.mkdir("incidents").joinpath("INC-2025-001")
        folder.mkdir()
        folder.joinpath("request.json").write_text("{}", encoding="utf-8")
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_artifacts(incident):
                incident.artifacts.json("response.json")
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["E   *ProdguardUsageError: artifact='response.json': a file in *(request.json)"]
        )
        result.stdout.no_fnmatch_line("*artifacts.py*")

    def test_a_moved_registry_moves_the_artifacts_folder_too(self, tester):
        ops = tester.mkdir("ops")
        ops.joinpath("registry.toml").write_text(REGISTRY, encoding="utf-8")
        tester.path.joinpath("incidents.toml").unlink()
        ops.joinpath("incidents", "INC-2025-003").mkdir(parents=True)
        ops.joinpath("incidents", "INC-2025-003", "note.txt").write_text("x", encoding="utf-8")
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-003")
            def test_artifacts(incident):
                assert incident.artifacts.text("note.txt") == "x"
            """
        )
        result = tester.runpytest("--prodguard-incidents=ops/registry.toml")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines([f"prodguard: 3 incidents in {ops / 'registry.toml'}"])

    def test_the_ini_key_moves_the_registry(self, tester):
        ops = tester.mkdir("ops")
        tester.path.joinpath("incidents.toml").rename(ops / "registry.toml")
        tester.makeini(INI + "prodguard_incidents = ops/registry.toml\n")
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-003")
            def test_guard(incident):
                assert incident.title == "Timezone off-by-one in billing"
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(passed=1)

    def test_fixture_without_the_marker_is_a_clear_setup_error(self, tester):
        tester.makepyfile(
            """
            def test_forgot_the_marker(incident):
                pass
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "test_*::test_forgot_the_marker: the 'incident' fixture needs "
                "@pytest.mark.incident_repro('INC-...') on the test"
            ]
        )
        result.stdout.no_fnmatch_line("*plugin.py*")


# ---------------------------------------------------------------- the summary

MIXED_SUITE = """
import pytest

@pytest.mark.incident_repro("INC-2025-001")
def test_fixed_guard():
    pass

@pytest.mark.incident_repro("INC-2025-001")
def test_fixed_guard_broken():
    assert False

@pytest.mark.incident_repro("INC-2025-002")
def test_open_repro():
    assert False

@pytest.mark.incident_repro("INC-2025-002")
def test_open_repro_passing():
    pass

def test_plain():
    pass
"""


class TestSummary:
    def test_summary_lists_guards_worst_first_and_the_fixed_incident_nobody_guards(self, tester):
        tester.makepyfile(test_suite=MIXED_SUITE)
        result = tester.runpytest()
        result.assert_outcomes(passed=2, failed=2, xfailed=1)
        result.stdout.fnmatch_lines(
            [
                "*= prodguard incidents =*",
                "2 incidents guarded by 4 tests, 1 regressed, 1 open still reproducing, "
                "1 open now passing, 1 fixed without a guard",
                "REGRESSED   INC-2025-001 [[]HIGH] Empty payload crashes /predict "
                "(test_suite.py::test_fixed_guard_broken)",
                "NOW PASSES  INC-2025-002 [[]MEDIUM] Race in cache warm-up "
                "(test_suite.py::test_open_repro_passing)",
                "REPRODUCING INC-2025-002 [[]MEDIUM] Race in cache warm-up "
                "(test_suite.py::test_open_repro)",
                "guarded     INC-2025-001 [[]HIGH] Empty payload crashes /predict "
                "(test_suite.py::test_fixed_guard)",
                "NO GUARD    INC-2025-003 [[]LOW] Timezone off-by-one in billing "
                "(fixed 2025-05-20; no collected test)",
            ],
            consecutive=True,
        )

    def test_an_open_incident_without_a_guard_is_not_a_gap(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_a():
                pass

            @pytest.mark.incident_repro("INC-2025-003")
            def test_c():
                pass
            """
        )
        result = tester.runpytest()
        result.stdout.fnmatch_lines(["*, 0 fixed without a guard"])
        result.stdout.no_fnmatch_line("NO GUARD*")

    def test_a_deselected_guard_still_counts_as_guarding_its_incident(self, tester):
        tester.makepyfile(test_suite=MIXED_SUITE)
        result = tester.runpytest("-k", "plain")
        result.assert_outcomes(passed=1, deselected=4)
        result.stdout.fnmatch_lines(["0 incidents guarded by 0 tests, *1 fixed without a guard"])
        result.stdout.fnmatch_lines(["NO GUARD    INC-2025-003 *"])
        result.stdout.no_fnmatch_line("NO GUARD    INC-2025-001 *")

    def test_a_registry_with_no_guards_reports_every_fixed_incident_as_a_gap(self, tester):
        tester.makepyfile("def test_plain(): pass")
        result = tester.runpytest()
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            [
                "*= prodguard incidents =*",
                "NO GUARD    INC-2025-001 *",
                "NO GUARD    INC-2025-003 *",
            ]
        )

    def test_no_summary_without_a_registry_or_guards(self, pytester):
        pytester.makeini(INI)
        pytester.makepyfile("def test_plain(): pass")
        result = pytester.runpytest()
        result.assert_outcomes(passed=1)
        result.stdout.no_fnmatch_line("*prodguard incidents*")

    @pytest.mark.parametrize(
        ("args", "ini"),
        [(("--prodguard-require-guards",), ""), ((), "prodguard_require_guards = true\n")],
        ids=["flag", "ini"],
    )
    def test_require_guards_fails_a_green_run_with_an_unguarded_fixed_incident(
        self, tester, args, ini
    ):
        tester.makeini(INI + ini)
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_a():
                pass
            """
        )
        result = tester.runpytest(*args)
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            [
                "NO GUARD    INC-2025-003 *",
                "FAILED: prodguard_require_guards is on and 1 fixed incident(s) have no guard test",
            ]
        )

    @pytest.mark.parametrize("target", ["test_chosen.py", "test_chosen.py::test_a"])
    def test_require_guards_is_not_enforced_on_a_run_of_chosen_files(self, tester, target):
        tester.makeini(INI + "prodguard_require_guards = true\n")
        tester.makepyfile(
            test_chosen="""
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_a():
                pass
            """
        )
        result = tester.runpytest(target)
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(
            ["NO GUARD    INC-2025-003 *", "prodguard_require_guards not enforced: this run*"]
        )

    def test_require_guards_passes_when_every_fixed_incident_is_guarded(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_a():
                pass

            @pytest.mark.incident_repro("INC-2025-003")
            def test_c():
                pass
            """
        )
        result = tester.runpytest("--prodguard-require-guards")
        result.assert_outcomes(passed=2)
        assert result.ret == pytest.ExitCode.OK
        result.stdout.no_fnmatch_line("FAILED: prodguard_require_guards*")

    def test_without_require_guards_a_gap_does_not_fail_the_run(self, tester):
        tester.makepyfile("def test_plain(): pass")
        result = tester.runpytest()
        assert result.ret == pytest.ExitCode.OK
        result.stdout.fnmatch_lines(["NO GUARD    INC-2025-003 *"])
        result.stdout.no_fnmatch_line("FAILED: prodguard_require_guards*")


# ---------------------------------------------------------------- bad input


class TestBadMarkers:
    @pytest.mark.parametrize(
        ("marker", "message"),
        [
            (
                "incident_repro",
                "incident_id=None: an incident id such as 'INC-2025-001' as the first argument",
            ),
            (
                "incident_repro()",
                "incident_id=None: an incident id such as 'INC-2025-001' as the first argument",
            ),
            ("incident_repro('')", "incident_id='': a non-empty string such as 'INC-2025-001'"),
            (
                "incident_repro('INC-2025-001', runs=0)",
                "runs=0: a whole number >= 1 and at most 10000",
            ),
            (
                "incident_repro('INC-2025-001', runs=-2)",
                "runs=-2: a whole number >= 1 and at most 10000",
            ),
            (
                "incident_repro('INC-2025-001', repro_rate=0)",
                "repro_rate=0: a number strictly between 0 and 1, e.g. 0.1",
            ),
            (
                "incident_repro('INC-2025-001', repro_rate=1.5)",
                "repro_rate=1.5: a number strictly between 0 and 1, e.g. 0.1",
            ),
            (
                "incident_repro('INC-2025-001', repro_rate=0.1, confidence=1)",
                "confidence=1: a number strictly between 0 and 1, e.g. 0.1",
            ),
            (
                "incident_repro('INC-2025-001', repro_rate=0.1, confidence=0)",
                "confidence=0: a number strictly between 0 and 1, e.g. 0.1",
            ),
            (
                "incident_repro('INC-2025-001', status='closed')",
                "status='closed': 'open' or 'fixed' (or leave it to the registry)",
            ),
            (
                "incident_repro('INC-2025-001', rate=0.1)",
                f"rate=0.1: a keyword of {MARKER_SIGNATURE}",
            ),
            (
                "incident_repro('INC-2025-001', runs=3, repro_rate=0.1)",
                "runs=3: either runs=N or repro_rate=, not both*",
            ),
        ],
    )
    def test_bad_marker_is_a_setup_error_naming_test_field_value_and_accepted(
        self, tester, marker, message
    ):
        tester.makepyfile(
            test_bad=f"""
            import pytest

            @pytest.mark.{marker}
            def test_guard():
                pass

            def test_unrelated():
                pass
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(passed=1, errors=1)
        escaped = message.replace("[", "[[]")
        result.stdout.fnmatch_lines(
            [
                "*ERROR at setup of test_guard*",
                f"test_bad.py::test_guard: @pytest.mark.incident_repro: {escaped}",
            ]
        )
        result.stdout.no_fnmatch_line("*Traceback*")
        result.stdout.no_fnmatch_line("*repro.py*")

    def test_unknown_id_suggests_close_matches(self, tester):
        tester.makepyfile(
            test_bad="""
            import pytest

            @pytest.mark.incident_repro("INC-2025-01")
            def test_guard():
                pass
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "test_bad.py::test_guard: @pytest.mark.incident_repro: "
                f"incident_id='INC-2025-01': an id from {tester.path / 'incidents.toml'}; "
                "did you mean INC-2025-001*? (known ids: INC-2025-001, INC-2025-002, INC-2025-003)"
            ]
        )

    @pytest.mark.parametrize("args", [()])
    def test_missing_registry_while_a_marker_uses_it_names_the_path(self, pytester, args):
        pytester.makeini(INI)
        pytester.makepyfile(
            test_bad="""
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_guard():
                pass
            """
        )
        result = pytester.runpytest(*args)
        result.assert_outcomes(errors=1)
        expected = pytester.path / (args[0].split("=")[1] if args else "incidents.toml")
        result.stdout.fnmatch_lines(
            [
                "test_bad.py::test_guard: @pytest.mark.incident_repro: "
                f"incident_id='INC-2025-001': an id from the incident registry, but {expected} "
                "does not exist: create it or point --prodguard-incidents / ini "
                "prodguard_incidents at it"
            ]
        )

    def test_missing_default_registry_is_fine_when_no_test_uses_it(self, pytester):
        pytester.makeini(INI)
        pytester.makepyfile("def test_plain(): pass")
        result = pytester.runpytest("--prodguard-require-guards")
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK


class TestBadRegistry:
    GUARD = """
        import pytest

        @pytest.mark.incident_repro("INC-1")
        def test_guard():
            pass
    """
    ENTRY = (
        '[[incident]]\nid = "INC-1"\ntitle = "t"\nseverity = "{severity}"\n'
        'status = "{status}"\ndate = 2025-01-01\n'
    )

    def run_with(self, pytester: pytest.Pytester, registry: str) -> pytest.RunResult:
        pytester.makeini(INI)
        pytester.path.joinpath("incidents.toml").write_text(registry, encoding="utf-8")
        pytester.makepyfile(test_guard=self.GUARD)
        result = pytester.runpytest()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert "Traceback" not in result.stdout.str() + result.stderr.str()
        return result

    def test_malformed_toml_names_the_file_and_line(self, pytester):
        registry = self.ENTRY.format(severity="HIGH", status="fixed") + "owner = = 'me'\n"
        result = self.run_with(pytester, registry)
        result.stderr.fnmatch_lines(
            [
                f"ERROR: prodguard: incident registry {pytester.path / 'incidents.toml'}: "
                "invalid TOML: * (at line 7, column *)"
            ]
        )

    def test_duplicate_ids_are_a_usage_error(self, pytester):
        entry = self.ENTRY.format(severity="HIGH", status="fixed")
        result = self.run_with(pytester, entry + "\n" + entry)
        result.stderr.fnmatch_lines(
            [
                "ERROR: prodguard: incident registry *incidents.toml: duplicate incident id "
                "'INC-1' (entry #2 repeats an earlier one)"
            ]
        )

    @pytest.mark.parametrize(
        ("severity", "status", "message"),
        [
            ("HUGE", "fixed", "severity='HUGE': must be one of CRITICAL, HIGH, MEDIUM, LOW"),
            ("HIGH", "closed", "status='closed': must be one of open, fixed"),
        ],
    )
    def test_bad_severity_or_status_is_a_usage_error_listing_what_is_accepted(
        self, pytester, severity, status, message
    ):
        result = self.run_with(pytester, self.ENTRY.format(severity=severity, status=status))
        result.stderr.fnmatch_lines(
            [f"ERROR: prodguard: *incidents.toml: incident 'INC-1': {message}"]
        )

    def test_a_bad_explicit_registry_is_reported_even_without_markers(self, pytester):
        pytester.makeini(INI + "prodguard_incidents = ops.toml\n")
        pytester.path.joinpath("ops.toml").write_text("[[incident]]\nid = 3\n", encoding="utf-8")
        pytester.makepyfile("def test_plain(): pass")
        result = pytester.runpytest()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(["ERROR: prodguard: incident registry *ops.toml: *"])


# ---------------------------------------------------------------- pytest-xdist


# Workers start faster without plugins these runs do not use (hypothesis' plugin alone
# doubles a worker's start-up); pytest-benchmark would also warn that xdist disables it.
XDIST = ("-n", "2", "-p", "no:hypothesispytest", "-p", "no:benchmark")


class TestUnderXdist:
    @pytest.fixture(autouse=True)
    def _needs_xdist(self):
        pytest.importorskip("xdist")

    def test_summary_report_and_gaps_are_whole_under_n_2(self, tester):
        tester.makepyfile(test_suite=MIXED_SUITE)
        tester.makepyfile(
            test_more="""
            import pytest

            @pytest.mark.incident_repro("INC-2025-003", runs=3)
            def test_deselected_guard():
                pass

            @pytest.mark.incident_repro("INC-2025-001", repro_rate=0.5)
            def test_flaky_guard():
                pass
            """
        )
        result = tester.runpytest(
            *XDIST,
            "-k",
            "not deselected",
            "--prodguard-report=report.json",
            "--prodguard-require-guards",
        )
        result.assert_outcomes(passed=3, failed=2, xfailed=1)
        result.stdout.fnmatch_lines(
            [
                "*= prodguard incidents =*",
                "2 incidents guarded by 5 tests, 1 regressed, 1 open still reproducing, "
                "1 open now passing, 0 fixed without a guard",
            ]
        )
        for line in [
            "REGRESSED   INC-2025-001 * (test_suite.py::test_fixed_guard_broken)",
            "NOW PASSES  INC-2025-002 * (test_suite.py::test_open_repro_passing)",
            "REPRODUCING INC-2025-002 * (test_suite.py::test_open_repro)",
            "guarded     INC-2025-001 * (test_suite.py::test_fixed_guard)",
            "guarded     INC-2025-001 * (test_more.py::test_flaky_guard)",
        ]:
            result.stdout.fnmatch_lines([line])
        # INC-2025-003's only guard was deselected on a worker: still not a gap
        result.stdout.no_fnmatch_line("NO GUARD*")
        report = json.loads(tester.path.joinpath("report.json").read_text())
        incidents = report["incidents"]
        assert incidents["counts"] == {
            "guarded": 2,
            "regressed": 1,
            "reproducing": 1,
            "now-passes": 1,
        }
        assert incidents["unguarded_fixed"] == []
        flaky = next(g for g in incidents["guards"] if g["nodeid"].endswith("test_flaky_guard"))
        assert flaky["runs"] == 5
        assert "5 runs catch a regression that reproduces in 50% of runs" in flaky["guarantee"]

    def test_bad_markers_and_registry_gaps_are_reported_under_n_2(self, tester):
        tester.makepyfile(
            test_bad="""
            import pytest

            @pytest.mark.incident_repro("INC-2025-01")
            def test_typo():
                pass

            @pytest.mark.incident_repro("INC-2025-001", runs=0)
            def test_zero_runs():
                pass

            @pytest.mark.incident_repro("INC-2025-002")
            def test_open_repro():
                assert False
            """
        )
        result = tester.runpytest(*XDIST, "--prodguard-require-guards")
        result.assert_outcomes(errors=2, xfailed=1)
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(
            ["*test_bad.py::test_typo: @pytest.mark.incident_repro: *did you mean INC-2025-001*"]
        )
        result.stdout.fnmatch_lines(
            ["*test_bad.py::test_zero_runs: *runs=0: a whole number >= 1 and at most 10000"]
        )
        result.stdout.fnmatch_lines(
            [
                "NO GUARD    INC-2025-001 *",
                "NO GUARD    INC-2025-003 *",
                "FAILED: prodguard_require_guards is on and 2 fixed incident(s) have no guard test",
            ]
        )

    @pytest.mark.parametrize(
        "verbosity",
        [
            pytest.param((), id="with-header"),
            pytest.param(
                ("-q",),
                id="quiet",
            ),
        ],
    )
    def test_a_malformed_registry_is_one_clean_usage_error_under_n_2(self, tester, verbosity):
        broken = REGISTRY + "owner = = 'me'\n"
        line = len(broken.splitlines())
        tester.path.joinpath("incidents.toml").write_text(broken, encoding="utf-8")
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-001")
            def test_guard():
                pass
            """
        )
        result = tester.runpytest(*XDIST, *verbosity)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines(
            [
                "ERROR: prodguard: incident registry *incidents.toml: "
                f"invalid TOML: * (at line {line}, *)"
            ]
        )
        result.stdout.no_fnmatch_line("INTERNALERROR*")


class TestGuardsThatDidNotRun:
    def test_a_guard_whose_setup_errors_is_listed_as_not_run(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.fixture
            def broken():
                raise RuntimeError("database down")

            @pytest.mark.incident_repro("INC-2025-001")
            def test_guard(broken):
                pass
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(["not run     INC-2025-001 [[]HIGH[]] *test_guard*"])

    def test_a_usage_error_in_an_open_guard_is_not_taken_for_a_reproduction(self, tester):
        tester.makepyfile(
            """
            import pytest

            @pytest.mark.incident_repro("INC-2025-002")
            def test_guard(incident):
                incident.artifacts.json("missing.json")
            """
        )
        result = tester.runpytest()
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["*artifact='missing.json'*", "not run     INC-2025-002*"])
        result.stdout.no_fnmatch_line("REPRODUCING*")
