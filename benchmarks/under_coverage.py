"""Latency budgets and baseline comparisons under pytest-cov: no false verdicts.

Coverage slows pure-Python code several times and C-level code barely, so a
budget or a baseline saved without it cannot be judged under ``--cov``: before
issue 17 a pure-Python test failed its budget and reported a false regression,
and a C-bound one a false improvement. This script writes two latency tests (a
pure-Python scorer and a C-bound sort), saves baselines without coverage, then
runs the suite ``--runs`` times without and with ``--cov`` (comparing to the
baselines each time) and counts the verdicts from the JSON report.

    python benchmarks/under_coverage.py [--runs 3] [--code PATH]

``--code`` runs another checkout of pytest-prodguard (say, one from before issue 17)
to show the verdicts it gave.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = """
import random

import pytest

WORDS = ["alpha", "beta", "gamma", "delta"] * 50
NUMBERS = [random.Random(1).random() for _ in range(20_000)]

def score(words):
    total = 0
    for word in words:
        for char in word:
            total += ord(char)
    return total

@pytest.mark.latency_budget(p95="400us", max_time="1s")
def test_pure_python(latency):
    latency(score, WORDS)

@pytest.mark.latency_budget(p95="20ms", max_time="1s")
def test_c_bound(latency):
    latency(sorted, NUMBERS)
"""
INI = "[pytest]\nprodguard_profile = off\n"


CODE = Path(__file__).resolve().parents[1]


def run_suite(folder: Path, code: Path, *extra: str) -> dict[str, str]:
    """One pytest run of ``code`` in a fresh process; the status of each measured call."""
    report = folder / "report.json"
    env = {**os.environ, "PYTHONPATH": str(code)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-p",
            "no:benchmark",
            f"--prodguard-report={report}",
            *extra,
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        env=env,
    )
    tests = json.loads(report.read_text(encoding="utf-8"))["tests"]
    return {
        test["nodeid"].split("::")[-1]: test["latency"][-1][0]["status"]
        for test in tests
        if test.get("latency")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--code", type=Path, default=CODE, help="pytest-prodguard checkout")
    args = parser.parse_args()
    code = args.code.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "test_suite.py").write_text(SUITE)
        (folder / "pytest.ini").write_text(INI)
        for _ in range(3):
            run_suite(folder, code, "--prodguard-baseline-save")
        counts: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
            collections.Counter
        )
        for _ in range(args.runs):
            for label, extra in (("without coverage", ()), ("--cov", ("--cov=.",))):
                statuses = run_suite(folder, code, "--prodguard-baseline-compare", *extra)
                for test, status in statuses.items():
                    counts[(label, test)][status] += 1
    print(f"code: {code}; {args.runs} runs each, baselines from 3 saved runs without coverage")
    print()
    print("| run | test | verdicts |")
    print("| --- | --- | --- |")
    for (label, test), statuses in sorted(counts.items()):
        text = ", ".join(f"{status} {count}" for status, count in sorted(statuses.items()))
        print(f"| {label} | {test} | {text} |")
    false = sum(
        count
        for (label, _), statuses in counts.items()
        if label == "--cov"
        for status, count in statuses.items()
        if status in ("fail", "improved", "pass", "warn")
    )
    print()
    print(f"verdicts given under --cov (should be 0: every call 'not-judged'): {false}")


if __name__ == "__main__":
    main()
