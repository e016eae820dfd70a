"""Which reference work tracks which code: candidate reference components, between processes.

Each run is a fresh Python process that measures the three workloads of
``latency_gate.py`` for ``--seconds`` each, like the sampler does (warm-up,
target rounds, a reference round after every ``k``-th target round) but timing
several candidate reference components after each group, each warm (one
untimed run, then the timed one), with the CPU wait removed as the sampler
removes it:

- ``py``: the interpreter loop of the reference (``reference.python_work``);
- ``sort``, ``sha``: the two halves of the reference's C-level component;
- ``np``: ``numpy.sort`` of 2,000 floats;
- ``js``: ``json.dumps`` of a small nested dict.

``nat`` (``sort`` + ``sha``, the reference's ``native_work``) and the
reference's geometric mean ``ref`` = sqrt(py * nat) are derived.

Runs are idle or with one core busy, at x1 and x1.25, in shuffled blocks of 5
(``--spread`` seconds of idling between blocks stretches the study over more of
the machine's speed modes). ``--out`` keeps every pair; ``--analyse FILE``
prints, per workload and candidate statistic (median over pairs of
log(target / candidate)), the between-process spread of identical code, the
shift of the x1.25 code against it, and how far apart the two are.

    python benchmarks/reference_candidates.py --runs 50 --slow-runs 25 --out study.json
    python benchmarks/reference_candidates.py --analyse study.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

WORKLOADS = ("py50us", "np2ms", "json20ms")
COMPONENTS = ("py", "sort", "sha", "np", "js")


def candidate_work() -> dict[str, Callable[[], object]]:
    """The candidate reference components (numpy imported here: a study, not the plugin)."""
    import numpy as np

    from pytest_prodguard.latency import reference

    floats = np.random.default_rng(3).random(2000)
    rng = random.Random(4)
    small = {
        f"k{i}": {"a": rng.random(), "b": [rng.randint(0, 99) for _ in range(4)]} for i in range(40)
    }
    blob = bytes(rng.getrandbits(8) for _ in range(8192))
    values = [rng.random() for _ in range(400)]
    return {
        "py": reference.python_work,
        "sort": lambda: sorted(values),
        "sha": lambda: hashlib.sha256(blob).digest(),
        "np": lambda: np.sort(floats),
        "js": lambda: json.dumps(small),
    }


def child(slowdown: float, seconds: float) -> dict[str, Any]:
    """One process: per workload, target rounds with every candidate timed after each group."""
    from latency_gate import make_workload

    from pytest_prodguard.latency.timing import CallableSource

    work = candidate_work()
    result: dict[str, Any] = {}
    for name in WORKLOADS:
        source = CallableSource(make_workload(name, slowdown))
        warm = source.warm_up(None, 0.05, 0.2)
        round_cost = warm.per_call * source.batch

        def timed(fn: Callable[[], object], source: CallableSource = source) -> float:
            fn()
            return source._time_reference(fn)

        probe = {key: timed(fn) for key, fn in work.items()}
        every = max(1, math.ceil(2 * sum(probe.values()) / (0.25 * round_cost)))
        pairs: dict[str, list[float]] = {"t": [], **{key: [] for key in COMPONENTS}}
        count = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            current = source.target().seconds
            count += 1
            if count % every == 0:
                pairs["t"].append(current)
                for key, fn in work.items():
                    pairs[key].append(timed(fn))
        source.close()
        result[name] = {"pairs": pairs, "rounds": count, "every": every, "batch": source.batch}
    return result


def run_child(slowdown: float, seconds: float) -> dict[str, Any]:
    from latency_gate import child_env

    completed = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps([slowdown, seconds])],
        capture_output=True,
        text=True,
        env=child_env(),
        check=True,
    )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def collect(args: argparse.Namespace, log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Every run, in shuffled blocks of 5 of one condition and slowdown."""
    from latency_gate import Hog

    rng = random.Random(args.seed)
    blocks = []
    for condition in ("idle", "loaded"):
        for slowdown, count in ((1.0, args.runs), (1.25, args.slow_runs)):
            blocks += [(condition, slowdown)] * math.ceil(count / 5)
    rng.shuffle(blocks)
    records = []
    for number, (condition, slowdown) in enumerate(blocks):
        with Hog(condition == "loaded"):
            for _ in range(5):
                result = run_child(slowdown, args.seconds)
                records.append(
                    {
                        "condition": condition,
                        "slowdown": slowdown,
                        "block": number,
                        "at": time.time(),
                        "result": result,
                    }
                )
        log(f"block {number + 1}/{len(blocks)}")
        if args.spread:
            time.sleep(args.spread)
    return records


