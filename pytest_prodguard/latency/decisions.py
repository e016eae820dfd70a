"""What the sampler decided at its looks, and the comparison types that record is made of.

The sampler's look judge (:mod:`.looks`) evaluates each budget and the baseline
comparison at the looks it takes, until each is decided, and hands its
:class:`Decisions` to the verdict: :func:`.verdict.judge` and
:func:`.compare.compare_to_baseline` then use them as they are instead of
replaying the looks. This module sits a floor below both :mod:`.compare` and
:mod:`.verdict` (and below the look judge, which imports them), so the
comparison's state and setup types live here and :mod:`.compare` re-exports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pytest_prodguard.latency.baseline import RATIO, Baseline, BaselineRun
from pytest_prodguard.latency.checks import Check
from pytest_prodguard.latency.measurement import COMBINED, Measurement
from pytest_prodguard.latency.spec import LatencySpec

#: Fewest reference pairs (or raw values) a comparison can judge at a look.
MIN_PAIRS = 3
INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True)
class ComparisonState:
    """The comparison at one look (log scale: ``d``, ``low``, ``high``)."""

    status: str
    decided: bool
    d: float
    low: float
    high: float
    within_low: float
    within_high: float
    pairs: int
    sigma_between: float
    dof: float
    slope: float = 0.0
    speed_shift: float = 0.0


def undecided_state(
    count: int, d: float = math.nan, sigma: float = math.nan, dof: float = math.nan
) -> ComparisonState:
    """State of a look that cannot judge yet (too few pairs, no alpha to spend, no runs)."""
    infinite = math.inf
    return ComparisonState(
        INCONCLUSIVE, False, d, -infinite, infinite, -infinite, infinite, count, sigma, dof
    )


@dataclass(frozen=True)
class ComponentChoice:
    """The reference component a comparison divides by, and why.

    ``spreads`` maps each component considered to the pooled between-run spread
    of its statistic over the runs it keeps (empty when there was no choice).
    """

    component: str = COMBINED
    spreads: Mapping[str, float] = field(default_factory=dict)

    def describe(self) -> str:
        """One line for the details section ('' when the combined reference was the default)."""
        if not self.spreads:
            return ""
        others = ", ".join(
            f"{name} {spread:.1%}"
            for name, spread in self.spreads.items()
            if name != self.component
        )
        why = (
            "tracked this test best"
            if self.component != COMBINED
            else "kept, no component did clearly better"
        )
        return (
            f"  reference component: {self.component} ({why}); spread of the saved runs "
            f"{self.spreads[self.component]:.1%}, against {others}"
        )


def _no_fingerprint() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True)
class ComparisonSetup:
    """Which baseline runs a comparison uses, with which statistic and prior.

    ``runs`` carry their statistic for ``choice.component``
    (:func:`.compare.project_runs`). ``baseline`` and ``fingerprint`` are what
    :func:`.compare.prepare_comparison` prepared it from (None for a setup built
    by hand), so that a comparison can tell whether it may use it.
    """

    runs: tuple[BaselineRun, ...]
    cross_machine: bool
    prior_sigma: float
    kind: str
    left_out: int = 0
    choice: ComponentChoice = field(default_factory=ComponentChoice)
    baseline: Baseline | None = field(default=None, compare=False, repr=False)
    fingerprint: Mapping[str, str] = field(
        default_factory=_no_fingerprint, compare=False, repr=False
    )

    @property
    def component(self) -> str:
        """The reference component the statistic divides by."""
        return self.choice.component

    def prepared_from(self, baseline: Baseline, fingerprint: Mapping[str, str]) -> bool:
        """True when this setup was prepared from ``baseline`` on a machine of ``fingerprint``."""
        return (
            self.baseline is not None
            and (self.baseline is baseline or self.baseline == baseline)
            and dict(self.fingerprint) == dict(fingerprint)
        )


@dataclass(frozen=True)
class ComparisonDecision:
    """The comparison as the look judge left it.

    ``state`` is that of the first look at which it was decided, or of the last
    look taken (``final``) when none decided it; ``rounds`` and ``elapsed`` are
    that look's size and sampling seconds (``elapsed`` None when the
    measurement had no looks). ``setup`` is the one prepared once, before
    sampling, and ``tolerance`` the fraction it was judged at.
    """

    setup: ComparisonSetup
    tolerance: float
    state: ComparisonState
    rounds: int
    elapsed: float | None


def judged_fields(measurement: Measurement) -> tuple[object, ...]:
    """Everything of a measurement that its budget and comparison decisions depend on."""
    return (
        measurement.samples,
        measurement.reference_index,
        measurement.reference_python,
        measurement.reference_native,
        measurement.reference_every,
        measurement.looks,
        measurement.look_times,
        measurement.planned_looks,
        measurement.first_fail_look,
        measurement.confidence,
        measurement.nominal_reference,
        measurement.normalized,
    )


@dataclass(frozen=True)
class Decisions:
    """What the sampler's look judge decided, each budget and the comparison once.

    ``checks`` holds one :class:`~.checks.Check` per duration budget of
    ``spec`` (both tiers, in the order of :meth:`.LatencySpec.duration_budgets`):
    the check of the look that decided it, or of the last look taken with the
    note on the samples a pass needs (``max`` is judged on the last look's
    values). ``comparison`` is None when no baseline comparison was asked for.
    ``basis`` is :func:`judged_fields` of the measurement decided on:
    :meth:`checks_for` and :meth:`comparison_for` give nothing for another
    measurement, spec, baseline or tolerance, and the caller replays the looks.
    """

    spec: LatencySpec | None
    checks: tuple[Check, ...]
    comparison: ComparisonDecision | None
    basis: tuple[object, ...] = field(repr=False)

    def covers(self, measurement: Measurement) -> bool:
        """True when these decisions were made on ``measurement``'s rounds and looks."""
        return self.basis == judged_fields(measurement)

    def checks_for(self, measurement: Measurement, spec: LatencySpec) -> tuple[Check, ...] | None:
        """The duration budgets' checks, when decided on this measurement for this spec."""
        if self.spec is None or spec != self.spec or not self.covers(measurement):
            return None
        return self.checks

    def comparison_for(
        self, measurement: Measurement, baseline: Baseline, tolerance: float
    ) -> ComparisonDecision | None:
        """The comparison decision, when made on this measurement, baseline and tolerance.

        With fewer than :data:`MIN_PAIRS` reference pairs the recorded ratio
        statistic could not decide anything at any look: the comparison is
        then judged on the raw times, as without a reference (None here).
        """
        decision = self.comparison
        if (
            decision is None
            or decision.tolerance != tolerance
            or not decision.setup.prepared_from(baseline, measurement.fingerprint)
            or not self.covers(measurement)
        ):
            return None
        if decision.setup.kind == RATIO and len(measurement.reference_index) < MIN_PAIRS:
            return None
        return decision
