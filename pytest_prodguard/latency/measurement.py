"""The record of one measurement: samples, looks, reference rounds, memory, environment."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from pytest_prodguard.latency.stats import quantile_bounds, sample_quantile

#: Quantiles kept in summaries (baselines, JSON reports).
SUMMARY_QUANTILES: tuple[tuple[str, float], ...] = (
    ("p10", 0.10),
    ("p25", 0.25),
    ("p50", 0.50),
    ("p75", 0.75),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
)


#: The reference components a comparison can divide by: the geometric mean of both
#: (``combined``, the default) or one of them alone. Which one tracks a test best is
#: chosen from its saved baseline runs (:func:`.compare.choose_component`).
COMBINED, PYTHON, NATIVE = "combined", "python", "native"
COMPONENTS = (COMBINED, PYTHON, NATIVE)
_WEIGHTS = {COMBINED: (0.5, 0.5), PYTHON: (1.0, 0.0), NATIVE: (0.0, 1.0)}


def component_log_time(python: float, native: float, component: str = COMBINED) -> float:
    """log of one reference round's time as ``component`` counts it."""
    python_weight, native_weight = _WEIGHTS[component]
    return python_weight * math.log(python) + native_weight * math.log(native)


def paired_log_ratios(
    samples: Sequence[float],
    reference_index: Sequence[int],
    reference_python: Sequence[float],
    reference_native: Sequence[float],
    limit: int,
    component: str = COMBINED,
) -> list[float]:
    """log(target) - log(reference) for the reference rounds that follow target rounds < limit.

    The reference time is that of ``component``: the geometric mean of the two
    components (``combined``) or one of them alone.
    """
    ratios = []
    for index, python, native in zip(
        reference_index, reference_python, reference_native, strict=True
    ):
        if index >= limit:
            break
        target = max(samples[index], 1e-12)
        ratios.append(math.log(target) - component_log_time(python, native, component))
    return ratios


def reference_round_times(
    reference_index: Sequence[int],
    reference_python: Sequence[float],
    reference_native: Sequence[float],
    rounds: int,
    component: str = COMBINED,
) -> list[float]:
    """Sorted reference round times (as ``component`` counts them) of the rounds < ``rounds``.

    Rounds with a non-positive component are skipped.
    """
    return sorted(
        math.exp(component_log_time(python, native, component))
        for index, python, native in zip(
            reference_index, reference_python, reference_native, strict=True
        )
        if index < rounds and python > 0 and native > 0
    )


def normalized_samples(
    samples: Sequence[float],
    reference_index: Sequence[int],
    reference_python: Sequence[float],
    reference_native: Sequence[float],
    nominal: float | None,
    limit: int,
) -> list[float]:
    """The first ``limit`` per-call times rescaled to the machine's typical speed.

    Each target round is multiplied by ``min(1, nominal / local)``, where ``local`` is the
    median of the three reference rounds nearest to the reference round that
    closes its group (fewer when fewer exist), among those taken within the
    first ``limit`` rounds
    (so the sampler at a look and a later replay of that look agree). Rounds after
    the last reference round use the last one. ``nominal`` None means this run's
    own typical speed: the median of those reference rounds, which takes out
    bursts in which the machine ran slower than during the rest of the run.
    Without reference rounds the times are returned unchanged.
    """
    combined = [
        math.sqrt(python * native)
        for index, python, native in zip(
            reference_index, reference_python, reference_native, strict=True
        )
        if index < limit
    ]
    prefix = list(samples[:limit])
    if not combined:
        return prefix
    if nominal is None:
        nominal = sample_quantile(sorted(combined), 0.5)
    factors = []
    for k in range(len(combined)):
        start = max(0, min(k - 1, len(combined) - 3))
        local = sample_quantile(sorted(combined[start : start + 3]), 0.5)
        # Only ever scaled down: a baseline saved on a slow day never makes a budget stricter.
        factors.append(min(1.0, nominal / max(local, 1e-12)))
    result = []
    group = 0
    for index, value in enumerate(prefix):
        while group < len(combined) - 1 and reference_index[group] < index:
            group += 1
        result.append(value * factors[group])
    return result


