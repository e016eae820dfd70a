"""Parse and format durations ("20ms", "150us", "1.5s") and sizes ("64MB").

Shared by every marker so that all of them accept the same spellings and
reject bad ones with the same clear message.
"""

from __future__ import annotations

import math
import re

from pytest_prodguard.errors import ProdguardUsageError

_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "sec": 1.0,
    "m": 60.0,
    "min": 60.0,
}
_MEMORY_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_NUMBER_UNIT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-zµμ]*)\s*$")

DURATION_ACCEPTED = (
    "a positive number of seconds or a string such as '150us', '20ms', '1.5s' "
    "(units: ns, us, ms, s, min)"
)
MEMORY_ACCEPTED = (
    "a positive number of bytes or a string such as '512KB', '64MB', '1.5GiB' "
    "(units: B, KB, MB, GB, KiB, MiB, GiB)"
)


def _positive_number(value: object, field: str, accepted: str) -> float | None:
    if isinstance(value, bool):
        raise ProdguardUsageError(field, value, accepted)
    if isinstance(value, (int, float)):
        number = float(value)
        if not math.isfinite(number) or number <= 0:
            raise ProdguardUsageError(field, value, accepted)
        return number
    return None


def parse_duration(value: object, *, field: str = "duration") -> float:
    """Return ``value`` in seconds; numbers are seconds, strings carry a unit."""
    number = _positive_number(value, field, DURATION_ACCEPTED)
    if number is not None:
        return number
    if not isinstance(value, str):
        raise ProdguardUsageError(field, value, DURATION_ACCEPTED)
    match = _NUMBER_UNIT.match(value)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _DURATION_UNITS:
        raise ProdguardUsageError(field, value, DURATION_ACCEPTED)
    seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    if seconds <= 0:
        raise ProdguardUsageError(field, value, DURATION_ACCEPTED)
    return seconds


def parse_memory(value: object, *, field: str = "memory") -> int:
    """Return ``value`` in bytes; numbers are bytes, strings carry a unit (MB = 10**6)."""
    number = _positive_number(value, field, MEMORY_ACCEPTED)
    if number is not None:
        if number < 1:  # int() would turn 0.5 into a budget of 0 bytes
            raise ProdguardUsageError(field, value, MEMORY_ACCEPTED)
        return int(number)
    if not isinstance(value, str):
        raise ProdguardUsageError(field, value, MEMORY_ACCEPTED)
    match = _NUMBER_UNIT.match(value)
    unit = (match.group(2).lower() or "b") if match else ""
    if match is None or unit not in _MEMORY_UNITS:
        raise ProdguardUsageError(field, value, MEMORY_ACCEPTED)
    size = int(float(match.group(1)) * _MEMORY_UNITS[unit])
    if size <= 0:
        raise ProdguardUsageError(field, value, MEMORY_ACCEPTED)
    return size


def format_duration(seconds: float) -> str:
    """Format seconds with a unit chosen for readability: ``0.0312 -> '31.2 ms'``."""
    magnitude = abs(seconds)
    if magnitude >= 1:
        return f"{seconds:.3g} s"
    if magnitude >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    if magnitude >= 1e-6:
        return f"{seconds * 1e6:.3g} us"
    return f"{seconds * 1e9:.3g} ns"


def format_bytes(size: float) -> str:
    """Format a byte count with decimal units: ``64_000_000 -> '64 MB'``."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if abs(size) >= factor:
            return f"{size / factor:.3g} {unit}"
    return f"{size:.0f} B"
