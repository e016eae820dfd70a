"""Budgets judged at the machine's typical speed, and the looks that let a budget pass early."""

from __future__ import annotations

import json
import math
from types import MappingProxyType

import pytest

from pytest_prodguard.latency import (
    Baseline,
    BaselineRun,
    judge,
    machine_fingerprint,
    measure,
    parse_latency_spec,
    sample,
)
from pytest_prodguard.latency import reference as reference_module
from pytest_prodguard.latency.baseline import nominal_reference
from pytest_prodguard.latency.checks import statistic_alphas
from pytest_prodguard.latency.measurement import Measurement, normalized_samples
from pytest_prodguard.latency.sequential import first_pass_look, plan_looks
from pytest_prodguard.latency.simulation import SyntheticSource, lognormal, lognormal_quantile
from pytest_prodguard.latency.timing import CallableSource

REF = 30e-6  # the synthetic source's reference component median


def test_reference_rounds_at_the_nominal_speed_leave_times_unchanged() -> None:
    samples = [1.0, 2.0, 3.0, 4.0]
    values = normalized_samples(samples, [1, 3], [REF, REF], [REF, REF], REF, 4)
    assert values == pytest.approx(samples)


def test_each_round_is_rescaled_by_the_median_of_nearby_reference_rounds() -> None:
    # Each round uses the median of the three references nearest to its group's own: one
    # slow or fast reference round among three is outvoted.
    three = normalized_samples(
        [1.0] * 6, [1, 3, 5], [REF, 2 * REF, 2 * REF], [REF, 2 * REF, 2 * REF], REF, 6
    )
    assert three == pytest.approx([0.5] * 6)
    outlier = normalized_samples(
        [1.0] * 8, [1, 3, 5, 7], [9 * REF, REF, REF, REF], [9 * REF, REF, REF, REF], REF, 8
    )
    assert outlier == pytest.approx([1.0] * 8)
    # with only two references, their median is the midpoint
    two = normalized_samples([1.0] * 4, [1, 3], [REF, 3 * REF], [REF, 3 * REF], REF, 4)
    assert two == pytest.approx([0.5] * 4)


def test_times_are_never_scaled_up_when_the_process_runs_faster_than_typical() -> None:
    # A baseline saved on a slow day must not make today's budget stricter than raw times.
    values = normalized_samples([1.0] * 4, [1, 3], [REF / 2] * 2, [REF / 2] * 2, REF, 4)
    assert values == pytest.approx([1.0] * 4)


def test_a_prefix_never_uses_reference_rounds_taken_after_it() -> None:
    # At a look of 2 rounds only reference 0 exists; the later (slow) one must not leak in.
    values = normalized_samples(
        [1.0, 1.0, 1.0, 1.0], [1, 3], [REF, 9 * REF], [REF, 9 * REF], REF, 2
    )
    assert values == pytest.approx([1.0, 1.0])


def test_rounds_after_the_last_reference_use_the_last_one() -> None:
    values = normalized_samples([1.0, 1.0, 1.0], [0], [2 * REF], [2 * REF], REF, 3)
    assert values == pytest.approx([0.5, 0.5, 0.5])


def test_without_reference_rounds_times_are_unchanged() -> None:
    assert normalized_samples([1.0, 2.0], [], [], [], REF, 2) == [1.0, 2.0]
    measurement = Measurement(samples=(1.0, 2.0), wall_samples=(1.0, 2.0), batch=1, elapsed=3.0)
    assert not measurement.normalized
    assert measurement.decision_samples() == [1.0, 2.0]
    assert measurement.speed_factor() is None


def run_with_medians(python: float, native: float, cpu: str = "") -> BaselineRun:
    fingerprint = dict(machine_fingerprint())
    if cpu:
        fingerprint["cpu_model"] = cpu
    return BaselineRun(
        "2026-01-01T00:00:00+00:00",
        MappingProxyType(fingerprint),
        "ratio",
        0.0,
        0.01,
        100,
        25,
        1,
        reference_medians=MappingProxyType({"python": python, "native": native}),
    )


def test_the_nominal_reference_is_the_median_over_same_machine_runs_only() -> None:
    baseline = Baseline(
        "t::x",
        (
            run_with_medians(1e-5, 4e-5),  # geometric mean 2e-5
            run_with_medians(3e-5, 3e-5),
            run_with_medians(4e-5, 4e-5),
            run_with_medians(1.0, 1.0, cpu="Imaginary CPU 9000"),  # another machine: ignored
        ),
    )
    nominal, runs = nominal_reference(baseline, machine_fingerprint())
    assert runs == 3
    assert nominal == pytest.approx(3e-5)


def test_no_nominal_reference_without_a_same_machine_run_with_reference_rounds() -> None:
    foreign = Baseline("t::x", (run_with_medians(1e-5, 1e-5, cpu="Imaginary CPU 9000"),))
    assert nominal_reference(foreign, machine_fingerprint()) == (None, 0)
    raw = Baseline("t::x", (run_with_medians(0.0, 0.0),))
    assert nominal_reference(raw, machine_fingerprint()) == (None, 0)


