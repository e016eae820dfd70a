"""Parse and validate the arguments of ``@pytest.mark.latency_budget`` into a LatencySpec.

Every bad value raises :class:`~pytest_prodguard.errors.ProdguardUsageError`
naming the argument, the value and what is accepted, before anything is
measured.
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.limits import LATENCY_SCALE, MAX_TIME, WARMUP
from pytest_prodguard.units import format_bytes, format_duration, parse_duration, parse_memory

#: Statistics a duration budget can be set on, in increasing order of the quantile.
STATISTICS: tuple[str, ...] = ("p50", "p90", "p95", "p99", "max", "mean")
#: The quantile level of each percentile statistic (``max`` is handled separately).
QUANTILES: Mapping[str, float] = MappingProxyType(
    {"p50": 0.50, "p90": 0.90, "p95": 0.95, "p99": 0.99}
)
#: Percentile-like statistics whose budgets must not decrease in this order.
ORDERED_STATISTICS: tuple[str, ...] = ("p50", "p90", "p95", "p99", "max")

DEFAULT_MAX_TIME = 2.0
DEFAULT_CONFIDENCE = 0.95

_OTHER_KEYS = (
    "peak_memory",
    "warn_peak_memory",
    "warn_ratio",
    "max_time",
    "warmup",
    "confidence",
    "include_cpu_wait",
)
ACCEPTED_KEYWORDS: tuple[str, ...] = (
    *STATISTICS,
    *(f"warn_{name}" for name in STATISTICS),
    *_OTHER_KEYS,
)


def _empty_budgets() -> Mapping[str, float]:
    return MappingProxyType({})


@dataclass(frozen=True)
class LatencySpec:
    """Parsed, validated and scaled arguments of one ``latency_budget`` marker.

    ``budgets`` and ``warn_budgets`` map a statistic (``"p50"``, ``"p90"``,
    ``"p95"``, ``"p99"``, ``"max"``, ``"mean"``) to seconds, with the
    environment scale already applied. Memory budgets are bytes. ``warmup`` is
    the number of unmeasured calls before sampling (None: automatic).
    ``include_cpu_wait`` keeps the time a call spent waiting for a CPU held by
    other processes in the measured latency (default: it is removed).
    """

    budgets: Mapping[str, float] = field(default_factory=_empty_budgets)
    warn_budgets: Mapping[str, float] = field(default_factory=_empty_budgets)
    peak_memory: int | None = None
    warn_peak_memory: int | None = None
    max_time: float = DEFAULT_MAX_TIME
    warmup: int | None = None
    confidence: float = DEFAULT_CONFIDENCE
    include_cpu_wait: bool = False

    @property
    def has_duration_budget(self) -> bool:
        """True when at least one duration budget (fail or warn tier) is set."""
        return bool(self.budgets) or bool(self.warn_budgets)

    def duration_budgets(self) -> tuple[tuple[str, str, float], ...]:
        """``(statistic, tier, seconds)`` of every duration budget: statistics in
        :data:`STATISTICS` order, the fail tier before the warn tier."""
        return tuple(
            (name, tier, budgets[name])
            for name in STATISTICS
            for tier, budgets in (("fail", self.budgets), ("warn", self.warn_budgets))
            if name in budgets
        )

    @property
    def has_memory_budget(self) -> bool:
        """True when a peak-memory budget (fail or warn tier) is set."""
        return self.peak_memory is not None or self.warn_peak_memory is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form (seconds and bytes)."""
        return {
            "budgets": dict(self.budgets),
            "warn_budgets": dict(self.warn_budgets),
            "peak_memory": self.peak_memory,
            "warn_peak_memory": self.warn_peak_memory,
            "max_time": self.max_time,
            "warmup": self.warmup,
            "confidence": self.confidence,
            "include_cpu_wait": self.include_cpu_wait,
        }

    def describe(self) -> str:
        """One line such as ``p95 <= 20 ms (warn 15 ms), peak_memory <= 64 MB``."""
        parts = []
        for name in STATISTICS:
            if name in self.budgets:
                text = f"{name} <= {format_duration(self.budgets[name])}"
                if name in self.warn_budgets:
                    text += f" (warn {format_duration(self.warn_budgets[name])})"
                parts.append(text)
            elif name in self.warn_budgets:
                parts.append(f"{name} warn at {format_duration(self.warn_budgets[name])}")
        if self.peak_memory is not None:
            text = f"peak_memory <= {format_bytes(self.peak_memory)}"
            if self.warn_peak_memory is not None:
                text += f" (warn {format_bytes(self.warn_peak_memory)})"
            parts.append(text)
        elif self.warn_peak_memory is not None:
            parts.append(f"peak_memory warn at {format_bytes(self.warn_peak_memory)}")
        return ", ".join(parts)


