"""variations_of: draw a real sample, then vary it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import Edit, SampledVariation, variations_of

REVIEWS = ["good film", "awful plot", "I love it"]
# find() without the explain phase, which replays dozens of examples for nothing here.
FIND = settings(database=None, derandomize=True, phases=(Phase.generate, Phase.shrink))
FEW = settings(database=None, max_examples=30)


def test_shrinks_to_the_first_sample_unvaried() -> None:
    found = find(variations_of(REVIEWS), lambda v: True, settings=FIND)
    assert isinstance(found, SampledVariation)
    assert (found.index, found.sample, str(found)) == (0, "good film", "identity()")
    assert found.varied == "good film"


def test_draws_every_sample_and_varies_it() -> None:
    seen: set[int] = set()

    @settings(database=None, max_examples=60)
    @given(
        v=variations_of(
            REVIEWS,
            case=True,
            whitespace=False,
            punctuation=False,
            typos=0,
            unicode=False,
            repetition=False,
        )
    )
    def check(v: SampledVariation) -> None:
        seen.add(v.index)
        assert v.sample == REVIEWS[v.index]
        assert v.varied.lower() == v.sample.lower()

    check()
    assert seen == {0, 1, 2}


def test_shrinks_to_the_smallest_failing_sample_and_change() -> None:
    found = find(variations_of(REVIEWS), lambda v: "LOVE" in v.varied, settings=FIND)
    assert (found.index, str(found)) == (2, "upper()")


def test_arrays_use_tensor_variations() -> None:
    samples = [np.zeros(3), np.ones(3)]
    found = find(
        variations_of(samples, nonfinite=True), lambda v: np.isnan(v.varied).any(), settings=FEW
    )
    assert str(found) == "nan(at [0])"


def test_a_custom_factory_builds_each_sample_strategy() -> None:
    def shouting(text: str) -> st.SearchStrategy[Edit]:
        return st.just(Edit("upper"))

    found = find(variations_of(REVIEWS, variations=shouting), lambda v: True, settings=FIND)
    assert found.varied == "GOOD FILM"


@pytest.mark.parametrize(
    ("samples", "options", "message"),
    [
        ([], {}, r"samples=\[\]: a list or tuple with at least 1 item"),
        ("text", {}, r"samples='text': a list or tuple"),
        (["a", np.zeros(2)], {}, r"samples=.*all str \(texts\) or all numpy arrays"),
        ([1, 2], {}, r"samples=.*all str"),
        (REVIEWS, {"radius": 0.1}, r"radius=0.1: not an option of text_variations"),
        (REVIEWS, {"typos": -2}, r"typos=-2: an integer >= 0"),
        (REVIEWS, {"variations": 3}, r"variations=3: a callable sample -> strategy"),
        (REVIEWS, {"variations": lambda s: 3}, r"a callable returning a Hypothesis strategy"),
        (
            REVIEWS,
            {"variations": lambda s: st.just(Edit("upper")), "case": False},
            r"either variations",
        ),
    ],
)
def test_bad_samples_and_options_are_usage_errors(
    samples: object, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        variations_of(samples, **options)  # type: ignore[arg-type]


def test_a_factory_drawing_non_variations_is_reported_at_draw_time() -> None:
    strategy = variations_of(REVIEWS, variations=lambda s: st.just("upper"))
    with pytest.raises(ProdguardUsageError, match=r"strategy draws Variation values"):
        find(strategy, lambda v: True, settings=FIND)
