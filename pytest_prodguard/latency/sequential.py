"""Sequential looks at a growing sample, and the error budget each look may spend.

The sampler looks at its samples after 10, 20, 40, 80, ... rounds (a geometric
schedule ending at the largest count that fits in ``max_time``) and stops as
soon as every budget is decided. Looking repeatedly at a growing sample with
a fixed per-look error rate inflates the error (the repeated-looks false
alarms measured in ``latency-noise.md`` 3d); here each look only spends a share of
the error rate, so the union bound over all looks keeps the total at the
nominal level:

- the error rate of each side (fail when the truth is within budget; pass when
  it is over) is ``(1 - confidence) / 2``;
- a look that cannot possibly decide on that side (too few samples for any
  bound to exist) gets no share, and the shares of the remaining looks are
  1/2, 1/6, 1/12, ... with the last one getting the rest (:func:`spending_weights`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from pytest_prodguard.latency.stats import spending_weights

FIRST_LOOK = 10
#: Least sampling time a look must span to fail a budget. The shared machines slow
#: down in bursts of up to about 8 ms (every call in a burst, and the reference rounds
#: beside them, about 1.5-1.6x slower); a look that spans less than several bursts can
#: be one burst from end to end (``benchmarks/RESULTS.md``, "Bursts").
MIN_FAIL_SECONDS = 0.05
#: A planned last look closer than this factor to the previous one replaces it.
_MERGE_FACTOR = 1.25


def plan_looks(
    max_rounds: int, first: int = FIRST_LOOK, anchors: Sequence[int] = ()
) -> tuple[int, ...]:
    """Look sizes 10, 20, 40, ... below ``max_rounds``, then ``max_rounds`` itself.

    ``anchors`` are sizes that must be looked at (the first size at which a
    budget can possibly pass, :func:`first_pass_look`); the schedule doubles
    onwards from an anchor, so a pass is not delayed to the next power-of-two
    look. The schedule depends only on these numbers, never on samples.
    """
    if max_rounds <= first:
        return (max(1, max_rounds),)
    pending = sorted(anchor for anchor in set(anchors) if first < anchor < max_rounds)
    sizes = []
    size = first
    while size < max_rounds:
        if pending and pending[0] <= size * _MERGE_FACTOR:
            size = pending.pop(0)
            pending = [anchor for anchor in pending if anchor > size * _MERGE_FACTOR]
        sizes.append(size)
        size *= 2
    if max_rounds < sizes[-1] * _MERGE_FACTOR and len(sizes) > 1:
        sizes[-1] = max_rounds
    else:
        sizes.append(max_rounds)
    return tuple(sizes)


def first_fail_look(
    sizes: Sequence[int], seconds_per_round: float, min_seconds: float = MIN_FAIL_SECONDS
) -> int:
    """Size of the first planned look expected to span ``min_seconds`` of sampling.

    Computed from the per-round cost estimated before sampling, so the error
    allocation stays independent of the samples. When no planned look is long
    enough (``max_time`` shorter than ``min_seconds``) the last look may fail.
    """
    for size in sizes:
        if size * seconds_per_round >= min_seconds:
            return size
    return sizes[-1] if sizes else 0


def first_pass_look(q: float, confidence: float) -> int:
    """Fewest samples at which an upper bound of the q-quantile can exist at its first look.

    The first look able to pass gets half of the side's error rate
    (:func:`spending_weights`), so this is the smallest n with
    ``q**n <= (1 - confidence) / 4`` (86 for p95 at 95% confidence).
    """
    return max(1, math.ceil(math.log(side_alpha(confidence) / 2) / math.log(q)))


def allocate_alpha(
    sizes: Sequence[int], alpha: float, feasible: Callable[[int, float], bool]
) -> list[float]:
    """Split ``alpha`` over looks, giving nothing to looks that cannot decide.

    ``feasible(n, a)`` says whether a look with ``n`` samples could decide at
    error rate ``a``. The earliest infeasible look is dropped and the shares are
    recomputed over the rest, until every remaining look is feasible; the loop
    ends after at most len(sizes) rounds. The allocation depends only on the
    planned sizes, never on the samples, so the union bound holds.
    """
    active = list(range(len(sizes)))
    while active:
        weights = spending_weights(len(active))
        infeasible = [
            index
            for index, weight in zip(active, weights, strict=True)
            if not feasible(sizes[index], alpha * weight)
        ]
        if not infeasible:
            shares = [0.0] * len(sizes)
            for index, weight in zip(active, weights, strict=True):
                shares[index] = alpha * weight
            return shares
        active.remove(infeasible[0])
    return [0.0] * len(sizes)


def lower_bound_feasible(q: float) -> Callable[[int, float], bool]:
    """Feasibility of a lower bound of the q-quantile: (1 - q)**n <= alpha."""
    return lambda n, alpha: n * math.log1p(-q) <= math.log(alpha) if alpha > 0 else False


def upper_bound_feasible(q: float) -> Callable[[int, float], bool]:
    """Feasibility of an upper bound of the q-quantile: q**n <= alpha."""
    return lambda n, alpha: n * math.log(q) <= math.log(alpha) if alpha > 0 else False


def mean_feasible(n: int, alpha: float) -> bool:
    """A Student-t bound of the mean needs two samples."""
    return n >= 2 and alpha > 0


def side_alpha(confidence: float) -> float:
    """Error rate of one side of a two-sided interval at ``confidence``."""
    return (1.0 - confidence) / 2.0
