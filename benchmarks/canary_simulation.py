"""Canary verdict error rates and power, by seeded simulation (issue 21's targets).

Prints one table: for each scenario, the share of rollouts judged rollback,
investigate, insufficient data and healthy, next to the rules the verdict
replaces: "MW 98%" is a Mann-Whitney test of the per-interval error rates of
each error metric at 98%, two-sided, no correction across metrics (Kayenta's
classifier without its effect-size gate, a simplification); the last table
compares the exact always-valid error test with the A/B package's two-sided
normal-approximation mSPRT on rare errors.

    python benchmarks/canary_simulation.py            # about a minute
    python benchmarks/canary_simulation.py --runs 4   # scale every scenario's run count

"Every interval" scenarios evaluate the verdict after each interval of the
rollout, as a deploy pipeline would: a rollout counts as rolled back (or
investigated) if any evaluation said so, otherwise it ends with its last verdict.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

import numpy as np
from scipy import stats as scipy_stats

from pytest_prodguard.ab import Proportion, sequential_test
from pytest_prodguard.canary import canary_verdict
from pytest_prodguard.canary import stats as canary_stats
from pytest_prodguard.canary.simulation import (
    ArmSpec,
    LatencyShape,
    first_intervals,
    interval_count,
    simulated_rollout,
)

SEVERITY = ("healthy", "insufficient_data", "investigate", "rollback")
LATENCY = {"latency": LatencyShape(0.05, 0.5), "db_latency": LatencyShape(0.01, 0.8)}
OTHER_ERRORS = {"checkout_errors": 0.002, "login_errors": 0.0005, "payment_errors": 0.0}


def ten_metrics(error_rate: float) -> ArmSpec:
    """4 error rates + 2 latencies x 3 percentiles: 10 compared metrics."""
    return ArmSpec({"errors": error_rate, **OTHER_ERRORS}, LATENCY)


def pipeline_verdict(baseline: dict[str, Any], canary: dict[str, Any], every_interval: bool) -> str:
    """What a pipeline ends with: the most severe flag it met, else the last verdict."""
    intervals = interval_count(baseline)
    looks = range(1, intervals + 1) if every_interval else [intervals]
    verdicts = [
        canary_verdict(first_intervals(baseline, k), first_intervals(canary, k)).verdict
        for k in looks
    ]
    flags = [verdict for verdict in verdicts if verdict in ("investigate", "rollback")]
    return max(flags, key=SEVERITY.index) if flags else verdicts[-1]


def kayenta_flags(baseline: dict[str, Any], canary: dict[str, Any]) -> bool:
    """Kayenta-style: Mann-Whitney on per-interval error rates, 98% two-sided, per metric."""
    for metric_b, metric_c in zip(baseline["metrics"], canary["metrics"], strict=True):
        if metric_b["type"] != "errors":
            continue
        rates_b = np.divide(metric_b["errors"], metric_b["requests"])
        rates_c = np.divide(metric_c["errors"], metric_c["requests"])
        if np.all(rates_b == rates_c[0]) and np.all(rates_c == rates_c[0]):
            continue  # identical constant series: no test possible
        if scipy_stats.mannwhitneyu(rates_c, rates_b, alternative="two-sided").pvalue < 0.02:
            return True
    return False


def scenario(
    name: str,
    rng: np.random.Generator,
    baseline: ArmSpec,
    canary: ArmSpec,
    runs: int,
    *,
    every_interval: bool = False,
    **rollout: Any,
) -> dict[str, Any]:
    """Run one scenario; return its row."""
    start = time.perf_counter()
    kinds: Counter[str] = Counter()
    kayenta = 0
    for _ in range(runs):
        arms = simulated_rollout(rng, baseline, canary, **rollout)
        kinds[pipeline_verdict(*arms, every_interval)] += 1
        kayenta += kayenta_flags(*arms)
    return {
        "scenario": name,
        "runs": runs,
        **{kind: kinds[kind] / runs for kind in SEVERITY},
        "kayenta": kayenta / runs,
        "seconds": time.perf_counter() - start,
    }


def msprt_comparison(
    rng: np.random.Generator,
    runs: int,
    base_rate: float,
    canary_rate: float,
    requests: int,
    intervals: int,
) -> tuple[float, float]:
    """Share flagged at 0.05 by ab.sequential_test (two-sided normal mSPRT, tau = the
    absolute change, or the base rate under no change) and by the canary's exact test."""
    tau = max(canary_rate - base_rate, base_rate)
    grid = canary_stats.ratio_grid(2.0)
    ab_flags = exact_flags = 0
    for _ in range(runs):
        base = rng.binomial(requests, base_rate, intervals)
        canary = rng.binomial(requests, canary_rate, intervals)
        looks = [
            (
                Proportion(int(base[:k].sum()), requests * k),
                Proportion(int(canary[:k].sum()), requests * k),
            )
            for k in range(1, intervals + 1)
        ]
        ab_flags += sequential_test(looks, mixing_sd=tau).p_value < 0.05
        increments = [(int(c), int(b + c), 0.5) for b, c in zip(base, canary, strict=True)]
        exact_flags += canary_stats.always_valid_count_p_values(increments, grid)[-1] < 0.05
    return ab_flags / runs, exact_flags / runs


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=float, default=1.0, help="scale every run count")
    parser.add_argument("--seed", type=int, default=20261206)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)

    def runs(n: int) -> int:
        return max(10, round(n * args.runs))

    shape = LatencyShape(0.05, 0.5)
    slower = ArmSpec({}, {"latency": shape.doubling_tail(0.95)})
    every = {"every_interval": True, "intervals": 10, "requests": 600}
    plans: list[tuple[str, ArmSpec, ArmSpec, int, dict[str, Any]]] = [
        (
            "no change, 10 metrics, every interval (histograms)",
            ten_metrics(0.01),
            ten_metrics(0.01),
            runs(300),
            {**every, "histogram": True},
        ),
        (
            "no change, 10 metrics, every interval (raw samples)",
            ten_metrics(0.01),
            ten_metrics(0.01),
            runs(30),
            every,
        ),
        (
            "errors 1% -> 2%, 6,000/arm, alone",
            ArmSpec({"errors": 0.01}, {}),
            ArmSpec({"errors": 0.02}, {}),
            runs(2000),
            {"intervals": 10, "requests": 600},
        ),
        (
            "errors 1% -> 2%, 6,000/arm, 10 metrics",
            ten_metrics(0.01),
            ten_metrics(0.02),
            runs(400),
            {"intervals": 10, "requests": 600, "histogram": True},
        ),
        (
            "errors 0.1% -> 0.2%, 60,000/arm, alone",
            ArmSpec({"errors": 0.001}, {}),
            ArmSpec({"errors": 0.002}, {}),
            runs(2000),
            {"intervals": 10, "requests": 6000},
        ),
        (
            "p95 x2, median unchanged (raw, 200/interval)",
            ArmSpec({}, {"latency": shape}),
            slower,
            runs(200),
            {"intervals": 5, "requests": 600},
        ),
        (
            "p95 x2, median unchanged (histograms)",
            ArmSpec({}, {"latency": shape}),
            slower,
            runs(200),
            {"intervals": 5, "requests": 600, "histogram": True},
        ),
        (
            "no change, errors + latency, 20k/arm, every interval",
            ArmSpec({"errors": 0.01}, {"latency": shape}),
            ArmSpec({"errors": 0.01}, {"latency": shape}),
            runs(100),
            {**every, "requests": 2000, "latency_samples": 1000, "histogram": True},
        ),
    ]
    rows = [
        scenario(name, rng, base, cand, count, **options)
        for name, base, cand, count, options in plans
    ]
    header = f"{'scenario':<52} {'runs':>5} {'rollback':>9} {'investig.':>9} {'insuff.':>8}"
    header += f" {'healthy':>8} {'MW 98%':>8} {'s':>6}"
    print(header)
    for row in rows:
        print(
            f"{row['scenario']:<52} {row['runs']:>5} {row['rollback']:>9.1%} "
            f"{row['investigate']:>9.1%} {row['insufficient_data']:>8.1%} "
            f"{row['healthy']:>8.1%} {row['kayenta']:>8.1%} {row['seconds']:>6.1f}"
        )
    print("\nzero baseline errors vs a handful (5 intervals x 1,000 requests per arm):")
    for handful in (2, 4, 6, 8, 10, 12, 16):
        spread = [handful // 5 + (1 if i < handful % 5 else 0) for i in range(5)]
        verdict = canary_verdict(
            {
                "metrics": [
                    {"name": "errors", "type": "errors", "requests": [1000] * 5, "errors": [0] * 5}
                ]
            },
            {
                "metrics": [
                    {"name": "errors", "type": "errors", "requests": [1000] * 5, "errors": spread}
                ]
            },
        )
        p = verdict.metric("errors").check.p_value
        print(f"  0 vs {handful:>2}: {verdict.verdict:<18} always-valid p = {p:.4f}")
    print("\nalways-valid error tests at alpha 0.05 (share of runs flagged):")
    print(f"  {'base -> canary rate':<22} {'requests':>16} {'ab mSPRT':>9} {'exact':>7}")
    for base_rate, canary_rate, requests, intervals in [
        (0.0005, 0.0005, 1000, 10),
        (0.0005, 0.0015, 1000, 10),
        (0.0, 0.002, 1000, 5),
        (0.01, 0.01, 600, 10),
        (0.01, 0.02, 600, 10),
    ]:
        ab_share, exact_share = msprt_comparison(
            rng, runs(2000), base_rate, canary_rate, requests, intervals
        )
        label = f"{base_rate:.2%} -> {canary_rate:.2%}"
        print(
            f"  {label:<22} {f'{intervals} x {requests:,}':>16} {ab_share:>9.1%} "
            f"{exact_share:>7.1%}"
        )


if __name__ == "__main__":
    main()
