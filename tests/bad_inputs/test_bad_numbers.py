"""Catalogue: every number a user gives is finite and inside its documented range.

Each refusal names the field, the value and the range; where the cost of a run
grows with the value (runs, sampling time, profiling window, memory) there is an
upper bound, so no value can make a run hang or overflow.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from catalogue import assert_usage_error

from pytest_prodguard import ab, limits
from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.incidents.repro import detection_probability, parse_repro_marker
from pytest_prodguard.latency.spec import parse_latency_spec
from pytest_prodguard.profiling.runner import check_profile_options
from pytest_prodguard.settings import resolve
from pytest_prodguard.units import parse_duration, parse_memory


def refused(call, *args, **kwargs) -> ProdguardUsageError:
    with pytest.raises(ProdguardUsageError) as raised:
        call(*args, **kwargs)
    return raised.value


class TestReproRuns:
    @pytest.mark.parametrize("runs", [10**7, 10_001, 2**64, 10**400, -(10**400)])
    def test_runs_above_the_cap_are_refused(self, runs):
        error = refused(parse_repro_marker, ["INC-1"], {"runs": runs})
        assert (error.field, error.value) == ("runs", runs)
        assert error.accepted == "a whole number >= 1 and at most 10000"

    @pytest.mark.parametrize("runs", [math.inf, math.nan, 1e4, "10"])
    def test_runs_that_are_not_whole_numbers_are_refused(self, runs):
        error = refused(parse_repro_marker, ["INC-1"], {"runs": runs})
        assert error.field == "runs"
        assert "at most 10000" in error.accepted

    def test_the_cap_itself_is_accepted(self):
        assert parse_repro_marker(["INC-1"], {"runs": limits.MAX_RUNS}).runs == 10_000

    @pytest.mark.parametrize(
        ("rate", "confidence", "needed", "at_cap", "advice"),
        [
            (1e-9, 0.95, "about 3e+09 runs", "0.001%", "repro_rate >= 0.0003"),
            (1e-300, 0.95, "about 3e+300 runs", "1e-294%", "repro_rate >= 0.0003"),
            (5e-324, 0.95, "more than 1e+308 runs", "4.9407e-318%", "repro_rate >= 0.0003"),
            (0.0002, 0.95, "about 1.5e+04 runs", "86.469%", "repro_rate >= 0.0003"),
            (0.001, 0.9999999999, "about 2.3e+04 runs", "99.995%", "repro_rate >= 0.0023"),
        ],
    )
    def test_computed_runs_above_the_cap_state_the_cap_confidence(
        self, rate, confidence, needed, at_cap, advice
    ):
        error = refused(
            parse_repro_marker, ["INC-1"], {"repro_rate": rate, "confidence": confidence}
        )
        assert error.field == "repro_rate"
        assert needed in error.accepted
        assert f"probability {at_cap} only" in error.accepted
        assert advice in error.accepted
        assert "runs=10000" in error.accepted

    def test_advised_rate_fits_under_the_cap(self):
        spec = parse_repro_marker(["INC-1"], {"repro_rate": 0.0003})
        assert spec.runs <= limits.MAX_RUNS
        assert detection_probability(spec.runs, 0.0003) >= 0.95

    @pytest.mark.parametrize("confidence", [1 - 1e-17, 1.0, math.inf, -math.inf])
    def test_confidence_that_rounds_to_one_is_refused(self, confidence):
        error = refused(
            parse_repro_marker, ["INC-1"], {"repro_rate": 0.1, "confidence": confidence}
        )
        assert error.field == "confidence"
        assert error.accepted == "a number strictly between 0 and 1, e.g. 0.1"


DURATION_KEYS = ["p50", "p90", "p95", "p99", "max", "mean", "warn_p95"]


class TestLatencyBudgetNumbers:
    @pytest.mark.parametrize("key", DURATION_KEYS)
    @pytest.mark.parametrize(
        "value", ["1e400ms", "1e400", math.inf, "2d", 86_401, "1e6s", 10**400, "1441min"]
    )
    def test_infinite_or_huge_budgets_are_refused(self, key, value):
        error = refused(parse_latency_spec, {key: value})
        assert (error.field, error.value) == (key, value)
        assert error.accepted.endswith("above 0 and at most 1 day (86400 s)")

    @pytest.mark.parametrize("value", ["1e400s", "601s", 601, "11min", math.inf, "1e-400s"])
    def test_max_time_is_capped_at_ten_minutes(self, value):
        error = refused(parse_latency_spec, {"p95": "20ms", "max_time": value})
        assert (error.field, error.value) == ("max_time", value)
        assert error.accepted.endswith("above 0 and at most 10 minutes (600 s)")

    def test_max_time_at_the_cap_is_accepted(self):
        assert parse_latency_spec({"p95": "20ms", "max_time": "10min"}).max_time == 600

    @pytest.mark.parametrize("key", ["peak_memory", "warn_peak_memory"])
    @pytest.mark.parametrize(
        "value", ["1e400MB", "1e400", math.inf, 10**400, "2PB", 10**15 + 1, "1e20B"]
    )
    def test_infinite_or_huge_memory_is_refused(self, key, value):
        error = refused(parse_latency_spec, {key: value})
        assert (error.field, error.value) == (key, value)
        assert error.accepted.endswith("at most 1 PB (10**15 bytes)")

    @pytest.mark.parametrize("value", [100_001, 10**400, 1.5, -1, "5"])
    def test_warmup_out_of_range(self, value):
        error = refused(parse_latency_spec, {"p95": "20ms", "warmup": value})
        assert error.field == "warmup"
        assert error.accepted.startswith("a whole number of calls from 0 to 100000")

    @pytest.mark.parametrize("scale", [0.0001, 1001, math.inf, math.nan])
    def test_scale_out_of_range(self, scale):
        error = refused(parse_latency_spec, {"p95": "20ms"}, scale=scale)
        assert error.field == "prodguard_latency_scale"
        assert "from 0.001 to 1000" in error.accepted


class TestUnits:
    @pytest.mark.parametrize("value", [10**400, 2**1100, -(10**400)])
    def test_huge_integers_do_not_overflow(self, value):
        assert refused(parse_duration, value, field="d").field == "d"
        assert refused(parse_memory, value, field="m").field == "m"

    def test_a_tighter_limit_names_its_own_range(self):
        error = refused(parse_duration, "2min", field="w", limit=limits.PROFILE_SECONDS)
        assert error.accepted.endswith("above 0 and at most 1 minute (60 s)")


BAD_OPTIONS = [
    ("prodguard_profile_seconds", "1e9", "above 0 and at most 1 minute (60 s)"),
    ("prodguard_profile_seconds", "61", "above 0 and at most 1 minute (60 s)"),
    ("prodguard_profile_seconds", "inf", "above 0 and at most 1 minute (60 s)"),
    ("prodguard_profile_seconds", "nan", "above 0 and at most 1 minute (60 s)"),
    ("prodguard_profile_seconds", "0", "above 0 and at most 1 minute (60 s)"),
    ("prodguard_profile_top", "101", "a whole number of frames from 1 to 100"),
    ("prodguard_profile_top", "0", "a whole number of frames from 1 to 100"),
    ("prodguard_profile_top", "1e3", "a whole number of frames from 1 to 100"),
    ("prodguard_profile_top", "9" * 400, "a whole number of frames from 1 to 100"),
    ("prodguard_latency_scale", "1e400", "from 0.001 to 1000"),
    ("prodguard_latency_scale", "-inf", "from 0.001 to 1000"),
    ("prodguard_latency_scale", "0.0000001", "from 0.001 to 1000"),
    ("prodguard_baseline_compare", "1e400", "below 1000%"),
    ("prodguard_baseline_compare", "nan%", "below 1000%"),
]


class TestOptions:
    @pytest.mark.parametrize(("key", "value", "accepted"), BAD_OPTIONS)
    def test_cli_value_out_of_range_names_flag_value_and_range(self, key, value, accepted):
        error = refused(resolve, {key: value}, {})
        assert error.value == value
        assert error.source == "from --" + key.replace("_", "-")
        assert accepted in error.accepted

    @pytest.mark.parametrize(("key", "value", "accepted"), BAD_OPTIONS[:6])
    def test_ini_value_out_of_range_names_the_ini_key(self, key, value, accepted):
        error = refused(resolve, {}, {key: value})
        assert error.source == f"from ini key {key}"
        assert accepted in error.accepted

    @pytest.mark.parametrize(
        ("options", "field"),
        [({"seconds": "1e9"}, "seconds"), ({"seconds": 61}, "seconds"), ({"top": 101}, "top")],
    )
    def test_profile_options_share_the_ranges(self, options, field):
        assert refused(check_profile_options, **options).field == field


class TestEndToEnd:
    @pytest.mark.parametrize(
        ("marker", "needle"),
        [
            ('latency_budget(peak_memory="1e400MB")', "peak_memory='1e400MB'"),
            ('latency_budget(p95="1e400ms")', "p95='1e400ms'"),
            ('latency_budget(p95="20ms", max_time="1e400s")', "max_time='1e400s'"),
            ('incident_repro("INC-2025-001", repro_rate=1e-9)', "repro_rate=1e-09"),
            ('incident_repro("INC-2025-001", runs=10**7)', "runs=10000000"),
        ],
    )
    def test_marker_values_are_setup_errors_not_hangs(self, project, marker, needle):
        project.makepyfile(
            f"""
            import pytest

            @pytest.mark.{marker}
            def test_guarded(latency):
                latency(lambda: None)
            """
        )
        result = project.runpytest()
        result.assert_outcomes(errors=1)
        assert_usage_error(result, "test_guarded", needle)

    @pytest.mark.parametrize(
        ("flag", "needle"),
        [
            ("--prodguard-profile-seconds=1e9", "at most 1 minute (60 s)"),
            ("--prodguard-profile-top=101", "from 1 to 100"),
        ],
    )
    def test_option_values_stop_the_run_with_a_usage_error(self, project, flag, needle):
        project.makepyfile("def test_one():\n    pass\n")
        result = project.runpytest(flag)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert_usage_error(result, flag.split("=")[1], needle)


class TestDocumentedRanges:
    @pytest.mark.parametrize(
        "limit",
        [
            limits.RUNS,
            limits.OPEN_UNIT,
            limits.DURATION,
            limits.MAX_TIME,
            limits.WARMUP,
            limits.MEMORY,
            limits.LATENCY_SCALE,
            limits.PROFILE_SECONDS,
            limits.PROFILE_TOP,
        ],
        ids=lambda limit: limit.accepted[:30],
    )
    def test_every_range_is_in_the_limits_page_as_the_error_says_it(self, limit):
        page = (Path(__file__).parents[2] / "docs" / "limits.md").read_text(encoding="utf-8")
        assert f"| {limit.accepted} |" in page


HUGE = 10**400


class TestAbLibraryNumbers:
    @pytest.mark.parametrize(
        ("call", "field"),
        [
            (lambda: ab.required_sample_size(HUGE, 0.1), "baseline"),
            (lambda: ab.required_sample_size(0.1, HUGE), "mde"),
            (lambda: ab.mean_sample_size(HUGE, 1.0), "std"),
            (lambda: ab.rate_power(0.1, 0.1, HUGE), "n"),
            (lambda: ab.mean_power(1.0, 0.5, HUGE), "n"),
            (lambda: ab.Proportion(HUGE, HUGE), "trials"),
        ],
        ids=["baseline", "mde", "std", "rate-n", "mean-n", "proportion"],
    )
    def test_integers_beyond_the_float_range_are_usage_errors(self, call, field):
        error = refused(call)
        assert error.field == field
        assert "finite" in error.accepted or "below 1e308" in error.accepted

    @pytest.mark.parametrize(
        "call",
        [
            lambda: ab.required_sample_size(1e-300, 1e-300),
            lambda: ab.required_sample_size(0.5, 1e-300),
            lambda: ab.required_sample_size_mean(1.0, 1e-300),
            lambda: ab.required_sample_size_mean(1e308, 1.0),
        ],
        ids=["tiny-rate-tiny-mde", "tiny-mde", "mean-tiny-mde", "mean-huge-std"],
    )
    def test_a_sample_size_no_float_can_hold_names_the_effect(self, call):
        error = refused(call)
        assert error.field == "mde"
        assert error.accepted.startswith("an effect large enough to need a finite sample size")

    def test_an_enormous_sample_detects_the_smallest_step(self):
        assert 0 < ab.rate_mde(0.5, 1e308) < 1e-9
