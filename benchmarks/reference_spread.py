"""How well the reference workload tracks machine speed between processes: cold vs warm timing.

Each run is a fresh Python process that measures the three workloads of
``latency_gate.py`` for 1.5 s each. After every target round (every 4th for the
50 us workload) it times the reference workload twice in a row: the first run
("cold", what reference version 1 timed) and the second ("warm", what version 2
times). Printed per workload:

- the between-process standard deviation of the comparison statistic (median
  over pairs of log(target / reference)) with the cold and the warm reference;
- at x1.25, the shift of that statistic against the mean of 5 identical-code
  processes (its range over the slowed processes), cold and warm;
- the between-process standard deviation of log p95, raw and judged at the
  machine's typical speed (warm reference, nominal = median over processes), and
  how many processes had a p95 above 1.3x the pooled p95.

    python benchmarks/reference_spread.py --runs 30 --slow-runs 10
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

WORKLOADS = ("py50us", "np2ms", "json20ms")
SECONDS = 1.5


def child(slowdown: float) -> dict[str, Any]:
    """One process: target rounds with a cold and a warm reference round after each group."""
    from latency_gate import make_workload

    from pytest_prodguard.latency import reference
    from pytest_prodguard.latency.timing import CallableSource

    result: dict[str, Any] = {}
    for name in WORKLOADS:
        source = CallableSource(make_workload(name, slowdown))
        source.warm_up(None, 0.05, 0.2)
        every = 4 if name == "py50us" else 1
        targets: list[float] = []
        cold: list[float] = []
        warm: list[float] = []
        index: list[int] = []
        started = time.perf_counter()
        while time.perf_counter() - started < SECONDS:
            targets.append(source.target().seconds)
            if len(targets) % every == 0:
                for store in (cold, warm):
                    python = source._time_reference(reference.python_work)
                    native = source._time_reference(reference.native_work)
                    store.append(math.sqrt(python * native))
                index.append(len(targets) - 1)
        source.close()
        result[name] = {"t": targets, "cold": cold, "warm": warm, "index": index}
    return result


def run_children(count: int, slowdown: float) -> list[dict[str, Any]]:
    from latency_gate import child_env

    env = child_env()
    runs = []
    for _ in range(count):
        completed = subprocess.run(
            [sys.executable, __file__, "--child", str(slowdown)],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        runs.append(json.loads(completed.stdout.strip().splitlines()[-1]))
    return runs


def pair_statistic(data: dict[str, Any], kind: str) -> float:
    targets, refs = data["t"], data[kind]
    return statistics.median(
        math.log(targets[i] / ref) for i, ref in zip(data["index"], refs, strict=True)
    )


def normalized(data: dict[str, Any], nominal: float) -> list[float]:
    from pytest_prodguard.latency.measurement import normalized_samples

    refs = data["warm"]
    return normalized_samples(data["t"], data["index"], refs, refs, nominal, len(data["t"]))


def sd_log(values: list[float]) -> float:
    return statistics.stdev(math.log(value) for value in values)


def report(null: list[dict[str, Any]], slow: list[dict[str, Any]]) -> None:
    from latency_gate import pooled_quantile

    print(
        "| workload | ratio sd cold | ratio sd warm | x1.25 shift cold | x1.25 shift warm "
        "| p95 sd raw | p95 sd normalized | p95 > 1.3x pooled: raw | normalized |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in WORKLOADS:
        cells = []
        for kind in ("cold", "warm"):
            values = [pair_statistic(run[name], kind) for run in null]
            cells.append(f"{statistics.stdev(values):.1%}")
        for kind in ("cold", "warm"):
            center = statistics.fmean(pair_statistic(run[name], kind) for run in null[:5])
            shifts = sorted(pair_statistic(run[name], kind) - center for run in slow)
            cells.append(f"{math.exp(shifts[0]) - 1:+.0%} to {math.exp(shifts[-1]) - 1:+.0%}")
        nominal = statistics.median(statistics.median(run[name]["warm"]) for run in null)
        raw = [pooled_quantile(run[name]["t"], 0.95) for run in null]
        judged = [pooled_quantile(normalized(run[name], nominal), 0.95) for run in null]
        limit = 1.3 * pooled_quantile([value for run in null for value in run[name]["t"]], 0.95)
        cells += [f"{sd_log(raw):.1%}", f"{sd_log(judged):.1%}"]
        cells += [
            f"{sum(value > limit for value in raw)}/{len(null)}",
            f"{sum(value > limit for value in judged)}/{len(null)}",
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=30, help="identical-code processes")
    parser.add_argument("--slow-runs", type=int, default=10, help="processes at x1.25")
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child)))
        return
    started = time.perf_counter()
    null = run_children(args.runs, 1.0)
    slow = run_children(args.slow_runs, 1.25)
    print(
        f"### Reference workload: cold vs warm ({args.runs} identical-code and "
        f"{args.slow_runs} x1.25 processes, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{(time.perf_counter() - started) / 60:.1f} min)\n"
    )
    report(null, slow)


if __name__ == "__main__":
    main()
