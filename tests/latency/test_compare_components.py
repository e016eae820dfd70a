"""The reference component a comparison divides by: choice, projection, details, simulation.

The reference has an interpreter component and a native one. Code tracks the
component that resembles it; when the other one drifts between processes on its
own, the combined ratio inherits that drift. The comparison then divides by the
component that moved least across the test's saved runs.
Simulation margins are 99.9% binomial quantiles, as in test_compare_simulation.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import replace
from types import MappingProxyType

import pytest
from scipy import stats as scipy_stats

from pytest_prodguard.latency import Baseline, compare_to_baseline, sample
from pytest_prodguard.latency.baseline import BaselineRun, run_from_measurement
from pytest_prodguard.latency.compare import (
    CHOOSE_FACTOR,
    MIN_RUNS_TO_CHOOSE,
    PRIOR_RUNS,
    SIGMA_SAME_MACHINE,
    ComponentChoice,
    choose_component,
    prepare_comparison,
    project_runs,
)
from pytest_prodguard.latency.measurement import (
    COMBINED,
    NATIVE,
    PYTHON,
    Measurement,
    paired_log_ratios,
    reference_round_times,
)
from pytest_prodguard.latency.simulation import SyntheticSource, lognormal

CALL = 2e-3


def saved_run(combined: float, python: float | None, native: float | None) -> BaselineRun:
    components = {}
    if python is not None:
        components[PYTHON] = python
    if native is not None:
        components[NATIVE] = native
    return BaselineRun(
        saved_at="2026-01-01T00:00:00+00:00",
        fingerprint={},
        kind="ratio",
        statistic=combined,
        statistic_se=0.0,
        n=100,
        pairs=100,
        batch=1,
        reference_medians={"python": 30e-6, "native": 30e-6},
        component_statistics=MappingProxyType(components),
    )


def runs_with_native_drift(count: int = 6) -> list[BaselineRun]:
    """Python ratio steady within 0.5%, native ratio 6% either side, combined half of that."""
    runs = []
    for i in range(count):
        python = 4.0 + 0.005 * (-1) ** i
        native = 4.0 + 0.06 * (-1) ** (i // 2)
        runs.append(saved_run(0.5 * (python + native), python, native))
    return runs


def pooled(values: list[float]) -> float:
    mean = sum(values) / len(values)
    squares = sum((value - mean) ** 2 for value in values)
    return math.sqrt(
        (PRIOR_RUNS * SIGMA_SAME_MACHINE**2 + squares) / (PRIOR_RUNS + len(values) - 1)
    )


class TestPairedRatios:
    def test_each_component_divides_alone_or_as_the_geometric_mean(self) -> None:
        samples, index, python, native = [2e-3, 4e-3], [0, 1], [20e-6, 20e-6], [80e-6, 80e-6]
        for component, reference in ((PYTHON, 20e-6), (NATIVE, 80e-6), (COMBINED, 40e-6)):
            ratios = paired_log_ratios(samples, index, python, native, 2, component)
            assert ratios == pytest.approx([math.log(2e-3 / reference), math.log(4e-3 / reference)])
            times = reference_round_times(index, python, native, 2, component)
            assert times == pytest.approx([reference, reference])

    def test_the_measurement_passes_the_component_on(self) -> None:
        measurement = Measurement(
            samples=(1e-3,) * 4,
            wall_samples=(1e-3,) * 4,
            batch=1,
            elapsed=4e-3,
            reference_index=(0, 1, 2, 3),
            reference_python=(10e-6,) * 4,
            reference_native=(40e-6,) * 4,
        )
        assert measurement.paired_log_ratios(component=PYTHON)[0] == pytest.approx(math.log(100))
        assert measurement.paired_log_ratios(2, NATIVE) == pytest.approx([math.log(25)] * 2)


class TestChooseComponent:
    def test_the_component_that_moved_least_is_chosen(self) -> None:
        runs = runs_with_native_drift()
        choice = choose_component(runs, SIGMA_SAME_MACHINE)
        assert choice.component == PYTHON
        assert set(choice.spreads) == {COMBINED, PYTHON, NATIVE}
        assert choice.spreads[PYTHON] == pytest.approx(
            pooled([run.component_statistics[PYTHON] for run in runs])
        )
        assert choice.spreads[PYTHON] < CHOOSE_FACTOR * choice.spreads[COMBINED]
        text = choice.describe()
        assert "reference component: python (tracked this test best)" in text
        assert "against combined" in text
        assert "native" in text

    def test_too_few_runs_keep_the_geometric_mean(self) -> None:
        runs = runs_with_native_drift(MIN_RUNS_TO_CHOOSE - 1)
        choice = choose_component(runs, SIGMA_SAME_MACHINE)
        assert choice == ComponentChoice()
        assert choice.describe() == ""

    def test_runs_saved_before_components_were_recorded_keep_the_geometric_mean(self) -> None:
        runs = runs_with_native_drift()
        runs[2] = saved_run(runs[2].statistic, None, None)
        assert choose_component(runs, SIGMA_SAME_MACHINE).component == COMBINED

    def test_a_small_difference_in_spread_keeps_the_geometric_mean(self) -> None:
        # Every statistic moves the same 2% between runs: no component tracks better.
        runs = [saved_run(0.02 * i, 0.02 * i + 0.001, 0.02 * i - 0.001) for i in range(6)]
        choice = choose_component(runs, SIGMA_SAME_MACHINE)
        assert choice.component == COMBINED
        assert "combined (kept, no component did clearly better)" in choice.describe()

    def test_projection_swaps_the_statistic_and_drops_runs_without_it(self) -> None:
        runs = [saved_run(1.0, 2.0, 3.0), saved_run(1.0, None, None)]
        assert [run.statistic for run in project_runs(runs, PYTHON)] == [2.0]
        assert [run.statistic for run in project_runs(runs, NATIVE)] == [3.0]
        assert project_runs(runs, COMBINED) == runs

    def test_cross_machine_comparisons_keep_the_geometric_mean(self) -> None:
        runs = [
            replace(run, fingerprint=MappingProxyType({"cpu_model": "Other"}))
            for run in runs_with_native_drift()
        ]
        setup = prepare_comparison(
            Baseline("t::t", tuple(runs)), {"cpu_model": "This"}, has_reference=True
        )
        assert setup.cross_machine
        assert setup.component == COMBINED


# Interpreter-bound code: the target follows each process's speed exactly, like the python
# component, while the native component drifts 8% per process on its own (the shape of the
# pure-Python workload in benchmarks/reference_candidates.py: ratio spread 0.7% with the
# python component, 2.1% with the geometric mean, 3.2% with the native one).


def interpreter_process(seed: int, slowdown: float = 1.0) -> SyntheticSource:
    rng = random.Random(seed)
    return SyntheticSource(
        lognormal(CALL * slowdown, 0.2),
        seed=seed,
        process_speed=math.exp(0.2 * rng.gauss(0.0, 1.0)),
        target_drift=math.exp(0.005 * rng.gauss(0.0, 1.0)),
        native_drift=math.exp(0.08 * rng.gauss(0.0, 1.0)),
    )


def interpreter_baseline(seed: int, *, components: bool = True) -> Baseline:
    runs = [
        run_from_measurement(sample(interpreter_process(seed * 100 + i), None)) for i in range(10)
    ]
    if not components:
        runs = [replace(run, component_statistics=MappingProxyType({})) for run in runs]
    return Baseline("tests/test_x.py::test_x", tuple(runs))


def interpreter_trial(seed: int, slowdown: float, *, components: bool = True) -> tuple[str, str]:
    baseline = interpreter_baseline(seed, components=components)
    setup = prepare_comparison(baseline, {}, has_reference=True)
    measurement = sample(
        interpreter_process(seed * 100 + 99, slowdown), None, setup=setup, tolerance=0.1
    )
    verdict = compare_to_baseline(measurement, baseline, tolerance=0.1)
    return verdict.status, verdict.component


def test_a_chosen_component_is_named_in_the_verdict() -> None:
    baseline = interpreter_baseline(1)
    setup = prepare_comparison(baseline, {}, has_reference=True)
    measurement = sample(interpreter_process(199), None, setup=setup, tolerance=0.1)
    verdict = compare_to_baseline(measurement, baseline, tolerance=0.1)
    assert verdict.component == PYTHON
    assert verdict.to_dict()["reference_component"] == PYTHON
    assert "(python reference component)" in verdict.statistic
    assert "reference component: python (tracked this test best)" in verdict.details


TRIALS = 100


def test_identical_interpreter_code_is_rarely_called_regressed() -> None:
    outcomes = Counter(interpreter_trial(seed, 1.0) for seed in range(TRIALS))
    regressed = sum(count for (status, _), count in outcomes.items() if status == "regressed")
    assert regressed <= int(scipy_stats.binom.ppf(0.999, TRIALS, 0.025))


def test_the_python_component_catches_a_slowdown_the_geometric_mean_leaves_undecided() -> None:
    # 15% slower against a 10% tolerance: d = 0.14. Dividing by the python component the
    # pooled spread is about 2.2% (the 5% prior counted as 2 runs dominates), a margin of
    # t(11) x 2.3% = 6%; with the geometric mean it is about 4.2% (the native drift halved),
    # a margin of 11%, which the run's own noise around d often crosses.
    chosen = Counter(interpreter_trial(seed, 1.15) for seed in range(TRIALS))
    combined = Counter(interpreter_trial(seed, 1.15, components=False) for seed in range(TRIALS))
    # Ten runs with the prior cannot always tell the components apart (8 of these 100
    # baselines keep the geometric mean); the rest divide by the python component.
    assert sum(count for (_, component), count in chosen.items() if component == PYTHON) >= 85
    caught = sum(count for (status, _), count in chosen.items() if status == "regressed")
    caught_combined = sum(count for (status, _), count in combined.items() if status == "regressed")
    assert caught >= int(scipy_stats.binom.ppf(0.001, TRIALS, 0.95))
    assert caught_combined < caught
