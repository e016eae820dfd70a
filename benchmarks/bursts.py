"""Bursts of a slower machine in one process: how long, how often, seen by the reference or not.

Each run is a fresh process that records the ~50 us pure-Python workload of
``latency_gate.py`` for 0.5 s with ``measure(fn, spec=None)`` (reference rounds
interleaved as always). A call is *slow* when it takes more than 1.4x the
process's median call; a *burst* is a run of consecutive slow calls. For every
reference round the script asks whether the calls around it (the median of the
11 nearest) were slow, and compares the reference's time there with its
median in the process. Printed: the share of slow calls per process, the
length of bursts in calls, and the reference's slowdown inside and outside
bursts.

    python benchmarks/bursts.py --runs 40
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency_gate import make_workload, run_script_child

SLOW = 1.4


def child() -> dict[str, Any]:
    """One fresh process: per-call times and reference rounds, each over its median."""
    from pytest_prodguard.latency import measure

    measurement = measure(make_workload("py50us", 1.0), spec=None)
    median = statistics.median(measurement.samples)
    references = [
        math.sqrt(python * native)
        for python, native in zip(
            measurement.reference_python, measurement.reference_native, strict=True
        )
    ]
    reference_median = statistics.median(references)
    return {
        "ratios": [value / median for value in measurement.samples],
        "reference_index": list(measurement.reference_index),
        "reference_ratios": [value / reference_median for value in references],
        "median": median,
    }


def burst_lengths(ratios: list[float]) -> list[int]:
    """Lengths of the runs of consecutive slow calls."""
    lengths, current = [], 0
    for ratio in ratios:
        if ratio > SLOW:
            current += 1
        elif current:
            lengths.append(current)
            current = 0
    if current:
        lengths.append(current)
    return lengths


def bucket(length: int) -> str:
    """The row of the burst-length table that a burst of ``length`` calls falls in."""
    for upper, label in ((2, "1"), (5, "2-4"), (20, "5-19"), (100, "20-99")):
        if length < upper:
            return label
    return "100+"


def reference_inside_outside(run: dict[str, Any]) -> tuple[list[float], list[float]]:
    """Reference ratios where the calls around them were slow, and where they were not."""
    inside: list[float] = []
    outside: list[float] = []
    ratios = run["ratios"]
    for index, reference in zip(run["reference_index"], run["reference_ratios"], strict=True):
        around = ratios[max(0, index - 5) : index + 6]
        (inside if statistics.median(around) > SLOW else outside).append(reference)
    return inside, outside


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=40, help="fresh processes")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child()))
        return
    started = time.time()
    runs = []
    for _ in range(args.runs):
        runs.append(run_script_child(__file__, {}))
    minutes = (time.time() - started) / 60
    shares = sorted(sum(r > SLOW for r in run["ratios"]) / len(run["ratios"]) for run in runs)
    lengths = [length for run in runs for length in burst_lengths(run["ratios"])]
    counts = Counter(bucket(n) for n in lengths)
    inside: list[float] = []
    outside: list[float] = []
    for run in runs:
        a, b = reference_inside_outside(run)
        inside += a
        outside += b
    medians = sorted(run["median"] * 1e6 for run in runs)
    print(
        f"## Bursts ({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, {args.runs} "
        f"processes, {minutes:.1f} min)\n"
    )
    middle = medians[len(medians) // 2]
    print(f"Median call {middle:.1f} us (process medians {medians[0]:.1f}–{medians[-1]:.1f}).\n")
    print("| share of calls > 1.4x the process median | processes |")
    print("|---|---|")
    for low, high in ((0, 0.02), (0.02, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 1.01)):
        count = sum(low <= share < high for share in shares)
        print(f"| {low:.0%}–{min(high, 1):.0%} | {count} |")
    print("\n| burst length (consecutive slow calls) | bursts | calls in them |")
    print("|---|---|---|")
    for label in ("1", "2-4", "5-19", "20-99", "100+"):
        calls = sum(n for n in lengths if bucket(n) == label)
        print(f"| {label} | {counts[label]} | {calls} |")
    longest = max(lengths, default=0)
    print(f"\nLongest burst: {longest} calls (about {longest * middle / 1000:.1f} ms).")
    print("\n| reference rounds | rounds | median reference time / process median |")
    print("|---|---|---|")
    for label, values in (("inside a burst", inside), ("outside", outside)):
        middle = f"{statistics.median(values):.3f}" if values else "-"
        print(f"| {label} | {len(values)} | {middle} |")


if __name__ == "__main__":
    main()
