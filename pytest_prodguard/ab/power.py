"""Power, sample size and minimum detectable effect (MDE) for rates and means.

Rates offer three formulas, because practitioners use all three (10% -> 11%,
alpha 0.05 two-sided, power 0.8):

- ``"pooled"`` (default): the two-proportion z-test as it is run, with the
  pooled rate for the variance under H0 and the two rates under H1 (Fleiss,
  without continuity correction; statsmodels ``power_proportions_2indep``).
  Needs 14,751 users per arm.
- ``"unpooled"``: the two rates' variance under both H0 and H1 (a Wald test).
- ``"arcsine"``: Cohen's h, ``2 asin(sqrt(p2)) - 2 asin(sqrt(p1))``, with a unit
  variance (statsmodels ``proportion_effectsize`` + ``NormalIndPower``).
  Needs 14,745 users per arm.

Means offer ``"t"`` (default: the noncentral t distribution with the pooled
t-test's degrees of freedom, statsmodels ``TTestIndPower``) and ``"normal"``.

Conventions shared by every function: ``n`` is the control arm's size and
``ratio = n_treatment / n_control``; a two-sided power counts both rejection
tails (so sample sizes are exact roots of the power equation, not the
one-tail closed form; the difference is far below one user); a one-sided test
is taken in the direction of the effect. Sample sizes are returned unrounded
by ``*_sample_size`` and rounded up by ``required_*``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass

from scipy import optimize, special, stats

from pytest_prodguard.ab import _validate
from pytest_prodguard.ab.arm_stats import Mean, Proportion, Stat
from pytest_prodguard.errors import ProdguardUsageError

RATE_METHODS = ("pooled", "unpooled", "arcsine")
MEAN_METHODS = ("t", "normal")
_RTOL = 4 * sys.float_info.epsilon
# Below about half a degree of freedom scipy's noncentral t loses accuracy; no A/B test
# needs a t-test with fewer units than that.
_MIN_T_DF = 0.5


@dataclass(frozen=True)
class _NormalDesign:
    """Effect and per-unit standard deviations of a z statistic (n = 1 in the control arm)."""

    effect: float
    std_null: float
    std_alt: float

    def power(self, n: float, alpha: float, tails: int) -> float:
        """Power with ``n`` control units (both rejection tails when ``tails == 2``)."""
        crit = float(special.ndtri(1.0 - alpha / tails)) * self.std_null / self.std_alt
        shift = math.sqrt(n) * abs(self.effect) / self.std_alt
        result = float(special.ndtr(shift - crit))
        if tails == 2:
            result += float(special.ndtr(-shift - crit))
        return result

    def one_tail_size(self, alpha: float, power: float, tails: int) -> float:
        """The closed-form size that ignores the far rejection tail (exact when one-sided)."""
        z_alpha = float(special.ndtri(1.0 - alpha / tails))
        z_beta = float(special.ndtri(power))
        if self.effect == 0:  # an effect that underflowed: no sample detects it
            return math.inf
        # Python floats: an extreme design overflows to inf quietly (no numpy RuntimeWarning,
        # which -W error would raise) and the callers turn inf into a clear usage error.
        root = (z_alpha * self.std_null + z_beta * self.std_alt) / self.effect
        return root * root


def _tails(two_sided: object) -> int:
    if not isinstance(two_sided, bool):
        raise ProdguardUsageError("two_sided", two_sided, "must be True or False")
    return 2 if two_sided else 1


def _treatment_rate(baseline: float, mde: float, relative: bool) -> float:
    treated = baseline * (1.0 + mde) if relative else baseline + mde
    if not 0.0 < treated < 1.0:
        kind = "relative" if relative else "absolute"
        raise ProdguardUsageError(
            "mde",
            mde,
            f"as a {kind} change of the baseline {baseline:g} gives a treatment rate of "
            f"{treated:g}; it must stay strictly between 0 and 1",
        )
    return treated


def _rate_design(baseline: float, treated: float, ratio: float, method: str) -> _NormalDesign:
    alt_var = baseline * (1 - baseline) + treated * (1 - treated) / ratio
    if method == "arcsine":
        effect = 2 * math.asin(math.sqrt(treated)) - 2 * math.asin(math.sqrt(baseline))
        unit = math.sqrt(1.0 + 1.0 / ratio)
        return _NormalDesign(effect, unit, unit)
    if method == "unpooled":
        return _NormalDesign(treated - baseline, math.sqrt(alt_var), math.sqrt(alt_var))
    pooled = (baseline + ratio * treated) / (1.0 + ratio)
    null_var = pooled * (1 - pooled) * (1.0 + 1.0 / ratio)
    return _NormalDesign(treated - baseline, math.sqrt(null_var), math.sqrt(alt_var))


def _common(
    alpha: object, two_sided: object, ratio: object, method: object, methods: tuple[str, ...]
) -> tuple[float, int, float, str]:
    return (
        _validate.probability(alpha, field="alpha"),
        _tails(two_sided),
        _validate.positive(ratio, field="ratio"),
        _validate.choice(method, field="method", options=methods),
    )


def _whole_units(exact: float, mde: object) -> int:
    """``exact`` rounded up; a size no float can hold is a usage error naming ``mde``."""
    if not math.isfinite(exact):
        raise ProdguardUsageError(
            "mde",
            mde,
            "an effect large enough to need a finite sample size (this one needs "
            "more units than a float can count)",
        )
    return math.ceil(exact)


def _solve_increasing(func: Callable[[float], float], low: float, high: float) -> float:
    """Root of an increasing ``func`` on [low, high], expanding ``high`` as needed."""
    for _ in range(200):
        if func(high) >= 0:
            break
        low, high = high, high * 4.0
    else:
        return math.inf
    if func(low) >= 0:
        return low
    return float(optimize.brentq(func, low, high, xtol=1e-12, rtol=_RTOL))


# Rates ---------------------------------------------------------------------------------


def rate_power(
    baseline: float,
    mde: float,
    n: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "pooled",
) -> float:
    """Power to detect a change of ``mde`` from a ``baseline`` rate with ``n`` control users.

    ``mde`` is relative (``0.1`` = +10% of the baseline) unless ``relative=False``.
    """
    alpha_, tails, ratio_, method_ = _common(alpha, two_sided, ratio, method, RATE_METHODS)
    base = _validate.probability(baseline, field="baseline")
    treated = _treatment_rate(base, _validate.nonzero(mde, field="mde"), _check_bool(relative))
    n_ = _validate.positive(n, field="n")
    return _rate_design(base, treated, ratio_, method_).power(n_, alpha_, tails)


def rate_sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "pooled",
) -> float:
    """Unrounded control-arm size that reaches ``power`` (treatment: ``ratio`` times as many)."""
    alpha_, tails, ratio_, method_ = _common(alpha, two_sided, ratio, method, RATE_METHODS)
    power_ = _validate.probability(power, field="power")
    _validate.power_above_alpha(power_, alpha_, tails=tails)
    base = _validate.probability(baseline, field="baseline")
    treated = _treatment_rate(base, _validate.nonzero(mde, field="mde"), _check_bool(relative))
    design = _rate_design(base, treated, ratio_, method_)
    closed_form = design.one_tail_size(alpha_, power_, tails)
    if tails == 1:
        return closed_form
    return _solve_increasing(
        lambda n: design.power(n, alpha_, tails) - power_, closed_form * 1e-6, closed_form
    )


def required_sample_size(
    baseline: float,
    mde: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "pooled",
) -> int:
    """Users needed in the control arm to detect ``mde`` on a ``baseline`` rate (rounded up).

    With the defaults, 10% -> 11% (``required_sample_size(0.10, 0.10)``) needs
    14,751 users per arm; ``method="arcsine"`` gives 14,745. With ``ratio`` != 1
    the treatment arm needs ``ceil(ratio * exact)`` users.
    """
    exact = rate_sample_size(
        baseline,
        mde,
        relative=relative,
        alpha=alpha,
        power=power,
        two_sided=two_sided,
        ratio=ratio,
        method=method,
    )
    return _whole_units(exact, mde)


def rate_mde(
    baseline: float,
    n: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "pooled",
) -> float:
    """Smallest increase of a ``baseline`` rate detectable with ``n`` control users.

    Returned relative to the baseline (or absolute with ``relative=False``);
    ``math.inf`` when even a rate of 1 would not reach ``power``.
    """
    alpha_, tails, ratio_, method_ = _common(alpha, two_sided, ratio, method, RATE_METHODS)
    power_ = _validate.probability(power, field="power")
    _validate.power_above_alpha(power_, alpha_, tails=tails)
    base = _validate.probability(baseline, field="baseline")
    relative_ = _check_bool(relative)
    n_ = _validate.positive(n, field="n")

    def gap(treated: float) -> float:
        """Power shortfall at treatment rate ``treated``."""
        return _rate_design(base, treated, ratio_, method_).power(n_, alpha_, tails) - power_

    room = 1.0 - base
    low, high = base + room * 1e-12, base + room * (1 - 1e-12)
    if gap(high) < 0:
        return math.inf
    if gap(low) >= 0:  # so many users that the smallest step searched is already detectable
        treated = low
    else:
        treated = float(optimize.brentq(gap, low, high, xtol=1e-15, rtol=_RTOL))
    return treated / base - 1.0 if relative_ else treated - base


# Means ---------------------------------------------------------------------------------


def _mean_delta(mde: object, baseline: object, relative: object) -> float:
    change = _validate.nonzero(mde, field="mde")
    if not _check_bool(relative):
        return change
    if baseline is None:
        raise ProdguardUsageError(
            "baseline", baseline, "is needed for a relative mde: pass the control mean"
        )
    base = _validate.nonzero(baseline, field="baseline")
    return change * abs(base)


def _nct_cdf(df: float, nc: float, x: float) -> float:
    value = float(special.nctdtr(df, nc, x))
    if math.isfinite(value):
        return value
    # scipy's noncentral t returns NaN deep in a tail at large df (>= 1e4 units), where
    # the normal approximation is accurate to far below the probabilities involved.
    return float(special.ndtr(x - nc))


def _t_power(d: float, n: float, ratio: float, alpha: float, tails: int) -> float:
    df = n * (1.0 + ratio) - 2.0
    nc = abs(d) * math.sqrt(n * ratio / (1.0 + ratio))
    crit = float(stats.t.isf(alpha / tails, df))
    result = 1.0 - _nct_cdf(df, nc, crit)
    if tails == 2:
        result += _nct_cdf(df, nc, -crit)
    return result


def _check_t_size(n: float, ratio: float) -> None:
    if n * (1.0 + ratio) - 2.0 < _MIN_T_DF:
        raise ProdguardUsageError(
            "n", n, f"is too small for a t-test: n * (1 + ratio) must be at least {2 + _MIN_T_DF}"
        )


def mean_power(
    std: float,
    mde: float,
    n: float,
    *,
    baseline: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "t",
) -> float:
    """Power to detect a change of ``mde`` in a mean with per-unit ``std`` and ``n`` control units.

    ``mde`` is absolute unless ``relative=True`` (then ``baseline``, the
    control mean, is required).
    """
    alpha_, tails, ratio_, method_ = _common(alpha, two_sided, ratio, method, MEAN_METHODS)
    sd = _validate.positive(std, field="std")
    delta = _mean_delta(mde, baseline, relative)
    n_ = _validate.positive(n, field="n")
    if method_ == "t":
        _check_t_size(n_, ratio_)
        return _t_power(delta / sd, n_, ratio_, alpha_, tails)
    unit = sd * math.sqrt(1.0 + 1.0 / ratio_)
    return _NormalDesign(delta, unit, unit).power(n_, alpha_, tails)


def mean_sample_size(
    std: float,
    mde: float,
    *,
    baseline: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "t",
) -> float:
    """Unrounded control-arm size to detect ``mde`` in a mean with per-unit ``std``."""
    alpha_, tails, ratio_, method_ = _common(alpha, two_sided, ratio, method, MEAN_METHODS)
    power_ = _validate.probability(power, field="power")
    _validate.power_above_alpha(power_, alpha_, tails=tails)
    sd = _validate.positive(std, field="std")
    delta = _mean_delta(mde, baseline, relative)
    unit = sd * math.sqrt(1.0 + 1.0 / ratio_)
    design = _NormalDesign(delta, unit, unit)
    closed_form = design.one_tail_size(alpha_, power_, tails)
    if not math.isfinite(closed_form):  # std / mde beyond the float range
        return math.inf
    if method_ == "normal":
        if tails == 1:
            return closed_form
        return _solve_increasing(
            lambda n: design.power(n, alpha_, tails) - power_, closed_form * 1e-6, closed_form
        )
    smallest = (2.0 + _MIN_T_DF) / (1.0 + ratio_)
    return _solve_increasing(
        lambda n: _t_power(delta / sd, n, ratio_, alpha_, tails) - power_,
        smallest,
        max(closed_form, smallest) + 2.0,
    )


def required_sample_size_mean(
    std: float,
    mde: float,
    *,
    baseline: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "t",
) -> int:
    """Units needed in the control arm to detect ``mde`` in a mean (rounded up)."""
    exact = mean_sample_size(
        std,
        mde,
        baseline=baseline,
        relative=relative,
        alpha=alpha,
        power=power,
        two_sided=two_sided,
        ratio=ratio,
        method=method,
    )
    return _whole_units(exact, mde)


def mean_mde(
    std: float,
    n: float,
    *,
    baseline: float | None = None,
    relative: bool = False,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    ratio: float = 1.0,
    method: str = "t",
) -> float:
    """Smallest change of a mean detectable with ``n`` control units (absolute, or relative)."""
    alpha_, tails, ratio_, method_ = _common(alpha, two_sided, ratio, method, MEAN_METHODS)
    power_ = _validate.probability(power, field="power")
    _validate.power_above_alpha(power_, alpha_, tails=tails)
    sd = _validate.positive(std, field="std")
    n_ = _validate.positive(n, field="n")
    relative_ = _check_bool(relative)
    if relative_ and baseline is None:
        raise ProdguardUsageError(
            "baseline", baseline, "is needed for a relative mde: pass the control mean"
        )
    if method_ == "t":
        _check_t_size(n_, ratio_)

    def gap(d: float) -> float:
        """Power shortfall at standardised effect ``d``."""
        if method_ == "t":
            return _t_power(d, n_, ratio_, alpha_, tails) - power_
        unit = math.sqrt(1.0 + 1.0 / ratio_)
        return _NormalDesign(d, unit, unit).power(n_, alpha_, tails) - power_

    d = _solve_increasing(gap, 1e-12, 1.0)
    delta = d * sd
    if not relative_:
        return delta
    return delta / abs(_validate.nonzero(baseline, field="baseline"))


# Observed experiments -------------------------------------------------------------------


def _check_bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ProdguardUsageError("relative", value, "must be True or False")
    return value


def _observed_ratio(control: Stat, treatment: Stat) -> float:
    if type(control) is not type(treatment):
        raise ProdguardUsageError(
            "treatment",
            type(treatment).__name__,
            f"must be a {type(control).__name__} like control",
        )
    return treatment.n / control.n


def achieved_power(
    control: Stat,
    treatment: Stat,
    mde: float,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    two_sided: bool = True,
    method: str | None = None,
) -> float:
    """Power the observed experiment had to detect ``mde``, from its sizes and control baseline.

    Rates use the control rate as the baseline; means use the control mean
    (for a relative ``mde``) and the control standard deviation.
    """
    ratio = _observed_ratio(control, treatment)
    if isinstance(control, Proportion):
        return rate_power(
            control.rate,
            mde,
            control.n,
            relative=relative,
            alpha=alpha,
            two_sided=two_sided,
            ratio=ratio,
            method=method or "pooled",
        )
    assert isinstance(control, Mean)
    return mean_power(
        control.std,
        mde,
        control.n,
        baseline=control.mean,
        relative=relative,
        alpha=alpha,
        two_sided=two_sided,
        ratio=ratio,
        method=method or "t",
    )


def minimum_detectable_effect(
    control: Stat,
    treatment: Stat,
    *,
    relative: bool = True,
    alpha: float = 0.05,
    power: float = 0.8,
    two_sided: bool = True,
    method: str | None = None,
) -> float:
    """Smallest effect the observed experiment could detect with ``power`` (relative by default)."""
    ratio = _observed_ratio(control, treatment)
    if isinstance(control, Proportion):
        return rate_mde(
            control.rate,
            control.n,
            relative=relative,
            alpha=alpha,
            power=power,
            two_sided=two_sided,
            ratio=ratio,
            method=method or "pooled",
        )
    assert isinstance(control, Mean)
    return mean_mde(
        control.std,
        control.n,
        baseline=control.mean,
        relative=relative,
        alpha=alpha,
        power=power,
        two_sided=two_sided,
        ratio=ratio,
        method=method or "t",
    )
