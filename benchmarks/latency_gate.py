"""Latency gate benchmark: false failures, detection and time to decision, side by side.

Compares, on the same three workloads (~50 us pure Python, ~2 ms numpy sort,
~20 ms JSON serialisation) and under two conditions (idle; one core busy with a
``python -c 'while True: pass'`` hog):

- prodguard's absolute budget gate: ``p95 <= 1.3 x`` the code's own idle p95
  (pooled over the calibration processes), sequential, default settings;
- prodguard's baseline comparison at 10% tolerance, against a baseline saved
  by 10 of the 30 idle calibration processes, spread evenly over them;
- pytest-benchmark's ``--benchmark-compare-fail`` rule (``mean:10%``,
  ``median:10%``, ``min:10%``) against one saved baseline run, with its exact
  statistics applied to in-process rounds measured the way it measures them
  (one calibration call, then ``max(5, ceil(1 s / that call))`` rounds timed with
  ``perf_counter``; no warm-up, its default);
- a single-call threshold (pytest-fail-slow's rule): the first call of the
  process against 1.3 x the idle median of that same first call.

Every run is a fresh Python process (the dominant noise is between
processes). The script prints markdown tables to stdout and writes nothing
else (baselines live in a temporary folder that is removed).

    python benchmarks/latency_gate.py            # full run (about 35-45 minutes; see RESULTS.md)
    python benchmarks/latency_gate.py --quick    # a few runs per cell, for development
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("py50us", "np2ms", "json20ms")
TOLERANCE = 0.10
HEADROOM = 1.3


# ---------------------------------------------------------------- workloads (child side)


def make_workload(name: str, slowdown: float) -> Callable[[], object]:
    """The workload at ``slowdown`` times its size (json x1.25 is memory-bound: ~1.4x in time)."""
    if name == "py50us":
        size = int(800 * slowdown)

        def py50us() -> int:
            total = 0
            for i in range(size):
                if i % 3:
                    total += i * i
                else:
                    total -= i
            return total

        return py50us
    if name == "np2ms":
        import numpy as np

        rows = np.random.default_rng(1).random((int(120 * slowdown), 2000))
        return lambda: np.sort(rows, axis=1)
    if name == "json20ms":
        rng = random.Random(2)
        data = {
            f"key{i}": {
                "a": rng.random(),
                "b": [rng.randint(0, 1000) for _ in range(5)],
                "c": "x" * 10,
            }
            for i in range(int(9000 * slowdown))
        }
        return lambda: json.dumps(data)
    raise ValueError(name)


def time_call(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def pytest_benchmark_rounds(fn: Callable[[], object]) -> dict[str, float]:
    """pytest-benchmark's default: calibrate on one call, then max(5, ceil(1 s / it)) rounds."""
    duration = time_call(fn)
    rounds = max(5, math.ceil(1.0 / duration))
    times = [time_call(fn) for _ in range(rounds)]
    return {"mean": statistics.fmean(times), "median": statistics.median(times), "min": min(times)}


