"""Saved latency baselines: one JSON file per test, holding the last few runs' summaries.

A baseline keeps up to :data:`MAX_RUNS` run summaries, newest last, because a
single run is a single draw of the between-process noise: with several runs
the comparison estimates how much this test's statistic moves from process to
process instead of assuming it. Each ``--prodguard-baseline-save`` appends a
run; files are written atomically (temporary file in the same folder, then
``os.replace``) under an advisory lock, so concurrent savers never leave a
partial file and never lose each other's runs.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pytest_prodguard.files import atomic_write_text, nodeid_slug
from pytest_prodguard.latency.measurement import (
    COMBINED,
    COMPONENTS,
    Measurement,
    component_log_time,
)
from pytest_prodguard.latency.reference import REFERENCE_VERSION
from pytest_prodguard.latency.stats import normal_quantile, quantile_bounds, sample_quantile

BASELINE_FORMAT = "pytest-prodguard/latency-baseline"
BASELINE_VERSION = 1
MAX_RUNS = 10
#: Statistic kinds: the paired target/reference log-ratio, or the raw log-median when
#: the measurement had no reference rounds (e.g. pytest-benchmark samples).
RATIO, RAW = "ratio", "raw"
_MIN_PAIRS = 3


class BaselineError(Exception):
    """A baseline file is corrupt, foreign or incompatible; the message names the file."""


class BaselineMissingError(BaselineError):
    """No baseline file exists yet: the plugin skips the comparison with a note."""


@dataclass(frozen=True)
class BaselineRun:
    """Summary of one saved run of one test.

    ``statistic`` is the median over reference pairs of log(target/reference)
    (``kind == "ratio"``) or the log of the median per-call time (``"raw"``);
    ``statistic_se`` its standard error within that run. ``component_statistics``
    holds the same median with each reference component alone as the divisor
    (``python``, ``native``; empty in files saved before they were recorded), so
    a comparison can use the component that tracks this test best.
    """

    saved_at: str
    fingerprint: Mapping[str, str]
    kind: str
    statistic: float
    statistic_se: float
    n: int
    pairs: int
    batch: int
    quantiles: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    reference_medians: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    peak_memory: int | None = None
    include_cpu_wait: bool = False
    component_statistics: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))

    def statistic_for(self, component: str = COMBINED) -> float | None:
        """The run's statistic with ``component`` as the divisor; None if it was not recorded."""
        if component == COMBINED:
            return self.statistic
        return self.component_statistics.get(component)

    def to_dict(self) -> dict[str, object]:
        """JSON form as stored in the file."""
        return {
            "saved_at": self.saved_at,
            "fingerprint": dict(self.fingerprint),
            "kind": self.kind,
            "statistic": self.statistic,
            "statistic_se": self.statistic_se,
            "n": self.n,
            "pairs": self.pairs,
            "batch": self.batch,
            "quantiles": dict(self.quantiles),
            "reference_medians": dict(self.reference_medians),
            "peak_memory": self.peak_memory,
            "include_cpu_wait": self.include_cpu_wait,
            "component_statistics": dict(self.component_statistics),
        }


