"""Plugin overhead on a suite that uses no prodguard marker, and plugin import time.

Generates 2,000 trivial tests, then runs pytest on them alternately with and
without the plugin (``-p no:prodguard``), in fresh processes, and prints the
paired wall times. Counts the prodguard hook implementations pluggy calls per
unmarked test (deterministic, unlike the wall times on a shared machine). Also
times ``import pytest_prodguard.plugin`` in fresh interpreters and lists which
heavy modules it pulled in.

    python benchmarks/plugin_overhead.py [--pairs 10] [--tests 2000]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("numpy", "scipy", "torch", "hypothesis", "pandas")


def make_suite(folder: Path, tests: int) -> None:
    """Write ``tests`` trivial tests in 20 files, plus an empty ini."""
    per_file = tests // 20
    for index in range(20):
        body = "\n".join(
            f"def test_{index}_{n}():\n    assert {n} == {n}\n" for n in range(per_file)
        )
        (folder / f"test_gen_{index}.py").write_text(body)
    (folder / "pytest.ini").write_text("[pytest]\n")


def run_pytest(folder: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one pytest run in a fresh process.

    The CPU time counts only the run's own process, so it moves less than the wall
    time when other work shares the machine. Exits when the run did not pass.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def import_time() -> tuple[float, float, list[str]]:
    """Import times in a fresh interpreter: the plugin after pytest (what a pytest run pays),
    the plugin with pytest itself; and which heavy modules were loaded."""
    code = (
        "import sys,time;t0=time.perf_counter();import pytest;t1=time.perf_counter();"
        "import pytest_prodguard.plugin;t2=time.perf_counter();"
        f"print((t2-t1)*1000, (t2-t0)*1000, ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    plugin_ms, total_ms, heavy = out.stdout.split(" ")
    return float(plugin_ms), float(total_ms), [m for m in heavy.strip().split(",") if m]


COUNT_HOOKS = r"""
import collections, json, sys
import pytest

counts = collections.Counter()

class Monitor:
    def pytest_configure(self, config):
        def before(name, impls, kwargs):
            for impl in impls:
                if (impl.plugin_name or "").startswith("prodguard"):
                    counts[name] += 1
        config.pluginmanager.add_hookcall_monitoring(before, lambda *args: None)

pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly"], plugins=[Monitor()])
print(json.dumps(counts))
"""

#: Hooks pytest calls once per test (or per phase); the rest run once per session.
PER_TEST = (
    "pytest_runtest_protocol",
    "pytest_runtest_logstart",
    "pytest_runtest_setup",
    "pytest_runtest_call",
    "pytest_pyfunc_call",
    "pytest_runtest_teardown",
    "pytest_runtest_makereport",
    "pytest_runtest_logreport",
    "pytest_report_teststatus",
    "pytest_runtest_logfinish",
)


def hook_calls_per_test(folder: Path, tests: int) -> dict[str, float]:
    """Prodguard hook implementations pluggy calls per test, by hook (in-process run)."""
    out = subprocess.run(
        [sys.executable, "-c", COUNT_HOOKS], cwd=folder, capture_output=True, text=True, check=True
    )
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    return {name: counts.get(name, 0) / tests for name in PER_TEST if counts.get(name)}


def main() -> None:
    """Print the overhead table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--tests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        make_suite(folder, args.tests)
        run_pytest(folder)  # warm the file cache and bytecode
        per_test = hook_calls_per_test(folder, args.tests)
        with_plugin: list[tuple[float, float]] = []
        without: list[tuple[float, float]] = []
        for pair in range(args.pairs):
            order = [(), ("-p", "no:prodguard")] if pair % 2 == 0 else [("-p", "no:prodguard"), ()]
            for extra in order:
                (without if extra else with_plugin).append(run_pytest(folder, *extra))
    imports = [import_time() for _ in range(10)]
    print(f"| measure ({args.tests} unmarked tests, {args.pairs} paired runs) | value |")
    print("| --- | --- |")
    for index, what in ((0, "wall time"), (1, "CPU time")):
        mine = [run[index] for run in with_plugin]
        theirs = [run[index] for run in without]
        ratios = [w / o for w, o in zip(mine, theirs, strict=True)]
        extra_us = [(w - o) / args.tests * 1e6 for w, o in zip(mine, theirs, strict=True)]
        print(f"| median {what} with plugin | {statistics.median(mine):.3f} s |")
        print(f"| median {what} with -p no:prodguard | {statistics.median(theirs):.3f} s |")
        print(f"| median paired {what} ratio (with / without) | {statistics.median(ratios):.3f} |")
        print(f"| paired {what} ratio range | {min(ratios):.3f} – {max(ratios):.3f} |")
        print(f"| median paired {what} per test | {statistics.median(extra_us):+.1f} µs |")
    plugin_ms = statistics.median(ms for ms, _, _ in imports)
    total_ms = statistics.median(ms for _, ms, _ in imports)
    heavy = sorted(set().union(*(h for _, _, h in imports))) or "none"
    print(f"| plugin import after pytest, median of 10 fresh interpreters | {plugin_ms:.1f} ms |")
    print(f"| pytest + plugin import, same interpreters | {total_ms:.1f} ms |")
    print(f"| heavy modules imported by the plugin | {heavy} |")
    calls = ", ".join(f"{name.removeprefix('pytest_')} {n:g}" for name, n in per_test.items())
    print(f"| prodguard hook calls per unmarked test | {sum(per_test.values()):g} ({calls}) |")


if __name__ == "__main__":
    main()
