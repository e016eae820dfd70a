"""The ``incident_repro`` marker's arguments and the repeat-run arithmetic."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.incidents.registry import STATUSES
from pytest_prodguard.limits import MAX_RUNS, OPEN_UNIT, RUNS

MARKER_SIGNATURE = (
    "incident_repro(incident_id, *, status=None, runs=None, repro_rate=None, confidence=0.95)"
)
_KEYWORDS = ("status", "runs", "repro_rate", "confidence")


@dataclass(frozen=True)
class ReproSpec:
    """A validated ``incident_repro`` marker."""

    incident_id: str
    status: str | None  # None: take the registry's status
    runs: int  # how often the test body runs (1 = once)
    repro_rate: float | None
    confidence: float | None

    def guarantee(self) -> str | None:
        """A sentence stating what the number of runs guarantees, or None for one run."""
        if self.repro_rate is not None and self.confidence is not None:
            return (
                f"{self.runs} runs catch a regression that reproduces in "
                f"{self.repro_rate:.0%} of runs with probability >= {self.confidence:.0%}"
            )
        if self.runs > 1:
            detect = detection_probability(self.runs, 0.1)
            return (
                f"{self.runs} runs catch a 10%-reproducible regression "
                f"with probability {detect:.1%}"
            )
        return None


def runs_for_rate(repro_rate: float, confidence: float) -> int:
    """Runs needed so that a bug reproducing with ``repro_rate`` shows at least once.

    N = ceil(ln(1 - confidence) / ln(1 - repro_rate)); 29 for rate 0.1 at 95 %.
    """
    exact = _exact_runs(repro_rate, confidence)
    # Guard against 28.000000000000004-style float noise pushing N up by one.
    return max(1, math.ceil(exact - 1e-9))


def _exact_runs(repro_rate: float, confidence: float) -> float:
    """ln(1 - confidence) / ln(1 - repro_rate), as a float (inf for a vanishing rate)."""
    return math.log1p(-confidence) / math.log1p(-repro_rate)


def detection_probability(runs: int, repro_rate: float) -> float:
    """Probability that ``runs`` independent runs reproduce a ``repro_rate`` bug at least once."""
    return -math.expm1(runs * math.log1p(-repro_rate))  # exact for tiny rates too


def parse_repro_marker(args: Sequence[object], kwargs: Mapping[str, object]) -> ReproSpec:
    """Validate the marker's arguments; raise :class:`ProdguardUsageError` on bad ones."""
    unknown = sorted(set(kwargs) - set(_KEYWORDS) - {"incident_id"})
    if unknown:
        raise ProdguardUsageError(
            unknown[0], kwargs[unknown[0]], f"a keyword of {MARKER_SIGNATURE}"
        )
    incident_id = _incident_id(args, kwargs)
    status = kwargs.get("status")
    if status is not None and status not in STATUSES:
        raise ProdguardUsageError(
            "status", status, "'open' or 'fixed' (or leave it to the registry)"
        )
    runs, repro_rate, confidence = _repetition(kwargs)
    return ReproSpec(
        incident_id=incident_id,
        status=status if isinstance(status, str) else None,
        runs=runs,
        repro_rate=repro_rate,
        confidence=confidence,
    )


def _incident_id(args: Sequence[object], kwargs: Mapping[str, object]) -> str:
    if len(args) > 1:
        raise ProdguardUsageError(
            "args", tuple(args), f"exactly one positional incident id: {MARKER_SIGNATURE}"
        )
    given = args[0] if args else kwargs.get("incident_id")
    if given is None:
        raise ProdguardUsageError(
            "incident_id", None, "an incident id such as 'INC-2025-001' as the first argument"
        )
    if not isinstance(given, str) or not given.strip():
        raise ProdguardUsageError("incident_id", given, "a non-empty string such as 'INC-2025-001'")
    return given


def _repetition(kwargs: Mapping[str, object]) -> tuple[int, float | None, float | None]:
    runs = kwargs.get("runs")
    rate = kwargs.get("repro_rate")
    confidence = kwargs.get("confidence")
    if runs is not None and rate is not None:
        raise ProdguardUsageError(
            "runs", runs, "either runs=N or repro_rate=, not both (repro_rate computes runs)"
        )
    if runs is not None:
        RUNS.check("runs", runs)
        assert isinstance(runs, int)
        if confidence is not None:
            raise ProdguardUsageError("confidence", confidence, "only together with repro_rate=")
        return runs, None, None
    if rate is None:
        if confidence is not None:
            raise ProdguardUsageError("confidence", confidence, "only together with repro_rate=")
        return 1, None, None
    rate_value = float(OPEN_UNIT.check("repro_rate", rate))
    confidence_value = (
        0.95 if confidence is None else float(OPEN_UNIT.check("confidence", confidence))
    )
    if _exact_runs(rate_value, confidence_value) - 1e-9 > MAX_RUNS:
        raise ProdguardUsageError("repro_rate", rate, _over_the_cap(rate_value, confidence_value))
    return runs_for_rate(rate_value, confidence_value), rate_value, confidence_value


def _over_the_cap(rate: float, confidence: float) -> str:
    """Why a computed run count is refused, and what the cap would give instead."""
    needed = _exact_runs(rate, confidence)
    at_cap = detection_probability(MAX_RUNS, rate)
    lowest_rate = _round_up(-math.expm1(math.log1p(-confidence) / MAX_RUNS))
    return (
        f"a rate that needs at most {MAX_RUNS} runs: at confidence {confidence} it needs "
        f"{_about(needed)} runs; {MAX_RUNS} runs would catch it with probability "
        f"{at_cap * 100:.5g}% only. "
        f"Use repro_rate >= {lowest_rate:g} or a lower confidence, or runs={MAX_RUNS} "
        "to accept that weaker guarantee"
    )


def _about(count: float) -> str:
    return f"about {count:.3g}" if math.isfinite(count) else "more than 1e+308"


def _round_up(value: float) -> float:
    """``value`` rounded up to two significant digits (advice must not fall below it)."""
    step = 10 ** (math.floor(math.log10(value)) - 1)
    return float(f"{math.ceil(value / step) * step:.2g}")