def _reject_unknown_keywords(kwargs: Mapping[str, object]) -> None:
    for key, value in kwargs.items():
        if key not in ACCEPTED_KEYWORDS:
            close = difflib.get_close_matches(str(key), ACCEPTED_KEYWORDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ProdguardUsageError(
                str(key),
                value,
                f"unknown latency_budget argument{hint}; accepted: {', '.join(ACCEPTED_KEYWORDS)}",
            )


def _parse_scale(scale: object) -> float:
    return float(LATENCY_SCALE.check("prodguard_latency_scale", scale))


def _parse_budgets(kwargs: Mapping[str, object], prefix: str, scale: float) -> dict[str, float]:
    budgets = {}
    for name in STATISTICS:
        key = prefix + name
        if key in kwargs:
            budgets[name] = parse_duration(kwargs[key], field=key) * scale
    return budgets


def _parse_optional_memory(kwargs: Mapping[str, object], key: str) -> int | None:
    return parse_memory(kwargs[key], field=key) if key in kwargs else None


def _parse_warn_ratio(kwargs: Mapping[str, object]) -> float | None:
    if "warn_ratio" not in kwargs:
        return None
    ratio = kwargs["warn_ratio"]
    if (
        isinstance(ratio, bool)
        or not isinstance(ratio, (int, float))
        or not 0 < ratio < 1
        or not math.isfinite(ratio)
    ):
        raise ProdguardUsageError(
            "warn_ratio",
            ratio,
            "a fraction between 0 and 1: the warn tier as a share of each budget "
            "(0.8 = warn at 80%)",
        )
    return float(ratio)


def _parse_warmup(kwargs: Mapping[str, object]) -> int | None:
    value = kwargs.get("warmup")
    if value is None:
        return None
    return int(WARMUP.check("warmup", value))


def _parse_confidence(kwargs: Mapping[str, object]) -> float:
    value = kwargs.get("confidence", DEFAULT_CONFIDENCE)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.5 <= value <= 0.9999:
        raise ProdguardUsageError(
            "confidence", value, "a probability between 0.5 and 0.9999, such as 0.95"
        )
    return float(value)


def _parse_flag(kwargs: Mapping[str, object], key: str) -> bool:
    value = kwargs.get(key, False)
    if not isinstance(value, bool):
        raise ProdguardUsageError(key, value, "True or False")
    return value


def _check_order(budgets: Mapping[str, float], prefix: str) -> None:
    """Reject budgets that contradict each other, such as p50 above p99."""
    present = [name for name in ORDERED_STATISTICS if name in budgets]
    for lower, higher in itertools.pairwise(present):
        if budgets[lower] > budgets[higher]:
            raise ProdguardUsageError(
                prefix + lower,
                format_duration(budgets[lower]),
                f"a budget no larger than {prefix}{higher}={format_duration(budgets[higher])}: "
                "a lower percentile cannot exceed a higher one",
            )


def _check_warn_below_fail(
    warn_budgets: Mapping[str, float],
    budgets: Mapping[str, float],
    warn_memory: int | None,
    memory: int | None,
) -> None:
    for name, warn_value in warn_budgets.items():
        if name in budgets and warn_value > budgets[name]:
            raise ProdguardUsageError(
                f"warn_{name}",
                format_duration(warn_value),
                f"a warn tier at or below the fail budget {name}={format_duration(budgets[name])}",
            )
    if warn_memory is not None and memory is not None and warn_memory > memory:
        raise ProdguardUsageError(
            "warn_peak_memory",
            format_bytes(warn_memory),
            f"a warn tier at or below peak_memory={format_bytes(memory)}",
        )


def parse_latency_spec(kwargs: Mapping[str, object], *, scale: float = 1.0) -> LatencySpec:
    """Validate marker keyword arguments and return a LatencySpec.

    Durations accept seconds or strings (``"150us"``, ``"20ms"``, ``"1.5s"``),
    memory accepts bytes or strings (``"64MB"``). ``scale`` (the ini option
    ``prodguard_latency_scale``) multiplies every duration budget, including the
    warn tier; it does not change memory budgets or ``max_time``. ``warn_ratio=0.8``
    sets a warn tier at 80% of every fail budget that has no explicit
    ``warn_<stat>``. Raises ProdguardUsageError for any bad value.
    """
    _reject_unknown_keywords(kwargs)
    factor = _parse_scale(scale)
    budgets = _parse_budgets(kwargs, "", factor)
    warn_budgets = _parse_budgets(kwargs, "warn_", factor)
    peak_memory = _parse_optional_memory(kwargs, "peak_memory")
    warn_peak_memory = _parse_optional_memory(kwargs, "warn_peak_memory")
    ratio = _parse_warn_ratio(kwargs)
    if ratio is not None:
        for name, value in budgets.items():
            warn_budgets.setdefault(name, value * ratio)
        if peak_memory is not None and warn_peak_memory is None:
            warn_peak_memory = int(peak_memory * ratio)
    if not budgets and not warn_budgets and peak_memory is None and warn_peak_memory is None:
        raise ProdguardUsageError(
            "latency_budget",
            dict(kwargs),
            "at least one budget: p50=, p90=, p95=, p99=, max=, mean= (durations such as '20ms'), "
            "peak_memory= (such as '64MB'), or a warn_<stat>= tier",
        )
    _check_order(budgets, "")
    _check_order(warn_budgets, "warn_")
    _check_warn_below_fail(warn_budgets, budgets, warn_peak_memory, peak_memory)
    max_time = (
        parse_duration(kwargs["max_time"], field="max_time", limit=MAX_TIME)
        if "max_time" in kwargs
        else DEFAULT_MAX_TIME
    )
    return LatencySpec(
        budgets=MappingProxyType(budgets),
        warn_budgets=MappingProxyType(warn_budgets),
        peak_memory=peak_memory,
        warn_peak_memory=warn_peak_memory,
        max_time=max_time,
        warmup=_parse_warmup(kwargs),
        confidence=_parse_confidence(kwargs),
        include_cpu_wait=_parse_flag(kwargs, "include_cpu_wait"),
    )
