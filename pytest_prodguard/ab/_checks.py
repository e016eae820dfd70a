"""The individual checks of the ship-readiness checklist, on validated arguments.

Each check takes a :class:`Plan` (the experiment plus the validated
arguments of :func:`pytest_prodguard.ab.check_ship_ready`) and returns a
:class:`~pytest_prodguard.ab.report.CheckResult` whose summary holds the
numbers and whose advice says what to do when it fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scipy import stats

from pytest_prodguard.ab._format import (
    count_text,
    interval_text,
    lift_text,
    p_text,
    percent,
    signed_percent,
)
from pytest_prodguard.ab.data import Experiment, Proportion, Stat
from pytest_prodguard.ab.multiple import adjust_pvalues
from pytest_prodguard.ab.power import (
    achieved_power,
    mean_sample_size,
    minimum_detectable_effect,
    rate_sample_size,
)
from pytest_prodguard.ab.report import FAIL, PASS, SKIP, CheckResult
from pytest_prodguard.ab.sequential import sequential_test
from pytest_prodguard.ab.significance import SignificanceResult, compare, non_inferiority_test
from pytest_prodguard.ab.simpson import simpson_check
from pytest_prodguard.ab.srm import srm_test

_CORRECTION_NAMES = {"holm": "Holm", "bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}


@dataclass(frozen=True)
class Guardrail:
    """A metric that must not get worse by ``margin`` or more (relative by default)."""

    metric: str
    margin: float
    relative: bool = True


@dataclass(frozen=True)
class Plan:
    """Validated arguments of one checklist run."""

    experiment: Experiment
    treatment: str
    alpha: float
    power: float
    mde: float
    relative_mde: bool
    success_metrics: tuple[str, ...]
    guardrails: tuple[Guardrail, ...]
    planned_n: Mapping[str, int] | None
    allocation: Mapping[str, float] | None
    correction: str
    srm_threshold: float
    lower_is_better: frozenset[str]
    mixing_sd: float | None
    method: str | None

    @property
    def primary(self) -> str:
        """The primary metric's name."""
        return self.experiment.primary

    def is_rate(self, metric: str) -> bool:
        """Whether ``metric`` is a rate (else a mean)."""
        return self.experiment.kind(metric) == "rate"

    def improves(self, metric: str, lift: float) -> bool:
        """Whether ``lift`` goes the good way for ``metric``."""
        return lift < 0 if metric in self.lower_is_better else lift > 0

    def mixing_sd_for(self, metric: str) -> float:
        """mSPRT tuning for ``metric``: the MDE in its units (the same relative size)."""
        if self.mixing_sd is not None:
            return self.mixing_sd
        baseline = abs(self.experiment.stat(metric, self.experiment.control).mean)
        relative = self.mde
        if not self.relative_mde:
            if metric == self.primary:
                return self.mde
            primary = abs(self.experiment.stat(self.primary, self.experiment.control).mean)
            relative = self.mde / primary if primary > 0 else 0.0
        scale = relative * baseline
        if scale > 0:
            return scale
        # A zero baseline leaves no natural scale: fall back to one standard deviation.
        return max(self.experiment.stat(metric, self.experiment.control).std, 1e-12)

    def mde_text(self) -> str:
        """The MDE in words: 'a +10.0% lift'."""
        if self.relative_mde:
            return f"a {signed_percent(self.mde)} lift"
        return f"a {lift_text(self.mde, rate=self.is_rate(self.primary))} lift"


@dataclass(frozen=True)
class Requirement:
    """Units each arm needs for the primary metric to reach the planned power."""

    control: int
    treatment: int


@dataclass(frozen=True)
class NoPower:
    """Why the power analysis cannot run on this data, and what to do."""

    reason: str
    advice: str


def _sizes_text(control: int, treatment: int, unit: str = "users") -> str:
    if control == treatment:
        return f"{count_text(control)} {unit} per arm"
    return f"{count_text(control)} control and {count_text(treatment)} treatment {unit}"


def _baseline_text(control: Stat) -> str:
    if isinstance(control, Proportion):
        return f"a {percent(control.rate)} baseline"
    return f"a baseline of {control.mean:.4g} (std {control.std:.4g})"


# Checks ----------------------------------------------------------------------------------


