"""Simpson's paradox across segments: the pooled effect points the other way.

Definition used (and only this): the pooled (all segments together) lift has
the opposite sign to the lift in **every** segment, or to the lift in every
segment whose own effect is significant (when at least one is). Segments that
agree with the pooled direction are *not* a paradox, however much they differ
in size.

The paradox needs a confounder: the segment mix differs between arms (e.g.
one arm got mostly easy cases). The result reports each arm's segment shares
and a chi-square test of "same mix in every arm", and a segment-weighted lift
(each segment's lift weighted by its share of all units: the effect with the
mix held equal), which is the number to read instead of the pooled one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from pytest_prodguard.ab import _validate
from pytest_prodguard.ab._format import lift_text
from pytest_prodguard.ab.arm_stats import Mean, Proportion, Stat, pool
from pytest_prodguard.ab.significance import compare
from pytest_prodguard.errors import ProdguardUsageError


def _sign(value: float) -> int:
    return 0 if value == 0 or math.isnan(value) else (1 if value > 0 else -1)


@dataclass(frozen=True)
class SegmentEffect:
    """Treatment-vs-control effect within one segment (or pooled)."""

    name: str
    control: Stat
    treatment: Stat
    absolute_lift: float
    relative_lift: float
    p_value: float
    alpha: float

    @property
    def direction(self) -> int:
        """+1 if treatment is higher, -1 if lower, 0 if equal."""
        return _sign(self.absolute_lift)

    @property
    def significant(self) -> bool:
        """Whether this segment's own test has ``p_value < alpha``."""
        return self.p_value < self.alpha

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "control": self.control.to_dict(),
            "treatment": self.treatment.to_dict(),
            "absolute_lift": self.absolute_lift,
            "relative_lift": _finite(self.relative_lift),
            "p_value": _finite(self.p_value),
            "significant": self.significant,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class SimpsonResult:
    """Per-segment and pooled effects, whether they reverse, and the segment mix per arm."""

    segments: tuple[SegmentEffect, ...]
    pooled: SegmentEffect
    reversed_in_every_segment: bool
    reversed_in_significant_segments: bool
    control_shares: Mapping[str, float]
    treatment_shares: Mapping[str, float]
    mix_p_value: float
    weighted_lift: float
    alpha: float

    @property
    def paradox(self) -> bool:
        """Whether the pooled direction contradicts every (significant) segment."""
        return self.reversed_in_every_segment or self.reversed_in_significant_segments

    @property
    def rule(self) -> str | None:
        """Which definition fired: ``"every segment"``, ``"every significant segment"`` or None."""
        if self.reversed_in_every_segment:
            return "every segment"
        if self.reversed_in_significant_segments:
            return "every significant segment"
        return None

    @property
    def mix_differs(self) -> bool:
        """Whether the segment mix differs between arms (chi-square p < alpha)."""
        return self.mix_p_value < self.alpha

    def explanation(self, *, rate: bool) -> str:
        """Plain-words account of the paradox (or of its absence)."""
        per_segment = ", ".join(
            f"{effect.name}: {lift_text(effect.absolute_lift, rate=rate)}"
            for effect in self.segments
        )
        pooled = lift_text(self.pooled.absolute_lift, rate=rate)
        if not self.paradox:
            return f"pooled lift {pooled} does not contradict the segments ({per_segment})"
        which = "every segment" if self.reversed_in_every_segment else "every significant segment"
        mix = "; ".join(
            f"{name}: {self.control_shares[name]:.0%} of control vs "
            f"{self.treatment_shares[name]:.0%} of treatment"
            for name in self.control_shares
        )
        return (
            f"the pooled lift is {pooled} but {which} points the other way ({per_segment}). "
            f"The segment mix differs between arms ({mix}; chi-square p = {self.mix_p_value:.3g}), "
            f"which confounds the pooled number; the segment-weighted lift is "
            f"{lift_text(self.weighted_lift, rate=rate)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "paradox": self.paradox,
            "rule": self.rule,
            "segments": [effect.to_dict() for effect in self.segments],
            "pooled": self.pooled.to_dict(),
            "control_shares": dict(self.control_shares),
            "treatment_shares": dict(self.treatment_shares),
            "mix_p_value": _finite(self.mix_p_value),
            "weighted_lift": self.weighted_lift,
        }


