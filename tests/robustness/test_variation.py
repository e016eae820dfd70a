"""The Variation value: callable, composable, readable, hashable."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import (
    Compose,
    Edit,
    Identity,
    SampledVariation,
    Variation,
    compose,
    variation,
)


def test_identity_changes_nothing_and_reads_identity() -> None:
    v = Identity()
    assert v("abc") == "abc"
    assert str(v) == "identity()"
    assert v.is_identity
    assert v.steps == ()


def test_steps_compose_left_to_right_and_read_like_the_issue() -> None:
    v = Edit("swap", (5,)) + Edit("upper")
    assert str(v) == "typo(swap at 5) + upper()"
    assert v("the movie") == "THE MVOIE"
    assert isinstance(v, Compose)
    assert v.kinds == ("typo", "case")
    assert v.ops == ("swap", "upper")


def test_composition_flattens_and_drops_identities() -> None:
    a, b, c = Edit("upper"), Edit("pad_left", (2,)), Edit("strip")
    nested = (a + Identity()) + (b + c)
    assert nested.steps == (a, b, c)
    assert compose() == Identity()
    assert compose(a) == a
    assert str(Compose(())) == "identity()"


def test_variations_are_values() -> None:
    assert Edit("swap", (1,)) == Edit("swap", (1,))
    assert len({Edit("swap", (1,)), Edit("swap", (1,)), Edit("swap", (2,))}) == 2
    assert repr(Edit("upper") + Edit("lower")) == "Variation('upper() + lower()')"


def test_applying_never_modifies_the_original_array() -> None:
    x = np.zeros(3)
    Edit("nan", ((1,),))(x)
    assert not np.isnan(x).any()


def test_function_variations_wrap_plain_callables() -> None:
    v = variation(lambda s: s.replace("good", "great"), name="synonym(good->great)")
    assert v("good") == "great"
    assert str(v) == "synonym(good->great)"
    assert v.kinds == ("custom",)
    assert str(variation(str.upper, kind="case")) == "upper()"


def test_sampled_variation_keeps_its_sample() -> None:
    v = SampledVariation(2, Edit("upper"), "good")
    assert v.varied == "GOOD"
    assert v("bad") == "BAD"
    assert str(v) == "upper()"
    assert repr(v) == "Variation('upper()', sample=2)"


def test_batch_variation_maps_varied_rows_to_original_rows() -> None:
    v = Edit("batch", (5,))
    assert v.source_rows(2).tolist() == [0, 1, 0, 1, 0]
    assert (Edit("batch", (3,)) + Edit("batch", (2,))).source_rows(2).tolist() == [0, 1]
    assert Edit("upper").source_rows(4) is None


def test_unknown_operation_is_a_usage_error() -> None:
    with pytest.raises(ProdguardUsageError, match=r"op='shout'.*one of"):
        Edit("shout")


def test_text_step_on_a_non_string_names_the_argument() -> None:
    with pytest.raises(
        ProdguardUsageError, match=r"x=42.*a str \(the input of the text variation upper\(\)\)"
    ):
        Edit("upper")(42)


def test_tensor_step_on_a_string_names_the_argument() -> None:
    with pytest.raises(ProdguardUsageError, match=r"x='abc'.*numpy array or torch tensor"):
        Edit("scale", (1.1,))("abc")


def test_variation_rejects_non_callables() -> None:
    with pytest.raises(ProdguardUsageError, match=r"fn=3: a callable"):
        variation(3)  # type: ignore[arg-type]
    with pytest.raises(ProdguardUsageError, match=r"name='': a non-empty str"):
        variation(str.upper, name="")


def test_adding_a_non_variation_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        Edit("upper") + "lower"  # type: ignore[operator]
    assert isinstance(Identity(), Variation)
