"""Canary verdicts: the issue's targets by seeded simulation, Kayenta's failure cases, reports."""

from __future__ import annotations

import json
import math
import pickle
from collections import Counter

import numpy as np
import pytest
from scipy import stats as scipy_stats

from pytest_prodguard import recorder
from pytest_prodguard.canary import (
    EXIT_CODES,
    CanaryError,
    assert_canary_healthy,
    canary_verdict,
)
from pytest_prodguard.canary.simulation import (
    ArmSpec,
    LatencyShape,
    first_intervals,
    simulated_rollout,
)

TAIL = 1e-4  # see test_canary_stats: margins from the binomial at this tail

TEN_METRICS = ArmSpec(
    error_rates={
        "errors": 0.01,
        "checkout_errors": 0.002,
        "login_errors": 0.0005,
        "payment_errors": 0.0,
    },
    latency={"latency": LatencyShape(0.05, 0.5), "db_latency": LatencyShape(0.01, 0.8)},
)  # 4 error rates + 2 latencies x 3 percentiles = 10 compared metrics


def _errors_arm(requests, errors, **extra):
    return {
        "metrics": [{"name": "errors", "type": "errors", "requests": requests, "errors": errors}],
        **extra,
    }


def _verdicts(rng, baseline, canary, runs, **options):
    kinds = Counter()
    for _ in range(runs):
        arms = simulated_rollout(rng, baseline, canary, **options)
        kinds[canary_verdict(*arms).verdict] += 1
    return kinds


def test_no_change_with_ten_metrics_rarely_flags_however_often_it_is_checked():
    rng = np.random.default_rng(20261206)
    runs = 100
    kinds = _verdicts(
        rng, TEN_METRICS, TEN_METRICS, runs, intervals=10, requests=600, histogram=True
    )
    assert kinds["rollback"] <= scipy_stats.binom.ppf(1 - TAIL, runs, 0.01)
    assert kinds["investigate"] <= scipy_stats.binom.ppf(1 - TAIL, runs, 0.05)
    assert set(kinds) <= {"healthy", "insufficient_data", "investigate", "rollback"}


def test_a_flag_raised_at_one_interval_stays_raised_at_every_later_one():
    # So evaluating after every interval flags exactly the rollouts the last evaluation flags.
    rng = np.random.default_rng(4)
    changed = ArmSpec({"errors": 0.02}, {})
    for _ in range(10):
        baseline, canary = simulated_rollout(
            rng, ArmSpec({"errors": 0.01}, {}), changed, intervals=8, requests=400
        )
        adjusted = [
            canary_verdict(first_intervals(baseline, k), first_intervals(canary, k))
            .metric("errors")
            .adjusted_p_value
            for k in range(1, 9)
        ]
        assert adjusted == sorted(adjusted, reverse=True)


@pytest.mark.parametrize(
    ("base_rate", "canary_rate", "requests"), [(0.01, 0.02, 600), (0.001, 0.002, 6000)]
)
def test_a_doubled_error_rate_is_caught_at_the_target_traffic(base_rate, canary_rate, requests):
    rng = np.random.default_rng(12)
    runs = 200
    kinds = _verdicts(
        rng,
        ArmSpec({"errors": base_rate}, {}),
        ArmSpec({"errors": canary_rate}, {}),
        runs,
        intervals=10,
        requests=requests,
    )
    caught = kinds["rollback"] + kinds["investigate"]
    # Measured 96-99% (benchmarks/RESULTS.md); fail only if clearly below the 95% target.
    assert caught >= scipy_stats.binom.ppf(TAIL, runs, 0.95)


def test_zero_baseline_errors_against_a_handful_is_not_healthy():
    baseline = _errors_arm([1000] * 5, [0] * 5)
    expected = {
        (0, 1, 0, 1, 0): "insufficient_data",  # 2 errors: could be chance
        (2, 1, 3, 2, 2): "investigate",  # 10: p = 0.5**10 at one look, 0.013 always valid
        (4, 3, 3, 4, 2): "rollback",
    }
    for handful, kind in expected.items():
        assert canary_verdict(baseline, _errors_arm([1000] * 5, list(handful))).verdict == kind


