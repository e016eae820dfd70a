"""Benchmark: the full A/B ship checklist on a 10-million-row unit-level event file.

Generates (seeded) a Parquet file of one row per unit (variant, segment, day,
converted, revenue) in a temporary directory, then times reading it and
running every check of :func:`pytest_prodguard.ab.check_ship_ready`. It also
measures, by simulation, the false-positive rate of naive repeated z-tests
against the always-valid mSPRT p-value with 20 looks.

Run on one core::

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/ab_checklist.py

Prints markdown tables on stdout and writes nothing else (the file lives in a
temporary directory that is removed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pytest_prodguard.ab import Experiment, Proportion, check_ship_ready, sequential_test

COLUMNS = {
    "variant": "variant",
    "converted": "converted",
    "value": "revenue",
    "segment": "segment",
    "period": "day",
}


def write_events(path: str, rows: int, seed: int) -> None:
    """Write ``rows`` synthetic units: 50/50 split, 4 segments, 14 days, +4% relative lift."""
    rng = np.random.default_rng(seed)
    variant = rng.integers(0, 2, rows, dtype=np.int8)
    segment = rng.choice(4, rows, p=[0.45, 0.35, 0.15, 0.05]).astype(np.int8)
    day = rng.integers(1, 15, rows, dtype=np.int16)
    base = np.array([0.10, 0.08, 0.12, 0.05])[segment]
    converted = rng.random(rows) < base * np.where(variant == 1, 1.04, 1.0)
    revenue = np.where(converted, rng.gamma(2.0, 15.0, rows), 0.0)
    table = pa.table(
        {
            "variant": pa.DictionaryArray.from_arrays(variant, ["control", "treatment"]),
            "segment": pa.DictionaryArray.from_arrays(segment, ["web", "ios", "android", "tv"]),
            "day": day,
            "converted": converted,
            "revenue": revenue,
        }
    )
    pq.write_table(table, path)


Timing = tuple[list[float], list[float]]


def timed(function: Callable[[], Any], repeat: int) -> tuple[Timing, Any]:
    """Wall-clock and CPU seconds of ``repeat`` calls, and the last result.

    CPU time (this process, all threads) is the steadier figure on a shared
    machine: other processes on the same core stretch wall-clock time only.
    """
    wall, cpu, result = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = function()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return (wall, cpu), result


COLD_RUN = """
import json, sys, time
import pyarrow as pa
pa.set_cpu_count(1)
pa.set_io_thread_count(1)
from pytest_prodguard.ab import Experiment, check_ship_ready
path, columns, planned = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
start, start_cpu = time.perf_counter(), time.process_time()
experiment = Experiment.from_events(path, **columns)
check_ship_ready(experiment, mde=0.02, guardrails={"revenue": 0.05}, planned_n=planned)
print(time.perf_counter() - start, time.process_time() - start_cpu)
"""


def cold_runs(path: str, planned: int, repeat: int) -> tuple[list[float], list[float]]:
    """End-to-end seconds of the first call in fresh processes (lazy imports, cold memory)."""
    wall, cpu = [], []
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, "-c", COLD_RUN, path, json.dumps(COLUMNS), str(planned)],
            capture_output=True,
            text=True,
            check=True,
            cwd=root,
            env={**os.environ, "PYTHONPATH": root},
        ).stdout.split()
        wall.append(float(output[0]))
        cpu.append(float(output[1]))
    return wall, cpu


def checklist_table(rows: int, repeat: int, seed: int) -> str:
    """Markdown table of the read/build/check timings on one file."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "events.parquet")
        write_events(path, rows, seed)
        size = os.path.getsize(path)
        read_times, _ = timed(lambda: pq.read_table(path, columns=list(COLUMNS.values())), repeat)
        build_times, experiment = timed(lambda: Experiment.from_events(path, **COLUMNS), repeat)

        def check() -> Any:
            return check_ship_ready(
                experiment, mde=0.02, guardrails={"revenue": 0.05}, planned_n=rows // 2 - 20_000
            )

        check_times, report = timed(check, repeat)

        def end_to_end() -> Any:
            built = Experiment.from_events(path, **COLUMNS)
            return check_ship_ready(
                built, mde=0.02, guardrails={"revenue": 0.05}, planned_n=rows // 2 - 20_000
            )

        total_times, _ = timed(end_to_end, repeat)
        cold_times = cold_runs(path, rows // 2 - 20_000, repeat)
    lines = [
        f"Full checklist on {rows:,} unit rows ({size / 1e6:.1f} MB Parquet, 5 columns); "
        f"{repeat} runs; report: {'READY' if report.ready else 'NOT READY'}, "
        f"checks {', '.join(f'{c.name}={c.status}' for c in report.checks)}",
        "",
        "| stage | wall median s | wall min s | wall max s | CPU median s | CPU max s |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, times in (
        ("read Parquet columns (pyarrow only, for reference)", read_times),
        ("Experiment.from_events (read + aggregate)", build_times),
        ("check_ship_ready (all checks, aggregated data)", check_times),
        ("end to end: from_events + check_ship_ready", total_times),
        ("end to end, first call in a fresh process (cold)", cold_times),
    ):
        wall, cpu = times
        lines.append(
            f"| {name} | {statistics.median(wall):.3f} | {min(wall):.3f} | {max(wall):.3f} "
            f"| {statistics.median(cpu):.3f} | {max(cpu):.3f} |"
        )
    return "\n".join(lines)


def peeking_table(replications: int, looks: int, seed: int) -> str:
    """Markdown table of false-positive rates under H0 with repeated looks."""
    rng = np.random.default_rng(seed)
    batch, rate = 250, 0.1
    naive = safe = final = 0
    for _ in range(replications):
        control = np.cumsum(rng.binomial(batch, rate, looks))
        treatment = np.cumsum(rng.binomial(batch, rate, looks))
        result = sequential_test(
            [
                (Proportion(int(c), batch * (k + 1)), Proportion(int(t), batch * (k + 1)))
                for k, (c, t) in enumerate(zip(control, treatment, strict=True))
            ],
            mixing_sd=0.01,
        )
        naive += result.naive_first_significant_look is not None
        safe += result.first_significant_look is not None
        final += result.naive_p_values[-1] < 0.05
    sd = (0.05 * 0.95 / replications) ** 0.5
    return "\n".join(
        [
            f"False positives under H0 (A/A at 10%, {looks} looks of +{batch} users per arm, "
            f"{replications:,} replications, alpha 0.05; binomial sd at 0.05 = {sd:.4f})",
            "",
            "| procedure | false-positive rate |",
            "| --- | ---: |",
            f"| fixed-horizon z-test, once at the last look | {final / replications:.4f} |",
            f"| naive: stop at the first look with z-test p < 0.05 | {naive / replications:.4f} |",
            f"| always-valid mSPRT p < 0.05 at any look (tau = 0.01) | {safe / replications:.4f} |",
        ]
    )


def main() -> None:
    """Parse arguments and print both tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--replications", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20250601)
    options = parser.parse_args()
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(f"CPUs this process may use: {affinity}; pyarrow threads: {pa.cpu_count()}")
    print()
    print(checklist_table(options.rows, options.repeat, options.seed))
    print()
    print(peeking_table(options.replications, 20, options.seed))


if __name__ == "__main__":
    main()
