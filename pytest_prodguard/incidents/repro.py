"""The ``incident_repro`` marker's arguments and the repeat-run arithmetic."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.incidents.registry import STATUSES

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
    exact = math.log(1 - confidence) / math.log(1 - repro_rate)
    # Guard against 28.000000000000004-style float noise pushing N up by one.
    return max(1, math.ceil(exact - 1e-9))


def detection_probability(runs: int, repro_rate: float) -> float:
    """Probability that ``runs`` independent runs reproduce a ``repro_rate`` bug at least once."""
    return 1 - (1 - repro_rate) ** runs


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
        if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
            raise ProdguardUsageError("runs", runs, "a whole number >= 1")
        if confidence is not None:
            raise ProdguardUsageError("confidence", confidence, "only together with repro_rate=")
        return runs, None, None
    if rate is None:
        if confidence is not None:
            raise ProdguardUsageError("confidence", confidence, "only together with repro_rate=")
        return 1, None, None
    rate_value = _open_unit("repro_rate", rate)
    confidence_value = 0.95 if confidence is None else _open_unit("confidence", confidence)
    return runs_for_rate(rate_value, confidence_value), rate_value, confidence_value


def _open_unit(name: str, value: object) -> float:
    accepted = "a number strictly between 0 and 1, e.g. 0.1"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProdguardUsageError(name, value, accepted)
    if not 0 < value < 1:
        raise ProdguardUsageError(name, value, accepted)
    return float(value)
