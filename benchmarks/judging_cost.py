"""Judging cost the latency gate no longer pays: the verdict from the looks' decisions vs a replay.

A 2 s measurement (fake clock, seeded synthetic source: 20 us calls, about
100,000 rounds and 3,900 reference pairs, times normalized within the run)
with 4 budgets (p50, p95, p99, mean) and a baseline of 5 saved runs compared at
10% tolerance. After sampling, the gate builds the verdict with
``compare_to_baseline`` + ``judge``:

- *with decisions* (the gate now): the sampler's look judge already evaluated
  each budget and the comparison once, at its looks; the verdict only formats;
- *replayed* (the gate before, and any caller without decisions): the
  comparison setup is prepared again and every look is evaluated again, until
  each budget and the comparison are decided.

Two cases: budgets at the code's true quantiles (undecided until ``max_time``:
every look is replayed) and budgets far above them (decided at the first
looks) with the 2 s of a baseline being saved (``min_seconds``). Medians of
``--repeats`` timings, in milliseconds. ``--before REV`` adds the gate's
verdict path of an older commit (``git archive REV`` into a temporary folder,
timed in a child process): the same sampling seeds, judged the only way that
code could. Nothing else is written.

    python benchmarks/judging_cost.py --repeats 15 --before bc8461c
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Only names an older commit has too (``--before`` runs this file against it).
from pytest_prodguard.latency import (
    Baseline,
    LatencySpec,
    Measurement,
    compare_to_baseline,
    judge,
    parse_latency_spec,
    sample,
)
from pytest_prodguard.latency.baseline import run_from_measurement
from pytest_prodguard.latency.compare import prepare_comparison
from pytest_prodguard.latency.simulation import SyntheticSource, lognormal, lognormal_quantile

if TYPE_CHECKING:
    from pytest_prodguard.latency import Decisions

ROOT = Path(__file__).resolve().parent.parent

CALL, SIGMA, TOLERANCE = 20e-6, 0.3, 0.10
UNDECIDED = {
    name: f"{lognormal_quantile(CALL, SIGMA, q) * 1e6:.3f}us"
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
}
CASES: dict[str, tuple[dict[str, object], float]] = {
    "undecided until max_time (2 s)": (
        {**UNDECIDED, "mean": f"{CALL * math.exp(SIGMA**2 / 2) * 1e6:.3f}us", "max_time": "2s"},
        0.0,
    ),
    "decided early, sampled 2 s for a baseline save": (
        {"p50": "1ms", "p95": "1ms", "p99": "1ms", "mean": "1ms", "max_time": "2s"},
        2.0,
    ),
}


def baseline(seed: int) -> Baseline:
    rng = random.Random(seed)
    runs = [
        run_from_measurement(
            sample(
                SyntheticSource(
                    lognormal(CALL, SIGMA),
                    seed=seed * 100 + index,
                    process_speed=math.exp(0.05 * rng.gauss(0.0, 1.0)),
                ),
                None,
            )
        )
        for index in range(5)
    ]
    return Baseline("benchmarks::judging_cost", tuple(runs))


def sampling_options(saved: Baseline, min_seconds: float) -> dict[str, Any]:
    return {
        "setup": prepare_comparison(saved, {}, has_reference=True),
        "tolerance": TOLERANCE,
        "normalize_within_run": True,
        "min_seconds": min_seconds,
    }


def source() -> SyntheticSource:
    return SyntheticSource(lognormal(CALL, SIGMA), seed=7)


def fresh(sampler: Callable[..., object], spec: LatencySpec, options: dict[str, Any]) -> object:
    """One sampling run on a fresh source (the same seed: the same rounds every time)."""
    return sampler(source(), spec, **options)


def verdict(
    measurement: Measurement, spec: LatencySpec, saved: Baseline, given: Decisions | None = None
) -> object:
    """What the gate does after sampling: the comparison, then the verdict."""
    if given is None:  # the call an older commit understands
        comparison = compare_to_baseline(measurement, saved, tolerance=TOLERANCE)
        return judge(measurement, spec, comparison=comparison)
    comparison = compare_to_baseline(measurement, saved, tolerance=TOLERANCE, decisions=given)
    return judge(measurement, spec, comparison=comparison, decisions=given)


def median_ms(work: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def replayed_only(repeats: int) -> dict[str, list[float]]:
    """Rounds, looks and the replayed verdict's time of each case (what any commit can do)."""
    saved = baseline(1)
    rows = {}
    for name, (budgets, min_seconds) in CASES.items():
        spec = parse_latency_spec(budgets)
        options = sampling_options(saved, min_seconds)
        sampling = median_ms(functools.partial(fresh, sample, spec, options), 3)
        measurement = sample(source(), spec, **options)
        timed = median_ms(functools.partial(verdict, measurement, spec, saved), repeats)
        rows[name] = [measurement.n, len(measurement.looks), sampling, timed]
    return rows


def before(revision: str, repeats: int) -> dict[str, list[float]]:
    """:func:`replayed_only` run on the package as of ``revision``, in a child process."""
    with tempfile.TemporaryDirectory() as folder:
        archive = subprocess.run(
            ["git", "archive", revision, "pytest_prodguard"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        ).stdout
        archive_path = Path(folder) / "package.tar"
        archive_path.write_bytes(archive)
        with tarfile.open(archive_path) as tar:
            tar.extractall(folder, filter="data")
        child = subprocess.run(
            [sys.executable, __file__, "--replayed-only", "--repeats", str(repeats)],
            env={**os.environ, "PYTHONPATH": folder},
            cwd=folder,
            check=True,
            capture_output=True,
            text=True,
        )
    result: dict[str, list[float]] = json.loads(child.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--before", metavar="REV", help="also time this commit's verdict path")
    parser.add_argument("--replayed-only", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.replayed_only:
        print(json.dumps(replayed_only(options.repeats)))
        return
    from pytest_prodguard.latency.sampler import sample_with_decisions

    older = before(options.before, options.repeats) if options.before else {}
    saved = baseline(1)
    extra = f" {options.before}: rounds, looks, sampling, verdict |" if older else ""
    print(
        "| case | rounds | looks | sampling | verdict with decisions | replayed "
        f"| saved per verdict |{extra}"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if older else ""))
    for name, (budgets, min_seconds) in CASES.items():
        spec = parse_latency_spec(budgets)
        sampling_kw = sampling_options(saved, min_seconds)
        sampling = median_ms(functools.partial(fresh, sample_with_decisions, spec, sampling_kw), 3)
        measurement, decisions = sample_with_decisions(source(), spec, **sampling_kw)
        with_decisions = functools.partial(verdict, measurement, spec, saved, decisions)
        decided = median_ms(with_decisions, repeats=options.repeats)
        replayed = median_ms(functools.partial(verdict, measurement, spec, saved), options.repeats)
        old = ""
        if name in older:
            rounds, looks, sampled, timed = older[name]
            old = f" {rounds:.0f}, {looks:.0f}, {sampled:.0f} ms, {timed:.1f} ms |"
        print(
            f"| {name} | {measurement.n} | {len(measurement.looks)} | {sampling:.0f} ms "
            f"| {decided:.1f} ms "
            f"| {replayed:.1f} ms | {replayed - decided:.1f} ms ({replayed / decided:.1f}x) |{old}"
        )


if __name__ == "__main__":
    main()
