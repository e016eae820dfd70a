"""The look judge: each budget and the comparison judged once, the verdict unchanged.

Every scenario samples a seeded synthetic source with a fake clock, then builds
the verdict twice: from the sampler's decisions (nothing evaluated again) and
by replaying the looks (as judging without decisions does). The two must be
equal field for field. A counting spy then shows that a whole gate measurement
and judgement evaluates each budget at each look, and the comparison at each
look, at most once, and prepares the comparison's setup once.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest

from pytest_prodguard.latency import (
    Baseline,
    compare_to_baseline,
    judge,
    parse_latency_spec,
    sample,
    save_baseline,
)
from pytest_prodguard.latency import checks as checks_module
from pytest_prodguard.latency import compare as compare_module
from pytest_prodguard.latency import sampler as sampler_module
from pytest_prodguard.latency.baseline import RATIO, run_from_measurement
from pytest_prodguard.latency.compare import ComparisonVerdict, prepare_comparison
from pytest_prodguard.latency.decisions import Decisions
from pytest_prodguard.latency.gate import TestGate
from pytest_prodguard.latency.measurement import Measurement
from pytest_prodguard.latency.sampler import sample_with_decisions
from pytest_prodguard.latency.simulation import SyntheticSource, bursts, lognormal
from pytest_prodguard.latency.spec import LatencySpec
from pytest_prodguard.latency.verdict import LatencyVerdict
from pytest_prodguard.settings import build_settings

CALL = 1e-3
TOLERANCE = 0.1
SEEDS = range(5)


@dataclass(frozen=True)
class Scenario:
    """One way of sampling: the budgets, the source's shape and the sampler's options."""

    budgets: dict[str, object]
    slowdown: float = 1.0
    sigma: float = 0.3
    machine: Callable[[float], float] | None = None
    compare: bool = False
    options: tuple[tuple[str, Any], ...] = ()
    reference_median: float = 30e-6
    machine_name: str = ""  # another machine's fingerprint than the baseline's (cross-machine)


SCENARIOS = {
    "pass": Scenario({"p95": "3ms", "mean": "2ms", "warn_p95": "2.5ms", "max_time": "1s"}),
    "fail": Scenario({"p95": "0.8ms", "p50": "0.5ms", "max_time": "1s"}),
    "every statistic": Scenario(
        {
            "p50": "1ms",
            "p90": "1.5ms",
            "p95": "1.6ms",
            "p99": "2.1ms",
            "max": "3ms",
            "mean": "1.05ms",
            "warn_p50": "0.9ms",
            "warn_mean": "1ms",
            "max_time": "1s",
        }
    ),
    "warn tier exceeded": Scenario({"p95": "5ms", "warn_p95": "1.2ms", "max_time": "1s"}),
    "undecided at max_time": Scenario(
        {"p95": "1.64ms", "warn_p90": "1.47ms", "max_time": "0.6s"},
        machine=bursts(0.05, 0.02, 3.0),
    ),
    "recording only (max and warn tier)": Scenario({"max": "4ms", "warn_p95": "1.5ms"}),
    "normalized within the run": Scenario(
        {"p95": "1.7ms", "p99": "3ms", "max_time": "1s"},
        machine=bursts(0.1, 0.03, 2.5),
        options=(("normalize_within_run", True),),
    ),
    "normalized to a baseline's speed": Scenario(
        {"p90": "1.5ms", "mean": "1.1ms", "max_time": "1s"},
        machine=lambda t: 1.3,
        options=(("nominal_reference", 30e-6),),
    ),
    "comparison regressed": Scenario({}, slowdown=1.6, compare=True),
    "comparison unchanged": Scenario({"p95": "3ms", "max_time": "1s"}, compare=True),
    "comparison undecided": Scenario(
        {"max_time": "0.4s", "p99": "2.3ms"}, slowdown=1.12, sigma=0.5, compare=True
    ),
    "comparison across machines": Scenario(
        {"p95": "3ms", "max_time": "1s"}, slowdown=1.3, compare=True, machine_name="other"
    ),
    "fewer than 3 pairs": Scenario(
        {"p95": "1.7ms", "max_time": "0.05s"}, compare=True, reference_median=3e-3
    ),
}


def source(scenario: Scenario, seed: int, slowdown: float = 1.0) -> SyntheticSource:
    return SyntheticSource(
        lognormal(CALL * slowdown, scenario.sigma),
        seed=seed,
        machine=scenario.machine,
        reference_median=scenario.reference_median,
    )


def baseline_of(scenario: Scenario, seed: int) -> Baseline:
    """Five saved runs of the unchanged code, each a process of its own speed."""
    rng = random.Random(seed)
    runs = []
    for index in range(5):
        process = SyntheticSource(
            lognormal(CALL, scenario.sigma),
            seed=seed * 1000 + index,
            process_speed=math.exp(0.05 * rng.gauss(0.0, 1.0)),
            reference_median=scenario.reference_median,
        )
        runs.append(run_from_measurement(sample(process, None)))
    return Baseline("tests/test_x.py::test_x", tuple(runs))


@dataclass(frozen=True)
class Sampled:
    spec: LatencySpec | None
    measurement: Measurement
    decisions: Decisions
    baseline: Baseline | None


def sampled(scenario: Scenario, seed: int) -> Sampled:
    spec = parse_latency_spec(scenario.budgets) if scenario.budgets else None
    options = dict(scenario.options)
    fingerprint = {"cpu_model": scenario.machine_name} if scenario.machine_name else {}
    baseline = None
    if scenario.compare:
        baseline = baseline_of(scenario, seed)
        options["setup"] = prepare_comparison(baseline, fingerprint, has_reference=True)
        options["tolerance"] = TOLERANCE
    measurement, decisions = sample_with_decisions(
        source(scenario, seed, scenario.slowdown), spec, **options
    )
    # The machine the sampler ran on, as measure() records it.
    measurement = replace(measurement, fingerprint=MappingProxyType(fingerprint))
    return Sampled(spec, measurement, decisions, baseline)


def comparable(verdict: LatencyVerdict | ComparisonVerdict | None) -> object:
    """Everything a verdict says, with NaN-free JSON forms (an undecided ratio is NaN)."""
    if verdict is None:
        return None
    if isinstance(verdict, ComparisonVerdict):
        return verdict.to_dict(), verdict.details, verdict.pairs, verdict.statistic
    return verdict.to_dict(), verdict.checks, comparable(verdict.comparison)


def verdicts(run: Sampled, decisions: Decisions | None) -> tuple[object, object]:
    comparison = None
    if run.baseline is not None:
        comparison = compare_to_baseline(
            run.measurement, run.baseline, tolerance=TOLERANCE, decisions=decisions
        )
    verdict = None
    if run.spec is not None:
        verdict = judge(run.measurement, run.spec, comparison=comparison, decisions=decisions)
    return comparable(verdict), comparable(comparison)


def all_runs() -> Iterator[tuple[str, Sampled]]:
    for name, scenario in SCENARIOS.items():
        for seed in SEEDS:
            yield name, sampled(scenario, seed)


@pytest.fixture(scope="module")
def runs() -> list[tuple[str, Sampled]]:
    return list(all_runs())


class TestTheVerdictFromDecisionsEqualsTheReplayedOne:
    def test_in_every_scenario(self, runs: list[tuple[str, Sampled]]) -> None:
        for name, run in runs:
            assert verdicts(run, run.decisions) == verdicts(run, None), name

    def test_the_scenarios_cover_every_outcome(self, runs: list[tuple[str, Sampled]]) -> None:
        # Equality above means something only if the scenarios reach each case.
        reasons = Counter(run.measurement.stop_reason for _, run in runs)
        assert {"decided", "max_time", "plan_end", "recorded"} <= set(reasons)
        statuses = Counter(
            (check.tier, check.status) for _, run in runs for check in run.decisions.checks
        )
        assert {("fail", "pass"), ("fail", "fail"), ("fail", "inconclusive")} <= set(statuses)
        assert {("warn", "fail"), ("warn", "pass"), ("warn", "inconclusive")} <= set(statuses)
        comparisons = Counter(
            run.decisions.comparison.state.status
            for _, run in runs
            if run.decisions.comparison is not None
        )
        assert {"regressed", "unchanged", "inconclusive"} <= set(comparisons)
        crossed = {
            run.decisions.comparison.setup.cross_machine
            for _, run in runs
            if run.decisions.comparison is not None
        }
        assert crossed == {True, False}
        normalized = {run.measurement.normalized_to for _, run in runs}
        assert {"saved runs", "this run", None} <= normalized
        statistics = {check.name for _, run in runs for check in run.decisions.checks}
        assert statistics == {"p50", "p90", "p95", "p99", "max", "mean"}

    def test_an_undecided_comparison_comes_from_the_final_look(
        self, runs: list[tuple[str, Sampled]]
    ) -> None:
        undecided = [
            run
            for name, run in runs
            if name == "comparison undecided"
            and run.decisions.comparison is not None
            and run.decisions.comparison.state.status == "inconclusive"
        ]
        assert undecided
        for run in undecided:
            assert run.decisions.comparison is not None
            assert run.decisions.comparison.rounds == run.measurement.looks[-1]

    def test_fewer_than_3_pairs_judge_the_raw_times_as_before(
        self, runs: list[tuple[str, Sampled]]
    ) -> None:
        for name, run in runs:
            if name != "fewer than 3 pairs":
                continue
            assert len(run.measurement.reference_index) < 3
            decision = run.decisions.comparison
            assert decision is not None
            assert decision.setup.kind == RATIO
            assert run.baseline is not None
            assert decision.state.pairs < 3
            # The recorded ratio decided nothing: the comparison is judged again, on raw times.
            assert run.decisions.comparison_for(run.measurement, run.baseline, TOLERANCE) is None
            verdict = compare_to_baseline(
                run.measurement, run.baseline, tolerance=TOLERANCE, decisions=run.decisions
            )
            assert verdict.statistic.startswith("median per-call time")


class TestDecisionsAreOnlyUsedWhereTheyApply:
    def test_another_spec_tolerance_baseline_or_measurement_is_replayed(
        self, runs: list[tuple[str, Sampled]]
    ) -> None:
        run = next(run for name, run in runs if name == "comparison unchanged")
        assert run.spec is not None
        assert run.baseline is not None
        decisions = run.decisions
        assert decisions.checks_for(run.measurement, run.spec) == decisions.checks
        other_spec = replace(run.spec, confidence=0.9)
        assert decisions.checks_for(run.measurement, other_spec) is None
        fewer = replace(run.measurement, samples=run.measurement.samples[:-1])
        assert decisions.checks_for(fewer, run.spec) is None
        assert decisions.comparison_for(run.measurement, run.baseline, 0.2) is None
        other = Baseline(run.baseline.nodeid, run.baseline.runs[1:])
        assert decisions.comparison_for(run.measurement, other, TOLERANCE) is None
        # A judgement under another spec is that spec's, not the decisions'.
        assert comparable(judge(run.measurement, other_spec, decisions=decisions)) == comparable(
            judge(run.measurement, other_spec)
        )

    def test_external_samples_have_no_decisions_and_judge_as_before(self) -> None:
        from pytest_prodguard.latency import judge_samples

        spec = parse_latency_spec({"p95": "2ms"})
        verdict = judge_samples([1e-3] * 200, spec)
        assert verdict.status == "pass"
        assert verdict.checks[0].n == 200


@dataclass
class Spy:
    """Counts the evaluations of each budget at each look, of the comparison, and setups."""

    budgets: Counter[tuple[str, float, int]]
    comparisons: Counter[tuple[int, float]]
    setups: int = 0

    def total(self) -> int:
        return sum(self.budgets.values()) + sum(self.comparisons.values())


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    counts = Spy(Counter(), Counter())
    evaluate_statistic = checks_module.evaluate_statistic
    evaluate_comparison = compare_module.evaluate_comparison
    prepare = compare_module.prepare_comparison

    def counted_statistic(statistic: str, ordered: Any, values: Any, *rest: Any) -> Any:
        budget = rest[0]
        counts.budgets[(statistic, budget, len(values))] += 1
        return evaluate_statistic(statistic, ordered, values, *rest)

    def counted_comparison(values: Any, *rest: Any, **options: Any) -> Any:
        counts.comparisons[(len(values), rest[2])] += 1
        return evaluate_comparison(values, *rest, **options)

    def counted_setup(*args: Any, **kwargs: Any) -> Any:
        counts.setups += 1
        return prepare(*args, **kwargs)

    monkeypatch.setattr(checks_module, "evaluate_statistic", counted_statistic)
    monkeypatch.setattr(compare_module, "evaluate_comparison", counted_comparison)
    monkeypatch.setattr(compare_module, "prepare_comparison", counted_setup)
    monkeypatch.setattr(sampler_module, "prepare_comparison", counted_setup)
    return counts


def _work() -> int:
    return sum(range(200))


def test_a_gate_measurement_evaluates_each_budget_and_the_comparison_once_a_look(
    tmp_path: Path, spy: Spy
) -> None:
    spec = parse_latency_spec(
        {"p50": "1s", "p95": "1s", "mean": "1s", "max": "1s", "warn_p99": "1ns", "max_time": "0.3s"}
    )
    settings = build_settings(tmp_path, {}, {})
    path = TestGate("t.py::test", spec, settings)._baseline_file("_work")
    for _ in range(3):
        measurement = sample(SyntheticSource(lognormal(1e-5, 0.1), seed=1), None)
        save_baseline(path, replace(measurement, fingerprint=_this_machine()), nodeid="t.py::test")
    spy.setups = 0
    compare = replace(settings, baseline_compare=0.5)
    gate = TestGate("t.py::test", spec, compare)
    gate.measure(_work, (), {})
    [call] = gate.calls
    assert call.decisions is not None
    assert call.verdict is not None
    assert call.comparison is not None
    assert call.comparison.baseline_runs == 3
    looks = len(call.measurement.looks)
    assert looks >= 1
    assert spy.setups == 1
    assert max(spy.budgets.values()) == 1
    assert max(spy.comparisons.values()) == 1
    # No budget is evaluated after the look that decided it; one never decided (the warn
    # tier at 1 ns, which cannot fail before 50 ms of sampling) is judged at every look.
    for check in call.verdict.checks:
        sizes = [
            size
            for name, budget, size in spy.budgets
            if (name, budget) == (check.name, check.budget)
        ]
        assert check.name == "max" or max(sizes) == check.n
    [warned] = [check for check in call.verdict.checks if check.tier == "warn"]
    assert warned.status == "fail" or warned.n == call.measurement.looks[-1]
    assert len(spy.comparisons) <= looks
    evaluated = spy.total()
    # Judging again with the decisions evaluates nothing; without them the looks are replayed.
    again = judge(
        call.measurement,
        spec,
        comparison=call.comparison,
        nodeid="t.py::test",
        decisions=call.decisions,
    )
    assert comparable(again) == comparable(call.verdict)
    assert spy.total() == evaluated
    replayed = judge(call.measurement, spec, comparison=call.comparison, nodeid="t.py::test")
    assert comparable(replayed) == comparable(call.verdict)
    assert spy.total() > evaluated


def _this_machine() -> Any:
    from types import MappingProxyType

    from pytest_prodguard.latency import machine_fingerprint

    return MappingProxyType(machine_fingerprint())


def test_judge_and_compare_with_decisions_evaluate_nothing(spy: Spy) -> None:
    run = sampled(SCENARIOS["comparison unchanged"], 7)
    assert run.spec is not None
    assert run.baseline is not None
    sampling = spy.total()
    assert sampling > 0
    comparison = compare_to_baseline(
        run.measurement, run.baseline, tolerance=TOLERANCE, decisions=run.decisions
    )
    judge(run.measurement, run.spec, comparison=comparison, decisions=run.decisions)
    assert spy.total() == sampling
    assert spy.setups == 0  # (the scenario prepared its setup itself, before sampling)
    compare_to_baseline(run.measurement, run.baseline, tolerance=TOLERANCE)
    assert spy.setups == 1
    assert spy.total() > sampling


def test_an_awaited_measurement_reaches_the_verdict_with_its_decisions(
    tmp_path: Path, spy: Spy
) -> None:
    import asyncio

    spec = parse_latency_spec({"p95": "1s", "warn_mean": "1s", "max_time": "0.2s"})
    gate = TestGate("t.py::test", spec, build_settings(tmp_path, {}, {}))

    async def call() -> int:
        return _work()

    asyncio.run(gate.measure_async(call, (), {}))
    [measured] = gate.calls
    assert measured.decisions is not None
    assert measured.verdict is not None
    assert measured.verdict.status == "pass"
    assert measured.verdict.checks == measured.decisions.checks
    assert max(spy.budgets.values()) == 1
