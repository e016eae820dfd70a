"""parse_latency_spec: spellings, scaling, warn tiers, and a clear error for every bad input."""

from __future__ import annotations

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.latency import LatencySpec, parse_latency_spec


class TestAcceptedArguments:
    def test_durations_as_strings_and_seconds(self) -> None:
        spec = parse_latency_spec({"p50": "150us", "p95": "20ms", "p99": 0.05, "max": "1.5s"})
        assert spec.budgets == {"p50": 150e-6, "p95": 0.020, "p99": 0.05, "max": 1.5}

    def test_defaults(self) -> None:
        spec = parse_latency_spec({"p95": "20ms"})
        assert spec.max_time == 2.0
        assert spec.warmup is None
        assert spec.confidence == 0.95
        assert spec.include_cpu_wait is False
        assert spec.peak_memory is None
        assert dict(spec.warn_budgets) == {}

    def test_memory_budget_alone_is_a_budget(self) -> None:
        spec = parse_latency_spec({"peak_memory": "64MB"})
        assert spec.peak_memory == 64_000_000
        assert spec.has_memory_budget
        assert not spec.has_duration_budget

    def test_scale_multiplies_every_duration_budget_but_not_memory_or_max_time(self) -> None:
        spec = parse_latency_spec(
            {"p95": "20ms", "warn_p95": "10ms", "peak_memory": "1MB", "max_time": "1s"}, scale=1.5
        )
        assert spec.budgets["p95"] == pytest.approx(0.030)
        assert spec.warn_budgets["p95"] == pytest.approx(0.015)
        assert spec.peak_memory == 1_000_000
        assert spec.max_time == 1.0

    def test_warn_ratio_fills_missing_warn_tiers_only(self) -> None:
        spec = parse_latency_spec(
            {
                "p50": "10ms",
                "p95": "20ms",
                "warn_p95": "12ms",
                "peak_memory": "10MB",
                "warn_ratio": 0.8,
            }
        )
        assert spec.warn_budgets["p50"] == pytest.approx(0.008)
        assert spec.warn_budgets["p95"] == pytest.approx(0.012)
        assert spec.warn_peak_memory == 8_000_000

    def test_warn_tier_alone_is_a_budget(self) -> None:
        spec = parse_latency_spec({"warn_p95": "20ms"})
        assert dict(spec.budgets) == {}
        assert spec.warn_budgets["p95"] == 0.020

    def test_other_options(self) -> None:
        spec = parse_latency_spec(
            {
                "mean": "5ms",
                "max_time": "500ms",
                "warmup": 0,
                "confidence": 0.99,
                "include_cpu_wait": True,
            }
        )
        assert (spec.max_time, spec.warmup, spec.confidence, spec.include_cpu_wait) == (
            0.5,
            0,
            0.99,
            True,
        )

    def test_equal_percentile_budgets_are_consistent(self) -> None:
        spec = parse_latency_spec({"p50": "20ms", "p99": "20ms", "max": "20ms"})
        assert set(spec.budgets) == {"p50", "p99", "max"}

    def test_to_dict_and_describe(self) -> None:
        spec = parse_latency_spec({"p95": "20ms", "warn_p95": "15ms", "peak_memory": "64MB"})
        assert spec.to_dict()["budgets"] == {"p95": 0.020}
        assert spec.describe() == "p95 <= 20 ms (warn 15 ms), peak_memory <= 64 MB"
        assert isinstance(spec, LatencySpec)


