"""Verdict shape: headlines, the details section, statuses and JSON, on hand-made samples."""

from __future__ import annotations

import json
import math
import re

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.latency import (
    Baseline,
    BaselineRun,
    Measurement,
    compare_to_baseline,
    judge,
    judge_samples,
    measurement_from_samples,
    parse_latency_spec,
)
from pytest_prodguard.latency.checks import replay_statistic


def spread(center: float, count: int, width: float = 0.1) -> list[float]:
    """``count`` deterministic samples evenly spread over center * (1 +- width)."""
    return [center * (1 - width + 2 * width * i / (count - 1)) for i in range(count)]


def test_fail_headline_has_the_issue_shape() -> None:
    spec = parse_latency_spec({"p95": "20ms"})
    verdict = judge_samples(spread(0.031, 412, 0.05), spec, nodeid="tests/test_api.py::test_get")
    assert verdict.status == "fail"
    assert re.fullmatch(
        r"latency budget exceeded: p95 = 32\.\d ms \(95% CI 3\d\.\d ms–3\d\.\d ms\) "
        r"> budget 20 ms \[n=412\]",
        verdict.headline,
    ), verdict.headline


def test_pass_headline() -> None:
    spec = parse_latency_spec({"p95": "20ms"})
    verdict = judge_samples(spread(0.010, 200), spec)
    assert verdict.status == "pass"
    assert verdict.headline.startswith("latency budget met: p95 = 10.9 ms (95% CI ")
    assert "<= budget 20 ms [n=200]" in verdict.headline


def test_undecided_headline_and_policy() -> None:
    spec = parse_latency_spec({"p95": "20ms"})
    samples = spread(0.016, 50, 0.2)  # p95 ~ 19 ms; 50 samples cannot bound a p95 from above
    assert judge_samples(samples, spec).status == "inconclusive"
    verdict = judge_samples(samples, spec, inconclusive="fail")
    assert verdict.status == "fail"
    assert verdict.headline.startswith("latency budget undecided (counted as a failure): p95 = ")
    assert "vs budget 20 ms [n=50]" in verdict.headline


def test_undecided_headline_says_how_many_samples_a_pass_needs() -> None:
    spec = parse_latency_spec({"p95": "20ms"})
    verdict = judge_samples(spread(0.016, 50, 0.2), spec)
    assert verdict.headline.endswith(
        "[n=50]; a p95 pass at 95% confidence needs at least 72 samples, "
        "this look had 50: take more samples"
    ), verdict.headline
    assert "needs at least 72 samples" in verdict.details


def test_pass_size_note_suggests_a_max_time_from_the_measured_speed() -> None:
    # 66 rounds of 30 ms in 2 s, the last look of a p95 budget: a pass needs 72 samples,
    # 72 x 30.3 ms = 2.18 s, and a fifth more is 2.62 s, shown rounded up as 2.7 s.
    samples = [0.0300 + 0.0001 * (i % 7) for i in range(66)]
    check = replay_statistic(
        "p95", 0.05, "fail", samples, (10, 20, 40, 66), (10, 20, 40, 86), 0.95, (0.3, 0.6, 1.2, 2.0)
    )
    assert check.status == "inconclusive"
    assert check.note == (
        "a p95 pass at 95% confidence needs at least 72 samples, this look had 66 in 2 s: "
        "raise max_time to about 2.7 s (or lower confidence)"
    )


def test_pass_size_note_follows_the_confidence_and_the_quantile() -> None:
    samples = [0.001] * 300
    p99 = replay_statistic("p99", 0.01, "fail", samples, (), (), 0.95)
    assert "a p99 pass at 95% confidence needs at least 368 samples, this look had 300" in p99.note
    p95 = replay_statistic("p95", 0.01, "fail", samples[:50], (), (), 0.90)
    assert "a p95 pass at 90% confidence needs at least 59 samples" in p95.note


def test_no_pass_size_note_when_the_interval_straddles_the_budget() -> None:
    # 400 samples bound the p95 from above; the budget sits inside the interval.
    samples = spread(0.010, 400, 0.5)
    check = replay_statistic("p95", 0.0146, "fail", samples, (), (), 0.95)
    assert check.status == "inconclusive"
    assert check.high < float("inf")
    assert check.note == ""