def child(config: dict[str, Any]) -> dict[str, Any]:
    """One fresh process: measure every workload with every method asked for."""
    sys.path.insert(0, str(ROOT))
    from pytest_prodguard.latency import (
        LatencySpec,
        compare_to_baseline,
        judge,
        load_baseline,
        measure,
        save_baseline,
    )

    result: dict[str, Any] = {}
    for name in WORKLOADS:
        fn = make_workload(name, config["slowdown"])
        row: dict[str, Any] = {"single": time_call(fn)}  # the cold first call
        path = Path(config["baseline_dir"]) / f"{name}.json"
        if config["role"] == "calibrate":
            measurement = measure(fn, spec=None)
            if config["save_baseline"]:
                save_baseline(path, measurement, nodeid=name)
            row["samples"] = list(measurement.samples)
        else:
            spec = LatencySpec(budgets={"p95": config["budgets"][name]})
            baseline = load_baseline(path)
            started = time.perf_counter()
            measurement = measure(fn, spec=spec, baseline=baseline, tolerance=TOLERANCE)
            row["wall"] = time.perf_counter() - started
            verdict = judge(measurement, spec)
            comparison = compare_to_baseline(measurement, baseline, tolerance=TOLERANCE)
            check = verdict.checks[0]
            row.update(
                budget_status=check.status,
                budget_n=check.n,
                budget_time=check.elapsed,
                compare_status=comparison.status,
                compare_ratio=comparison.ratio,
                compare_low=comparison.low,
                compare_high=comparison.high,
                compare_pairs=comparison.pairs,
                compare_n=comparison.n,
                compare_time=comparison.elapsed,
                compare_component=comparison.component,
                speed_factor=measurement.speed_factor(),
                reference_medians=measurement.reference_medians(),
                warmup=measurement.warmup_seconds,
                median=statistics.median(measurement.samples),
                cpu_wait=measurement.cpu_wait_seconds,
            )
        if config["pytest_benchmark"]:
            row["pb"] = pytest_benchmark_rounds(fn)
        result[name] = row
    return result


# ---------------------------------------------------------------- driver


def child_env() -> dict[str, str]:
    """The environment of a measuring child: single-threaded BLAS, so numpy work is comparable."""
    return dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run_child(config: dict[str, Any]) -> dict[str, Any]:
    """Run this script's child with ``config`` in a fresh process; return its JSON result."""
    return run_script_child(__file__, config)