# ---------------------------------------------------------------- analysis

#: Candidate statistics: weights of each derived component's log time.
CANDIDATES: dict[str, dict[str, float]] = {
    "ref (py*nat)^1/2": {"py": 0.5, "nat": 0.5},
    "py": {"py": 1.0},
    "nat": {"nat": 1.0},
    "sort": {"sort": 1.0},
    "sha": {"sha": 1.0},
    "np": {"np": 1.0},
    "js": {"js": 1.0},
    "(py*nat*np)^1/3": {"py": 1 / 3, "nat": 1 / 3, "np": 1 / 3},
    "(py*js)^1/2": {"py": 0.5, "js": 0.5},
    "(nat*np)^1/2": {"nat": 0.5, "np": 0.5},
    "raw (no reference)": {},
}


def log_components(pairs: dict[str, list[float]]) -> list[dict[str, float]]:
    """Per pair: log of the target and of every component, derived ones included."""
    rows = []
    for i, target in enumerate(pairs["t"]):
        row = {"t": math.log(target), **{key: math.log(pairs[key][i]) for key in COMPONENTS}}
        row["nat"] = math.log(pairs["sort"][i] + pairs["sha"][i])
        rows.append(row)
    return rows


def statistic(rows: list[dict[str, float]], weights: dict[str, float]) -> float:
    """Median over pairs of log(target) - sum of weighted log components."""
    return statistics.median(
        row["t"] - math.fsum(w * row[key] for key, w in weights.items()) for row in rows
    )


def analyse(records: list[dict[str, Any]]) -> None:
    """Print the per-workload table of every candidate statistic."""
    print(
        "| workload | statistic | sd x1 idle | sd x1 loaded | sd x1 all "
        "| x1.25 shift (mean, range) | shift / sd all | component median (us) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name in WORKLOADS:
        per_run = [
            (
                record["condition"],
                record["slowdown"],
                log_components(record["result"][name]["pairs"]),
            )
            for record in records
        ]
        for label, weights in CANDIDATES.items():
            values = {
                key: [
                    statistic(rows, weights) for cond, slow, rows in per_run if (cond, slow) == key
                ]
                for key in (("idle", 1.0), ("loaded", 1.0), ("idle", 1.25), ("loaded", 1.25))
            }
            null = values[("idle", 1.0)] + values[("loaded", 1.0)]
            slow = values[("idle", 1.25)] + values[("loaded", 1.25)]
            center = statistics.fmean(null)
            shifts = [value - center for value in slow]
            sd_all = statistics.stdev(null)
            component = ""
            if len(weights) == 1:
                key = next(iter(weights))
                pooled = [row[key] for _, _, rows in per_run for row in rows]
                component = f"{math.exp(statistics.median(pooled)) * 1e6:.1f}"
            print(
                f"| {name} | {label} | {statistics.stdev(values[('idle', 1.0)]):.1%} | "
                f"{statistics.stdev(values[('loaded', 1.0)]):.1%} | {sd_all:.1%} | "
                f"{math.expm1(statistics.fmean(shifts)):+.1%} ({math.expm1(min(shifts)):+.1%} to "
                f"{math.expm1(max(shifts)):+.1%}) | {statistics.fmean(shifts) / sd_all:.1f} | "
                f"{component} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=50, help="identical-code runs per condition")
    parser.add_argument("--slow-runs", type=int, default=25, help="x1.25 runs per condition")
    parser.add_argument("--seconds", type=float, default=1.0, help="sampling seconds per workload")
    parser.add_argument("--spread", type=float, default=0.0, help="idle seconds between blocks")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="write every run's pairs here (JSON)")
    parser.add_argument("--analyse", help="analyse a file written with --out and exit")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    if args.child:
        slowdown, seconds = json.loads(args.child)
        print(json.dumps(child(slowdown, seconds)))
        return
    if args.analyse:
        analyse(json.loads(Path(args.analyse).read_text(encoding="utf-8"))["records"])
        return

    def log(message: str) -> None:
        if args.progress:
            print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    started = time.perf_counter()
    records = collect(args, log)
    if args.out:
        Path(args.out).write_text(json.dumps({"records": records}), encoding="utf-8")
    print(
        f"### Reference candidates ({len(records)} processes, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"{(time.perf_counter() - started) / 60:.1f} min)\n"
    )
    analyse(records)


if __name__ == "__main__":
    main()