def check_sample_ratio(plan: Plan) -> CheckResult:
    """Units per arm against the planned allocation (chi-square)."""
    experiment = plan.experiment
    units = experiment.units or {}
    weights = dict(plan.allocation) if plan.allocation else None
    result = srm_test(dict(units), weights, threshold=plan.srm_threshold)
    shares = " / ".join(percent(share, 0) for share in result.expected_shares)
    counts = " / ".join(count_text(count) for count in result.counts)
    summary = (
        f"{counts} units in {' / '.join(result.arms)} (planned {shares}), "
        f"chi-square {p_text(result.p_value)}"
    )
    details = result.to_dict()
    if not result.testable:
        smallest = min(result.expected_shares)
        needed = math.ceil(
            stats.chi2.isf(plan.srm_threshold, result.df) * smallest / (1 - smallest)
        )
        return CheckResult(
            "sample ratio",
            FAIL,
            f"only {count_text(result.total)} units: too few for the sample-ratio test to flag "
            f"anything at p < {plan.srm_threshold:g}",
            f"collect at least {count_text(needed)} units before judging the split",
            details,
        )
    if result.mismatch:
        return CheckResult(
            "sample ratio",
            FAIL,
            f"sample ratio mismatch: {summary} < {plan.srm_threshold:g}",
            "the split is off by more than chance, so assignment or logging is broken and every "
            "other number is suspect; find the cause (bots, redirects, crashes, late triggering, "
            "lost events) before reading the results",
            details,
        )
    return CheckResult("sample ratio", PASS, summary, "", details)


def required_sizes(plan: Plan) -> Requirement | NoPower:
    """Sizes the primary metric needs, or why they cannot be computed from this data."""
    control = plan.experiment.stat(plan.primary, plan.experiment.control)
    # The design's ratio (planned allocation), not the observed one: the plan is per arm.
    allocation = plan.allocation or {}
    ratio = allocation.get(plan.treatment, 1.0) / allocation.get(plan.experiment.control, 1.0)
    if isinstance(control, Proportion):
        if not 0 < control.rate < 1:
            return NoPower(
                f"the control rate is {percent(control.rate)}, so power cannot be computed",
                "collect more data: the baseline rate must be strictly between 0% and 100%",
            )
        exact = rate_sample_size(
            control.rate,
            plan.mde,
            relative=plan.relative_mde,
            alpha=plan.alpha,
            power=plan.power,
            ratio=ratio,
            method=plan.method or "pooled",
        )
    else:
        if control.std == 0:
            return NoPower(
                "the control metric does not vary (std 0), so power cannot be computed",
                "collect more data, or check that the metric is logged",
            )
        if plan.relative_mde and control.mean == 0:
            return NoPower(
                "the control mean is 0, so a relative MDE is undefined",
                "give an absolute MDE with relative_mde=False",
            )
        exact = mean_sample_size(
            control.std,
            plan.mde,
            baseline=control.mean,
            relative=plan.relative_mde,
            alpha=plan.alpha,
            power=plan.power,
            ratio=ratio,
            method=plan.method or "t",
        )
    return Requirement(math.ceil(exact), math.ceil(exact * ratio))


def _planned(plan: Plan, arm: str) -> int | None:
    return None if plan.planned_n is None else plan.planned_n[arm]


def check_power(plan: Plan, needed: Requirement | NoPower, stopped_safely: bool) -> CheckResult:
    """The primary metric's sample against the size the MDE needs."""
    control, treatment = plan.experiment.pair(plan.primary, plan.treatment)
    has = _sizes_text(control.n, treatment.n)
    if isinstance(needed, NoPower):
        return CheckResult("power", FAIL, f"{needed.reason} (has {has})", needed.advice, {})
    settings = f"alpha {plan.alpha:g}, power {plan.power:.2f}"
    target = (
        f"needs {_sizes_text(needed.control, needed.treatment)} to detect {plan.mde_text()} "
        f"on {_baseline_text(control)} ({settings})"
    )
    method = plan.method
    achieved = achieved_power(
        control, treatment, plan.mde, relative=plan.relative_mde, alpha=plan.alpha, method=method
    )
    detectable = minimum_detectable_effect(
        control,
        treatment,
        relative=plan.relative_mde,
        alpha=plan.alpha,
        power=plan.power,
        method=method,
    )
    details = {
        "required_control": needed.control,
        "required_treatment": needed.treatment,
        "control_n": control.n,
        "treatment_n": treatment.n,
        "achieved_power": achieved,
        "detectable_effect": detectable,
        "mde": plan.mde,
        "relative_mde": plan.relative_mde,
    }
    if control.n >= needed.control and treatment.n >= needed.treatment:
        return CheckResult(
            "power", PASS, f"has {has}; {target}; achieved power {achieved:.2f}", "", details
        )
    planned_c, planned_t = _planned(plan, plan.experiment.control), _planned(plan, plan.treatment)
    if (
        planned_c is not None
        and planned_t is not None
        and (planned_c < needed.control or planned_t < needed.treatment)
    ):
        return CheckResult(
            "power",
            FAIL,
            f"the plan of {_sizes_text(planned_c, planned_t)} is underpowered: {target}; has {has}",
            f"plan for {_sizes_text(needed.control, needed.treatment)}, or accept a larger MDE",
            details,
        )
    if stopped_safely and planned_c is not None and planned_t is not None:
        return CheckResult(
            "power",
            PASS,
            f"stopped early by the always-valid test at {has}; the plan of "
            f"{_sizes_text(planned_c, planned_t)} is powered: {target}",
            "",
            details,
        )
    shown = (
        signed_percent(detectable)
        if plan.relative_mde
        else lift_text(detectable, rate=plan.is_rate(plan.primary))
    )
    return CheckResult(
        "power",
        FAIL,
        f"{target}; has {has} (achieved power {achieved:.2f})",
        f"keep the experiment running until it has {_sizes_text(needed.control, needed.treatment)},"
        f" or accept a larger MDE: with {has} the smallest detectable lift is {shown}",
        details,
    )


