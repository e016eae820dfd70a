"""Batched search: many variations of real samples, checked in few model calls.

``find_failures`` draws ``n`` (sample, variation) pairs from a seeded
``random.Random`` (microseconds each, no Hypothesis bookkeeping), evaluates
the distinct originals and all varied inputs in batches, keeps failing and
passing examples, minimises the simplest failure by dropping steps that are
not needed, and slices the failures on demand. ``assert_robust`` turns that into an
assertion with a statistical summary of the failure rate.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.recorder import record
from pytest_prodguard.robustness._args import check_int, check_non_negative_float, check_probability
from pytest_prodguard.robustness._checks import RobustnessError, example_lines
from pytest_prodguard.robustness._compare import aligned, comparable, same, to_real
from pytest_prodguard.robustness._draw import RandomDraw
from pytest_prodguard.robustness._example import Example
from pytest_prodguard.robustness._format import brief
from pytest_prodguard.robustness._models import Model, as_model
from pytest_prodguard.robustness._samples import plans_for, sample_items, variations_of
from pytest_prodguard.robustness._slicing import SliceReport, slice_failures
from pytest_prodguard.robustness._variation import (
    SampledVariation,
    Variation,
    compose,
    operation_rank,
)

__all__ = ["SearchResult", "assert_robust", "find_failures", "wilson_interval"]

Check = Callable[[Any, Any], bool]
CHECKS = ("invariant", "directional")


@dataclass(frozen=True)
class SearchResult:
    """What :func:`find_failures` found.

    ``failures``/``passes`` are evaluated :class:`Example` values, ``minimal``
    the simplest failure with unneeded steps removed, ``slices`` what the
    failures have in common (computed when first read), ``model_calls`` how
    many model calls it took.
    """

    check: str
    failures: tuple[Example, ...]
    passes: tuple[Example, ...]
    minimal: Example | None
    model_calls: int
    seed: int

    @functools.cached_property
    def slices(self) -> SliceReport:
        """What the failures have in common (computed on first use)."""
        return slice_failures(self.failures, self.passes)

    @property
    def n_checked(self) -> int:
        """How many variations were checked."""
        return len(self.failures) + len(self.passes)

    @property
    def failure_rate(self) -> float:
        """Share of checked variations that failed."""
        return len(self.failures) / self.n_checked if self.n_checked else 0.0

    @property
    def ok(self) -> bool:
        """Whether no variation failed."""
        return not self.failures

    def summary(self) -> str:
        """A readable report: the rate, the minimal example and the slice summary."""
        low, high = wilson_interval(len(self.failures), self.n_checked)
        lines = [
            f"{len(self.failures)} of {self.n_checked} variations failed the {self.check} check "
            f"({self.failure_rate:.1%}, 95% Wilson interval {low:.1%}-{high:.1%}; "
            f"{self.model_calls} model calls, seed={self.seed})"
        ]
        if self.minimal is not None:
            lines.append("  minimal failing example (steps that were not needed removed):")
            lines += [f"  {line}" for line in example_lines(self.minimal)]
        if len(self.failures) >= 2:
            lines += [f"  {line}" for line in self.slices.summary().splitlines()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "check": self.check,
            "n_checked": self.n_checked,
            "n_failures": len(self.failures),
            "failure_rate": self.failure_rate,
            "wilson_95": list(wilson_interval(len(self.failures), self.n_checked)),
            "model_calls": self.model_calls,
            "seed": self.seed,
            "minimal": self.minimal.to_dict() if self.minimal is not None else None,
            "failures": [f.to_dict() for f in self.failures[:20]],
            "slices": self.slices.to_dict(),
        }


def wilson_interval(
    successes: int, trials: int, z: float = 1.959963984540054
) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95% by default)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def find_failures(
    model: Any,
    samples: Sequence[Any],
    variations: st.SearchStrategy[Variation]
    | Callable[[Any], st.SearchStrategy[Variation]]
    | None = None,
    *,
    check: str | Check = "invariant",
    key: Callable[[Any], Any] | None = None,
    tol: float = 1e-6,
    expect: str | Callable[[Any, Any], bool] | None = None,
    n: int = 200,
    seed: int = 0,
    batch_size: int | None = None,
    minimize: bool = True,
    **kinds: Any,
) -> SearchResult:
    """Check ``n`` variations of ``samples`` in batches; return failures, passes and slices.

    Variations come from the built-in text/tensor plans configured by
    ``**kinds`` (the options of :func:`text_variations` / :func:`tensor_variations`;
    at least one step each unless ``min_steps=0``), or from ``variations``: a
    strategy of variations, or a callable ``sample -> strategy``.
    ``check`` is ``"invariant"`` (``key``/``tol`` as in :func:`assert_invariant`),
    ``"directional"`` (needs ``key`` and ``expect``) or a callable
    ``(output, varied_output) -> bool`` returning whether the pair passes.
    The same ``seed`` draws the same variations.
    """
    items = sample_items(samples)
    count = check_int("n", n, min_value=1)
    start = check_int("seed", seed, min_value=0)
    judge, name = _judge(check, key, tol, expect)
    adapter = as_model(model, batch_size=batch_size)
    if not isinstance(minimize, bool):
        raise ProdguardUsageError("minimize", minimize, "True or False")
    drawn, varied = _draw(items, variations, kinds, count, start)
    calls_before = adapter.calls
    examples, verdicts = _evaluate_all(adapter, items, drawn, varied, judge)
    failures = tuple(e for e, ok in zip(examples, verdicts, strict=True) if not ok)
    passes = tuple(e for e, ok in zip(examples, verdicts, strict=True) if ok)
    minimal = _minimize(adapter, failures, judge) if failures and minimize else None
    if minimal is None and failures:
        minimal = _simplest(failures)
    return SearchResult(
        check=name,
        failures=failures,
        passes=passes,
        minimal=minimal,
        model_calls=adapter.calls - calls_before,
        seed=start,
    )


def assert_robust(
    model: Any,
    samples: Sequence[Any],
    variations: st.SearchStrategy[Variation]
    | Callable[[Any], st.SearchStrategy[Variation]]
    | None = None,
    *,
    max_failure_rate: float = 0.0,
    **options: Any,
) -> SearchResult:
    """:func:`find_failures`, failing if more than ``max_failure_rate`` of variations fail.

    The message gives the failure rate with its 95% Wilson interval, the
    minimal failing example and what the failures have in common.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    allowed = check_probability("max_failure_rate", max_failure_rate, allow_zero=True)
    result = find_failures(model, samples, variations, **options)
    passed = result.failure_rate <= allowed
    summary = {
        **result.to_dict(),
        "check": "assert_robust",
        "passed": passed,
        "of": result.check,
        "max_failure_rate": allowed,
    }
    if passed:
        record("robustness", summary)  # the failure rate and search size, for trends
        return result
    message = f"assert_robust: more than {allowed:.1%} of variations failed\n  " + result.summary()
    record("robustness", summary)
    raise RobustnessError(message, summary)