def test_warn_headline_names_both_tiers() -> None:
    spec = parse_latency_spec({"p95": "20ms", "warn_p95": "5ms"})
    verdict = judge_samples(spread(0.010, 200), spec)
    assert verdict.status == "warn"
    assert verdict.headline.startswith("latency budget warn tier exceeded: p95 = ")
    assert "> warn 5 ms (budget 20 ms) [n=200]" in verdict.headline


def test_max_budget_is_judged_on_observed_samples() -> None:
    spec = parse_latency_spec({"max": "10ms"})
    samples = [0.005] * 30 + [0.012] + [0.005] * 30
    verdict = judge_samples(samples, spec)
    assert verdict.status == "fail"
    assert verdict.headline == "latency budget exceeded: max = 12 ms > budget 10 ms [n=31]"
    ok = judge_samples([0.005] * 30, spec)
    assert ok.status == "pass"
    assert "a maximum has no confidence bound" in ok.details


def test_mean_budget() -> None:
    spec = parse_latency_spec({"mean": "5ms"})
    verdict = judge_samples(spread(0.010, 100), spec)
    assert verdict.status == "fail"
    assert verdict.headline.startswith("latency budget exceeded: mean = 10 ms (95% CI ")


def test_first_failed_budget_heads_and_every_budget_is_listed() -> None:
    spec = parse_latency_spec({"p50": "5ms", "p99": "50ms", "warn_p99": "30ms"})
    verdict = judge_samples(spread(0.010, 400), spec)
    assert verdict.headline.startswith("latency budget exceeded: p50 = ")
    lines = verdict.details.splitlines()
    assert lines[0] == "latency verdict: fail (p50 <= 5 ms, p99 <= 50 ms (warn 30 ms))"
    assert any(line.strip().startswith("p50") and "FAIL at n=400" in line for line in lines)
    assert any(
        line.strip().startswith("p99") and " fail " in line and "PASS" in line for line in lines
    )
    assert any(line.strip().startswith("p99") and " warn " in line for line in lines)
    for name in ("p50", "p90", "p95", "p99", "mean", "max"):
        assert re.search(rf"^    {name} ", verdict.details, re.MULTILINE), name
    assert "reproduce: re-run this test with pytest" in verdict.details


def test_details_name_sampling_facts() -> None:
    samples = tuple(spread(0.002, 40))
    measurement = Measurement(
        samples=samples,
        wall_samples=tuple(s * 1.5 for s in samples),
        batch=1,
        elapsed=0.1,
        warmup_calls=5,
        warmup_seconds=0.01,
        planned_looks=(10, 20, 40),
        looks=(10, 20, 40),
        look_times=(0.02, 0.05, 0.1),
        stop_reason="decided",
        reference_every=2,
        reference_index=tuple(range(1, 40, 2)),
        reference_python=(3e-5,) * 20,
        reference_native=(2e-5,) * 20,
        cpu_wait_available=True,
        cpu_wait_seconds=0.04,
        cpu_wait_rounds=3,
        gc_collections=(4, 1, 0),
        peak_memory=1_500_000,
        memory_calls=3,
        environment_start={
            "cpu_model": "Test CPU",
            "logical_cores": 2,
            "python": "CPython 3.11",
            "platform": "Linux-x86_64",
            "load_average": [0.5, 0.4, 0.3],
        },
        environment_end={
            "load_average": [1.5, 0.6, 0.3],
            "busy_processes": [{"pid": 42, "name": "hog", "cpu_percent": 99}],
        },
    )
    spec = parse_latency_spec({"p50": "10ms", "peak_memory": "64MB"})
    verdict = judge(measurement, spec, nodeid="tests/test_a.py::test_b[x y]")
    details = verdict.details
    assert (
        "samples: 40 rounds x 1 call(s) in 0.1 s (stopped: decided; looks at 10, 20, 40)" in details
    )
    assert "warm-up 5 call(s)" in details
    assert "CPU wait removed: 0.04 s over 3 round(s)" in details
    assert "GC during sampling (collector enabled): 4 gen0, 1 gen1, 0 gen2 collections" in details
    assert "reference workload: python 30 us, native 20 us (medians of 20 rounds" in details
    assert "memory: peak 1.5 MB above the start of the call (max of 3 traced calls)" in details
    assert "load average 0.50 at start, 1.50 at end" in details
    assert "other busy processes during the measurement: hog (pid 42, 99% CPU)" in details
    assert "reproduce: python -m pytest 'tests/test_a.py::test_b[x y]'" in details
    assert verdict.status == "pass"
    assert verdict.checks[0].n == 10  # decided at the first look
    assert verdict.checks[0].elapsed == 0.02


