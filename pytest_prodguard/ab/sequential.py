"""Peeking-safe (always-valid) inference: the mixture sequential probability ratio test.

A fixed-horizon p-value is valid only when it is computed once, at the
planned sample size. Checking it repeatedly and stopping at the first p < 0.05
inflates the false-positive rate (to about 25% with 20 looks). The mSPRT of
Johari, Koomen, Pekelis and Walsh ("Always valid inference", Operations
Research 2022; used by Optimizely) gives a p-value that stays valid however
often and whenever the data is looked at.

At each look, with ``theta`` the observed difference (treatment - control)
and ``V`` its variance (pooled for rates, Welch for means), the likelihood
ratio of "effect ~ Normal(0, tau^2)" against "no effect" is::

    Lambda = sqrt(V / (V + tau^2)) * exp(tau^2 * theta^2 / (2 * V * (V + tau^2)))

and the always-valid p-value is the running minimum of ``1 / Lambda``. Under
H0, ``P(any look has p <= alpha) <= alpha`` (Ville's inequality), for any
number of looks and any stopping rule; with a plug-in variance this holds
asymptotically. Inverting the test gives an always-valid confidence
sequence for the lift (the running intersection of the intervals).

``mixing_sd`` (tau) is the scale of effects the test is tuned for: set it to
the effect you expect or the minimum detectable effect (absolute units). The
guarantee holds for any tau; a good tau gives more power.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy import special

from pytest_prodguard.ab import _validate
from pytest_prodguard.ab.arm_stats import Mean, Proportion, Stat
from pytest_prodguard.errors import ProdguardUsageError


@dataclass(frozen=True)
class SequentialResult:
    """Always-valid p-values (``p_values``) and fixed-horizon ones (``naive_p_values``) per look."""

    labels: tuple[str, ...]
    control_n: tuple[int, ...]
    treatment_n: tuple[int, ...]
    estimates: tuple[float, ...]
    p_values: tuple[float, ...]
    naive_p_values: tuple[float, ...]
    ci: tuple[float, float]
    mixing_sd: float
    alpha: float
    method: str = "mSPRT"

    @property
    def p_value(self) -> float:
        """The always-valid p-value after the last look."""
        return self.p_values[-1]

    @property
    def significant(self) -> bool:
        """Whether the always-valid p-value fell below ``alpha``."""
        return self.p_value < self.alpha

    @property
    def first_significant_look(self) -> int | None:
        """Index of the first look whose always-valid p-value is below ``alpha``."""
        return _first_below(self.p_values, self.alpha)

    @property
    def naive_first_significant_look(self) -> int | None:
        """Index of the first look where a fixed-horizon test said "significant"."""
        return _first_below(self.naive_p_values, self.alpha)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "method": self.method,
            "labels": list(self.labels),
            "control_n": list(self.control_n),
            "treatment_n": list(self.treatment_n),
            "estimates": list(self.estimates),
            "p_values": list(self.p_values),
            "naive_p_values": list(self.naive_p_values),
            "p_value": self.p_value,
            "ci": [bound if math.isfinite(bound) else None for bound in self.ci],
            "mixing_sd": self.mixing_sd,
            "alpha": self.alpha,
            "significant": self.significant,
        }


def _first_below(values: Sequence[float], alpha: float) -> int | None:
    return next((index for index, value in enumerate(values) if value < alpha), None)


def _difference_and_variance(control: Stat, treatment: Stat) -> tuple[float, float]:
    if isinstance(control, Proportion) and isinstance(treatment, Proportion):
        pooled = (control.successes + treatment.successes) / (control.trials + treatment.trials)
        variance = pooled * (1 - pooled) * (1 / control.trials + 1 / treatment.trials)
        return treatment.rate - control.rate, variance
    if isinstance(control, Mean) and isinstance(treatment, Mean):
        variance = control.variance / control.n + treatment.variance / treatment.n
        return treatment.mean - control.mean, variance
    raise ProdguardUsageError(
        "looks",
        (type(control).__name__, type(treatment).__name__),
        "must pair two rates or two means",
    )


def _unpack(look: object, index: int) -> tuple[str, Stat, Stat]:
    if isinstance(look, (tuple, list)) and len(look) == 3:
        label, control, treatment = look
    elif isinstance(look, (tuple, list)) and len(look) == 2:
        (control, treatment), label = look, f"look {index + 1}"
    else:
        raise ProdguardUsageError(
            f"looks[{index}]", look, "must be (control, treatment) or (label, control, treatment)"
        )
    for role, stat in (("control", control), ("treatment", treatment)):
        if not isinstance(stat, (Proportion, Mean)):
            raise ProdguardUsageError(
                f"looks[{index}] {role}", stat, "must be a Proportion or Mean"
            )
    return str(label), control, treatment


def _log_likelihood_ratio(theta: float, variance: float, tau2: float) -> float:
    if variance <= 0:
        return 0.0
    return 0.5 * math.log(variance / (variance + tau2)) + tau2 * theta * theta / (
        2 * variance * (variance + tau2)
    )


def _interval(theta: float, variance: float, tau2: float, alpha: float) -> tuple[float, float]:
    if variance <= 0:
        return -math.inf, math.inf
    radius = math.sqrt(
        variance
        * (variance + tau2)
        / tau2
        * (2 * math.log(1 / alpha) + math.log((variance + tau2) / variance))
    )
    return theta - radius, theta + radius


def sequential_test(
    looks: Sequence[tuple[Stat, Stat]] | Sequence[tuple[str, Stat, Stat]],
    *,
    mixing_sd: float,
    alpha: float = 0.05,
) -> SequentialResult:
    """Always-valid (mSPRT) p-value of treatment vs control over cumulative looks.

    ``looks`` are cumulative snapshots in time order, each ``(control,
    treatment)`` or ``(label, control, treatment)``, e.g.
    ``experiment.look_pairs(metric, treatment)``; unit counts must not shrink.
    ``mixing_sd`` is the effect scale (absolute units) the test is tuned for,
    typically the absolute minimum detectable effect.
    """
    tau = _validate.positive(mixing_sd, field="mixing_sd")
    alpha_ = _validate.probability(alpha, field="alpha")
    if isinstance(looks, (str, bytes)) or not isinstance(looks, Sequence) or not looks:
        raise ProdguardUsageError("looks", looks, "must be a non-empty sequence of looks")
    unpacked = [_unpack(look, index) for index, look in enumerate(looks)]
    tau2 = tau * tau
    running_p, running_low, running_high = 1.0, -math.inf, math.inf
    p_values, naive, estimates = [], [], []
    previous = (0, 0)
    for index, (_, control, treatment) in enumerate(unpacked):
        if control.n < previous[0] or treatment.n < previous[1]:
            raise ProdguardUsageError(
                f"looks[{index}]",
                (control.n, treatment.n),
                f"must be cumulative: unit counts cannot shrink from {previous}",
            )
        previous = (control.n, treatment.n)
        theta, variance = _difference_and_variance(control, treatment)
        running_p = min(running_p, math.exp(-_log_likelihood_ratio(theta, variance, tau2)))
        low, high = _interval(theta, variance, tau2, alpha_)
        running_low, running_high = max(running_low, low), min(running_high, high)
        p_values.append(min(1.0, running_p))
        estimates.append(theta)
        z = theta / math.sqrt(variance) if variance > 0 else 0.0
        naive.append(float(2 * special.ndtr(-abs(z))))
    return SequentialResult(
        labels=tuple(label for label, _, _ in unpacked),
        control_n=tuple(control.n for _, control, _ in unpacked),
        treatment_n=tuple(treatment.n for _, _, treatment in unpacked),
        estimates=tuple(estimates),
        p_values=tuple(p_values),
        naive_p_values=tuple(naive),
        ci=(running_low, running_high),
        mixing_sd=tau,
        alpha=alpha_,
    )
