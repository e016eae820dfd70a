"""Judge one budget against a sample: pass, fail or inconclusive, with its interval.

A percentile budget B on the q-quantile is judged with distribution-free
order-statistic bounds (:func:`~pytest_prodguard.latency.stats.quantile_bounds`):

- **fail** when the lower bound is above B: if the true quantile were at or
  below B, this happens with probability at most the look's alpha;
- **pass** when the upper bound is at or below B: if the true quantile were
  above B, this happens with probability at most the look's alpha;
- **inconclusive** otherwise.

``mean`` uses a Student-t interval (asymptotic, not distribution-free) and
``max`` is judged on the observed samples: it fails as soon as one sample
exceeds the budget, and passes when none did (no statistical guarantee exists
for a maximum).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from pytest_prodguard.latency.sequential import (
    allocate_alpha,
    lower_bound_feasible,
    mean_feasible,
    side_alpha,
    upper_bound_feasible,
)
from pytest_prodguard.latency.spec import QUANTILES
from pytest_prodguard.latency.stats import (
    mean_bounds,
    min_samples_for_upper_bound,
    quantile_bounds,
    sample_quantile,
)
from pytest_prodguard.units import format_bytes, format_duration

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
#: Headroom on the suggested max_time: round times vary and looks cost a little.
_PASS_TIME_MARGIN = 1.2


@dataclass(frozen=True)
class Check:
    """The verdict on one budget of one tier.

    ``tier`` is ``"fail"`` or ``"warn"``; ``status`` is ``"pass"``, ``"fail"``
    (for a warn tier: the warn threshold is exceeded) or ``"inconclusive"``.
    ``estimate``, ``low`` and ``high`` are the point estimate and the interval
    used for the decision (seconds, or bytes when ``unit == "bytes"``), taken at
    the look that decided (``n`` samples, ``elapsed`` seconds of sampling).
    """

    name: str
    tier: str
    budget: float
    status: str
    estimate: float
    low: float
    high: float
    n: int
    elapsed: float | None = None
    unit: str = "s"
    note: str = ""

    def format_value(self, value: float) -> str:
        """Format a value in this check's unit."""
        if math.isinf(value):
            return "-inf" if value < 0 else "inf"
        return format_bytes(value) if self.unit == "bytes" else format_duration(value)

    def interval_text(self) -> str:
        """``29.8 ms–33.0 ms``, a one-sided ``≤ 33.0 ms`` / ``≥ 29.8 ms``, or ``observed``."""
        if self.low == self.high == self.estimate:
            return "observed"
        if self.low == -math.inf and self.high != math.inf:
            return f"≤ {self.format_value(self.high)}"
        if self.high == math.inf and self.low != -math.inf:
            return f"≥ {self.format_value(self.low)}"
        return f"{self.format_value(self.low)}–{self.format_value(self.high)}"

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form; infinite bounds become None."""
        return {
            "name": self.name,
            "tier": self.tier,
            "budget": self.budget,
            "status": self.status,
            "estimate": _finite(self.estimate),
            "low": _finite(self.low),
            "high": _finite(self.high),
            "n": self.n,
            "elapsed": self.elapsed,
            "unit": self.unit,
            "note": self.note,
        }


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _status(low: float, high: float, budget: float) -> str:
    if low > budget:
        return FAIL
    if high <= budget:
        return PASS
    return INCONCLUSIVE


def evaluate_statistic(
    statistic: str,
    ordered: Sequence[float],
    values: Sequence[float],
    budget: float,
    alpha_fail: float,
    alpha_pass: float,
) -> tuple[str, float, float, float]:
    """Return (status, estimate, low, high) of one statistic at one look.

    ``ordered`` is ``values`` sorted; quantiles use the order statistics and
    ``mean`` the values. A side with zero alpha cannot decide (its bound is infinite).
    """
    if statistic == "max":
        observed = ordered[-1]
        return (FAIL if observed > budget else PASS), observed, observed, observed
    if statistic == "mean":
        estimate = math.fsum(values) / len(values)
        low, high = mean_bounds(values, alpha_fail, alpha_pass)
        return _status(low, high, budget), estimate, low, high
    q = QUANTILES[statistic]
    estimate = sample_quantile(ordered, q)
    low, high = quantile_bounds(ordered, q, alpha_fail, alpha_pass)
    return _status(low, high, budget), estimate, low, high


def statistic_alphas(
    statistic: str, sizes: Sequence[int], confidence: float, fail_from: int = 0
) -> tuple[list[float], list[float]]:
    """Per-look alphas (fail side, pass side) of one statistic for planned look sizes.

    Looks of fewer than ``fail_from`` rounds get no fail-side share (they cannot
    fail; the share goes to the later looks): see :func:`.sequential.first_fail_look`.
    The sample maximum is not a statistical bound and ignores ``fail_from``.
    """
    alpha = side_alpha(confidence)
    if statistic == "max":
        return [alpha] * len(sizes), [alpha] * len(sizes)
    if statistic == "mean":
        return allocate_alpha(sizes, alpha, _from(fail_from, mean_feasible)), allocate_alpha(
            sizes, alpha, mean_feasible
        )
    q = QUANTILES[statistic]
    return (
        allocate_alpha(sizes, alpha, _from(fail_from, lower_bound_feasible(q))),
        allocate_alpha(sizes, alpha, upper_bound_feasible(q)),
    )


def _from(first: int, feasible: Callable[[int, float], bool]) -> Callable[[int, float], bool]:
    """``feasible``, and only for looks of at least ``first`` rounds."""
    return lambda n, alpha: n >= first and feasible(n, alpha)


def replay_statistic(
    statistic: str,
    budget: float,
    tier: str,
    samples: Sequence[float],
    looks: Sequence[int],
    planned: Sequence[int],
    confidence: float,
    look_times: Sequence[float] | None = None,
    prefix: Callable[[int], Sequence[float]] | None = None,
    fail_from: int = 0,
) -> Check:
    """Replay the looks actually taken and return the first decisive one's check.

    ``looks`` are the sample counts at which the sampler looked (the last may be
    the time-limit look), ``planned`` the schedule the alphas were allocated
    over; look i spends the alpha of planned look i. Without looks the whole
    sample is one look with the full alpha. ``prefix(n)``, when given, returns
    the values judged at a look of ``n`` rounds (e.g. normalized times);
    by default they are ``samples[:n]``. ``fail_from`` is the sampler's first
    look able to fail (:func:`statistic_alphas`).
    """
    if not samples:
        return Check(statistic, tier, budget, INCONCLUSIVE, math.nan, -math.inf, math.inf, 0)
    if not looks:
        looks, planned, look_times = (len(samples),), (len(samples),), None
    alphas = statistic_alphas(statistic, planned, confidence, fail_from)
    if prefix is None:

        def prefix(size: int) -> Sequence[float]:
            return samples[:size]

    if statistic == "max":
        return max_check(budget, tier, prefix(looks[-1]), looks, look_times)
    check = None
    for index, size in enumerate(looks):
        values = prefix(size)
        elapsed = look_times[index] if look_times is not None else None
        look = Look(index, size, elapsed, values, sorted(values))
        check = look_check(statistic, tier, budget, alphas, look)
        if check.status != INCONCLUSIVE:
            break
    assert check is not None
    return with_pass_size_note(check, confidence)


@dataclass(frozen=True)
class Look:
    """The values judged at one look: look ``index`` (0 = first), of ``size`` rounds.

    ``elapsed`` is the sampling time at the look (None when unknown), ``ordered``
    the ``values`` sorted.
    """

    index: int
    size: int
    elapsed: float | None
    values: Sequence[float]
    ordered: Sequence[float]


def look_check(
    statistic: str,
    tier: str,
    budget: float,
    alphas: tuple[Sequence[float], Sequence[float]],
    look: Look,
) -> Check:
    """One budget at one look, spending that look's share of ``alphas`` (fail side, pass side).

    ``alphas`` are :func:`statistic_alphas` of the planned looks; look i spends
    planned look i's share (a look beyond the plan, the last share).
    """
    alphas_fail, alphas_pass = alphas
    status, estimate, low, high = evaluate_statistic(
        statistic,
        look.ordered,
        look.values,
        budget,
        alphas_fail[min(look.index, len(alphas_fail) - 1)],
        alphas_pass[min(look.index, len(alphas_pass) - 1)],
    )
    return Check(statistic, tier, budget, status, estimate, low, high, look.size, look.elapsed)


def with_pass_size_note(check: Check, confidence: float) -> Check:
    """``check``, with :func:`pass_size_note` when undecided for want of an upper bound."""
    if check.status == INCONCLUSIVE and math.isinf(check.high):
        return replace(check, note=pass_size_note(check.name, check, confidence))
    return check


def pass_size_note(statistic: str, check: Check, confidence: float) -> str:
    """Why a quantile budget could not pass: too few samples for any upper bound.

    The widest upper bound of the q-quantile is the sample maximum, which
    exists only from ``min_samples_for_upper_bound`` samples on (72 for p95 at
    95% confidence), however fast the code. The note says how many samples a
    pass needs and, when the look's sampling time is known, a ``max_time`` that
    gives them at the speed just measured, with a fifth more for the rounds'
    spread and the schedule's bookkeeping.
    """
    needed = min_samples_for_upper_bound(QUANTILES[statistic], side_alpha(confidence))
    text = (
        f"a {statistic} pass at {confidence:.0%} confidence needs at least {needed} samples, "
        f"this look had {check.n}"
    )
    if check.elapsed is None or check.n <= 0 or check.elapsed <= 0:
        return f"{text}: take more samples"
    seconds = _PASS_TIME_MARGIN * needed * check.elapsed / check.n
    return (
        f"{text} in {check.elapsed:.2g} s: raise max_time to about {_round_up(seconds)} s "
        "(or lower confidence)"
    )


def _round_up(seconds: float) -> str:
    """``seconds`` rounded up to two significant digits, as text."""
    if seconds <= 0:
        return "0"
    step = 10 ** (math.floor(math.log10(seconds)) - 1)
    return f"{math.ceil(seconds / step - 1e-9) * step:.3g}"


def max_check(
    budget: float,
    tier: str,
    samples: Sequence[float],
    looks: Sequence[int],
    look_times: Sequence[float] | None,
) -> Check:
    """A ``max`` budget on the values of the last look (``looks[-1]`` rounds), judged once.

    It fails at the first round above the budget (``n`` = that round) and
    passes otherwise, on the observed samples: a maximum has no confidence bound.
    """
    total = looks[-1]
    for index, value in enumerate(samples[:total]):
        if value > budget:
            return Check("max", tier, budget, FAIL, value, value, value, index + 1)
    observed = max(samples[:total])
    elapsed = look_times[-1] if look_times is not None else None
    note = "judged on the observed samples (a maximum has no confidence bound)"
    return Check("max", tier, budget, PASS, observed, observed, observed, total, elapsed, note=note)


def memory_check(name: str, tier: str, budget: int, peak: int, calls: int) -> Check:
    """Peak memory is measured exactly (max over ``calls`` calls): pass or fail."""
    status = FAIL if peak > budget else PASS
    note = f"max of {calls} call(s) traced"
    return Check(
        name, tier, float(budget), status, peak, peak, peak, calls, unit="bytes", note=note
    )
