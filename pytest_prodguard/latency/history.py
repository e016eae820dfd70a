"""Saved baselines as a history: show, prune, reset, accept, and import pytest-benchmark runs.

What ``prodguard baselines show/prune/reset/accept/import`` does, without the
command line: each function takes parsed values and returns text or a new
:class:`~.baseline.Baseline`; :func:`write_baseline` writes one atomically.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.latency.baseline import (
    MAX_RUNS,
    RATIO,
    RAW,
    Baseline,
    BaselineError,
    BaselineRun,
    baseline_path,
    load_baseline,
)
from pytest_prodguard.latency.environment import fingerprint_label
from pytest_prodguard.latency.stats import normal_quantile
from pytest_prodguard.units import format_duration

#: Label of baselines made from pytest-benchmark's samples (the plugin's and imported ones).
BENCHMARK_LABEL = "benchmark"
_BARS = " ▁▂▃▄▅▆▇█"
#: Standard deviations of a normal distribution in one interquartile range.
_IQR_SIGMAS = 2 * normal_quantile(0.75)


def load_all(root: Path) -> tuple[list[Baseline], list[str]]:
    """Every baseline under ``root`` and one error line per file that cannot be used."""
    baselines, errors = [], []
    for path in sorted(Path(root).glob("*.json")) if Path(root).is_dir() else []:
        try:
            baselines.append(load_baseline(path))
        except BaselineError as error:
            errors.append(f"{path.name}: {error}")
    return baselines, errors


def matching(baselines: Sequence[Baseline], test: str) -> list[Baseline]:
    """The baselines of ``test``: its exact node id, else those whose node id contains it."""
    exact = [baseline for baseline in baselines if baseline.nodeid == test]
    return exact or [baseline for baseline in baselines if test in baseline.nodeid]


def history_lines(baseline: Baseline, fingerprint: Mapping[str, str]) -> list[str]:
    """Each saved run (date, machine, p50, ratio) oldest first, then a text chart of p50."""
    name = baseline.path.name if baseline.path is not None else ""
    lines = [f"{baseline.nodeid}  ({name}, {len(baseline.runs)} run(s), newest last)"]
    for index, run in enumerate(baseline.runs, start=1):
        machine = (
            "this machine"
            if dict(run.fingerprint) == dict(fingerprint)
            else fingerprint_label(dict(run.fingerprint))
            if run.fingerprint
            else "unknown machine"
        )
        p50 = run.quantiles.get("p50")
        median = format_duration(p50) if p50 is not None else "n/a"
        ratio = f"ratio {math.exp(run.statistic):.4g}" if run.kind == RATIO else "raw times"
        lines.append(
            f"  {index:>2}  {run.saved_at or '?':<25}  p50 {median:>9}  {ratio}  {machine}"
        )
    medians = [run.quantiles.get("p50") for run in baseline.runs]
    known = [value for value in medians if value is not None]
    if len(known) > 1:
        lines.append(
            f"  p50  {chart(known)}  {format_duration(min(known))} .. {format_duration(max(known))}"
        )
    return lines


def chart(values: Sequence[float]) -> str:
    """One character per value, its height from the smallest (lowest bar) to the largest."""
    low, high = min(values), max(values)
    if high <= low:
        return _BARS[4] * len(values)
    steps = len(_BARS) - 2
    return "".join(_BARS[1 + round((value - low) / (high - low) * steps)] for value in values)


def keep_newest(baseline: Baseline, runs: int, *, field: str = "keep") -> Baseline:
    """The baseline with only its newest ``runs`` runs (prune; accept keeps 1 by default)."""
    if not isinstance(runs, int) or isinstance(runs, bool) or not 1 <= runs <= MAX_RUNS:
        raise ProdguardUsageError(field, runs, f"a whole number of runs from 1 to {MAX_RUNS}")
    return replace(baseline, runs=baseline.runs[-runs:])


def write_baseline(baseline: Baseline) -> None:
    """Write ``baseline`` back to its file, atomically."""
    if baseline.path is None:
        raise ValueError("a baseline without a path cannot be written")
    atomic_write_text(
        baseline.path, json.dumps(baseline.to_dict(), indent=2, sort_keys=True) + "\n"
    )


def files_of(baseline: Baseline) -> list[Path]:
    """The baseline's file, its saved profile (stacks, call counts) and lock, those that exist."""
    path = baseline.path
    if path is None:
        return []
    candidates = (
        path,
        path.with_suffix(".folded"),
        path.with_suffix(".calls.json"),
        path.with_name(f".{path.name}.lock"),
    )
    return [candidate for candidate in candidates if candidate.exists()]


