"""What awaiting adds per measured call: ``latency(async_fn)`` against plain calls.

For a trivial coroutine (``async def f(): return 1``) and a trivial function, prints
the per-call median that :func:`pytest_prodguard.latency.measure` reports (awaited in
its event loop, batched like any sub-20-us call) next to a hand-written loop of the
same work, and the difference per await. Target: the timer overhead per await of a
trivial coroutine under 2 us.

    python benchmarks/async_overhead.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from pytest_prodguard.latency import measure


async def trivial_coroutine() -> int:
    return 1


def trivial_function() -> int:
    return 1


async def hand_loop_await(calls: int) -> float:
    """Per-call seconds of ``calls`` awaits in a plain loop (the floor: no measuring code)."""
    start = time.perf_counter_ns()
    for _ in range(calls):
        await trivial_coroutine()
    return (time.perf_counter_ns() - start) / calls / 1e9


def hand_loop_call(calls: int) -> float:
    """Per-call seconds of ``calls`` plain calls in a loop."""
    start = time.perf_counter_ns()
    for _ in range(calls):
        trivial_function()
    return (time.perf_counter_ns() - start) / calls / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {
        "latency(async fn), p50 per await": [],
        "hand loop of awaits, per await": [],
        "latency(sync fn), p50 per call": [],
        "hand loop of calls, per call": [],
    }
    batches = []
    for _ in range(args.repeats):
        awaited = measure(trivial_coroutine, spec=None)
        batches.append(awaited.batch)
        rows["latency(async fn), p50 per await"].append(awaited.quantiles()["p50"])
        rows["hand loop of awaits, per await"].append(asyncio.run(hand_loop_await(100_000)))
        rows["latency(sync fn), p50 per call"].append(
            measure(trivial_function, spec=None).quantiles()["p50"]
        )
        rows["hand loop of calls, per call"].append(hand_loop_call(100_000))
    print(
        f"{args.repeats} repeats; batch of the awaited measurement: "
        f"median {statistics.median(batches)}"
    )
    print()
    print("| what | median ns | min ns | max ns |")
    print("| --- | ---: | ---: | ---: |")
    for name, values in rows.items():
        ns = [value * 1e9 for value in values]
        print(f"| {name} | {statistics.median(ns):.0f} | {min(ns):.0f} | {max(ns):.0f} |")
    measured = rows["latency(async fn), p50 per await"]
    for floor_name in ("hand loop of awaits, per await", "hand loop of calls, per call"):
        extra = [
            (value - floor) * 1e9 for value, floor in zip(measured, rows[floor_name], strict=True)
        ]
        print(
            f"latency's p50 per await minus the {floor_name.split(',')[0]}: "
            f"median {statistics.median(extra):.0f} ns, max {max(extra):.0f} ns (target < 2000 ns)"
        )


if __name__ == "__main__":
    main()
