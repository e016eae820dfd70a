"""validate_inputs: flag what should never reach the model, with reasons."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import InvalidInputError, validate_inputs


def test_texts() -> None:
    report = validate_inputs(["fine", "", "   \t", "x" * 12], max_length=10)
    assert not report.ok
    assert report.invalid_indices == (1, 2, 3)
    assert [p.reason for p in report.problems] == [
        "empty",
        "whitespace-only",
        "too long (12 > 10 characters)",
    ]
    assert str(report).splitlines()[0] == "3 of 4 inputs are invalid:"
    assert validate_inputs(["", " "], allow_empty=True, allow_blank=True).ok


def test_arrays() -> None:
    good = np.zeros((2, 4), dtype=np.float32)
    bad = np.array([[np.nan, np.inf, 1.0]], dtype=np.float64)
    report = validate_inputs(
        [good, bad, np.zeros((0, 4), dtype=np.float32)], shape=(None, 4), dtype="float32"
    )
    reasons = [(p.index, p.reason) for p in report.problems]
    assert reasons == [
        (1, "wrong shape (1, 3), expected (*, 4)"),
        (1, "wrong dtype float64, expected float32"),
        (1, "non-finite values (1 NaN, 1 Inf)"),
        (2, "empty array"),
    ]
    assert validate_inputs(bad, allow_nonfinite=True).ok


def test_torch_tensors() -> None:
    torch = pytest.importorskip("torch")
    report = validate_inputs(torch.tensor([1.0, float("nan")]), dtype=["float32", "float16"])
    assert [p.reason for p in report.problems] == ["non-finite values (1 NaN, 0 Inf)"]


def test_a_single_text_is_one_input_and_other_types_are_flagged() -> None:
    assert validate_inputs("hello").n_inputs == 1
    report = validate_inputs(["ok", 3])
    assert report.problems[0].reason == "unsupported type int (expected str or array)"


def test_raise_if_invalid_lists_the_problems() -> None:
    with pytest.raises(InvalidInputError, match=r"1 of 2 inputs are invalid:\n  #1: empty: ''"):
        validate_inputs(["a", ""]).raise_if_invalid()
    validate_inputs(["a"]).raise_if_invalid()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"inputs": 5}, r"inputs=5: a str, an array/tensor, or a list of them"),
        ({"max_length": -1}, r"max_length=-1: an integer >= 0"),
        ({"shape": "2x4"}, r"shape='2x4': a tuple of axis sizes"),
        ({"shape": (2, -1)}, r"shape=\(2, -1\): a tuple of axis sizes"),
        ({"dtype": "floaty"}, r"dtype='floaty': a dtype name"),
        ({"allow_empty": "no"}, r"allow_empty='no': True or False"),
    ],
)
def test_bad_arguments(options: dict[str, Any], message: str) -> None:
    options.setdefault("inputs", ["a"])
    with pytest.raises(ProdguardUsageError, match=message):
        validate_inputs(**options)