def test_kayenta_mostly_zero_error_counter_is_flagged():
    # Kayenta's Mann-Whitney sees 10 values that are mostly 0 in both arms and passes them.
    baseline = _errors_arm([1000] * 10, [0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    canary = _errors_arm([1000] * 10, [0, 3, 0, 0, 5, 0, 0, 4, 0, 3])
    verdict = canary_verdict(baseline, canary)
    assert verdict.verdict == "rollback"
    assert verdict.metric("errors").check.ratio == pytest.approx(15.0)


def test_kayenta_seven_values_of_100_against_ones_is_flagged():
    baseline = {"metrics": [{"name": "latency", "type": "latency", "samples": [1.0] * 50}]}
    canary = {"metrics": [{"name": "latency", "type": "latency", "samples": [100.0] * 7}]}
    # Distribution-free: all 7 canary values above the baseline median has chance 0.5**7; times
    # 2 (two sides of the test) and 2 (the first look's share of alpha) is p = 0.031.
    verdict = canary_verdict(baseline, canary, quantiles=[0.5])
    assert verdict.verdict == "investigate"
    assert verdict.metric("latency p50").check.p_value == pytest.approx(4 * 0.5**7)


def test_ten_metrics_unadjusted_would_flag_far_more_often_than_the_verdict():
    # Kayenta's rule judges each metric at its own 2% with no correction: about 1 - 0.98**10
    # = 18% of no-change runs have a flagged metric. The verdict's Holm adjustment holds 5%.
    rng = np.random.default_rng(99)
    runs, unadjusted, flagged = 80, 0, 0
    for _ in range(runs):
        arms = simulated_rollout(
            rng,
            TEN_METRICS,
            TEN_METRICS,
            intervals=1,
            requests=6000,
            latency_samples=2000,
            histogram=True,
        )
        verdict = canary_verdict(*arms)
        unadjusted += any(
            m.check.numbers.get("fixed_horizon_p_value", 1) < 0.02 for m in verdict.metrics
        )
        flagged += verdict.verdict in ("investigate", "rollback")
    assert flagged <= scipy_stats.binom.ppf(1 - TAIL, runs, 0.05)
    assert flagged <= unadjusted


@pytest.mark.parametrize("histogram", [False, True])
def test_p95_doubling_with_the_median_unchanged_is_caught(histogram):
    rng = np.random.default_rng(8)
    shape = LatencyShape(0.05, 0.5)
    baseline, canary = simulated_rollout(
        rng,
        ArmSpec({}, {"latency": shape}),
        ArmSpec({}, {"latency": shape.doubling_tail(0.95)}),
        intervals=5,
        requests=600,
        histogram=histogram,
    )
    verdict = canary_verdict(baseline, canary)
    assert verdict.verdict == "investigate"
    assert verdict.metric("latency p95").status == "investigate"
    assert verdict.metric("latency p50").status in ("ok", "insufficient")


def test_critical_latency_forces_rollback_and_non_critical_errors_only_investigate():
    rng = np.random.default_rng(8)
    shape = LatencyShape(0.05, 0.5)
    slower = ArmSpec({"errors": 0.02}, {"latency": shape.doubling_tail(0.95)})
    baseline, canary = simulated_rollout(
        rng, ArmSpec({"errors": 0.01}, {"latency": shape}), slower, intervals=5, requests=2000
    )
    verdict = canary_verdict(baseline, canary, critical=["latency"])
    assert verdict.metric("latency p95").status == "rollback"
    assert verdict.metric("errors").status == "investigate"
    assert verdict.verdict == "rollback"


def test_slo_flags_a_canary_as_bad_as_a_bad_baseline():
    baseline = _errors_arm([5000] * 4, [250] * 4)
    canary = _errors_arm([5000] * 4, [251, 249, 250, 252])
    verdict = canary_verdict(baseline, canary, slo={"errors": 0.01})
    assert verdict.metric("errors").status == "ok"
    assert verdict.metric("errors SLO").status == "rollback"
    assert verdict.verdict == "rollback"


def test_latency_slo_checks_the_canary_percentile():
    baseline = {
        "metrics": [
            {"name": "latency", "type": "latency", "samples": [0.1 + 0.001 * i for i in range(400)]}
        ]
    }
    verdict = canary_verdict(baseline, baseline, slo={"latency:p95": 0.2})
    assert verdict.metric("latency p95 SLO").status == "investigate"
    assert verdict.metric("latency p95").status == "ok"


def test_saturation_over_its_limit_and_throughput_under_it():
    def arm(cpu, rps):
        return {
            "metrics": [
                {"name": "cpu", "type": "saturation", "values": cpu, "limit": 0.8},
                {"name": "throughput", "type": "throughput", "values": rps, "limit": 40},
            ]
        }

    verdict = canary_verdict(arm([0.5, 0.6], [50, 52]), arm([0.85, 0.9], [51, 50]))
    assert verdict.metric("cpu").status == "investigate"
    assert verdict.metric("throughput").status == "ok"
    assert verdict.verdict == "investigate"
    verdict = canary_verdict(arm([0.5], [50]), arm([0.5], [30]), critical=["throughput"])
    assert verdict.metric("throughput").status == "rollback"


def test_rollback_lists_each_metric_and_the_evidence_to_keep():
    extra = {
        "window": {"start": "2026-12-06T05:00Z", "end": "2026-12-06T05:30Z"},
        "labels": {"deployment": "sentiment-canary"},
        "error_groups": {"TimeoutError /predict": 40, "KeyError 'text'": 2},
        "queries": ["kubectl logs deploy/sentiment-canary --since=30m"],
    }
    baseline = _errors_arm([3000] * 2, [30, 30], error_groups={"TimeoutError /predict": 3})
    canary = _errors_arm([3000] * 2, [60, 62], **extra)
    verdict = canary_verdict(baseline, canary)
    assert verdict.verdict == "rollback"
    assert verdict.exit_code == EXIT_CODES["rollback"] == 1
    text = str(verdict)
    assert "Canary verdict: ROLLBACK" in text
    assert "60/6,000 = 1.00%" in text
    assert "122/6,000 = 2.03%" in text
    assert "Holm over 1 tests" in text
    evidence = verdict.evidence
    assert evidence is not None
    assert evidence.window == ("2026-12-06T05:00Z", "2026-12-06T05:30Z")
    assert evidence.error_groups[0] == ("TimeoutError /predict", 40, 3)
    assert evidence.queries[0] == "kubectl logs deploy/sentiment-canary --since=30m"
    assert any('deployment="sentiment-canary"' in query for query in evidence.queries)
    assert "Evidence to keep before rolling back:" in text


def test_insufficient_data_says_how_many_more_requests_are_needed():
    verdict = canary_verdict(_errors_arm(500, 5), _errors_arm(500, 6))
    assert verdict.verdict == "insufficient_data"
    assert verdict.exit_code == 4
    shortfall = verdict.metric("errors").check.shortfall
    assert shortfall is not None
    assert "more requests" in shortfall
    assert shortfall in str(verdict)
    empty = canary_verdict(_errors_arm(500, 0), _errors_arm(500, 0))
    assert "no errors yet" in (empty.metric("errors").check.shortfall or "")


def test_enough_data_and_no_change_is_healthy():
    verdict = canary_verdict(
        _errors_arm([20000] * 3, [200] * 3), _errors_arm([20000] * 3, [198, 205, 190])
    )
    assert verdict.verdict == "healthy"
    assert verdict.exit_code == 0
    assert assert_canary_healthy(_errors_arm(60000, 600), _errors_arm(60000, 590)).healthy


def test_assert_canary_healthy_raises_with_the_readable_verdict():
    with pytest.raises(CanaryError, match="Canary verdict: ROLLBACK") as info:
        assert_canary_healthy(_errors_arm(6000, 60), _errors_arm(6000, 130))
    copy = pickle.loads(pickle.dumps(info.value))
    assert copy.verdict.verdict == "rollback"
    assert type(info.value).__module__ == "pytest_prodguard.canary"


def test_the_verdict_is_recorded_for_the_json_report():
    calls = []
    with recorder.recording_to(lambda kind, payload: calls.append((kind, payload))):
        canary_verdict(_errors_arm(6000, 60), _errors_arm(6000, 130), slo={"errors": 0.05})
    [(kind, payload)] = calls
    assert kind == "canary"
    assert payload["verdict"] == "rollback"
    assert [m["name"] for m in payload["metrics"]] == ["errors", "errors SLO"]
    assert payload["settings"]["correction"] == "holm"
    json.dumps(payload, allow_nan=False)


def test_an_arm_that_served_nothing_yet_is_insufficient_data_not_a_crash():
    verdict = canary_verdict(_errors_arm(0, 0), _errors_arm(10, 3))
    assert verdict.verdict == "insufficient_data"
    assert math.isnan(verdict.metric("errors").check.ratio)
    json.dumps(verdict.to_dict(), allow_nan=False)
