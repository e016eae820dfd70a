"""Catalogue: markers used twice, on tests they cannot drive, and profiling's re-run cap.

A misused marker is a setup error of that test naming the marker and what is
accepted, never dropped silently; ``profile_on_failure`` re-runs a failing body
at most :data:`~pytest_prodguard.limits.MAX_PROFILE_RERUNS` times and says so.
"""

from __future__ import annotations

import textwrap

import pytest
from catalogue import assert_usage_error

from pytest_prodguard.limits import MAX_PROFILE_RERUNS

TWICE = [
    pytest.param(
        """
        @pytest.mark.incident_repro("INC-2025-001")
        @pytest.mark.incident_repro("INC-2025-001", runs=3)
        def test_twice():
            pass
        """,
        "incident_repro",
        "incident_repro('INC-2025-001', runs=3), incident_repro('INC-2025-001')",
        id="incident-stacked",
    ),
    pytest.param(
        """
        pytestmark = pytest.mark.incident_repro("INC-2025-001")

        @pytest.mark.incident_repro("INC-2025-001", status="open")
        def test_twice():
            pass
        """,
        "incident_repro",
        "incident_repro('INC-2025-001', status='open'), incident_repro('INC-2025-001')",
        id="incident-module-and-function",
    ),
    pytest.param(
        """
        @pytest.mark.incident_repro("INC-2025-001")
        class TestGuards:
            @pytest.mark.incident_repro("INC-2025-001")
            def test_twice(self):
                pass
        """,
        "incident_repro",
        "incident_repro('INC-2025-001'), incident_repro('INC-2025-001')",
        id="incident-class-and-method",
    ),
    pytest.param(
        """
        @pytest.mark.latency_budget(p95="10ms")
        @pytest.mark.latency_budget(p95="20ms")
        def test_twice(latency):
            latency(sum, [1])
        """,
        "latency_budget",
        "latency_budget(p95='20ms'), latency_budget(p95='10ms')",
        id="budget-stacked",
    ),
    pytest.param(
        """
        @pytest.mark.profile_on_failure
        @pytest.mark.profile_on_failure("builtin")
        def test_twice():
            pass
        """,
        "profile_on_failure",
        "profile_on_failure('builtin'), profile_on_failure()",
        id="profile-stacked",
    ),
]


class TestMarkerUsedTwice:
    @pytest.mark.parametrize(("source", "name", "shown"), TWICE)
    def test_is_a_setup_error_listing_both(self, project, source, name, shown):
        project.makepyfile(test_twice="import pytest\n" + textwrap.dedent(source))
        result = project.runpytest()
        result.assert_outcomes(errors=1)
        assert_usage_error(
            result,
            f"@pytest.mark.{name} is used 2 times on this test ({shown}); accepted: one per test",
        )

    def test_a_single_marker_is_untouched(self, project):
        project.makepyfile(
            test_once="""
            import pytest

            @pytest.mark.incident_repro("INC-2025-001", runs=2)
            def test_once():
                pass
            """
        )
        project.runpytest().assert_outcomes(passed=1)


UNITTEST = """
import unittest
import pytest

class TestLegacy(unittest.TestCase):
    @pytest.mark.incident_repro("INC-2025-001"{extra})
    def test_guard(self):
        self.assertTrue(True)
"""


class TestUnittestMethods:
    @pytest.mark.parametrize(
        ("extra", "field"),
        [(", runs=3", "runs=3"), (", repro_rate=0.2", "repro_rate=0.2")],
    )
    def test_repeats_on_a_unittest_method_are_an_error(self, project, extra, field):
        project.makepyfile(test_legacy=UNITTEST.format(extra=extra))
        result = project.runpytest()
        result.assert_outcomes(errors=1)
        assert_usage_error(
            result, f"@pytest.mark.incident_repro: {field}: a plain pytest test function"
        )

    @pytest.mark.parametrize("extra", ["", ", runs=1"])
    def test_a_single_run_on_a_unittest_method_still_guards(self, project, extra):
        project.makepyfile(test_legacy=UNITTEST.format(extra=extra))
        result = project.runpytest()
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["guarded     INC-2025-001 *"])


class TestProfileRerunCap:
    def test_a_failing_body_with_side_effects_reruns_at_most_the_cap(self, project):
        project.makepyfile(
            test_effects="""
            import pathlib
            import pytest

            @pytest.mark.profile_on_failure
            def test_appends_then_fails():
                with pathlib.Path(__file__).with_name("runs.txt").open("a") as handle:
                    handle.write("x")
                assert False, "boom"
            """
        )
        result = project.runpytest(
            "--prodguard-profile-with=builtin", "--prodguard-profile-seconds=60"
        )
        result.assert_outcomes(failed=1)
        runs = len((project.path / "runs.txt").read_text())
        assert runs == 1 + MAX_PROFILE_RERUNS
        assert_usage_error(
            result,
            f"{MAX_PROFILE_RERUNS} calls in",
            f"stopped at the cap of {MAX_PROFILE_RERUNS} runs",
        )
