"""The look judge: each budget and the baseline comparison judged once, at the sampler's looks.

At every look the sampler takes (the planned looks and the look when
``max_time`` runs out) the judge computes the judged values once (normalized
to the machine's typical speed when asked) and evaluates every budget of both
tiers that is not decided yet, spending planned look i's share of its error
budget at look i (:func:`.checks.statistic_alphas`), and the comparison with
the baseline until it is decided (:func:`.compare.look_state`). A budget or
comparison decided at a look is never evaluated again. ``max`` has no error
budget to spend: it is judged once, on the last look's values.

The sampler stops when every fail-tier budget except ``max`` and the
comparison are decided (warn-tier budgets never hold sampling up). Then
:meth:`LookJudge.decisions` records each budget's deciding check (or the last
look's, with the note on the samples a pass needs) and the comparison's
deciding state: :class:`~.decisions.Decisions`, which :func:`.verdict.judge` and
:func:`.compare.compare_to_baseline` use as they are. A measurement without
looks (one that only recorded) is judged at its end, as one look with the whole
error budget: exactly what a replay of its looks would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pytest_prodguard.latency.baseline import RAW
from pytest_prodguard.latency.checks import (
    INCONCLUSIVE,
    Check,
    Look,
    look_check,
    max_check,
    statistic_alphas,
    with_pass_size_note,
)
from pytest_prodguard.latency.compare import (
    comparison_alphas,
    look_state,
    pair_counts,
    planned_pair_counts,
)
from pytest_prodguard.latency.decisions import (
    ComparisonDecision,
    ComparisonSetup,
    Decisions,
    judged_fields,
    undecided_state,
)
from pytest_prodguard.latency.measurement import Measurement, RoundRecord, normalized_samples
from pytest_prodguard.latency.spec import DEFAULT_CONFIDENCE, LatencySpec


@dataclass
class Rounds:
    """Mutable state of one sampling run: the rounds timed so far and the looks taken."""

    samples: list[float] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)
    reference_index: list[int] = field(default_factory=list)
    reference_python: list[float] = field(default_factory=list)
    reference_native: list[float] = field(default_factory=list)
    looks: list[int] = field(default_factory=list)
    look_times: list[float] = field(default_factory=list)
    cpu_wait_seconds: float = 0.0
    cpu_wait_rounds: int = 0


def needs_looks(
    spec: LatencySpec | None, setup: ComparisonSetup | None, tolerance: float | None
) -> bool:
    """True when anything must be decided while sampling (otherwise the run only records).

    That is a fail-tier budget other than ``max``, or a comparison with saved runs.
    """
    budgets = spec is not None and any(name != "max" for name in spec.budgets)
    return budgets or (setup is not None and bool(setup.runs) and tolerance is not None)


@dataclass
class _Budget:
    """One duration budget and the check of the last look that judged it."""

    name: str
    tier: str
    value: float
    alphas: tuple[list[float], list[float]]
    check: Check | None = None

    @property
    def at_looks(self) -> bool:
        """False for ``max``, judged once on the last look's values."""
        return self.name != "max"

    @property
    def decided(self) -> bool:
        """True once a look passed or failed it."""
        return self.check is not None and self.check.status != INCONCLUSIVE