def _effect_text(metric: str, result: SignificanceResult, rate: bool, adjusted: float) -> str:
    level = f"{1 - result.alpha:.0%}"
    text = (
        f"{metric!r} {lift_text(result.absolute_lift, rate=rate)} "
        f"({signed_percent(result.relative_lift)}), {level} CI "
        f"{interval_text(*result.ci, rate=rate)}, {p_text(result.p_value)}"
    )
    if adjusted != result.p_value:
        text += f" (adjusted {p_text(adjusted)[2:]})"
    return text


def check_significance(plan: Plan) -> tuple[CheckResult, list[str]]:
    """The significance check, and the metrics that won (in ``success_metrics`` order)."""
    experiment = plan.experiment
    family = [(arm, metric) for arm in experiment.treatments for metric in plan.success_metrics]
    results = {key: compare(*experiment.pair(key[1], key[0]), alpha=plan.alpha) for key in family}
    raw = [results[key].p_value for key in family]
    adjusted = dict(zip(family, adjust_pvalues(raw, plan.correction), strict=True))
    mine = [(metric, results[(plan.treatment, metric)]) for metric in plan.success_metrics]
    winners = [
        metric
        for metric, result in mine
        if adjusted[(plan.treatment, metric)] < plan.alpha
        and plan.improves(metric, result.absolute_lift)
    ]
    losers = [
        metric
        for metric, result in mine
        if adjusted[(plan.treatment, metric)] < plan.alpha and metric not in winners
    ]
    lines = "; ".join(
        _effect_text(metric, result, plan.is_rate(metric), adjusted[(plan.treatment, metric)])
        for metric, result in mine
    )
    correction = (
        f" ({_CORRECTION_NAMES[plan.correction]} correction over {len(family)} tests)"
        if len(family) > 1
        else ""
    )
    details = {
        "tests": [
            {
                "treatment": arm,
                "metric": metric,
                "adjusted_p_value": adjusted[(arm, metric)],
                **results[(arm, metric)].to_dict(),
            }
            for arm, metric in family
        ],
        "correction": plan.correction,
        "winners": winners,
        "losers": losers,
    }
    if winners:
        return CheckResult("significance", PASS, lines + correction, "", details), winners
    if losers:
        return CheckResult(
            "significance",
            FAIL,
            f"significantly worse: {lines}{correction}",
            f"do not ship: the change hurts {', '.join(map(repr, losers))}",
            details,
        ), winners
    return CheckResult(
        "significance",
        FAIL,
        f"no significant improvement: {lines}{correction}",
        "do not ship on this evidence: the interval includes no effect; if the power check "
        "failed, keep the experiment running, otherwise the change does not move the metric",
        details,
    ), winners


def _looks(plan: Plan, metric: str) -> list[tuple[str, Stat, Stat]]:
    looks = plan.experiment.look_pairs(metric, plan.treatment)
    control, treatment = plan.experiment.pair(metric, plan.treatment)
    if not looks or (
        control.n >= looks[-1][1].n
        and treatment.n >= looks[-1][2].n
        and (control.n, treatment.n) != (looks[-1][1].n, looks[-1][2].n)
    ):
        looks.append(("overall", control, treatment))
    return looks


