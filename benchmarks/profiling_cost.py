"""What profiling a failing test costs: wall time beyond the window, and sampling overhead.

Run from the repository root:

    python benchmarks/profiling_cost.py [--seconds 2.0] [--reps 5]

Prints markdown tables on stdout and writes nothing else (profiles go to a
temporary folder that is removed). Measured:

1. The one-off py-spy attach probe (``pyspy_status``), once per process.
2. ``profile_callable`` wall time minus the requested window, per profiler and
   workload: the time a failing test pays on top of the window (attach, stop,
   parsing, flamegraph, torch post-processing). The issue's bound is 1 s.
3. Sampling overhead: calls per second of the workload inside the window,
   against the same loop without a profiler run just before (median over
   repetitions of the per-pair slowdown).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_prodguard.profiling import (
    profile_callable,
    pyspy_status,
    reset_pyspy_status,
)

DOCUMENT = {f"key{i}": [i, str(i) * 8, {"x": i / 3, "y": [None, True]}] for i in range(20_000)}


def json_dump() -> None:
    json.dumps(DOCUMENT)


def python_loop() -> None:
    total = 0
    for i in range(200_000):
        total += i * i


def sleep_wait() -> None:
    time.sleep(0.02)


def torch_workloads() -> dict[str, Callable[[], None]]:
    try:
        import torch
    except ImportError:
        return {}
    torch.manual_seed(0)
    # one intra-op thread: on a shared 2-core machine OpenMP's spinning worker made
    # two-thread runs up to 100x slower and the throughput column meaningless
    torch.set_num_threads(1)
    mlp = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.ReLU(), torch.nn.Linear(256, 8))
    small_batch = torch.randn(64, 128)
    encoder = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(128, 4, 256, batch_first=True), num_layers=4
    )
    tokens = torch.randn(8, 64, 128)

    def torch_mlp() -> None:
        with torch.no_grad():
            mlp(small_batch)

    def torch_transformer() -> None:
        with torch.no_grad():
            encoder(tokens)

    return {"torch MLP": torch_mlp, "torch transformer (4 layers)": torch_transformer}


def calls_per_second(fn: Callable[[], None], seconds: float) -> float:
    calls, started = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return calls / elapsed


def measure_probe() -> str:
    reset_pyspy_status()
    started = time.perf_counter()
    usable, reason = pyspy_status()
    elapsed_ms = 1000 * (time.perf_counter() - started)
    cached = time.perf_counter()
    pyspy_status()
    cached_us = 1e6 * (time.perf_counter() - cached)
    return (
        "| probe | result | first call | cached call |\n|---|---|---|---|\n"
        f"| `py-spy dump --pid <self>` | {'usable' if usable else 'unusable: ' + reason} "
        f"| {elapsed_ms:.0f} ms | {cached_us:.1f} µs |"
    )


def measure_profiles(
    workloads: dict[str, tuple[Callable[[], None], list[str]]], seconds: float, reps: int, out: Path
) -> list[str]:
    rows = []
    for name, (fn, profilers) in workloads.items():
        fn()  # warm up, as the failing test already did
        for profiler in profilers:
            extra, slowdowns, samples, used = [], [], [], set()
            for rep in range(reps):
                # interleaved: an unprofiled run right before each profiled one
                unprofiled_rate = calls_per_second(fn, seconds / 2)
                started = time.perf_counter()
                result = profile_callable(
                    fn, profiler=profiler, seconds=seconds, out_dir=out, name=f"{rep}"
                )
                extra.append(time.perf_counter() - started - seconds)
                profiled_rate = result.calls / result.seconds
                slowdowns.append(unprofiled_rate / profiled_rate - 1)
                samples.append(result.samples)
                used.add(_ran(result.profiler, result.stack_profiler))
            overhead = 100 * statistics.median(slowdowns)
            ran = "/".join(sorted(used))
            extra_median = statistics.median(extra)
            rows.append(
                f"| {name} | {profiler} ({ran}) | {extra_median:.3f} | {max(extra):.3f} "
                f"| {statistics.median(samples):.0f} | {overhead:+.0f}% |"
            )
    return rows


def _ran(profiler: str, stack_profiler: str | None) -> str:
    return f"{profiler}+{stack_profiler}" if profiler == "torch" else profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, window {args.seconds} s, {args.reps} repetitions\n")
    print(measure_probe())
    workloads: dict[str, tuple[Callable[[], None], list[str]]] = {
        "json.dumps (C encoder, holds the GIL)": (json_dump, ["py-spy", "builtin"]),
        "pure-Python loop": (python_loop, ["py-spy", "builtin"]),
        "time.sleep (idle)": (sleep_wait, ["py-spy", "builtin"]),
    }
    for name, fn in torch_workloads().items():
        workloads[name] = (fn, ["auto", "builtin"])
    with tempfile.TemporaryDirectory() as out:
        rows = measure_profiles(workloads, args.seconds, args.reps, Path(out))
    print(
        "\n| workload | profiler (ran) | wall minus window, median s | max s | samples "
        "| throughput cost in window |\n|---|---|---|---|---|---|"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
