"""Variations of inputs *like* a sample of real inputs: draw a real one, then vary it."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._args import check_sequence
from pytest_prodguard.robustness._arrays import is_array_like
from pytest_prodguard.robustness._draw import Plan, plan_strategy
from pytest_prodguard.robustness._tensor import make_tensor_plan
from pytest_prodguard.robustness._text import make_text_plan
from pytest_prodguard.robustness._variation import SampledVariation, Variation

__all__ = ["plans_for", "sample_items", "variations_of"]

VariationsFactory = Callable[[Any], st.SearchStrategy[Variation]]


def sample_items(samples: object) -> list[Any]:
    """The samples as a list of all-``str`` or all-array items, validated."""
    items = list(check_sequence("samples", samples))
    if all(isinstance(item, str) for item in items):
        return items
    if all(is_array_like(item) for item in items):
        return items
    kinds = sorted({type(item).__name__ for item in items})
    raise ProdguardUsageError(
        "samples", f"<items of types {kinds}>", "all str (texts) or all numpy arrays/torch tensors"
    )


def plans_for(items: Sequence[Any], kinds: dict[str, Any]) -> list[Plan]:
    """One validated plan per sample (text options are shared, tensor ones per array)."""
    if isinstance(items[0], str):
        plan = make_text_plan(**_known("text_variations", kinds, make_text_plan))
        return [plan] * len(items)
    options = _known("tensor_variations", kinds, make_tensor_plan)
    return [make_tensor_plan(item, **options) for item in items]


def _known(function: str, kinds: dict[str, Any], maker: Callable[..., Any]) -> dict[str, Any]:
    parameters = inspect.signature(maker).parameters.values()
    accepted = [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
    for name in kinds:
        if name not in accepted:
            raise ProdguardUsageError(
                name, kinds[name], f"not an option of {function}; options: {accepted}"
            )
    return kinds


def variations_of(
    samples: Sequence[Any],
    *,
    variations: VariationsFactory | None = None,
    **kinds: Any,
) -> st.SearchStrategy[SampledVariation]:
    """Strategy of variations of inputs like ``samples``: a real sample, then varied.

    ``samples`` are all texts or all arrays/tensors. Each draw picks a sample
    (shrinking toward the first) and a variation of it, built by
    :func:`text_variations` / :func:`tensor_variations` with ``**kinds``, or by
    ``variations(sample)`` if given. The drawn :class:`SampledVariation` keeps
    the sample (``.sample``) and the varied input (``.varied``).
    """
    items = sample_items(samples)
    if variations is not None:
        if kinds:
            raise ProdguardUsageError(
                "variations", variations, "either variations=... or kind options, not both"
            )
        if not callable(variations):
            raise ProdguardUsageError(
                "variations", variations, "a callable sample -> strategy of Variation"
            )
        strategies = [_checked_strategy(variations, item) for item in items]
    else:
        strategies = [
            plan_strategy(plan, item)
            for plan, item in zip(plans_for(items, kinds), items, strict=True)
        ]

    @st.composite
    def sampled(draw: Callable[[st.SearchStrategy[Any]], Any]) -> SampledVariation:
        index = draw(st.integers(0, len(items) - 1))
        drawn = draw(strategies[index])
        if not isinstance(drawn, Variation):
            raise ProdguardUsageError(
                "variations", variations, "a callable whose strategy draws Variation values"
            )
        return SampledVariation(index, drawn, items[index])

    return sampled()


def _checked_strategy(factory: VariationsFactory, item: Any) -> st.SearchStrategy[Variation]:
    strategy = factory(item)
    if not isinstance(strategy, st.SearchStrategy):
        raise ProdguardUsageError(
            "variations", factory, "a callable returning a Hypothesis strategy for each sample"
        )
    return strategy