def _effect(name: str, control: Stat, treatment: Stat, alpha: float) -> SegmentEffect:
    if isinstance(control, Mean) and min(control.n, treatment.n) < 2:
        diff = treatment.mean - control.mean
        relative = diff / control.mean if control.mean else math.nan
        return SegmentEffect(name, control, treatment, diff, relative, math.nan, alpha)
    result = compare(control, treatment, alpha=alpha)
    return SegmentEffect(
        name, control, treatment, result.absolute_lift, result.relative_lift, result.p_value, alpha
    )


def _checked_pairs(segments: object) -> dict[str, tuple[Stat, Stat]]:
    if not isinstance(segments, Mapping) or len(segments) < 2:
        raise ProdguardUsageError(
            "segments", segments, "must map at least two segment names to (control, treatment)"
        )
    pairs: dict[str, tuple[Stat, Stat]] = {}
    for name, pair in segments.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ProdguardUsageError(
                f"segments[{name!r}]", pair, "must be a (control, treatment) pair"
            )
        for role, stat in zip(("control", "treatment"), pair, strict=True):
            if stat is None:
                raise ProdguardUsageError(
                    f"segments[{name!r}]",
                    pair,
                    f"has no {role} data; every segment needs both arms",
                )
            if not isinstance(stat, (Proportion, Mean)):
                raise ProdguardUsageError(
                    f"segments[{name!r}] {role}", stat, "must be a Proportion or a Mean"
                )
        pairs[str(name)] = (pair[0], pair[1])
    kinds = {stat.kind for pair in pairs.values() for stat in pair}
    if len(kinds) > 1:
        raise ProdguardUsageError("segments", sorted(kinds), "must be all rates or all means")
    return pairs


def _mix_p_value(pairs: Mapping[str, tuple[Stat, Stat]]) -> float:
    table = np.array([[control.n, treatment.n] for control, treatment in pairs.values()], float)
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def simpson_check(
    segments: Mapping[str, tuple[Stat, Stat]],
    *,
    alpha: float = 0.05,
) -> SimpsonResult:
    """Check whether the pooled effect reverses the per-segment effects.

    ``segments`` maps segment name -> ``(control, treatment)``, both
    :class:`Proportion` or both :class:`Mean`; at least two segments, each with
    both arms. ``alpha`` decides which segments count as significant (each
    tested on its own: z-test for rates, Welch for means).
    """
    alpha_ = _validate.probability(alpha, field="alpha")
    pairs = _checked_pairs(segments)
    effects = tuple(_effect(name, c, t, alpha_) for name, (c, t) in pairs.items())
    pooled = _effect(
        "pooled",
        pool(control for control, _ in pairs.values()),
        pool(treatment for _, treatment in pairs.values()),
        alpha_,
    )
    opposite = -pooled.direction
    every = opposite != 0 and all(effect.direction == opposite for effect in effects)
    significant = [effect for effect in effects if effect.significant]
    reversed_significant = (
        opposite != 0
        and bool(significant)
        and all(effect.direction == opposite for effect in significant)
    )
    control_total = sum(control.n for control, _ in pairs.values())
    treatment_total = sum(treatment.n for _, treatment in pairs.values())
    total = control_total + treatment_total
    return SimpsonResult(
        segments=effects,
        pooled=pooled,
        reversed_in_every_segment=every,
        reversed_in_significant_segments=reversed_significant,
        control_shares={name: c.n / control_total for name, (c, _) in pairs.items()},
        treatment_shares={name: t.n / treatment_total for name, (_, t) in pairs.items()},
        mix_p_value=_mix_p_value(pairs),
        weighted_lift=sum(
            effect.absolute_lift * (effect.control.n + effect.treatment.n) / total
            for effect in effects
        ),
        alpha=alpha_,
    )
