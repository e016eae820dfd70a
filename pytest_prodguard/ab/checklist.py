"""The ship-readiness checklist: every check the data allows, in one readable report.

:func:`check_ship_ready` runs, for the arm to ship against the control:

1. **sample ratio**: units per arm against the planned allocation (chi-square);
2. **power**: the primary metric's sample against the size the MDE needs;
3. **significance**: a success metric improved, after correcting over all
   success metrics and treatment arms (Holm by default);
4. **peeking**: a "significant" result before the planned sample size must
   also be significant by the always-valid mSPRT p-value;
5. **simpson**: the pooled effect does not contradict every segment;
6. **guardrails**: each guardrail metric is shown not to degrade by its margin.

:func:`assert_ship_ready` raises :class:`ShipReadinessError` (an
``AssertionError``, so pytest shows the report as the failure message) when
any check fails. Both record the report as ``"ab"`` in the running test's
JSON report through :func:`pytest_prodguard.recorder.record`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from pytest_prodguard import recorder
from pytest_prodguard.ab import _validate
from pytest_prodguard.ab._checks import (
    Guardrail,
    Plan,
    check_guardrail,
    check_peeking,
    check_power,
    check_sample_ratio,
    check_significance,
    check_simpson,
    required_sizes,
)
from pytest_prodguard.ab.data import Experiment
from pytest_prodguard.ab.multiple import METHODS
from pytest_prodguard.ab.report import SKIP, CheckResult, ShipReadinessError, ShipReport
from pytest_prodguard.errors import ProdguardUsageError

# Arguments -------------------------------------------------------------------------------


def _treatment(experiment: Experiment, treatment: str | None) -> str:
    if treatment is None:
        if len(experiment.treatments) > 1:
            raise ProdguardUsageError(
                "treatment",
                treatment,
                f"name the arm to ship, one of {list(experiment.treatments)}",
            )
        return experiment.treatments[0]
    if treatment not in experiment.treatments:
        raise ProdguardUsageError(
            "treatment", treatment, f"must be one of {list(experiment.treatments)}"
        )
    return treatment


def _metric_names(experiment: Experiment, names: object, field: str) -> tuple[str, ...]:
    if isinstance(names, str) or not isinstance(names, Collection):
        raise ProdguardUsageError(field, names, "must be a list of metric names")
    for name in names:
        if name not in experiment.metrics:
            raise ProdguardUsageError(
                field, name, f"is not a metric of the experiment ({sorted(experiment.metrics)})"
            )
    return tuple(names)


def _guardrails(experiment: Experiment, guardrails: object) -> tuple[Guardrail, ...]:
    if guardrails is None:
        return ()
    if isinstance(guardrails, Mapping):
        items = [Guardrail(str(metric), margin) for metric, margin in guardrails.items()]
    elif isinstance(guardrails, Sequence) and not isinstance(guardrails, str):
        items = list(guardrails)
    else:
        raise ProdguardUsageError(
            "guardrails", guardrails, "must map metric -> relative margin, or list Guardrail(...)"
        )
    for item in items:
        if not isinstance(item, Guardrail):
            raise ProdguardUsageError("guardrails", item, "must be Guardrail(metric, margin)")
        _metric_names(experiment, [item.metric], "guardrails")
        _validate.positive(item.margin, field=f"guardrails[{item.metric!r}].margin")
    return tuple(items)


def _planned_n(experiment: Experiment, planned_n: object) -> Mapping[str, int] | None:
    if planned_n is None:
        return None
    if isinstance(planned_n, Mapping):
        if set(planned_n) != set(experiment.arms):
            raise ProdguardUsageError(
                "planned_n", planned_n, f"must give a size for every arm {list(experiment.arms)}"
            )
        return {
            arm: _validate.count(planned_n[arm], field=f"planned_n[{arm!r}]", minimum=1)
            for arm in experiment.arms
        }
    size = _validate.count(planned_n, field="planned_n", minimum=1)
    return dict.fromkeys(experiment.arms, size)


def _allocation(experiment: Experiment, allocation: object) -> Mapping[str, float] | None:
    if allocation is None:
        return None
    if not isinstance(allocation, Mapping) or set(allocation) != set(experiment.arms):
        raise ProdguardUsageError(
            "allocation", allocation, f"must map every arm {list(experiment.arms)} to its weight"
        )
    return {arm: _validate.positive(allocation[arm], field="allocation") for arm in experiment.arms}


def _plan(experiment: Experiment, options: dict[str, Any]) -> Plan:
    if not isinstance(experiment, Experiment):
        raise ProdguardUsageError(
            "experiment", experiment, "must be an Experiment (see Experiment.from_dict/from_events)"
        )
    alpha = _validate.probability(options["alpha"], field="alpha")
    power = _validate.probability(options["power"], field="power")
    _validate.power_above_alpha(power, alpha, tails=2)
    if not isinstance(options["relative_mde"], bool):
        raise ProdguardUsageError("relative_mde", options["relative_mde"], "must be True or False")
    success = options["success_metrics"] or (experiment.primary,)
    mixing_sd = options["mixing_sd"]
    return Plan(
        experiment=experiment,
        treatment=_treatment(experiment, options["treatment"]),
        alpha=alpha,
        power=power,
        mde=_validate.positive(options["mde"], field="mde"),
        relative_mde=options["relative_mde"],
        success_metrics=_metric_names(experiment, success, "success_metrics"),
        guardrails=_guardrails(experiment, options["guardrails"]),
        planned_n=_planned_n(experiment, options["planned_n"]),
        allocation=_allocation(experiment, options["allocation"]),
        correction=_validate.choice(options["correction"], field="correction", options=METHODS),
        srm_threshold=_validate.probability(options["srm_threshold"], field="srm_threshold"),
        lower_is_better=frozenset(
            _metric_names(experiment, options["lower_is_better"], "lower_is_better")
        ),
        mixing_sd=None if mixing_sd is None else _validate.positive(mixing_sd, field="mixing_sd"),
        method=options["method"],
    )


# Public entry points ---------------------------------------------------------------------


def check_ship_ready(
    experiment: Experiment,
    *,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    relative_mde: bool = True,
    treatment: str | None = None,
    success_metrics: Sequence[str] | None = None,
    guardrails: Mapping[str, float] | Sequence[Guardrail] | None = None,
    planned_n: int | Mapping[str, int] | None = None,
    allocation: Mapping[str, float] | None = None,
    correction: str = "holm",
    srm_threshold: float = 0.001,
    lower_is_better: Collection[str] = (),
    mixing_sd: float | None = None,
    method: str | None = None,
) -> ShipReport:
    """Run every check the data allows and return the report (never raises on a failed check).

    ``mde``: the smallest lift of the primary metric worth detecting (relative
    to the control value unless ``relative_mde=False``). ``treatment``: the arm
    to ship (required with several treatment arms). ``success_metrics``: the
    metrics a win may come from (default: the primary metric); their p-values
    are corrected over metrics and treatment arms with ``correction``
    (``"holm"``, ``"bh"``, ``"bonferroni"``). ``guardrails``: metric ->
    relative margin, or :class:`Guardrail` objects. ``planned_n``: the planned
    units per arm (an int, or arm -> int); without it the power analysis sets
    the horizon for the peeking check. ``allocation``: planned arm weights for
    the sample-ratio check (default equal). ``lower_is_better``: metrics where
    a decrease is the improvement. ``mixing_sd``: the mSPRT tuning (default:
    the absolute MDE). ``method``: the power formula (default ``"pooled"`` for
    rates, ``"t"`` for means).
    """
    plan = _plan(
        experiment,
        {
            "mde": mde,
            "alpha": alpha,
            "power": power,
            "relative_mde": relative_mde,
            "treatment": treatment,
            "success_metrics": success_metrics,
            "guardrails": guardrails,
            "planned_n": planned_n,
            "allocation": allocation,
            "correction": correction,
            "srm_threshold": srm_threshold,
            "lower_is_better": lower_is_better,
            "mixing_sd": mixing_sd,
            "method": method,
        },
    )
    needed = required_sizes(plan)
    significance, winners = check_significance(plan)
    claimed = plan.primary if plan.primary in winners else next(iter(winners), None)
    peeking, stopped_safely = check_peeking(plan, needed, claimed)
    checks = [
        check_sample_ratio(plan),
        check_power(plan, needed, stopped_safely),
        significance,
        peeking,
        check_simpson(plan),
    ]
    checks += [check_guardrail(plan, guardrail) for guardrail in plan.guardrails] or [
        CheckResult("guardrails", SKIP, "no guardrail metrics given")
    ]
    report = ShipReport(
        control=experiment.control,
        treatment=plan.treatment,
        primary=plan.primary,
        checks=tuple(checks),
        settings={
            "alpha": plan.alpha,
            "power": plan.power,
            "mde": plan.mde,
            "relative_mde": plan.relative_mde,
            "correction": plan.correction,
            "srm_threshold": plan.srm_threshold,
            "success_metrics": list(plan.success_metrics),
            "winners": winners,
        },
        notes=experiment.notes,
        experiment=experiment.to_dict(),
    )
    recorder.record("ab", report.to_dict())
    return report


def assert_ship_ready(
    experiment: Experiment,
    *,
    mde: float,
    alpha: float = 0.05,
    power: float = 0.8,
    relative_mde: bool = True,
    treatment: str | None = None,
    success_metrics: Sequence[str] | None = None,
    guardrails: Mapping[str, float] | Sequence[Guardrail] | None = None,
    planned_n: int | Mapping[str, int] | None = None,
    allocation: Mapping[str, float] | None = None,
    correction: str = "holm",
    srm_threshold: float = 0.001,
    lower_is_better: Collection[str] = (),
    mixing_sd: float | None = None,
    method: str | None = None,
) -> ShipReport:
    """Like :func:`check_ship_ready`, but raise :class:`ShipReadinessError` if any check fails.

    Returns the report when every check passes (or is skipped).
    """
    __tracebackhide__ = True  # pytest shows the report, not this frame
    report = check_ship_ready(
        experiment,
        mde=mde,
        alpha=alpha,
        power=power,
        relative_mde=relative_mde,
        treatment=treatment,
        success_metrics=success_metrics,
        guardrails=guardrails,
        planned_n=planned_n,
        allocation=allocation,
        correction=correction,
        srm_threshold=srm_threshold,
        lower_is_better=lower_is_better,
        mixing_sd=mixing_sd,
        method=method,
    )
    if not report.ready:
        raise ShipReadinessError(report)
    return report


__all__ = [
    "CheckResult",
    "Guardrail",
    "ShipReadinessError",
    "ShipReport",
    "assert_ship_ready",
    "check_ship_ready",
]