def check_peeking(
    plan: Plan, needed: Requirement | NoPower, claimed: str | None
) -> tuple[CheckResult, bool]:
    """The peeking check of the ``claimed`` winning metric, and whether it stopped early safely."""
    control, treatment = plan.experiment.pair(plan.primary, plan.treatment)
    planned_c, planned_t = _planned(plan, plan.experiment.control), _planned(plan, plan.treatment)
    if planned_c is None or planned_t is None:
        if isinstance(needed, NoPower):
            return CheckResult(
                "peeking", SKIP, "no planned sample size (pass planned_n=) and no power analysis"
            ), False
        planned_c, planned_t, source = needed.control, needed.treatment, "the power analysis"
    else:
        source = "the plan"
    horizon = _sizes_text(planned_c, planned_t)
    details: dict[str, Any] = {
        "planned_control": planned_c,
        "planned_treatment": planned_t,
        "control_n": control.n,
        "treatment_n": treatment.n,
    }
    if control.n >= planned_c and treatment.n >= planned_t:
        return CheckResult(
            "peeking",
            PASS,
            f"reached the planned sample size ({horizon}, from {source})",
            "",
            details,
        ), False
    if claimed is None:
        return CheckResult(
            "peeking",
            PASS,
            f"no early claim: has {_sizes_text(control.n, treatment.n)}, planned {horizon}",
            "",
            details,
        ), False
    tau = plan.mixing_sd_for(claimed)
    sequential = sequential_test(_looks(plan, claimed), mixing_sd=tau, alpha=plan.alpha)
    details["sequential"] = sequential.to_dict()
    details["metric"] = claimed
    safe = sequential.significant and plan.improves(claimed, sequential.estimates[-1])
    early = (
        f"has {_sizes_text(control.n, treatment.n)}, planned {horizon} (from {source}); "
        f"always-valid mSPRT p = {sequential.p_value:.3g} for {claimed!r} over "
        f"{len(sequential.p_values)} look(s)"
    )
    if safe:
        return CheckResult("peeking", PASS, f"stopped early but safely: {early}", "", details), True
    return CheckResult(
        "peeking",
        FAIL,
        f"significant before the planned sample size: {early} >= {plan.alpha:g}",
        "a fixed-horizon p-value is only valid at the planned sample size; keep running until "
        f"it has {horizon} and decide then, or decide on the always-valid p-value",
        details,
    ), False


def check_simpson(plan: Plan) -> CheckResult:
    """Whether the pooled primary lift contradicts every segment."""
    pairs = plan.experiment.segment_pairs(plan.primary, plan.treatment)
    if len(pairs) < 2:
        return CheckResult("simpson", SKIP, "no segments given")
    result = simpson_check(pairs, alpha=plan.alpha)
    rate = plan.is_rate(plan.primary)
    if result.paradox:
        return CheckResult(
            "simpson",
            FAIL,
            f"Simpson's paradox: {result.explanation(rate=rate)}",
            "do not ship on the pooled number: find why the segment mix differs between arms "
            "(allocation changed mid-experiment, segment-dependent triggering) and decide per "
            "segment or on the segment-weighted lift",
            result.to_dict(),
        )
    return CheckResult(
        "simpson",
        PASS,
        f"no reversal across {len(pairs)} segments: {result.explanation(rate=rate)}",
        "",
        result.to_dict(),
    )


def check_guardrail(plan: Plan, guardrail: Guardrail) -> CheckResult:
    """Non-inferiority of one guardrail metric."""
    control, treatment = plan.experiment.pair(guardrail.metric, plan.treatment)
    lower = guardrail.metric in plan.lower_is_better
    result = non_inferiority_test(
        control,
        treatment,
        guardrail.margin,
        relative=guardrail.relative,
        lower_is_better=lower,
        alpha=plan.alpha,
    )
    rate = plan.is_rate(guardrail.metric)

    def shown(value: float) -> str:
        """A lift on the margin's scale."""
        return signed_percent(value) if guardrail.relative else lift_text(value, rate=rate)

    limit = shown(guardrail.margin if lower else -guardrail.margin)
    name = f"guardrail {guardrail.metric!r}"
    numbers = (
        f"{shown(result.estimate)} (worst plausible {shown(result.bound)}, one-sided "
        f"{1 - plan.alpha:.0%} bound) against a limit of {limit}, {p_text(result.p_value)}"
    )
    if result.passed:
        return CheckResult(name, PASS, f"holds: {numbers}", "", result.to_dict())
    return CheckResult(
        name,
        FAIL,
        f"may be breached: {numbers}",
        "not shown to stay within the margin: investigate the regression, or collect more "
        "data to show the guardrail holds; do not ship while it may be breached",
        result.to_dict(),
    )
