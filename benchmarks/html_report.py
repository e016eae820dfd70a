"""HTML report size and first paint for a large run, measured in headless Chromium.

Builds a synthetic report of ``--tests`` tests (5% failing, ``--flamegraphs``
of the failures with a real flamegraph from the profiler's SVG writer, one
test in 25 with a latency verdict, one in 50 with a robustness record, 20
incident guards), renders it with :func:`render_html`, and loads it in
headless Chromium ``--runs`` times. First contentful paint is read from the
page's own Performance API (a copy of the page with a probe script appended,
which writes the figure into the document title once the page has loaded);
the wall time of the whole Chromium process (start-up included) is printed
beside it as an upper bound.

    python benchmarks/html_report.py [--tests 5000] [--flamegraphs 50] [--runs 3]
    python benchmarks/html_report.py --screenshot docs/report.png REPORT.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pytest_prodguard.profiling.stacks import format_folded
from pytest_prodguard.profiling.svg import render_flamegraph
from pytest_prodguard.report import render_html
from pytest_prodguard.report.environment import run_environment

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
PROBE = (
    "<script>addEventListener('load',function(){setTimeout(function(){"
    "var p=performance.getEntriesByName('first-contentful-paint')[0];"
    "document.title='FCP='+(p?p.startTime:-1)+';DCL='+"
    "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd;},50);});</script>"
)


def synthetic_stacks(rng: random.Random, frames: int) -> dict[tuple[str, ...], int]:
    """Folded stacks with about ``frames`` distinct frames, like a web service's profile."""
    names = [f"app/module_{i // 10}.py:handler_{i}:{10 + i}" for i in range(frames)]
    stacks: dict[tuple[str, ...], int] = {}
    for _ in range(frames * 3):
        depth = rng.randint(3, 14)
        stack = tuple(rng.choice(names[: 20 + level * 25]) for level in range(depth))
        stacks[stack] = stacks.get(stack, 0) + rng.randint(1, 40)
    return stacks