def slow_process(nominal: float | None, seed: int) -> str:
    """A process running 40% slow for target and reference alike, budget 1.3x the true p95."""
    spec = parse_latency_spec({"p95": 1.3 * lognormal_quantile(1e-3, 0.1, 0.95), "max_time": "2s"})
    source = SyntheticSource(lognormal(1e-3, 0.1), seed=seed, process_speed=1.4)
    measurement = sample(source, spec, nominal_reference=nominal)
    return judge(measurement, spec).status


def test_a_slow_process_fails_on_raw_times_and_passes_at_the_typical_speed() -> None:
    # 1.4x the true p95 is over a budget of 1.3x; at the typical speed it is 0.77 of the budget.
    assert [slow_process(None, seed) for seed in range(5)] == ["fail"] * 5
    assert [slow_process(REF, seed) for seed in range(5)] == ["pass"] * 5


def test_a_real_slowdown_of_the_code_alone_still_fails_when_normalized() -> None:
    spec = parse_latency_spec({"p95": lognormal_quantile(1e-3, 0.1, 0.95), "max_time": "2s"})
    statuses = []
    for seed in range(5):
        # the target is 1.5x slower, the reference (machine speed) is not
        source = SyntheticSource(lognormal(1e-3, 0.1), seed=seed, target_drift=1.5)
        statuses.append(judge(sample(source, spec, nominal_reference=REF), spec).status)
    assert statuses == ["fail"] * 5


def test_the_verdict_says_whether_times_were_normalized() -> None:
    spec = parse_latency_spec({"p95": "10ms", "max_time": "1s"})
    normalized = sample(SyntheticSource(lognormal(1e-3, 0.1), seed=1), spec, nominal_reference=REF)
    details = judge(normalized, spec).details
    assert "budgets judged at this machine's typical speed" in details
    assert "at the machine's typical speed" in details  # the estimates line
    record = normalized.to_dict()
    assert record["nominal_reference"] == REF
    assert record["normalized_quantiles"] is not None
    json.dumps(record)
    raw = sample(SyntheticSource(lognormal(1e-3, 0.1), seed=1), spec)
    assert "raw times judged, not normalized" in judge(raw, spec).details
    assert raw.to_dict()["normalized_quantiles"] is None


def test_measure_normalizes_with_a_same_machine_baseline_unless_switched_off() -> None:
    spec = parse_latency_spec({"p95": "1s", "max_time": "200ms"})
    baseline = Baseline("t::x", (run_with_medians(3e-5, 2e-5),))
    on = measure(sorted, (list(range(100)),), spec=spec, baseline=baseline)
    assert on.normalized
    assert on.nominal_runs == 1
    assert on.nominal_reference == pytest.approx(math.sqrt(3e-5 * 2e-5))
    off = measure(sorted, (list(range(100)),), spec=spec, baseline=baseline, normalize=False)
    assert not off.normalized
    assert off.normalization_note == "switched off"
    assert "raw times judged, not normalized (switched off)" in judge(off, spec).details
    none = measure(sorted, (list(range(100)),), spec=spec)
    assert none.normalization_note == ""
    assert none.normalized_to == "this run"
    assert none.nominal_reference is None
    assert "budgets judged at this run's typical speed" in judge(none, spec).details


def test_each_reference_component_is_timed_on_its_second_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(reference_module, "python_work", lambda: calls.append("python"))
    monkeypatch.setattr(reference_module, "native_work", lambda: calls.append("native"))
    source = CallableSource(lambda: None)
    try:
        source.reference()
    finally:
        source.close()
    # one untimed warming run of each component, then the timed ones
    assert calls == ["python", "native", "python", "native"]


def test_the_first_pass_look_is_where_an_upper_bound_first_exists() -> None:
    assert first_pass_look(0.95, 0.95) == 86  # 0.95**86 <= 0.0125 < 0.95**85
    assert 0.95**86 <= 0.0125 < 0.95**85
    assert first_pass_look(0.99, 0.95) == 437
    assert first_pass_look(0.5, 0.95) == 7


def test_looks_include_the_first_pass_look_and_double_from_it() -> None:
    assert plan_looks(1000, anchors=[86]) == (10, 20, 40, 86, 172, 344, 688, 1000)
    assert plan_looks(1000) == (10, 20, 40, 80, 160, 320, 640, 1000)
    # an anchor beyond the last look, or one close to a planned look, changes little
    assert plan_looks(95, anchors=[86]) == (10, 20, 40, 95)
    assert plan_looks(1000, anchors=[2000]) == plan_looks(1000)


def test_a_p95_budget_can_pass_at_its_first_pass_look() -> None:
    looks = plan_looks(1000, anchors=[first_pass_look(0.95, 0.95)])
    _, pass_alphas = statistic_alphas("p95", looks, 0.95)
    assert pass_alphas[looks.index(86)] == pytest.approx(0.0125)
    spec = parse_latency_spec({"p95": "10ms", "max_time": "10s"})
    measurement = sample(SyntheticSource(lognormal(1e-3, 0.1), seed=3), spec)
    check = judge(measurement, spec).checks[0]
    assert (check.status, check.n) == ("pass", 86)
