"""Precision and recall of the secret/PII detectors on the labelled log corpus, and their speed.

Builds the corpus of ``log_corpus.py`` (fixed seed), runs every built-in
detector over every line and prints markdown tables: per detector and per
group (secrets, pii) precision and recall at line level, the share of random
13-19 digit ids flagged, and lines per second of ``find(line)`` with all
detectors, on one core (the process is pinned to one CPU where the OS allows).

    python benchmarks/log_detectors.py [--seed 20] [--repeats 3] [--show-errors 5]

A detector's true positive is a line labelled with it that it fires on; a
false positive is a line it fires on that is not labelled with it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from log_corpus import NUMERIC_ID_LABEL, build_corpus, build_held_out

from pytest_prodguard.logs.detectors import BUILTIN_NAMES, DETECTORS, find


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.4f}" if den else "n/a"


def main() -> None:
    """Print the accuracy and speed tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--held-out", action="store_true", help="score the held-out templates instead"
    )
    parser.add_argument("--show-errors", type=int, default=0, help="print N missed/false lines")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    corpus = build_held_out() if args.held_out else build_corpus(args.seed)
    fired = [{f.name for f in find(line)} for line, _ in corpus]

    print(f"corpus: {len(corpus)} lines (seed {args.seed}), Python {platform.python_version()}")
    print()
    print("| detector | group | positives | TP | FN | FP | precision | recall |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    errors: dict[str, list[str]] = {}
    for name in BUILTIN_NAMES:
        tp = fn = fp = 0
        for (line, labels), names in zip(corpus, fired, strict=True):
            expected, got = name in labels, name in names
            tp += expected and got
            fn += expected and not got
            fp += got and not expected
            if expected != got:
                errors.setdefault(name, []).append(("FN " if expected else "FP ") + line)
        category = DETECTORS[name].category
        print(
            f"| {name} | {category} | {tp + fn} | {tp} | {fn} | {fp} | "
            f"{_ratio(tp, tp + fp)} | {_ratio(tp, tp + fn)} |"
        )
    print()
    print("| group | positive lines | precision | recall |")
    print("| --- | --- | --- | --- |")
    for group in ("secrets", "pii"):
        members = {n for n in BUILTIN_NAMES if DETECTORS[n].category == group}
        tp = fn = fp = 0
        for (_, labels), names in zip(corpus, fired, strict=True):
            expected, got = bool(members & labels), bool(members & names)
            tp += expected and got
            fn += expected and not got
            fp += got and not expected
        print(f"| {group} | {tp + fn} | {_ratio(tp, tp + fp)} | {_ratio(tp, tp + fn)} |")
    ids = [
        names
        for (_, labels), names in zip(corpus, fired, strict=True)
        if NUMERIC_ID_LABEL in labels
    ]
    negatives = [
        names
        for (_, labels), names in zip(corpus, fired, strict=True)
        if not labels - {NUMERIC_ID_LABEL}
    ]
    print()
    print(
        f"random 13-19 digit ids flagged: {sum(map(bool, ids))} / {len(ids)} "
        f"({_ratio(sum(map(bool, ids)), len(ids))})"
    )
    print(f"hard negatives flagged (all kinds): {sum(map(bool, negatives))} / {len(negatives)}")

    lines = [line for line, _ in corpus]
    wall = cpu = float("inf")
    for _ in range(args.repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        for line in lines:
            find(line)
        wall = min(wall, time.perf_counter() - start)
        cpu = min(cpu, time.process_time() - start_cpu)
    mean_chars = sum(map(len, lines)) / len(lines)
    print(
        f"throughput, all {len(BUILTIN_NAMES)} detectors, one core, best of {args.repeats} "
        f"(mean line {mean_chars:.0f} chars): {len(lines) / wall:,.0f} lines/s wall, "
        f"{len(lines) / cpu:,.0f} lines per CPU-second; load average {os.getloadavg()[0]:.2f}"
    )
    for name, lines_wrong in sorted(errors.items()):
        for line in lines_wrong[: args.show_errors]:
            print(f"  {name}: {line[:160]!r}")


if __name__ == "__main__":
    main()