def synthetic_report(tests: int, flamegraphs: int, folder: Path, seed: int = 7) -> dict[str, Any]:
    """A report shaped like a real run's, with flamegraph files written under ``folder``."""
    rng = random.Random(seed)
    entries: list[dict[str, Any]] = []
    failing = set(rng.sample(range(tests), tests // 20))
    with_flame = set(rng.sample(sorted(failing), min(flamegraphs, len(failing))))
    for index in range(tests):
        nodeid = f"tests/test_area_{index // 100}.py::test_case_{index}[param-{index % 7}]"
        test: dict[str, Any] = {
            "nodeid": nodeid,
            "outcome": "failed" if index in failing else "passed",
            "duration": round(rng.expovariate(20), 6),
            "location": {"path": nodeid.split("::")[0], "line": 10 + index % 300},
        }
        if index in failing:
            test["message"] = f"assert {rng.randint(400, 599)} == 200"
            test["failure"] = "\n".join(
                f"    frame {n}: value = compute(payload[{n}])  # some context" for n in range(25)
            )
        if index in with_flame:
            svg = folder / f"flame-{index}.svg"
            stacks = synthetic_stacks(rng, 300)
            svg.write_text(render_flamegraph(stacks, title=nodeid), encoding="utf-8")
            raw = svg.with_suffix(".txt")
            raw.write_text(format_folded(stacks), encoding="utf-8")
            test["profile_files"] = {"svg": str(svg), "raw": str(raw)}
            test["profile"] = [{"profiler": "py-spy", "samples": 900, "hot_frames": []}]
        if index % 25 == 0:
            test["latency"] = [[_latency_call(rng, failed=index in failing)]]
        if index % 50 == 1:
            test["robustness"] = [
                {"check": "assert_robust", "passed": True, "failure_rate": 0.0, "n_checked": 200}
            ]
        entries.append(test)
    outcomes = {"passed": tests - len(failing), "failed": len(failing)}
    guards = [
        {
            "incident": f"INC-2025-{n:03d}",
            "title": f"incident number {n}",
            "severity": "HIGH",
            "status": "fixed",
            "outcome": "guarded",
            "nodeid": entries[n]["nodeid"],
        }
        for n in range(20)
    ]
    return {
        "schema_version": 2,
        "tool": {"name": "pytest-prodguard", "version": "bench"},
        "environment": run_environment(),
        "started": time.time(),
        "duration": 600.0,
        "exit_status": 1,
        "outcomes": outcomes,
        "incidents": {"registry": "incidents.toml", "counts": {"guarded": 20}, "guards": guards,
                      "unguarded_fixed": [], "guarded_ids": [g["incident"] for g in guards]},
        "tests": entries,
    }  # fmt: skip


def _latency_call(rng: random.Random, *, failed: bool) -> dict[str, Any]:
    estimate = rng.uniform(0.002, 0.02)
    budget = estimate * (0.8 if failed else 1.5)
    check = {
        "name": "p95",
        "tier": "fail",
        "budget": budget,
        "status": "fail" if failed else "pass",
        "estimate": estimate,
        "low": estimate * 0.95,
        "high": estimate * 1.05,
        "unit": "s",
    }
    return {
        "label": "predict",
        "status": check["status"],
        "headline": f"p95 = {estimate * 1000:.1f} ms vs budget {budget * 1000:.1f} ms",
        "verdict": {"status": check["status"], "checks": [check], "details": "x" * 800},
    }


def chromium(*args: str) -> tuple[str, float]:
    """Run headless Chromium; its stdout and wall seconds."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        sys.exit("chromium is not installed")
    with tempfile.TemporaryDirectory() as profile:
        start = time.perf_counter()
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        return done.stdout, time.perf_counter() - start


def measure(page: Path, runs: int) -> list[tuple[float, float, float]]:
    """(first contentful paint ms, DOMContentLoaded ms, Chromium wall s) per run."""
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text(encoding="utf-8") + PROBE, encoding="utf-8")
    figures = []
    for _ in range(runs):
        dom, wall = chromium("--virtual-time-budget=10000", "--dump-dom", probe.as_uri())
        found = re.search(r"<title>FCP=([-\d.]+);DCL=([-\d.]+)</title>", dom)
        if found is None:
            sys.exit("the probe did not report a paint time")
        figures.append((float(found.group(1)), float(found.group(2)), wall))
    return figures


def benchmark(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        report = synthetic_report(args.tests, args.flamegraphs, root)
        start = time.perf_counter()
        page_text = render_html(report)
        render_seconds = time.perf_counter() - start
        page = root / "report.html"
        page.write_text(page_text, encoding="utf-8")
        size = page.stat().st_size
        figures = measure(page, args.runs)
    flames = page_text.count("class='flamegraph'")
    sizes = [
        len(m)
        for m in re.findall(
            r"<(?:svg|iframe) class='flamegraph'.*?</(?:svg|iframe)>", page_text, re.S
        )
    ]
    print(
        f"{args.tests} tests, {flames} embedded flamegraphs (largest {max(sizes, default=0)} "
        f"bytes; files {args.flamegraphs} x ~1 MB): {size / 1e6:.2f} MB, "
        f"render_html {render_seconds:.2f} s"
    )
    print("| run | first contentful paint ms | DOMContentLoaded ms | chromium wall s |")
    print("| ---: | ---: | ---: | ---: |")
    for number, (fcp, dcl, wall) in enumerate(figures, start=1):
        print(f"| {number} | {fcp:.0f} | {dcl:.0f} | {wall:.2f} |")
    print(f"median first contentful paint: {statistics.median(f[0] for f in figures):.0f} ms")


def screenshot(report_path: Path, out: Path) -> None:
    report = json.loads(report_path.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "report.html"
        page.write_text(render_html(report), encoding="utf-8")
        chromium(f"--screenshot={out.resolve()}", "--window-size=1200,1900", page.as_uri())
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=5000)
    parser.add_argument("--flamegraphs", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshot", type=Path, help="write a PNG of REPORT's page instead")
    parser.add_argument("report", type=Path, nargs="?", help="a JSON report (with --screenshot)")
    args = parser.parse_args()
    if args.screenshot:
        if args.report is None:
            parser.error("--screenshot needs a JSON report")
        screenshot(args.report, args.screenshot)
    else:
        benchmark(args)


if __name__ == "__main__":
    main()