class LookJudge:
    """Judges a run's budgets and baseline comparison at its looks, each only while undecided.

    ``planned`` are the planned look sizes (their shares of the error budgets),
    ``every`` the target rounds per reference round, ``fail_from`` the first
    look able to fail (:func:`.sequential.first_fail_look`). ``setup`` and
    ``tolerance`` (both, or no comparison) come from
    :func:`.compare.prepare_comparison`, computed once before sampling. With
    ``nominal_reference`` or ``within_run`` the budgets are judged on normalized
    times (:func:`.measurement.normalized_samples`).
    """

    def __init__(
        self,
        spec: LatencySpec | None,
        planned: Sequence[int],
        every: int,
        setup: ComparisonSetup | None,
        tolerance: float | None,
        nominal_reference: float | None = None,
        *,
        within_run: bool = False,
        fail_from: int = 0,
    ) -> None:
        self._spec = spec
        self._confidence = spec.confidence if spec else DEFAULT_CONFIDENCE
        self._nominal = nominal_reference
        self._normalize = nominal_reference is not None or within_run
        self._fail_from = fail_from
        self._setup = setup if tolerance is not None else None
        self._tolerance = tolerance or 0.0
        self._comparing = self._setup is not None and bool(self._setup.runs)
        self._comparison: ComparisonDecision | None = None
        self._last: tuple[int, Sequence[float]] | None = None
        kind = self._setup.kind if self._setup is not None else RAW
        self._plan(planned, planned_pair_counts(planned, every, kind))

    def _plan(self, planned: Sequence[int], pair_counts: Sequence[int]) -> None:
        """Share the error budgets over looks of ``planned`` rounds (``pair_counts`` values)."""
        budgets = self._spec.duration_budgets() if self._spec is not None else ()
        self._budgets = [
            _Budget(
                name,
                tier,
                value,
                statistic_alphas(name, planned, self._confidence, self._fail_from),
            )
            for name, tier, value in budgets
        ]
        self._comparison_alphas = comparison_alphas(pair_counts, self._confidence)

    @property
    def decided(self) -> bool:
        """True when every fail-tier budget (but ``max``) and the comparison are decided."""
        budgets = all(
            budget.decided for budget in self._budgets if budget.tier == "fail" and budget.at_looks
        )
        comparison = not self._comparing or (
            self._comparison is not None and self._comparison.state.decided
        )
        return budgets and comparison

    def look(self, rounds: Rounds, *, final: bool) -> bool:
        """Judge what is still undecided at the look just taken (the last of ``rounds.looks``).

        ``final`` marks the run's last look (the last planned one, or the
        ``max_time`` look). Returns :attr:`decided`.
        """
        index = len(rounds.looks) - 1
        self._judge(rounds, index, rounds.looks[index], rounds.look_times[index], final=final)
        return self.decided

    def _judge(
        self, record: RoundRecord, index: int, size: int, elapsed: float | None, *, final: bool
    ) -> None:
        pending = [budget for budget in self._budgets if budget.at_looks and not budget.decided]
        if pending:
            values = self._values(record, size)
            look = Look(index, size, elapsed, values, sorted(values))
            for budget in pending:
                budget.check = look_check(
                    budget.name, budget.tier, budget.value, budget.alphas, look
                )
        if self._comparing and not (
            self._comparison is not None and self._comparison.state.decided
        ):
            assert self._setup is not None
            alpha = self._comparison_alphas[min(index, len(self._comparison_alphas) - 1)]
            state = look_state(
                record, size, self._setup, self._tolerance, alpha, self._confidence, final=final
            )
            self._comparison = ComparisonDecision(
                self._setup, self._tolerance, state, size, elapsed
            )

    def _values(self, record: RoundRecord, size: int) -> Sequence[float]:
        """The first ``size`` rounds' per-call times as budgets judge them (once a look)."""
        if self._last is not None and self._last[0] == size:
            return self._last[1]
        if not self._normalize or not record.reference_index:
            values: Sequence[float] = record.samples[:size]
        else:
            values = normalized_samples(
                record.samples,
                record.reference_index,
                record.reference_python,
                record.reference_native,
                self._nominal,
                size,
            )
        self._last = (size, values)
        return values

    def decisions(self, measurement: Measurement) -> Decisions:
        """What was decided on ``measurement`` (the rounds just sampled), each budget once.

        A measurement without looks is judged here, at its end, as one look with
        the whole error budget (as a replay would); ``max`` is judged on the last
        look's values.
        """
        if not measurement.looks:
            kind = self._setup.kind if self._setup is not None else RAW
            size = measurement.n
            self._plan((size,), pair_counts(measurement, (size,), kind))
            self._judge(measurement, 0, size, None, final=True)
        looks = measurement.looks or (measurement.n,)
        look_times = measurement.look_times if measurement.looks else None
        checks = []
        for budget in self._budgets:
            if budget.at_looks:
                assert budget.check is not None
                checks.append(with_pass_size_note(budget.check, self._confidence))
            else:
                values = self._values(measurement, looks[-1])
                checks.append(max_check(budget.value, budget.tier, values, looks, look_times))
        return Decisions(
            self._spec,
            tuple(checks),
            self._comparison_decision(measurement),
            judged_fields(measurement),
        )

    def _comparison_decision(self, measurement: Measurement) -> ComparisonDecision | None:
        if self._setup is None:
            return None
        if self._comparison is None:  # no saved runs to compare with: nothing to evaluate
            state = undecided_state(0)
            return ComparisonDecision(self._setup, self._tolerance, state, measurement.n, None)
        return self._comparison
