"""Significance tests of treatment against control, with confidence intervals for the lift.

- Rates: the two-proportion z-test with the pooled rate under H0 (statsmodels
  ``proportions_ztest``). The absolute-lift interval is the unpooled Wald
  interval (statsmodels ``confint_proportions_2indep(method="wald")``); the
  relative-lift interval is the log risk-ratio interval
  (``compare="ratio", method="log"``; ``"log-adjusted"``, adding 0.5, when an arm
  has zero successes).
- Means: Welch's unequal-variance t-test (scipy ``ttest_ind(equal_var=False)``)
  with a Welch-Satterthwaite t interval for the absolute lift and a
  delta-method normal interval for the relative lift ``mean_t / mean_c - 1``.

Intervals are two-sided at level ``1 - alpha`` whatever the ``alternative``.
Because the test and the interval use different variances (pooled vs
unpooled), they can disagree for results right at the significance edge.

Non-inferiority (guardrails): :func:`non_inferiority_test` checks that a metric
did not get worse by more than a margin, as a one-sided test at ``alpha``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scipy import special, stats

from pytest_prodguard.ab import _validate
from pytest_prodguard.ab.arm_stats import Mean, Proportion, Stat
from pytest_prodguard.errors import ProdguardUsageError


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class SignificanceResult:
    """Outcome of comparing ``treatment`` with ``control`` on one metric.

    ``absolute_lift`` is treatment minus control, ``relative_lift`` is
    treatment / control - 1; ``ci`` and ``relative_ci`` are their two-sided
    ``1 - alpha`` intervals. ``df`` is the Welch degrees of freedom (``None``
    for the z-test).
    """

    test: str
    control: Stat
    treatment: Stat
    statistic: float
    p_value: float
    absolute_lift: float
    relative_lift: float
    ci: tuple[float, float]
    relative_ci: tuple[float, float]
    alpha: float
    alternative: str
    df: float | None = None

    @property
    def significant(self) -> bool:
        """Whether ``p_value < alpha``."""
        return self.p_value < self.alpha

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (NaN and infinities become ``None``)."""
        return {
            "test": self.test,
            "control": self.control.to_dict(),
            "treatment": self.treatment.to_dict(),
            "statistic": _finite_or_none(self.statistic),
            "p_value": _finite_or_none(self.p_value),
            "absolute_lift": _finite_or_none(self.absolute_lift),
            "relative_lift": _finite_or_none(self.relative_lift),
            "ci": [_finite_or_none(bound) for bound in self.ci],
            "relative_ci": [_finite_or_none(bound) for bound in self.relative_ci],
            "alpha": self.alpha,
            "alternative": self.alternative,
            "df": None if self.df is None else _finite_or_none(self.df),
            "significant": self.significant,
        }


def _normal_p_value(z: float, alternative: str) -> float:
    if alternative == "larger":
        return float(special.ndtr(-z))
    if alternative == "smaller":
        return float(special.ndtr(z))
    return float(2.0 * special.ndtr(-abs(z)))


def _t_p_value(t: float, df: float, alternative: str) -> float:
    if alternative == "larger":
        return float(special.stdtr(df, -t))
    if alternative == "smaller":
        return float(special.stdtr(df, t))
    return float(2.0 * special.stdtr(df, -abs(t)))


def _require(value: object, kind: type, role: str) -> None:
    if not isinstance(value, kind):
        raise ProdguardUsageError(role, value, f"must be a {kind.__name__}")