def runs_from_benchmark_json(
    data: Any, source: str, fingerprint: Mapping[str, str] | None = None
) -> list[tuple[str, BaselineRun]]:
    """(node id, raw-time baseline run) for each benchmark in a pytest-benchmark saved run.

    pytest-benchmark's ``--benchmark-save``/``--benchmark-autosave`` files hold,
    per benchmark, ``fullname`` (the node id) and ``stats`` (min, q1, median,
    q3, max, mean, rounds; ``data`` with ``--benchmark-save-data``). The run's
    statistic is the log of the median; its standard error comes from the
    samples when saved, else from the interquartile range (a normal
    approximation of the median's error). ``fingerprint`` defaults to none: an
    imported run is compared as from another machine (the wider prior) unless
    it is given.
    """
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise ProdguardUsageError(
            "file", source, "a pytest-benchmark saved run (a JSON object with 'benchmarks')"
        )
    saved_at = str(data.get("datetime", ""))
    runs = []
    for entry in data["benchmarks"]:
        nodeid, stats = _benchmark_entry(entry, source)
        runs.append((nodeid, _benchmark_run(stats, saved_at, fingerprint or {})))
    return runs


def _benchmark_entry(entry: Any, source: str) -> tuple[str, Mapping[str, Any]]:
    stats = entry.get("stats") if isinstance(entry, dict) else None
    nodeid = entry.get("fullname") if isinstance(entry, dict) else None
    fields = ("median", "q1", "q3", "rounds")
    if not (
        isinstance(nodeid, str)
        and isinstance(stats, dict)
        and all(_positive(stats.get(key)) for key in fields)
    ):
        raise ProdguardUsageError(
            "benchmark",
            nodeid or entry,
            f"an entry of {source} with 'fullname' and positive stats "
            f"{', '.join(fields)} (pytest-benchmark's saved format)",
        )
    return nodeid, stats


def _positive(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _benchmark_run(
    stats: Mapping[str, Any], saved_at: str, fingerprint: Mapping[str, str]
) -> BaselineRun:
    median, rounds = float(stats["median"]), int(stats["rounds"])
    data = [float(value) for value in stats.get("data") or () if _positive(value)]
    if len(data) >= 2:
        from pytest_prodguard.latency.verdict import measurement_from_samples

        quantiles = measurement_from_samples(data).quantiles()
    else:
        quantiles = {"p25": float(stats["q1"]), "p50": median, "p75": float(stats["q3"])}
    # Log-scale spread from the interquartile range; the median's error is ~1.25 sigma/sqrt(n).
    sigma = math.log(float(stats["q3"]) / float(stats["q1"])) / _IQR_SIGMAS
    return BaselineRun(
        saved_at=saved_at,
        fingerprint=MappingProxyType(dict(fingerprint)),
        kind=RAW,
        statistic=math.log(median),
        statistic_se=math.sqrt(math.pi / 2) * sigma / math.sqrt(max(rounds, 1)),
        n=rounds,
        pairs=0,
        batch=1,
        quantiles=MappingProxyType(quantiles),
    )


def import_runs(
    runs: Iterable[tuple[str, BaselineRun]], root: Path, label: str = BENCHMARK_LABEL
) -> list[Path]:
    """Append imported runs to each test's baseline under ``root`` (newest MAX_RUNS kept)."""
    written = []
    for nodeid, run in runs:
        path = baseline_path(root, nodeid, label)
        existing: tuple[BaselineRun, ...] = ()
        if path.exists():
            existing = load_baseline(path).runs
        baseline = Baseline(nodeid, (*existing, run)[-MAX_RUNS:], path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_baseline(baseline)
        written.append(path)
    return written
