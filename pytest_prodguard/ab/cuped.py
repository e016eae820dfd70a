"""CUPED: variance reduction with a pre-experiment covariate (Deng, Xu, Kohavi, Walker 2013).

Each unit's metric ``y`` is replaced by ``y - theta * (x - mean(x))``, where
``x`` is the same unit's pre-period value (e.g. revenue in the weeks before
the experiment) and ``theta = cov(y, x) / var(x)`` is estimated on both arms
pooled. Because assignment is random, ``x`` is independent of the arm, so the
adjusted difference of means estimates the same effect, with the variance
shrunk by a factor ``1 - corr(y, x)**2``. Compare the adjusted means with
:func:`pytest_prodguard.ab.welch_test`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_prodguard.ab.arm_stats import Mean, as_finite_array
from pytest_prodguard.errors import ProdguardUsageError

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


@dataclass(frozen=True)
class CupedResult:
    """Adjusted per-arm means and the adjustment used.

    ``variance_reduction`` is the share of the metric's pooled variance
    removed (about ``correlation**2``).
    """

    control: Mean
    treatment: Mean
    theta: float
    covariate_mean: float
    correlation: float
    variance_reduction: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "control": self.control.to_dict(),
            "treatment": self.treatment.to_dict(),
            "theta": self.theta,
            "covariate_mean": self.covariate_mean,
            "correlation": self.correlation,
            "variance_reduction": self.variance_reduction,
        }


@dataclass(frozen=True)
class CupedFit:
    """``theta`` and the covariate mean fitted on pooled data, with the fit's quality."""

    theta: float
    covariate_mean: float
    correlation: float
    variance_reduction: float

    def adjust(self, values: FloatArray, covariate: FloatArray) -> FloatArray:
        """Adjusted values ``y - theta * (x - covariate_mean)``."""
        result: FloatArray = values - self.theta * (covariate - self.covariate_mean)
        return result


def fit_cuped(values: FloatArray, covariate: FloatArray, *, name: str = "covariate") -> CupedFit:
    """Fit ``theta`` on pooled per-unit ``values`` and their pre-period ``covariate``."""
    x_mean = float(covariate.mean())
    x_centred = covariate - x_mean
    y_centred = values - values.mean()
    var_x = float(np.dot(x_centred, x_centred))
    if var_x == 0:
        raise ProdguardUsageError(
            name, f"constant {x_mean:g}", "must vary between units for CUPED to help"
        )
    var_y = float(np.dot(y_centred, y_centred))
    cov = float(np.dot(x_centred, y_centred))
    theta = cov / var_x
    correlation = cov / np.sqrt(var_x * var_y) if var_y > 0 else 0.0
    reduction = cov * cov / (var_x * var_y) if var_y > 0 else 0.0
    return CupedFit(theta, x_mean, float(correlation), float(reduction))


def cuped(
    *,
    control: object,
    control_pre: object,
    treatment: object,
    treatment_pre: object,
) -> CupedResult:
    """CUPED-adjust per-unit values of both arms with their pre-period covariate.

    Each argument is a 1-D sequence of finite numbers; ``control_pre[i]`` is
    the pre-period value of the unit whose outcome is ``control[i]``.
    """
    arrays = {
        name: as_finite_array(values, field=name)
        for name, values in (
            ("control", control),
            ("control_pre", control_pre),
            ("treatment", treatment),
            ("treatment_pre", treatment_pre),
        )
    }
    for arm in ("control", "treatment"):
        values, pre = arrays[arm], arrays[f"{arm}_pre"]
        if values.size != pre.size:
            raise ProdguardUsageError(
                f"{arm}_pre", f"{pre.size} values", f"must match {arm} ({values.size} values)"
            )
        if values.size < 2:
            raise ProdguardUsageError(arm, f"{values.size} value(s)", "needs at least 2 units")
    fit = fit_cuped(
        np.concatenate([arrays["control"], arrays["treatment"]]),
        np.concatenate([arrays["control_pre"], arrays["treatment_pre"]]),
        name="control_pre/treatment_pre",
    )
    return CupedResult(
        control=Mean.from_samples(fit.adjust(arrays["control"], arrays["control_pre"])),
        treatment=Mean.from_samples(fit.adjust(arrays["treatment"], arrays["treatment_pre"])),
        theta=fit.theta,
        covariate_mean=fit.covariate_mean,
        correlation=fit.correlation,
        variance_reduction=fit.variance_reduction,
    )
