"""Parse and format durations ("20ms", "150us", "1.5s") and sizes ("64MB").

Shared by every marker so that all of them accept the same spellings and
reject bad ones with the same clear message.
"""

from __future__ import annotations

import re

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.limits import DURATION, MEMORY, Limit

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
_MEMORY_UNITS: dict[str, float] = {
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

DURATION_FORMAT = (
    "a positive number of seconds or a string such as '150us', '20ms', '1.5s' "
    "(units: ns, us, ms, s, min)"
)
MEMORY_FORMAT = (
    "a positive number of bytes or a string such as '512KB', '64MB', '1.5GiB' "
    "(units: B, KB, MB, GB, KiB, MiB, GiB)"
)
DURATION_ACCEPTED = f"{DURATION_FORMAT}, {DURATION.accepted}"
MEMORY_ACCEPTED = f"{MEMORY_FORMAT}, {MEMORY.accepted}"


def _number_with_unit(
    value: object, units: dict[str, float], default_unit: str, field: str, accepted: str
) -> float:
    """The finite value of a number (in base units) or a ``"<number><unit>"`` string."""
    if isinstance(value, bool):
        raise ProdguardUsageError(field, value, accepted)
    if isinstance(value, (int, float)):
        return float(value) if isinstance(value, float) else _int_as_float(value, field, accepted)
    if not isinstance(value, str):
        raise ProdguardUsageError(field, value, accepted)
    match = _NUMBER_UNIT.match(value)
    unit = (match.group(2).lower() or default_unit) if match else ""
    if match is None or unit not in units:
        raise ProdguardUsageError(field, value, accepted)
    return float(match.group(1)) * units[unit]  # "1e400ms" is inf: the range check refuses it


def _int_as_float(value: int, field: str, accepted: str) -> float:
    try:
        return float(value)
    except OverflowError:
        raise ProdguardUsageError(field, value, accepted) from None


def parse_duration(value: object, *, field: str = "duration", limit: Limit = DURATION) -> float:
    """Return ``value`` in seconds; numbers are seconds, strings carry a unit.

    The result must lie in ``limit`` (by default above 0 and at most one day);
    a value that is not finite or out of range is a usage error naming the range.
    """
    accepted = f"{DURATION_FORMAT}, {limit.accepted}"
    seconds = _number_with_unit(value, _DURATION_UNITS, "", field, accepted)
    if not limit.contains(seconds):
        raise ProdguardUsageError(field, value, accepted)
    return seconds


def parse_memory(value: object, *, field: str = "memory", limit: Limit = MEMORY) -> int:
    """Return ``value`` in bytes; numbers are bytes, strings carry a unit (MB = 10**6).

    The result must lie in ``limit`` (by default 1 byte to 1 PB); 0.5 bytes is
    refused rather than rounded down to a budget of 0.
    """
    accepted = f"{MEMORY_FORMAT}, {limit.accepted}"
    size = _number_with_unit(value, _MEMORY_UNITS, "b", field, accepted)
    if not limit.contains(size):
        raise ProdguardUsageError(field, value, accepted)
    return int(size)


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