def _judge(
    check: object, key: object, tol: object, expect: object
) -> tuple[Callable[[Any, Variation, Any], bool], str]:
    """A function ``(output, variation, varied_output) -> passed`` for ``check``."""
    if key is not None and not callable(key):
        raise ProdguardUsageError("key", brief(key), "a callable output -> value, or None")
    tolerance = check_non_negative_float("tol", tol)
    if callable(check):
        user_check: Check = check
        return (lambda out, v, vout: bool(user_check(aligned(out, v, vout), vout))), getattr(
            check, "__name__", "custom"
        )
    if check == "invariant":
        return (
            lambda out, v, vout: same(
                comparable(aligned(out, v, vout), key),
                comparable(vout, key),
                tolerance,
            )
        ), "invariant"
    if check == "directional":
        if key is None:
            raise ProdguardUsageError(
                "key", key, "a callable output -> number for check='directional'"
            )
        if callable(expect):
            move: Check = expect
            return (
                lambda out, v, vout: bool(move(key(aligned(out, v, vout)), key(vout)))
            ), "directional"
        if expect not in ("increase", "decrease"):
            raise ProdguardUsageError(
                "expect", expect, "'increase', 'decrease' or a callable (before, after) -> bool"
            )
        sign = 1.0 if expect == "increase" else -1.0

        def directional(out: Any, v: Variation, vout: Any) -> bool:
            before = to_real(key(aligned(out, v, vout)), "key")
            after = to_real(key(vout), "key")
            return sign * (after - before) >= -tolerance

        return directional, "directional"
    raise ProdguardUsageError(
        "check", check, "'invariant', 'directional' or a callable (output, varied_output) -> bool"
    )


