"""Sample ratio mismatch: did the arms receive the share of units the design planned?

A Pearson chi-square goodness-of-fit test of the observed units per arm
against the planned allocation (scipy ``chisquare``), for any number of arms.
A mismatch is flagged at p < 0.001 by default, the threshold GrowthBook and
Eppo use: the test is run on every experiment, so a strict threshold keeps
false alarms rare, and a real mismatch (broken assignment, bots, redirects,
logging loss) usually gives a far smaller p-value.

A sample too small for the test ever to reach the threshold is reported as
``testable=False`` rather than as a pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from pytest_prodguard.ab import _validate
from pytest_prodguard.errors import ProdguardUsageError


@dataclass(frozen=True)
class SRMResult:
    """Outcome of :func:`srm_test`; shares are fractions of the total."""

    arms: tuple[str, ...]
    counts: tuple[int, ...]
    expected_shares: tuple[float, ...]
    statistic: float
    df: int
    p_value: float
    threshold: float
    testable: bool

    @property
    def mismatch(self) -> bool:
        """Whether the allocation is off: ``p_value < threshold``."""
        return self.p_value < self.threshold

    @property
    def total(self) -> int:
        """All units."""
        return sum(self.counts)

    @property
    def observed_shares(self) -> tuple[float, ...]:
        """Each arm's share of the units."""
        return tuple(count / self.total for count in self.counts)

    @property
    def expected_counts(self) -> tuple[float, ...]:
        """Units each arm should have had under the planned allocation."""
        return tuple(share * self.total for share in self.expected_shares)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "arms": list(self.arms),
            "counts": list(self.counts),
            "expected_shares": list(self.expected_shares),
            "observed_shares": list(self.observed_shares),
            "statistic": self.statistic,
            "df": self.df,
            "p_value": self.p_value,
            "threshold": self.threshold,
            "testable": self.testable,
            "mismatch": self.mismatch,
        }


def _named(
    counts: Sequence[int] | Mapping[str, int],
) -> tuple[tuple[str, ...], list[object]]:
    if isinstance(counts, Mapping):
        return tuple(str(arm) for arm in counts), list(counts.values())
    if isinstance(counts, (str, bytes)) or not isinstance(counts, Sequence):
        raise ProdguardUsageError(
            "counts", counts, "must be a sequence of unit counts or a mapping arm -> count"
        )
    return tuple(f"arm {index}" for index in range(len(counts))), list(counts)


def _weights(
    expected: Sequence[float] | Mapping[str, float] | None, arms: tuple[str, ...], by_name: bool
) -> list[float]:
    if expected is None:
        return [1.0] * len(arms)
    if by_name:
        if not isinstance(expected, Mapping) or set(map(str, expected)) != set(arms):
            raise ProdguardUsageError(
                "expected", expected, f"must map every arm {list(arms)} to its planned weight"
            )
        values = [expected[arm] for arm in arms]
    else:
        if isinstance(expected, Mapping) or len(expected) != len(arms):
            raise ProdguardUsageError(
                "expected", expected, f"must give {len(arms)} planned weights, one per count"
            )
        values = list(expected)
    return [_validate.positive(value, field="expected") for value in values]


def srm_test(
    counts: Sequence[int] | Mapping[str, int],
    expected: Sequence[float] | Mapping[str, float] | None = None,
    *,
    threshold: float = 0.001,
) -> SRMResult:
    """Chi-square test of units per arm against the planned allocation.

    ``counts`` is a sequence or a mapping arm -> units (at least two arms, all
    >= 0, some > 0). ``expected`` gives the planned weights in the same shape
    (any positive numbers: ``[50, 50]``, ``[1, 2]``, ``{"A": .5, "B": .5}``);
    equal allocation when omitted. An arm with zero units is allowed, and is
    exactly what this test should flag.
    """
    arms, raw = _named(counts)
    if len(raw) < 2:
        raise ProdguardUsageError("counts", counts, "needs at least two arms to compare")
    observed = [
        _validate.count(value, field=f"counts[{arm!r}]")
        for arm, value in zip(arms, raw, strict=True)
    ]
    total = sum(observed)
    if total == 0:
        raise ProdguardUsageError("counts", counts, "must contain at least one unit")
    weights = _weights(expected, arms, isinstance(counts, Mapping))
    threshold_ = _validate.probability(threshold, field="threshold")
    shares = [weight / sum(weights) for weight in weights]
    expected_counts = [share * total for share in shares]
    statistic = sum(
        (obs - exp) ** 2 / exp for obs, exp in zip(observed, expected_counts, strict=True)
    )
    df = len(observed) - 1
    # The most extreme split puts every unit in the arm with the smallest planned share.
    smallest = min(shares)
    largest_statistic = total * (1 - smallest) / smallest
    return SRMResult(
        arms=arms,
        counts=tuple(observed),
        expected_shares=tuple(shares),
        statistic=float(statistic),
        df=df,
        p_value=float(stats.chi2.sf(statistic, df)),
        threshold=threshold_,
        testable=bool(stats.chi2.sf(largest_statistic, df) < threshold_),
    )
