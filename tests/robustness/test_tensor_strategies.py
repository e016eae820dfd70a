"""Tensor variation strategies on numpy arrays and torch tensors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import TENSOR_KINDS, Edit, Identity, Variation, tensor_variations

X = np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4)
# find() without the explain phase, which replays dozens of examples for nothing here.
FIND = settings(database=None, derandomize=True, phases=(Phase.generate, Phase.shrink))
FEW = settings(database=None, max_examples=30)


def only(kind: str, x: Any = X, **extra: Any) -> st.SearchStrategy[Variation]:
    options: dict[str, Any] = {"noise": False, "scaling": False, "shift": False, kind: True}
    options.update(extra)
    return tensor_variations(x, **options)


@pytest.mark.parametrize("kind", list(TENSOR_KINDS))
def test_each_kind_shrinks_to_the_identity(kind: str) -> None:
    assert find(only(kind), lambda v: True, settings=FIND) == Identity()


@pytest.mark.parametrize(
    ("kind", "smallest"),
    [
        ("noise", "noise(linf 0.0005, seed 0)"),
        ("scaling", "scale(x1.005)"),
        ("shift", "shift(+0.0005)"),
        ("extremes", "extreme(zero at [0, 0])"),
        ("nonfinite", "nan(at [0, 0])"),
        ("dtypes", "astype(float16)"),
        ("batch_sizes", "batch(size 1)"),
        ("lengths", "length(1 on axis -1)"),
    ],
)
def test_the_smallest_real_change_of_each_kind(kind: str, smallest: str) -> None:
    found = find(only(kind), lambda v: not v.is_identity, settings=FIND)
    assert str(found) == smallest


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_noise_stays_inside_the_radius(norm: str) -> None:
    @FEW
    @given(v=only("noise", norm=norm, radius=0.1, max_steps=1))
    def check(v: Variation) -> None:
        delta = v(X).astype(np.float64) - X.astype(np.float64)
        size = np.abs(delta).max() if norm == "linf" else np.linalg.norm(delta)
        # float32 rounding of X + delta can exceed the float64 radius by half an ulp.
        assert size <= 0.1 + 1e-6
        assert v(X).dtype == X.dtype
        assert v(X).shape == X.shape

    check()


def test_scaling_and_shift_stay_in_their_ranges() -> None:
    @FEW
    @given(
        v=tensor_variations(
            X, noise=False, min_scale=0.5, max_scale=2.0, max_shift=0.2, max_steps=1
        )
    )
    def check(v: Variation) -> None:
        varied = v(X).astype(np.float64)
        if v.ops == ("scale",):
            ratio = varied[X != 0] / X[X != 0]
            assert ratio.min() >= 0.5 - 1e-6
            assert ratio.max() <= 2.0 + 1e-6
        if v.ops == ("shift",):
            assert np.abs(varied - X).max() <= 0.2 + 1e-6

    check()


def test_nonfinite_and_extreme_values_land_in_one_element() -> None:
    assert np.isnan(Edit("nan", ((1, 2),))(X)).sum() == 1
    assert np.isposinf(Edit("inf", ((0, 0),))(X))[0, 0]
    assert np.isneginf(Edit("neg_inf", ((2, 3),))(X))[2, 3]
    assert Edit("extreme", ((0, 1), "max"))(X)[0, 1] == np.finfo(np.float32).max
    assert Edit("extreme", ((0, 1), "large"))(X)[0, 1] == pytest.approx(1e6)
    ints = np.arange(4, dtype=np.int16)
    assert Edit("extreme", ((2,), "-max"))(ints)[2] == np.iinfo(np.int16).min


def test_batch_and_length_changes() -> None:
    assert Edit("batch", (1,))(X).shape == (1, 4)
    assert Edit("batch", (7,))(X).shape == (7, 4)
    assert np.array_equal(Edit("batch", (7,))(X)[3], X[0])
    assert Edit("length", (-1, 6))(X).shape == (3, 6)
    assert Edit("length", (-1, 6))(X)[:, 4:].sum() == 0
    assert Edit("length", (0, 0))(X).shape == (0, 4)


def test_noise_is_reproducible_from_its_seed() -> None:
    step = Edit("noise", ("linf", 0.01, 123))
    assert np.array_equal(step(X), step(X))
    assert not np.array_equal(step(X), Edit("noise", ("linf", 0.01, 124))(X))
    assert str(step) == "noise(linf 0.01, seed 123)"


def test_torch_tensors_keep_type_dtype_and_device() -> None:
    torch = pytest.importorskip("torch")
    x = torch.linspace(-1, 1, 8, dtype=torch.float64).reshape(2, 4)

    @FEW
    @given(v=tensor_variations(x, nonfinite=True, dtypes=True, batch_sizes=[1, 3]))
    def check(v: Variation) -> None:
        varied = v(x)
        assert isinstance(varied, torch.Tensor)
        assert varied.device == x.device
        if "dtype" not in v.kinds:
            assert varied.dtype == x.dtype

    check()
    same_noise = Edit("noise", ("linf", 0.01, 5))
    assert np.allclose(same_noise(x).numpy(), same_noise(x.numpy()))
    assert Edit("astype", ("bfloat16",))(x).dtype == torch.bfloat16


def test_integer_inputs_get_no_noise_by_default() -> None:
    ids = np.arange(6, dtype=np.int64)
    found = find(tensor_variations(ids, extremes=True), lambda v: not v.is_identity, settings=FIND)
    assert found.ops == ("extreme",)


@pytest.mark.parametrize(
    ("x", "options", "message"),
    [
        (X, {"radius": 0}, r"radius=0: a finite number > 0"),
        (X, {"radius": -0.5}, r"radius=-0.5: a finite number > 0"),
        (X, {"radius": float("nan")}, r"radius=nan: a finite number > 0"),
        (X, {"norm": "l3"}, r"norm='l3': one of 'linf', 'l2'"),
        (X, {"min_scale": 1.5}, r"min_scale=1.5: a number in \(0, 1\]"),
        (X, {"max_scale": 0.5}, r"max_scale=0.5: a number >= 1"),
        (X, {"min_scale": 1, "max_scale": 1}, r"max_scale=1: a number > min_scale"),
        (X, {"max_shift": 0}, r"max_shift=0: a finite number > 0"),
        (np.arange(3), {"noise": True}, r"noise=True: False for a int64 input"),
        (np.arange(3), {"nonfinite": True}, r"nonfinite=True: False for a int64 input"),
        (X, {"dtypes": ["float99"]}, r"dtypes=\['float99'\]"),
        (X, {"dtypes": ["bfloat16"]}, r"dtypes=\['bfloat16'\]"),
        (
            np.array(1.0, dtype=np.float32),
            {"batch_sizes": True},
            r"batch_sizes=True: False for an input without",
        ),
        (
            X,
            {"batch_sizes": [0]},
            r"batch_sizes=\[0\]: True, False or a non-empty list of integers >= 1",
        ),
        (X, {"lengths": True, "length_axis": 5}, r"length_axis=5: an integer >= -2 and <= 1"),
        (X, {"max_steps": 0}, r"max_steps=0: an integer >= 1"),
        (X, {"noise": False, "scaling": False, "shift": False}, r"kinds='all disabled'"),
        (X, {"noise": "yes"}, r"noise='yes': True, False or None"),
    ],
)
def test_nonsense_options_raise_at_construction(
    x: Any, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        tensor_variations(x, **options)


def test_x_must_be_an_array() -> None:
    with pytest.raises(ProdguardUsageError, match=r"x=\[1.0, 2.0\]: a numpy array or torch tensor"):
        tensor_variations([1.0, 2.0])
