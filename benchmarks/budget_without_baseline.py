"""Absolute p95 budgets with no saved baseline: false failures with and without normalization.

``latency_gate.py`` judges its budgets with a saved baseline of the test on the
machine, so the measured times are rescaled to the saved runs' typical speed.
Most users start without one; then the budget is judged at the run's own
typical speed (rounds beside reference rounds slower than the run's median are
rescaled), or on raw times with ``--prodguard-latency-normalize=off``.

Each run is a fresh process that measures one workload of ``latency_gate.py``
twice, once each way, in alternating order, against a p95 budget set at 1.3x
the code's own idle p95 pooled over ``--calibration`` processes (like the
gate benchmark). Runs are idle or with one core busy; the table gives the share
of identical-code runs that failed, and how many were inconclusive.

    python benchmarks/budget_without_baseline.py                 # py50us, 200 runs per condition
    python benchmarks/budget_without_baseline.py --workload np2ms --runs 100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency_gate import (
    HEADROOM,
    WORKLOADS,
    Hog,
    make_workload,
    pooled_quantile,
    run_script_child,
)

WAYS = ("this run", "raw")
LABELS = {"this run": "at the run's typical speed (default)", "raw": "raw (normalize=off)"}


def child(config: dict[str, Any]) -> dict[str, Any]:
    """One fresh process: calibrate (no spec) or measure once per way against the budget."""
    from pytest_prodguard.latency import LatencySpec, judge, measure

    fn = make_workload(config["workload"], 1.0)
    if config["budget"] is None:
        return {"samples": list(measure(fn, spec=None).samples)}
    spec = LatencySpec(budgets={"p95": config["budget"]})
    order = WAYS if config["first"] == 0 else tuple(reversed(WAYS))
    result = {}
    for way in order:
        measurement = measure(fn, spec=spec, normalize=way != "raw")
        verdict = judge(measurement, spec)
        result[way] = {
            "status": verdict.status,
            "n": measurement.n,
            "first_fail_look": measurement.first_fail_look,
            "normalized_to": measurement.normalized_to,
        }
    return result


def run_child(config: dict[str, Any]) -> dict[str, Any]:
    """Run this script's child with ``config`` in a fresh process; return its result."""
    return run_script_child(__file__, config)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--workload", default="py50us", choices=WORKLOADS)
    parser.add_argument("--runs", type=int, default=200, help="identical-code runs per condition")
    parser.add_argument("--calibration", type=int, default=20, help="idle calibration processes")
    parser.add_argument("--conditions", default="idle,loaded")
    parser.add_argument("--progress", action="store_true", help="progress lines on stderr")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    started = time.time()
    pooled: list[float] = []
    for _ in range(args.calibration):
        pooled += run_child({"workload": args.workload, "budget": None})["samples"]
    idle_p95 = pooled_quantile(pooled, 0.95)
    budget = HEADROOM * idle_p95
    rows = []
    for condition in args.conditions.split(","):
        counts = {way: {"fail": 0, "inconclusive": 0} for way in WAYS}
        with Hog(condition == "loaded"):
            for index in range(args.runs):
                config = {"workload": args.workload, "budget": budget, "first": index % 2}
                result = run_child(config)
                for way in WAYS:
                    status = result[way]["status"]
                    if status in counts[way]:
                        counts[way][status] += 1
                if args.progress and (index + 1) % 20 == 0:
                    print(f"[{condition}] {index + 1}/{args.runs}", file=sys.stderr, flush=True)
        for way in WAYS:
            rows.append((condition, way, counts[way]))
    minutes = (time.time() - started) / 60
    print(
        f"## p95 budget without a baseline: {args.workload} "
        f"({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {minutes:.1f} min)\n"
    )
    print(
        f"Idle p95 pooled over {args.calibration} processes: {idle_p95 * 1e6:.1f} us; "
        f"budget {HEADROOM}x = {budget * 1e6:.1f} us; {args.runs} identical-code runs per "
        "condition, each measuring once per way in alternating order.\n"
    )
    print("| condition | times judged | failed | inconclusive |")
    print("|---|---|---|---|")
    for condition, way, count in rows:
        label = LABELS[way]
        fail, undecided = count["fail"], count["inconclusive"]
        print(
            f"| {condition} | {label} | {100 * fail / args.runs:.1f}% ({fail}/{args.runs}) "
            f"| {100 * undecided / args.runs:.1f}% ({undecided}/{args.runs}) |"
        )


if __name__ == "__main__":
    main()