@dataclass(frozen=True)
class Baseline:
    """All saved runs of one test (``path`` is where it was loaded from, if anywhere)."""

    nodeid: str
    runs: tuple[BaselineRun, ...]
    path: Path | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON form as stored in the file."""
        return {
            "format": BASELINE_FORMAT,
            "version": BASELINE_VERSION,
            "reference_version": REFERENCE_VERSION,
            "nodeid": self.nodeid,
            "runs": [run.to_dict() for run in self.runs],
        }


def baseline_path(root: Path, nodeid: str, label: str = "") -> Path:
    """File for ``nodeid`` (and an optional label, e.g. one of several callables) under ``root``.

    The name keeps a readable, sanitised part of the node id plus a hash of the
    full id, so that distinct tests never share a file and names stay short.
    """
    key = f"{nodeid}#{label}" if label else nodeid
    return Path(root) / f"{nodeid_slug(key)}.json"


def run_from_measurement(measurement: Measurement) -> BaselineRun:
    """Summarise a measurement as a baseline run."""
    ratios = measurement.paired_log_ratios()
    if len(ratios) >= _MIN_PAIRS:
        kind, values = RATIO, ratios
    else:
        kind, values = RAW, [math.log(max(value, 1e-12)) for value in measurement.samples]
    if not values:
        raise BaselineError("cannot save a baseline from a measurement without samples")
    ordered = sorted(values)
    components = {}
    if kind == RATIO:
        for component in COMPONENTS:
            if component != COMBINED:
                by_component = sorted(measurement.paired_log_ratios(component=component))
                components[component] = sample_quantile(by_component, 0.5)
    low, high = quantile_bounds(ordered, 0.5, 0.025, 0.025)
    spread = high - low if math.isfinite(high - low) else ordered[-1] - ordered[0]
    return BaselineRun(
        saved_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        fingerprint=MappingProxyType(dict(measurement.fingerprint)),
        kind=kind,
        statistic=sample_quantile(ordered, 0.5),
        statistic_se=spread / (2 * normal_quantile(0.975)),
        n=measurement.n,
        pairs=len(ratios),
        batch=measurement.batch,
        quantiles=MappingProxyType(measurement.quantiles()),
        reference_medians=MappingProxyType(measurement.reference_medians()),
        peak_memory=measurement.peak_memory,
        include_cpu_wait=measurement.include_cpu_wait,
        component_statistics=MappingProxyType(components),
    )


def run_reference_time(run: BaselineRun, component: str = COMBINED) -> float | None:
    """The run's median reference time as ``component`` counts it, if it recorded one.

    ``combined`` is the geometric mean of the two components' medians.
    """
    python = run.reference_medians.get("python", 0.0)
    native = run.reference_medians.get("native", 0.0)
    if python <= 0 or native <= 0:
        return None
    return math.exp(component_log_time(python, native, component))


def nominal_reference(
    baseline: Baseline, fingerprint: Mapping[str, str]
) -> tuple[float | None, int]:
    """The reference round's typical time on this machine, from the baseline's saved runs.

    Returns (median over the runs saved on a machine with this ``fingerprint``
    of each run's median reference time, number of such runs), or (None, 0)
    when no run from this machine recorded reference rounds. The reference time
    of a run is the geometric mean of its two components' medians.
    """
    times = sorted(
        time
        for run in baseline.runs
        if dict(run.fingerprint) == dict(fingerprint)
        and (time := run_reference_time(run)) is not None
    )
    if not times:
        return None, 0
    return sample_quantile(times, 0.5), len(times)


#: How long a save waits for another process's lock on the same baseline file.
LOCK_TIMEOUT_SECONDS = 30.0
_LOCK_POLL_SECONDS = 0.02


class BaselineLockTimeout(BaselineError):
    """Another process held a baseline's lock for longer than the timeout."""


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    """Advisory lock on a sidecar file, so concurrent read-append-write cycles serialise.

    The lock file is removed on release (while still locked, and a waiter that
    wakes on a removed file retries on the new one), so no ``.lock`` files stay
    behind. Waiting longer than ``timeout`` seconds raises
    :class:`BaselineLockTimeout` naming the lock file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: atomic replace still prevents partial files
        yield
        return
    fd = _acquire(lock_path, time.monotonic() + timeout, timeout)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock_path)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _acquire(lock_path: Path, deadline: float, timeout: float) -> int:
    import fcntl

    while True:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise BaselineLockTimeout(
                            f"latency baseline not saved: waited {timeout:g} s for the lock "
                            f"{lock_path}, which another process holds; if no other pytest "
                            "is saving baselines, delete that file"
                        ) from None
                    time.sleep(_LOCK_POLL_SECONDS)
            if _same_file(fd, lock_path):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder removed the file as we waited: lock the new one


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def save_baseline(
    path: Path,
    measurement: Measurement,
    *,
    nodeid: str,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
) -> str | None:
    """Append this measurement's summary to the baseline at ``path`` (atomic, lock-protected).

    An existing file for the same test keeps its last MAX_RUNS - 1 runs. A file
    that is corrupt, foreign or from an older format is replaced by a fresh one,
    and kept beside it as ``<name>.corrupt``; the returned note says so (None
    when there is nothing to say). Raises :class:`BaselineLockTimeout` when
    another process holds the lock too long and ``OSError`` when the folder
    cannot be written.
    """
    path = Path(path)
    new_run = run_from_measurement(measurement)
    note = None
    with _locked(path, lock_timeout):
        runs: list[BaselineRun] = []
        if path.exists():
            try:
                existing: Baseline | None = load_baseline(path)
            except BaselineError as error:
                existing = None
                note = _set_aside(path, error)
            if existing is not None and existing.nodeid == nodeid:
                runs = list(existing.runs)
        runs = [*runs, new_run][-MAX_RUNS:]
        baseline = Baseline(nodeid=nodeid, runs=tuple(runs), path=path)
        atomic_write_text(path, json.dumps(baseline.to_dict(), indent=2, sort_keys=True) + "\n")
    return note


def _set_aside(path: Path, error: BaselineError) -> str:
    """Move an unreadable baseline to ``<name>.corrupt`` (replacing an older one)."""
    kept = path.with_name(path.name + ".corrupt")
    os.replace(path, kept)
    problem = str(error).split("; delete the file", 1)[0]
    return f"replaced an unreadable baseline, kept as {kept.name}: {problem}"


def _require(condition: bool, path: Path, problem: str) -> None:
    if not condition:
        raise BaselineError(
            f"latency baseline {path}: {problem}; delete the file or save a new baseline "
            "with --prodguard-baseline-save"
        )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parse_run(raw: Any, path: Path, index: int) -> BaselineRun:
    where = f"run {index}"
    _require(isinstance(raw, dict), path, f"{where} is not an object")
    _require(
        raw.get("kind") in (RATIO, RAW), path, f"{where} has an unknown kind {raw.get('kind')!r}"
    )
    for key in ("statistic", "statistic_se"):
        _require(_number(raw.get(key)), path, f"{where} has no numeric {key!r}")
    _require(raw["statistic_se"] >= 0, path, f"{where} has a negative 'statistic_se'")
    for key in ("n", "pairs", "batch"):
        value = raw.get(key)
        _require(
            isinstance(value, int) and not isinstance(value, bool) and value >= 0,
            path,
            f"{where} has no count {key!r}",
        )
    fingerprint = raw.get("fingerprint")
    _require(isinstance(fingerprint, dict), path, f"{where} has no 'fingerprint' object")
    quantiles = raw.get("quantiles", {})
    references = raw.get("reference_medians", {})
    _require(
        isinstance(quantiles, dict) and all(_number(v) for v in quantiles.values()),
        path,
        f"{where} has malformed 'quantiles'",
    )
    _require(
        isinstance(references, dict) and all(_number(v) for v in references.values()),
        path,
        f"{where} has malformed 'reference_medians'",
    )
    components = raw.get("component_statistics", {})
    _require(
        isinstance(components, dict)
        and all(key in COMPONENTS and _number(v) for key, v in components.items()),
        path,
        f"{where} has malformed 'component_statistics' (numbers for {', '.join(COMPONENTS[1:])})",
    )
    peak = raw.get("peak_memory")
    _require(peak is None or _number(peak), path, f"{where} has a malformed 'peak_memory'")
    return BaselineRun(
        saved_at=str(raw.get("saved_at", "")),
        fingerprint=MappingProxyType({str(k): str(v) for k, v in fingerprint.items()}),
        kind=raw["kind"],
        statistic=float(raw["statistic"]),
        statistic_se=float(raw["statistic_se"]),
        n=raw["n"],
        pairs=raw["pairs"],
        batch=raw["batch"],
        quantiles=MappingProxyType({str(k): float(v) for k, v in quantiles.items()}),
        reference_medians=MappingProxyType({str(k): float(v) for k, v in references.items()}),
        peak_memory=int(peak) if peak is not None else None,
        include_cpu_wait=bool(raw.get("include_cpu_wait", False)),
        component_statistics=MappingProxyType({str(k): float(v) for k, v in components.items()}),
    )


def load_baseline(path: Path) -> Baseline:
    """Read and validate a baseline file.

    Raises BaselineMissingError when the file does not exist and BaselineError
    (naming the file and the problem) when it is unreadable, not JSON, not a
    prodguard latency baseline, from another format version, or malformed.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineMissingError(
            f"no latency baseline at {path}; save one with --prodguard-baseline-save"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise BaselineError(f"latency baseline {path}: cannot be read ({error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"latency baseline {path}: not valid JSON ({error.msg} at line {error.lineno}); "
            "delete the file or save a new baseline with --prodguard-baseline-save"
        ) from None
    _require(isinstance(data, dict), path, "not a JSON object")
    _require(
        data.get("format") == BASELINE_FORMAT,
        path,
        f"not a pytest-prodguard latency baseline (format {data.get('format')!r})",
    )
    _require(
        data.get("version") == BASELINE_VERSION,
        path,
        f"format version {data.get('version')!r}, this pytest-prodguard reads {BASELINE_VERSION}",
    )
    _require(
        data.get("reference_version") == REFERENCE_VERSION,
        path,
        f"made with reference workload v{data.get('reference_version')!r}, "
        f"this pytest-prodguard uses v{REFERENCE_VERSION}; delete it and save a new one "
        "with --prodguard-baseline-save",
    )
    _require(isinstance(data.get("nodeid"), str), path, "no 'nodeid'")
    runs = data.get("runs")
    _require(isinstance(runs, list) and len(runs) > 0, path, "no saved runs")
    parsed = tuple(_parse_run(raw, path, index) for index, raw in enumerate(runs))
    return Baseline(nodeid=data["nodeid"], runs=parsed, path=path)