def _draw(
    items: list[Any], variations: object, kinds: dict[str, Any], count: int, start: int
) -> tuple[list[SampledVariation], list[Any]]:
    """``count`` drawn variations and the varied inputs they produce."""
    if variations is None:
        plans = plans_for(items, {"min_steps": 1, **kinds})
        rng = random.Random(start)
        draw = RandomDraw(rng)
        drawn, varied = [], []
        for _ in range(count):
            index = rng.randrange(len(items))
            change, result = plans[index].draw_applied(items[index], draw)
            drawn.append(SampledVariation(index, change, items[index]))
            varied.append(result)
        return drawn, varied
    if kinds:
        raise ProdguardUsageError(
            "variations", brief(variations), "either variations=... or kind options, not both"
        )
    if isinstance(variations, st.SearchStrategy):
        collected = _collect(_paired(items, variations), count, start)
    elif callable(variations):
        collected = _collect(variations_of(items, variations=variations), count, start)
    else:
        raise ProdguardUsageError(
            "variations",
            brief(variations),
            "None, a strategy of Variation, or a callable sample -> strategy",
        )
    return collected, [v.varied for v in collected]


def _paired(
    items: list[Any], strategy: st.SearchStrategy[Any]
) -> st.SearchStrategy[SampledVariation]:
    """Pair each drawn variation with a sample, unless it already carries one."""

    @st.composite
    def paired(draw: Callable[[st.SearchStrategy[Any]], Any]) -> SampledVariation:
        index = draw(st.integers(0, len(items) - 1))
        value = draw(strategy)
        if isinstance(value, SampledVariation):
            return value
        if not isinstance(value, Variation):
            raise ProdguardUsageError(
                "variations", brief(value), "a strategy drawing Variation values"
            )
        return SampledVariation(index, value, items[index])

    return paired()


def _collect(
    strategy: st.SearchStrategy[SampledVariation], count: int, start: int
) -> list[SampledVariation]:
    """Draw ``count`` values from a Hypothesis strategy, reproducibly for ``start``."""
    drawn: list[SampledVariation] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        derandomize=False,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis_seed(start)
    @given(strategy)
    def collect(value: SampledVariation) -> None:
        drawn.append(value)

    collect()
    return drawn


def _evaluate_all(
    adapter: Model,
    items: list[Any],
    drawn: list[SampledVariation],
    varied: list[Any],
    judge: Callable[[Any, Variation, Any], bool],
) -> tuple[list[Example], list[bool]]:
    used = sorted({v.index for v in drawn})
    inputs: list[Any] = [items[i] for i in used]
    inputs += varied

    def note(position: int) -> str:
        if position < len(used):
            return f"sample #{used[position]}"
        v = drawn[position - len(used)]
        return f"sample #{v.index} varied by {v}"

    outputs = _predict_unique(adapter, inputs, note)
    original_output = dict(zip(used, outputs[: len(used)], strict=True))
    examples: list[Example] = []
    verdicts: list[bool] = []
    for v, x, out in zip(drawn, varied, outputs[len(used) :], strict=True):
        example = Example(items[v.index], v.variation, x, original_output[v.index], out, v.index)
        examples.append(example)
        verdicts.append(judge(example.output, v.variation, out))
    return examples, verdicts


def _predict_unique(adapter: Model, inputs: list[Any], note: Callable[[int], str]) -> list[Any]:
    """Predict each distinct hashable input once (strings repeat often); arrays as they are."""
    slot: dict[Hashable, int] = {}
    unique: list[Any] = []
    origin: list[int] = []
    where: list[int] = []
    for position, x in enumerate(inputs):
        if isinstance(x, str) and x in slot:
            where.append(slot[x])
            continue
        if isinstance(x, str):
            slot[x] = len(unique)
        where.append(len(unique))
        unique.append(x)
        origin.append(position)
    outputs = adapter.predict_many(unique, notes=lambda i: note(origin[i]))
    return [outputs[i] for i in where]


def _simplest(failures: Sequence[Example]) -> Example:
    """Fewest steps, then shortest description, then earliest operations (upper before title)."""
    return min(
        failures,
        key=lambda e: (
            len(e.variation.steps),
            len(str(e.variation)),
            tuple(operation_rank(step) for step in e.variation.steps),
        ),
    )


def _minimize(
    adapter: Model, failures: Sequence[Example], judge: Callable[[Any, Variation, Any], bool]
) -> Example:
    """Greedily drop steps from the simplest failure while it still fails."""
    best = _simplest(failures)
    while len(best.variation.steps) > 1:
        steps = best.variation.steps
        candidates = [compose(*steps[:i], *steps[i + 1 :]) for i in range(len(steps))]
        varied = [c(best.original) for c in candidates]
        outputs = adapter.predict_many(varied, notes=[f"varied by {c}" for c in candidates])
        for candidate, x, out in zip(candidates, varied, outputs, strict=True):
            if not judge(best.output, candidate, out):
                best = Example(best.original, candidate, x, best.output, out, best.sample_index)
                break
        else:
            break
    return best