class TestBadInput:
    def test_unknown_keyword_names_it_and_suggests(self) -> None:
        with pytest.raises(
            ProdguardUsageError,
            match=r"p96='20ms'.*unknown latency_budget argument \(did you mean 'p99'\?\)",
        ):
            parse_latency_spec({"p96": "20ms"})

    def test_no_budget(self) -> None:
        with pytest.raises(
            ProdguardUsageError, match=r"latency_budget=\{'max_time'.*at least one budget"
        ):
            parse_latency_spec({"max_time": "1s"})

    def test_empty_marker(self) -> None:
        with pytest.raises(ProdguardUsageError, match="at least one budget"):
            parse_latency_spec({})

    @pytest.mark.parametrize("value", [-1, 0, "0ms", "-5ms", 0.0])
    def test_zero_or_negative_budget(self, value: object) -> None:
        with pytest.raises(ProdguardUsageError, match=r"p95=.*positive number of seconds"):
            parse_latency_spec({"p95": value})

    @pytest.mark.parametrize("value", ["20 mss", "fast", "", "20 parsecs", None, [20]])
    def test_unparseable_duration(self, value: object) -> None:
        with pytest.raises(ProdguardUsageError, match=r"p95=.*'150us', '20ms', '1.5s'"):
            parse_latency_spec({"p95": value})

    def test_unparseable_memory(self) -> None:
        with pytest.raises(ProdguardUsageError, match=r"peak_memory='64 MBs'.*'64MB'"):
            parse_latency_spec({"peak_memory": "64 MBs"})

    def test_contradicting_percentiles(self) -> None:
        with pytest.raises(ProdguardUsageError, match=r"p50='30 ms'.*no larger than p99=20 ms"):
            parse_latency_spec({"p50": "30ms", "p99": "20ms"})

    def test_contradicting_percentile_and_max(self) -> None:
        with pytest.raises(ProdguardUsageError, match=r"p99='50 ms'.*no larger than max=40 ms"):
            parse_latency_spec({"p99": "50ms", "max": "40ms"})

    def test_contradicting_warn_tiers(self) -> None:
        with pytest.raises(ProdguardUsageError, match=r"warn_p90='30 ms'.*warn_p95=20 ms"):
            parse_latency_spec({"warn_p90": "30ms", "warn_p95": "20ms"})

    def test_warn_tier_above_fail_budget(self) -> None:
        with pytest.raises(
            ProdguardUsageError, match=r"warn_p95='25 ms'.*at or below the fail budget p95=20 ms"
        ):
            parse_latency_spec({"p95": "20ms", "warn_p95": "25ms"})

    def test_warn_memory_above_fail_memory(self) -> None:
        with pytest.raises(
            ProdguardUsageError, match=r"warn_peak_memory='80 MB'.*peak_memory=64 MB"
        ):
            parse_latency_spec({"peak_memory": "64MB", "warn_peak_memory": "80MB"})

    @pytest.mark.parametrize("value", [0, 1, 1.5, -0.2, "80%", True])
    def test_bad_warn_ratio(self, value: object) -> None:
        with pytest.raises(ProdguardUsageError, match=r"warn_ratio=.*fraction between 0 and 1"):
            parse_latency_spec({"p95": "20ms", "warn_ratio": value})

    @pytest.mark.parametrize("value", [-1, 2.5, "5", True])
    def test_bad_warmup(self, value: object) -> None:
        with pytest.raises(ProdguardUsageError, match=r"warmup=.*whole number of calls"):
            parse_latency_spec({"p95": "20ms", "warmup": value})

    @pytest.mark.parametrize("value", [0.3, 1.0, 95, "0.95", False])
    def test_bad_confidence(self, value: object) -> None:
        with pytest.raises(ProdguardUsageError, match=r"confidence=.*between 0.5 and 0.9999"):
            parse_latency_spec({"p95": "20ms", "confidence": value})

    @pytest.mark.parametrize("value", ["0s", "soon", -2])
    def test_bad_max_time(self, value: object) -> None:
        with pytest.raises(ProdguardUsageError, match=r"max_time="):
            parse_latency_spec({"p95": "20ms", "max_time": value})

    def test_bad_include_cpu_wait(self) -> None:
        with pytest.raises(ProdguardUsageError, match=r"include_cpu_wait='yes'.*True or False"):
            parse_latency_spec({"p95": "20ms", "include_cpu_wait": "yes"})

    @pytest.mark.parametrize("scale", [0, -1.5, float("inf"), "1.5", True])
    def test_bad_scale(self, scale: object) -> None:
        with pytest.raises(
            ProdguardUsageError, match=r"prodguard_latency_scale=.*positive finite number"
        ):
            parse_latency_spec({"p95": "20ms"}, scale=scale)  # type: ignore[arg-type]