def run_script_child(script: str, config: dict[str, Any]) -> dict[str, Any]:
    """Run ``script --child CONFIG_JSON`` in a fresh process; its last stdout line is JSON."""
    env = child_env()
    completed = subprocess.run(
        [sys.executable, script, "--child", json.dumps(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"child failed: {completed.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


class Hog:
    """A busy-loop process on one core, started before a block of runs and killed after it."""

    def __init__(self, active: bool) -> None:
        self.active = active
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Hog:
        if self.active:
            self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()


def pooled_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def calibrate(
    args: argparse.Namespace, baseline_dir: str, log: Callable[[str], None]
) -> dict[str, Any]:
    samples: dict[str, list[float]] = {name: [] for name in WORKLOADS}
    singles: dict[str, list[float]] = {name: [] for name in WORKLOADS}
    pb_base: dict[str, dict[str, float]] = {}
    savers = saving_indices(args.calibration, args.baseline_runs)
    for index in range(args.calibration):
        config = {
            "role": "calibrate",
            "slowdown": 1.0,
            "baseline_dir": baseline_dir,
            "save_baseline": index in savers,
            "pytest_benchmark": index == 0,
        }
        result = run_child(config)
        for name in WORKLOADS:
            samples[name].extend(result[name]["samples"])
            singles[name].append(result[name]["single"])
            if index == 0:
                pb_base[name] = result[name]["pb"]
        log(f"calibration {index + 1}/{args.calibration}")
    saved = saved_runs(baseline_dir)
    return {
        "budgets": {name: HEADROOM * pooled_quantile(samples[name], 0.95) for name in WORKLOADS},
        "idle_p95": {name: pooled_quantile(samples[name], 0.95) for name in WORKLOADS},
        "single_threshold": {
            name: HEADROOM * statistics.median(singles[name]) for name in WORKLOADS
        },
        "pb_base": pb_base,
        "baseline_spread": baseline_spread(saved),
        "baseline_runs": {name: [run.to_dict() for run in saved[name]] for name in WORKLOADS},
        "samples": samples,
    }


def saving_indices(calibration: int, baseline_runs: int) -> set[int]:
    """Which calibration processes save a baseline run: spread evenly, the last one included.

    A baseline saved by consecutive processes samples one moment of the
    machine; spread over the calibration it samples its usual range of modes,
    as runs saved by several CI jobs would.
    """
    if baseline_runs >= calibration:
        return set(range(calibration))
    step = calibration / baseline_runs
    return {calibration - 1 - math.floor(i * step) for i in range(baseline_runs)}


def saved_runs(baseline_dir: str) -> dict[str, list[Any]]:
    """The saved baseline runs (``BaselineRun``) per workload; empty when none was saved."""
    sys.path.insert(0, str(ROOT))
    from pytest_prodguard.latency import load_baseline

    runs: dict[str, list[Any]] = {}
    for name in WORKLOADS:
        path = Path(baseline_dir) / f"{name}.json"
        runs[name] = list(load_baseline(path).runs) if path.exists() else []
    return runs


def baseline_spread(saved: dict[str, list[Any]]) -> dict[str, str]:
    """Per workload: the reference component the comparison divides by, the spread of the
    saved runs' statistic with it, and how many runs the comparison leaves out."""
    from pytest_prodguard.latency.compare import (
        SIGMA_SAME_MACHINE,
        choose_component,
        leave_out_outliers,
        project_runs,
    )

    spread = {}
    for name in WORKLOADS:
        runs = saved[name]
        if not runs:
            spread[name] = "-"
            continue
        choice = choose_component(runs, SIGMA_SAME_MACHINE)
        projected = project_runs(runs, choice.component)
        values = sorted(run.statistic for run in projected)
        middle = statistics.median(values)
        worst = max(abs(value - middle) for value in values)
        kept = len(leave_out_outliers(projected, SIGMA_SAME_MACHINE))
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        others = ", ".join(
            f"{component} {value:.1%}"
            for component, value in choice.spreads.items()
            if component != choice.component
        )
        spread[name] = (
            f"{choice.component}: sd {sd:.1%}, furthest {math.exp(worst) - 1:+.1%} from the "
            f"median, {len(runs) - kept} of {len(runs)} left out"
            + (
                f" (pooled spread {choice.spreads[choice.component]:.1%}; {others})"
                if others
                else ""
            )
        )
    return spread


def plan(args: argparse.Namespace) -> list[tuple[str, float, bool]]:
    """(condition, slowdown, with pytest-benchmark) for every run, in blocks of 5, shuffled."""
    runs = []
    for condition in args.conditions:
        runs += [(condition, 1.0, i < args.competitor_runs) for i in range(args.runs)]
        for slowdown in (1.25, 2.0):
            runs += [
                (condition, slowdown, i < args.competitor_runs // 2)
                for i in range(args.detect_runs)
            ]
    rng = random.Random(args.seed)
    rng.shuffle(runs)
    runs.sort(key=lambda run: run[0])  # group by condition, then interleave blocks below
    blocks: list[list[tuple[str, float, bool]]] = []
    for condition in args.conditions:
        mine = [run for run in runs if run[0] == condition]
        blocks += [mine[i : i + 5] for i in range(0, len(mine), 5)]
    rng.shuffle(blocks)
    return [run for block in blocks for run in block]


def measure_all(
    args: argparse.Namespace,
    calibration: dict[str, Any],
    baseline_dir: str,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    records = []
    schedule = plan(args)
    done = 0
    for start in range(0, len(schedule), 5):
        block = schedule[start : start + 5]
        with Hog(block[0][0] == "loaded"):
            for condition, slowdown, with_pb in block:
                load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
                config = {
                    "role": "measure",
                    "slowdown": slowdown,
                    "baseline_dir": baseline_dir,
                    "budgets": calibration["budgets"],
                    "pytest_benchmark": with_pb,
                }
                result = run_child(config)
                records.append(
                    {"condition": condition, "slowdown": slowdown, "load": load, "result": result}
                )
                done += 1
        log(f"runs {done}/{len(schedule)}")
    return records


# ---------------------------------------------------------------- simulation rows


class Resampler:
    """Draws per-call times from a pool of measured ones, scaled by ``factor``."""

    def __init__(self, pool: list[float], factor: float) -> None:
        self.pool = pool
        self.factor = factor

    def __call__(self, rng: random.Random) -> float:
        return self.factor * self.pool[rng.randrange(len(self.pool))]


def separation_rows(calibration: dict[str, Any], runs: int) -> list[str]:
    """p95 budget at the true p95 vs 1.3x and 2x over, on resampled real per-call distributions.

    Two limits per workload: about 100 calls (at most 2 s), and the default
    max_time of 2 s. The 2x column also counts failures within 10 samples.
    """
    sys.path.insert(0, str(ROOT))
    from pytest_prodguard.latency import LatencySpec, judge, sample
    from pytest_prodguard.latency.simulation import SyntheticSource

    rows = []
    for name in WORKLOADS:
        pool = calibration["samples"][name]
        budget = pooled_quantile(pool, 0.95)
        median = statistics.median(pool)
        for limit, max_time in (("100 calls", min(2.0, 100 * median)), ("2 s", 2.0)):
            spec = LatencySpec(budgets={"p95": budget}, max_time=max_time)
            cells = []
            sizes = []
            for factor in (1.0, 1.3, 2.0):
                failed = within_ten = 0
                draw = Resampler(pool, factor)
                for seed in range(runs):
                    measurement = sample(SyntheticSource(draw, seed=seed), spec)
                    check = judge(measurement, spec).checks[0]
                    failed += check.status == "fail"
                    within_ten += check.status == "fail" and check.n <= 10
                    if factor < 2:
                        sizes.append(check.n)
                cells.append(f"{100 * failed / runs:.1f}%")
            cells[-1] += f" ({100 * within_ten / runs:.1f}% within 10)"
            rows.append(
                f"| {name} | {limit} | {format_seconds(budget)} | {' | '.join(cells)} | "
                f"{int(statistics.median(sizes))} | {runs} |"
            )
    return rows


# ---------------------------------------------------------------- report


def format_seconds(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} us"


def rate(flags: list[bool]) -> str:
    if not flags:
        return "-"
    return f"{100 * sum(flags) / len(flags):.1f}% ({sum(flags)}/{len(flags)})"


Row = dict[str, Any]


def rows_for(records: list[Row], name: str, condition: str, slowdown: float) -> list[Row]:
    return [
        record["result"][name]
        for record in records
        if record["condition"] == condition and record["slowdown"] == slowdown
    ]


def budget_failed(row: Row, base: dict[str, float]) -> bool | None:
    return bool(row["budget_status"] == "fail")


def budget_undecided(row: Row, base: dict[str, float]) -> bool | None:
    return bool(row["budget_status"] == "inconclusive")


def compare_regressed(row: Row, base: dict[str, float]) -> bool | None:
    return bool(row["compare_status"] == "regressed")


def compare_undecided(row: Row, base: dict[str, float]) -> bool | None:
    return bool(row["compare_status"] == "inconclusive")


def pytest_benchmark_rule(stat: str) -> Callable[[Row, dict[str, float]], bool | None]:
    def flagged(row: Row, base: dict[str, float]) -> bool | None:
        # pytest-benchmark's PercentageRegressionCheck: cur / base * 100 - 100 > 10
        return row["pb"][stat] / base[stat] * 100 - 100 > 10 if "pb" in row else None

    return flagged


def single_call_over(row: Row, base: dict[str, float]) -> bool | None:
    return bool(row["single"] > base["single_threshold"])


METHODS: list[tuple[str, Callable[[Row, dict[str, float]], bool | None]]] = [
    ("prodguard p95 budget: fail", budget_failed),
    ("prodguard p95 budget: inconclusive", budget_undecided),
    ("prodguard baseline 10%: regressed", compare_regressed),
    ("prodguard baseline 10%: inconclusive", compare_undecided),
    ("pytest-benchmark mean:10%", pytest_benchmark_rule("mean")),
    ("pytest-benchmark median:10%", pytest_benchmark_rule("median")),
    ("pytest-benchmark min:10%", pytest_benchmark_rule("min")),
    ("single call > 1.3x idle median", single_call_over),
]


def flag_rate(
    rows: list[Row], rule: Callable[[Row, dict[str, float]], bool | None], base: dict[str, float]
) -> str:
    flags = [flag for flag in (rule(row, base) for row in rows) if flag is not None]
    return rate(flags)


def median_and_max(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{format_seconds(statistics.median(values))} ({format_seconds(max(values))})"


def print_setup(args: argparse.Namespace, calibration: dict[str, Any], records: list[Row]) -> None:
    print(
        "| workload | idle p95 | budget (1.3x) | single-call threshold "
        "| effective slowdown x1.25 (idle) | x2 (idle) | baseline runs (log ratio statistic) |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in WORKLOADS:
        effective = []
        for slowdown in (1.25, 2.0):
            effective.append(effective_slowdown(records, name, slowdown))
        print(
            f"| {name} | {format_seconds(calibration['idle_p95'][name])} | "
            f"{format_seconds(calibration['budgets'][name])} | "
            f"{format_seconds(calibration['single_threshold'][name])} | "
            f"{effective[0]} | {effective[1]} | {calibration['baseline_spread'][name]} |"
        )


def effective_slowdown(records: list[Row], name: str, slowdown: float) -> str:
    """How much slower the slowed code really ran, measured in-process against the reference.

    The median over idle processes of the comparison's ratio at this slowdown,
    over the same median for identical code: a ratio of medians of raw times
    across processes mixes in the machine's drift between them (it read x1.15
    to x1.22 for a x1.25 workload that the reference ratio put at x1.21 to x1.31).
    """
    null = [row["compare_ratio"] for row in rows_for(records, name, "idle", 1.0)]
    slow = [row["compare_ratio"] for row in rows_for(records, name, "idle", slowdown)]
    if not (null and slow):
        return "-"
    return f"x{statistics.median(slow) / statistics.median(null):.2f}"


def print_rates(args: argparse.Namespace, calibration: dict[str, Any], records: list[Row]) -> None:
    print("| workload | condition | method | flagged at x1.0 | flagged at x1.25 | flagged at x2 |")
    print("|---|---|---|---|---|---|")
    for name in WORKLOADS:
        base = dict(calibration["pb_base"][name])
        base["single_threshold"] = calibration["single_threshold"][name]
        for condition in args.conditions:
            for label, rule in METHODS:
                cells = [
                    flag_rate(rows_for(records, name, condition, slowdown), rule, base)
                    for slowdown in (1.0, 1.25, 2.0)
                ]
                print(f"| {name} | {condition} | {label} | {' | '.join(cells)} |")


def print_times(args: argparse.Namespace, records: list[Row]) -> None:
    print(
        "| workload | condition | slowdown | budget decided: median (max) | budget undecided "
        "| baseline decided: median (max) | measure() incl. warm-up: median (max) "
        "| rounds to fail at x2 (max) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in WORKLOADS:
        for condition in args.conditions:
            for slowdown in (1.0, 1.25, 2.0):
                rows = rows_for(records, name, condition, slowdown)
                if not rows:
                    continue
                budget = [r["budget_time"] for r in rows if r["budget_time"] is not None]
                compare = [r["compare_time"] for r in rows if r["compare_time"] is not None]
                undecided = rate([r["budget_status"] == "inconclusive" for r in rows])
                fail_n = [r["budget_n"] for r in rows if r["budget_status"] == "fail"]
                to_fail = str(max(fail_n)) if fail_n and slowdown == 2.0 else "-"
                print(
                    f"| {name} | {condition} | x{slowdown:g} | {median_and_max(budget)} | "
                    f"{undecided} | {median_and_max(compare)} | "
                    f"{median_and_max([r['wall'] for r in rows])} | {to_fail} |"
                )


def report(
    args: argparse.Namespace,
    calibration: dict[str, Any],
    records: list[Row],
    seconds: float,
) -> None:
    print(f"## Latency gate benchmark ({time.strftime('%Y-%m-%d %H:%M')}, {seconds / 60:.1f} min)")
    print()
    print(
        f"Runs per condition: {args.runs} identical-code, {args.detect_runs} per slowdown; "
        f"pytest-benchmark on {args.competitor_runs} identical-code and "
        f"{args.competitor_runs // 2} per slowdown; calibration {args.calibration} idle processes "
        f"({args.baseline_runs} of them, spread evenly, saved the prodguard baseline). "
        "Each run is a fresh process; "
        "loaded = one `while True: pass` hog."
    )
    print()
    print_setup(args, calibration, records)
    print()
    print("### False failures (x1.0) and detection (x1.25, x2), per test")
    print()
    print_rates(args, calibration, records)
    print()
    print("### Time to a decision (prodguard; sampling time at the deciding look)")
    print()
    print_times(args, records)
    print()
    print_separation(args, calibration)
    loads = [r["load"] for r in records if r["condition"] == "idle" and math.isfinite(r["load"])]
    if loads:
        print()
        print(
            f"1-minute load average before idle runs: median {statistics.median(loads):.2f}, "
            f"max {max(loads):.2f} (it includes the benchmark's own child process, about 1)."
        )


def print_separation(args: argparse.Namespace, calibration: dict[str, Any]) -> None:
    """The simulated table: p95 = budget vs 1.3x and 2x the budget."""
    print()
    print(
        "### p95 = budget vs p95 = 1.3 x and 2 x budget (statistics only: per-call times "
        "resampled from the pooled idle calibration samples, fake clock; limit: max_time = "
        "min(2 s, 100 calls) or the default 2 s)"
    )
    print()
    print(
        "| workload | limit | budget (= true p95) | fail at p95 = budget "
        "| fail at p95 = 1.3 x budget | fail at p95 = 2 x budget | median samples (B, 1.3B) "
        "| runs |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in separation_rows(calibration, args.separation_runs):
        print(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a few runs per cell, for development")
    parser.add_argument("--runs", type=int, default=300, help="identical-code runs per condition")
    parser.add_argument(
        "--detect-runs", type=int, default=40, help="runs per slowdown per condition"
    )
    parser.add_argument(
        "--competitor-runs", type=int, default=30, help="identical-code runs with pytest-benchmark"
    )
    parser.add_argument("--calibration", type=int, default=30, help="idle calibration processes")
    parser.add_argument(
        "--baseline-runs",
        type=int,
        default=10,
        help="calibration processes saving the baseline (spread evenly over the calibration)",
    )
    parser.add_argument(
        "--records", help="also write every run's results and the calibration as JSON here"
    )
    parser.add_argument(
        "--separation-runs", type=int, default=1000, help="simulated runs per separation cell"
    )
    parser.add_argument("--conditions", default="idle,loaded")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--progress", action="store_true", help="progress lines on stderr")
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        help="seconds to stay idle before calibrating (lets the machine leave a busy state)",
    )
    parser.add_argument(
        "--separation-only",
        action="store_true",
        help="calibrate, then print only the simulated separation table",
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.quick:
        args.runs, args.detect_runs, args.competitor_runs = 6, 3, 2
        args.calibration, args.baseline_runs, args.separation_runs = 6, 3, 100
    args.conditions = [c for c in args.conditions.split(",") if c]

    def log(message: str) -> None:
        if args.progress:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    if args.settle > 0:
        log(f"settling for {args.settle:g} s before calibration")
        time.sleep(args.settle)
    with tempfile.TemporaryDirectory(prefix="prodguard-latency-bench-") as baseline_dir:
        calibration = calibrate(args, baseline_dir, log)
        if args.separation_only:
            print_separation(args, calibration)
            return
        records = measure_all(args, calibration, baseline_dir, log)
    if args.records:
        Path(args.records).write_text(
            json.dumps({"calibration": calibration, "records": records}), encoding="utf-8"
        )
    report(args, calibration, records, time.perf_counter() - started)


if __name__ == "__main__":
    main()
