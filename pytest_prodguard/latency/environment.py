"""Describe the machine a measurement ran on: fingerprint, load, busy processes.

The *fingerprint* (CPU model, logical cores, Python implementation and minor
version, OS and architecture) keys baselines; it deliberately leaves out the
momentary clock speed, which jitters between runs on the same machine. The
*environment* adds what changes from minute to minute: load average and the
processes that used a CPU while the measurement ran (read from ``/proc`` where
it exists; elsewhere those fields are empty).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

_BUSY_SHARE = 0.2  # a process that used >= 20% of one CPU during the measurement is "busy"
_MAX_BUSY = 5


def _cpu_model() -> str:
    try:
        for line in (
            Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines()
        ):
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _python_minor() -> str:
    major, minor, _ = platform.python_version_tuple()
    return f"{major}.{minor}"


def machine_fingerprint() -> dict[str, str]:
    """Stable description of the machine: CPU model, cores, Python, platform (no clock speed)."""
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": str(os.cpu_count() or 0),
        "python": f"{platform.python_implementation()} {_python_minor()}",
        "platform": f"{platform.system()}-{platform.machine()}",
    }


def fingerprint_id(fingerprint: dict[str, str]) -> str:
    """Short hash of a fingerprint, for labels and file names."""
    canonical = json.dumps(fingerprint, sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()[:12]


def fingerprint_label(fingerprint: dict[str, str]) -> str:
    """Human form: ``AMD EPYC 7B13 (2 cores), CPython 3.11, Linux-x86_64``."""
    return (
        f"{fingerprint.get('cpu_model', '?')} ({fingerprint.get('logical_cores', '?')} cores), "
        f"{fingerprint.get('python', '?')}, {fingerprint.get('platform', '?')}"
    )


@dataclass(frozen=True)
class ProcessSnapshot:
    """CPU ticks used so far by every readable process, and when they were read."""

    taken_at: float
    ticks: dict[int, tuple[str, int]] = field(default_factory=dict)


def snapshot_processes() -> ProcessSnapshot:
    """Read utime+stime of every process in /proc (empty where /proc is missing)."""
    taken_at = time.monotonic()
    ticks: dict[int, tuple[str, int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return ProcessSnapshot(taken_at, ticks)
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        name_end = text.rfind(")")
        name = text[text.find("(") + 1 : name_end]
        fields = text[name_end + 2 :].split()
        if len(fields) > 12:
            ticks[int(entry)] = (name, int(fields[11]) + int(fields[12]))
    return ProcessSnapshot(taken_at, ticks)


def busy_processes(before: ProcessSnapshot, after: ProcessSnapshot) -> list[dict[str, object]]:
    """Other processes that used at least 20% of a CPU between two snapshots, busiest first."""
    interval = after.taken_at - before.taken_at
    if interval <= 0:
        return []
    ticks_per_second = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    own = os.getpid()
    busy = []
    for pid, (name, used) in after.ticks.items():
        if pid == own or pid not in before.ticks:
            continue
        share = (used - before.ticks[pid][1]) / ticks_per_second / interval
        if share >= _BUSY_SHARE:
            busy.append({"pid": pid, "name": name, "cpu_percent": round(100 * share)})
    busy.sort(key=lambda item: -int(str(item["cpu_percent"])))
    return busy[:_MAX_BUSY]


def describe_environment(since: ProcessSnapshot | None = None) -> dict[str, object]:
    """Fingerprint plus load average now, and the busy processes since ``since`` if given."""
    description: dict[str, object] = dict(machine_fingerprint())
    try:
        description["usable_cores"] = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        description["usable_cores"] = os.cpu_count() or 0
    try:
        description["load_average"] = [round(value, 2) for value in os.getloadavg()]
    except (AttributeError, OSError):
        description["load_average"] = None
    if since is not None:
        description["busy_processes"] = busy_processes(since, snapshot_processes())
    return description


def format_environment(start: dict[str, object], end: dict[str, object]) -> str:
    """One or two lines for a failure message: machine, load at start -> end, busy processes."""
    if not start and not end:
        return "environment: not recorded"
    info = start or end
    fingerprint = {
        key: str(info.get(key, "?")) for key in ("cpu_model", "logical_cores", "python", "platform")
    }
    line = f"environment: {fingerprint_label(fingerprint)}"
    load_start, load_end = start.get("load_average"), end.get("load_average")
    if isinstance(load_start, list) and isinstance(load_end, list):
        line += f"; load average {load_start[0]:.2f} at start, {load_end[0]:.2f} at end"
    busy = end.get("busy_processes")
    if isinstance(busy, list):
        if busy:
            names = ", ".join(
                f"{item['name']} (pid {item['pid']}, {item['cpu_percent']}% CPU)" for item in busy
            )
            line += f"\n  other busy processes during the measurement: {names}"
        else:
            line += "\n  no other process used more than 20% of a CPU during the measurement"
    return line