def test_comparison_joins_the_verdict() -> None:
    measurement = Measurement(
        samples=tuple(spread(0.002, 40, 0.02)),
        wall_samples=tuple(spread(0.002, 40, 0.02)),
        batch=1,
        elapsed=0.08,
        reference_index=tuple(range(40)),
        reference_python=(1e-4,) * 40,
        reference_native=(1e-4,) * 40,
    )
    slower = BaselineRun(
        "2025-01-01T00:00:00+00:00", {}, "ratio", 2.0, 0.001, 40, 40, 1
    )  # log(0.002/1e-4)=3.0
    baseline = Baseline("t::x", (slower,) * 4)
    comparison = compare_to_baseline(measurement, baseline, tolerance=0.1)
    assert comparison.status == "regressed"
    assert comparison.ratio == pytest.approx(2.707, rel=0.01)
    spec = parse_latency_spec({"p95": "1s"})
    verdict = judge(measurement, spec, comparison=comparison)
    assert verdict.status == "fail"
    assert verdict.headline.startswith("latency regression: 2.71x the baseline (95% CI ")
    assert "> tolerance +10% [n=40, 4 baseline run(s), same machine]" in verdict.headline
    assert "baseline comparison: regressed (same machine)" in verdict.details
    data = json.loads(json.dumps(verdict.to_dict()))
    assert data["comparison"]["status"] == "regressed"


def test_improvement_is_flagged_and_passes() -> None:
    measurement = measurement_from_samples(spread(0.001, 60, 0.02))
    faster = BaselineRun(
        "2025-01-01T00:00:00+00:00", {}, "raw", -5.0, 0.001, 60, 0, 1
    )  # e^-5 = 6.7 ms
    comparison = compare_to_baseline(measurement, Baseline("t::x", (faster,) * 3), tolerance=0.1)
    assert comparison.status == "improved"
    assert "save a new baseline to tighten it" in comparison.headline
    verdict = judge(measurement, parse_latency_spec({"p50": "1s"}), comparison=comparison)
    assert verdict.status == "pass"


@pytest.mark.parametrize("policy", ["ignore", "", "FAIL"])
def test_unknown_inconclusive_policy(policy: str) -> None:
    with pytest.raises(
        ProdguardUsageError, match=r"prodguard_latency_inconclusive=.*'warn'.*'fail'"
    ):
        judge_samples([0.001] * 10, parse_latency_spec({"p50": "1ms"}), inconclusive=policy)


@pytest.mark.parametrize("bad", [[], [0.001, -1.0], [float("nan")]])
def test_bad_external_samples(bad: list[float]) -> None:
    with pytest.raises(ProdguardUsageError, match=r"samples="):
        judge_samples(bad, parse_latency_spec({"p50": "1ms"}))


def test_memory_budget_without_memory_measurement_is_undecided() -> None:
    verdict = judge_samples([0.001] * 20, parse_latency_spec({"p50": "1s", "peak_memory": "1MB"}))
    assert verdict.status == "inconclusive"
    assert "peak memory was not measured" in verdict.details


@pytest.mark.parametrize(
    ("low", "high", "text"),
    [
        (0.0298, 0.033, "29.8 ms–33 ms"),
        (-math.inf, 0.033, "≤ 33 ms"),
        (0.0298, math.inf, "≥ 29.8 ms"),
    ],
)
def test_a_one_sided_interval_reads_as_a_bound_not_infinity(low, high, text):
    from pytest_prodguard.latency.checks import Check

    check = Check(
        name="p95",
        tier="fail",
        budget=0.05,
        status="pass",
        estimate=0.031,
        low=low,
        high=high,
        n=100,
    )
    assert check.interval_text() == text