def proportions_test(
    control: Proportion,
    treatment: Proportion,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> SignificanceResult:
    """Two-proportion z-test (pooled variance) of ``treatment`` against ``control``.

    ``alternative``: ``"two-sided"``, ``"larger"`` (treatment rate higher) or
    ``"smaller"``. When neither arm varies (all 0% or all 100%), there is no
    evidence either way: z = 0 and p = 1.
    """
    _require(control, Proportion, "control")
    _require(treatment, Proportion, "treatment")
    alpha_ = _validate.probability(alpha, field="alpha")
    alternative_ = _validate.alternative(alternative)
    p_c, p_t = control.rate, treatment.rate
    diff = p_t - p_c
    pooled = (control.successes + treatment.successes) / (control.trials + treatment.trials)
    se_null = math.sqrt(pooled * (1 - pooled) * (1 / control.trials + 1 / treatment.trials))
    z = diff / se_null if se_null > 0 else 0.0
    z_crit = float(special.ndtri(1 - alpha_ / 2))
    se_alt = math.sqrt(p_c * (1 - p_c) / control.trials + p_t * (1 - p_t) / treatment.trials)
    return SignificanceResult(
        test="two-proportion z-test (pooled)",
        control=control,
        treatment=treatment,
        statistic=z,
        p_value=_normal_p_value(z, alternative_),
        absolute_lift=diff,
        relative_lift=p_t / p_c - 1 if p_c > 0 else math.inf if p_t > 0 else math.nan,
        ci=(diff - z_crit * se_alt, diff + z_crit * se_alt),
        relative_ci=_relative_rate_ci(control, treatment, z_crit),
        alpha=alpha_,
        alternative=alternative_,
    )


def _log_ratio(control: Proportion, treatment: Proportion) -> tuple[float, float]:
    """Log risk ratio and its standard error; adds 0.5 to each count when one is 0."""
    add = 0.5 if control.successes == 0 or treatment.successes == 0 else 0.0
    x_c, n_c = control.successes + add, control.trials + add
    x_t, n_t = treatment.successes + add, treatment.trials + add
    log_ratio = math.log((x_t / n_t) / (x_c / n_c))
    se = math.sqrt(1 / x_t - 1 / n_t + 1 / x_c - 1 / n_c)
    return log_ratio, se


def _relative_rate_ci(
    control: Proportion, treatment: Proportion, z_crit: float
) -> tuple[float, float]:
    log_ratio, se = _log_ratio(control, treatment)
    return (math.exp(log_ratio - z_crit * se) - 1, math.exp(log_ratio + z_crit * se) - 1)


def _relative_mean(control: Mean, treatment: Mean) -> tuple[float, float]:
    """Relative lift mean_t / mean_c - 1 and its delta-method standard error."""
    if control.mean == 0:
        return math.nan, math.nan
    ratio = treatment.mean / control.mean
    var = (treatment.variance / treatment.n + ratio**2 * control.variance / control.n) / (
        control.mean**2
    )
    return ratio - 1.0, math.sqrt(var)


def welch_test(
    control: Mean,
    treatment: Mean,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> SignificanceResult:
    """Welch's t-test of ``treatment`` against ``control`` (each arm needs n >= 2).

    When both standard deviations are 0 the test degenerates: p = 1 for equal
    means, p = 0 otherwise, and the interval is the observed difference.
    """
    _require(control, Mean, "control")
    _require(treatment, Mean, "treatment")
    for role, stat in (("control", control), ("treatment", treatment)):
        if stat.n < 2:
            raise ProdguardUsageError(f"{role}.n", stat.n, "Welch's t-test needs n >= 2 per arm")
    alpha_ = _validate.probability(alpha, field="alpha")
    alternative_ = _validate.alternative(alternative)
    diff = treatment.mean - control.mean
    var_c, var_t = control.variance / control.n, treatment.variance / treatment.n
    se = math.sqrt(var_c + var_t)
    relative, relative_se = _relative_mean(control, treatment)
    z_crit = float(special.ndtri(1 - alpha_ / 2))
    relative_ci = (relative - z_crit * relative_se, relative + z_crit * relative_se)
    if se == 0:
        p_value = 1.0 if diff == 0 else 0.0
        sign = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return SignificanceResult(
            "Welch's t-test", control, treatment, sign, p_value, diff, relative,
            (diff, diff), relative_ci, alpha_, alternative_, math.nan,
        )  # fmt: skip
    df = (var_c + var_t) ** 2 / (var_c**2 / (control.n - 1) + var_t**2 / (treatment.n - 1))
    t = diff / se
    t_crit = float(stats.t.isf(alpha_ / 2, df))
    return SignificanceResult(
        test="Welch's t-test",
        control=control,
        treatment=treatment,
        statistic=t,
        p_value=_t_p_value(t, df, alternative_),
        absolute_lift=diff,
        relative_lift=relative,
        ci=(diff - t_crit * se, diff + t_crit * se),
        relative_ci=relative_ci,
        alpha=alpha_,
        alternative=alternative_,
        df=df,
    )


def compare(
    control: Stat,
    treatment: Stat,
    *,
    alpha: float = 0.05,
    alternative: str = "two-sided",
) -> SignificanceResult:
    """Run the right test for the metric: z-test for rates, Welch's t-test for means."""
    if isinstance(control, Proportion) and isinstance(treatment, Proportion):
        return proportions_test(control, treatment, alpha=alpha, alternative=alternative)
    if isinstance(control, Mean) and isinstance(treatment, Mean):
        return welch_test(control, treatment, alpha=alpha, alternative=alternative)
    raise ProdguardUsageError(
        "treatment",
        type(treatment).__name__,
        f"must be the same kind as control ({type(control).__name__})",
    )


@dataclass(frozen=True)
class NonInferiorityResult:
    """Whether ``treatment`` is shown to be no worse than ``control`` minus a margin.

    ``bound`` is the one-sided ``1 - alpha`` confidence bound of the lift on the
    bad side (the worst plausible lift), on the margin's scale (relative or
    absolute). The metric passes when ``bound`` stays on the good side of the
    margin, i.e. when ``p_value < alpha``.
    """

    control: Stat
    treatment: Stat
    margin: float
    relative: bool
    lower_is_better: bool
    estimate: float
    bound: float
    p_value: float
    alpha: float

    @property
    def passed(self) -> bool:
        """Whether non-inferiority is shown (``p_value < alpha``)."""
        return self.p_value < self.alpha

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "control": self.control.to_dict(),
            "treatment": self.treatment.to_dict(),
            "margin": self.margin,
            "relative": self.relative,
            "lower_is_better": self.lower_is_better,
            "estimate": _finite_or_none(self.estimate),
            "bound": _finite_or_none(self.bound),
            "p_value": _finite_or_none(self.p_value),
            "alpha": self.alpha,
            "passed": self.passed,
        }


def non_inferiority_test(
    control: Stat,
    treatment: Stat,
    margin: float,
    *,
    relative: bool = True,
    lower_is_better: bool = False,
    alpha: float = 0.05,
) -> NonInferiorityResult:
    """One-sided test that ``treatment`` is not worse than ``control`` by ``margin`` or more.

    H0: the metric degraded by at least ``margin`` (relative to the control
    value by default, absolute with ``relative=False``); ``lower_is_better``
    flips which direction is a degradation. Rates on the relative scale use the
    log risk ratio, means the delta method; absolute margins use the unpooled
    standard error.
    """
    if type(control) is not type(treatment) or not isinstance(control, (Proportion, Mean)):
        raise ProdguardUsageError(
            "treatment", type(treatment).__name__, "must be the same kind as control"
        )
    margin_ = _validate.positive(margin, field="margin")
    alpha_ = _validate.probability(alpha, field="alpha")
    if not isinstance(relative, bool) or not isinstance(lower_is_better, bool):
        raise ProdguardUsageError("relative/lower_is_better", (relative, lower_is_better), "bool")
    if relative and not lower_is_better and margin_ >= 1:
        raise ProdguardUsageError(
            "margin", margin, "a relative margin for a higher-is-better metric must be below 1"
        )
    sign = -1.0 if lower_is_better else 1.0
    z_crit = float(special.ndtri(1 - alpha_))
    estimate, goodness, se, limit = _non_inferiority_scale(
        control, treatment, margin_, relative, sign
    )
    z = (goodness - limit) / se if se > 0 else math.copysign(math.inf, goodness - limit)
    if se == 0 and goodness == limit:
        z = 0.0
    bound_goodness = goodness - z_crit * se
    bound = _from_scale(bound_goodness * sign, relative, isinstance(control, Proportion))
    return NonInferiorityResult(
        control=control,
        treatment=treatment,
        margin=margin_,
        relative=relative,
        lower_is_better=lower_is_better,
        estimate=estimate,
        bound=bound,
        p_value=float(special.ndtr(-z)),
        alpha=alpha_,
    )


def _non_inferiority_scale(
    control: Stat, treatment: Stat, margin: float, relative: bool, sign: float
) -> tuple[float, float, float, float]:
    """(estimate, goodness on the test scale, its se, the H0 limit on that scale)."""
    if relative and isinstance(control, Proportion) and isinstance(treatment, Proportion):
        log_ratio, se = _log_ratio(control, treatment)
        limit = math.log(1 + margin) if sign < 0 else math.log(1 - margin)
        return math.exp(log_ratio) - 1, sign * log_ratio, se, sign * limit
    if relative and isinstance(control, Mean) and isinstance(treatment, Mean):
        if control.mean == 0:
            raise ProdguardUsageError(
                "margin",
                margin,
                "cannot be relative when the control mean is 0; pass relative=False",
            )
        lift, se = _relative_mean(control, treatment)
        return lift, sign * lift, se, -margin
    diff = treatment.mean - control.mean
    se = math.sqrt(control.variance / control.n + treatment.variance / treatment.n)
    return diff, sign * diff, se, -margin


def _from_scale(value: float, relative: bool, is_rate: bool) -> float:
    """Map a bound on the test scale back to the reported scale (log ratio -> relative lift)."""
    return math.exp(value) - 1 if relative and is_rate else value