class RoundRecord(Protocol):
    """Rounds timed so far: a :class:`Measurement`, or the sampler's rounds between looks."""

    @property
    def samples(self) -> Sequence[float]:
        """Per-call seconds of each round, in order."""

    @property
    def reference_index(self) -> Sequence[int]:
        """The target round each reference round followed."""

    @property
    def reference_python(self) -> Sequence[float]:
        """Seconds of each reference round's interpreter component."""

    @property
    def reference_native(self) -> Sequence[float]:
        """Seconds of each reference round's native component."""


def quantile_interval(
    ordered: Sequence[float], q: float, confidence: float
) -> tuple[float, float, float]:
    """(estimate, low, high) of the q-quantile of sorted values: a plain two-sided interval."""
    alpha = (1.0 - confidence) / 2.0
    low, high = quantile_bounds(ordered, q, alpha, alpha)
    return sample_quantile(ordered, q), low, high


def _empty() -> Mapping[str, object]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Measurement:
    """Everything one measurement produced, enough to judge it and to explain the verdict.

    ``samples`` are per-call seconds in the order measured (the CPU wait removed
    unless ``include_cpu_wait``), ``wall_samples`` the raw wall time of the same
    rounds. Rounds of ``batch`` calls each. ``looks`` are the sample counts at
    which the sampler evaluated its budgets (``planned_looks`` the schedule
    whose error budget they spent; ``look_times`` the sampling seconds at each).
    Reference round i ran right after target round ``reference_index[i]``.
    Budgets are judged on times rescaled to the machine's typical speed
    (:func:`normalized_samples`): the saved runs' when ``nominal_reference`` is
    known, this run's own when ``normalize_within_run``. Looks of fewer than
    ``first_fail_look`` rounds could not fail a budget.
    """

    samples: tuple[float, ...]
    wall_samples: tuple[float, ...]
    batch: int
    elapsed: float
    warmup_calls: int = 0
    warmup_seconds: float = 0.0
    planned_looks: tuple[int, ...] = ()
    looks: tuple[int, ...] = ()
    look_times: tuple[float, ...] = ()
    stop_reason: str = "recorded"
    reference_every: int = 1
    reference_index: tuple[int, ...] = ()
    reference_python: tuple[float, ...] = ()
    reference_native: tuple[float, ...] = ()
    confidence: float = 0.95
    include_cpu_wait: bool = False
    cpu_wait_available: bool = False
    cpu_wait_seconds: float = 0.0
    cpu_wait_rounds: int = 0
    timer: str = "perf_counter_ns"
    timer_overhead_ns: float = 0.0
    gc_collections: tuple[int, int, int] = (0, 0, 0)
    peak_memory: int | None = None
    cuda_peak_memory: int | None = None
    memory_calls: int = 0
    fingerprint: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    nominal_reference: float | None = None
    nominal_runs: int = 0
    normalize_within_run: bool = False
    first_fail_look: int = 0
    normalization_note: str = ""
    environment_start: Mapping[str, object] = field(default_factory=_empty)
    environment_end: Mapping[str, object] = field(default_factory=_empty)
    call_kind: str = "call"

    @property
    def n(self) -> int:
        """Number of timed rounds."""
        return len(self.samples)

    @property
    def calls(self) -> int:
        """Number of timed calls (rounds times batch)."""
        return len(self.samples) * self.batch

    def paired_log_ratios(
        self, rounds: int | None = None, component: str = COMBINED
    ) -> list[float]:
        """log(target / reference) for each reference round and the target round before it.

        Only pairs whose target round is among the first ``rounds`` are used;
        ``component`` says which reference time divides (:data:`COMPONENTS`).
        """
        return paired_log_ratios(
            self.samples,
            self.reference_index,
            self.reference_python,
            self.reference_native,
            self.n if rounds is None else rounds,
            component,
        )

    @property
    def normalized(self) -> bool:
        """True when budgets are judged on times rescaled to the machine's typical speed."""
        return (self.nominal_reference is not None or self.normalize_within_run) and bool(
            self.reference_index
        )

    @property
    def normalized_to(self) -> str | None:
        """Whose typical speed budgets are judged at: "saved runs", "this run" or None."""
        if not self.normalized:
            return None
        return "saved runs" if self.nominal_reference is not None else "this run"

    def decision_samples(self, rounds: int | None = None) -> list[float]:
        """Per-call times that budgets are judged on, for the first ``rounds`` rounds.

        Normalized to the machine's typical speed (:func:`normalized_samples`)
        when :attr:`normalized`, the raw samples otherwise.
        """
        limit = self.n if rounds is None else rounds
        if not self.normalized:
            return list(self.samples[:limit])
        return normalized_samples(
            self.samples,
            self.reference_index,
            self.reference_python,
            self.reference_native,
            self.nominal_reference,
            limit,
        )

    def speed_factor(self) -> float | None:
        """Median reference time of this run over the nominal one (1.3 = machine 30% slower)."""
        if self.nominal_reference is None or not self.reference_index:
            return None
        combined = reference_round_times(
            self.reference_index, self.reference_python, self.reference_native, self.n
        )
        return sample_quantile(combined, 0.5) / self.nominal_reference

    def quantiles(self, wall: bool = False) -> dict[str, float]:
        """Sample quantiles p10...p99 of the per-call times (or of the raw wall times)."""
        return _quantiles(self.wall_samples if wall else self.samples)

    def quantile_interval(self, q: float) -> tuple[float, float, float]:
        """(estimate, low, high) of the q-quantile: plain two-sided interval at ``confidence``."""
        return quantile_interval(sorted(self.decision_samples()), q, self.confidence)

    def reference_medians(self) -> dict[str, float]:
        """Median seconds of each reference component."""
        result = {}
        for name, values in (("python", self.reference_python), ("native", self.reference_native)):
            if values:
                result[name] = sample_quantile(sorted(values), 0.5)
        return result

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable summary (quantiles, counts, environment; no raw samples)."""
        return {
            "n": self.n,
            "call_kind": self.call_kind,
            "batch": self.batch,
            "calls": self.calls,
            "elapsed": self.elapsed,
            "warmup_calls": self.warmup_calls,
            "warmup_seconds": self.warmup_seconds,
            "looks": list(self.looks),
            "stop_reason": self.stop_reason,
            "quantiles": self.quantiles(),
            "wall_quantiles": self.quantiles(wall=True),
            "mean": math.fsum(self.samples) / self.n if self.n else None,
            "max": max(self.samples) if self.samples else None,
            "reference_pairs": len(self.reference_index),
            "reference_medians": self.reference_medians(),
            "nominal_reference": self.nominal_reference,
            "nominal_runs": self.nominal_runs,
            "normalized_to": self.normalized_to,
            "first_fail_look": self.first_fail_look,
            "normalization_note": self.normalization_note,
            "speed_factor": self.speed_factor(),
            "normalized_quantiles": (
                _quantiles(self.decision_samples()) if self.normalized else None
            ),
            "include_cpu_wait": self.include_cpu_wait,
            "cpu_wait_available": self.cpu_wait_available,
            "cpu_wait_seconds": self.cpu_wait_seconds,
            "cpu_wait_rounds": self.cpu_wait_rounds,
            "timer": self.timer,
            "timer_overhead_ns": self.timer_overhead_ns,
            "gc_collections": list(self.gc_collections),
            "peak_memory": self.peak_memory,
            "cuda_peak_memory": self.cuda_peak_memory,
            "fingerprint": dict(self.fingerprint),
            "environment_start": dict(self.environment_start),
            "environment_end": dict(self.environment_end),
        }


def _quantiles(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    return {name: sample_quantile(ordered, q) for name, q in SUMMARY_QUANTILES}
