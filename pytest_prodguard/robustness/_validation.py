"""Input validation before inference: flag inputs a model should never see.

``validate_inputs`` flags empty, whitespace-only and too-long texts, and
arrays with non-finite values or the wrong shape or dtype, each with a reason.
Use it in a service before calling the model, or in a test to prove that the
service's own validation catches what the variation strategies produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._args import check_int
from pytest_prodguard.robustness._arrays import dtype_name, is_array_like, shape_of, to_numpy
from pytest_prodguard.robustness._format import brief, show

__all__ = ["InputProblem", "InputReport", "InvalidInputError", "validate_inputs"]


class InvalidInputError(ValueError):
    """Raised by :meth:`InputReport.raise_if_invalid`; lists every problem."""


@dataclass(frozen=True)
class InputProblem:
    """One input that should not reach the model, and why."""

    index: int
    input: Any
    reason: str

    def __str__(self) -> str:
        return f"#{self.index}: {self.reason}: {show(self.input, 80)}"


@dataclass(frozen=True)
class InputReport:
    """The outcome of :func:`validate_inputs`."""

    n_inputs: int
    problems: tuple[InputProblem, ...]

    @property
    def ok(self) -> bool:
        """Whether every input passed."""
        return not self.problems

    @property
    def invalid_indices(self) -> tuple[int, ...]:
        """Positions of the inputs with at least one problem."""
        return tuple(dict.fromkeys(p.index for p in self.problems))

    def __str__(self) -> str:
        if self.ok:
            return f"all {self.n_inputs} inputs are valid"
        lines = [f"{len(self.invalid_indices)} of {self.n_inputs} inputs are invalid:"]
        lines += [f"  {p}" for p in self.problems[:20]]
        if len(self.problems) > 20:
            lines.append(f"  ... and {len(self.problems) - 20} more problems")
        return "\n".join(lines)

    def raise_if_invalid(self) -> None:
        """Raise :class:`InvalidInputError` listing the problems, if any."""
        if not self.ok:
            raise InvalidInputError(str(self))


def validate_inputs(
    inputs: Any,
    *,
    max_length: int | None = None,
    allow_empty: bool = False,
    allow_blank: bool = False,
    shape: Sequence[int | None] | None = None,
    dtype: str | Sequence[str] | None = None,
    allow_nonfinite: bool = False,
) -> InputReport:
    """Flag inputs that should not reach the model, with reasons.

    ``inputs`` is one text or array, or a list of them. Texts: empty (unless
    ``allow_empty``), whitespace-only (unless ``allow_blank``), longer than
    ``max_length`` characters. Arrays/tensors: NaN or Inf (unless
    ``allow_nonfinite``), a shape that does not match ``shape`` (``None``
    matches any size on that axis), a dtype not in ``dtype``. Anything else is
    flagged as an unsupported type.
    """
    items = [inputs] if isinstance(inputs, str) or is_array_like(inputs) else inputs
    if isinstance(items, (bytes, dict)) or not isinstance(items, Sequence):
        raise ProdguardUsageError(
            "inputs", brief(inputs), "a str, an array/tensor, or a list of them"
        )
    limit = None if max_length is None else check_int("max_length", max_length, min_value=0)
    for name, flag in (
        ("allow_empty", allow_empty),
        ("allow_blank", allow_blank),
        ("allow_nonfinite", allow_nonfinite),
    ):
        if not isinstance(flag, bool):
            raise ProdguardUsageError(name, flag, "True or False")
    wanted_shape = _shape_spec(shape)
    wanted_dtypes = _dtype_spec(dtype)
    problems: list[InputProblem] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            reasons = _text_problems(item, limit, allow_empty, allow_blank)
        elif is_array_like(item):
            reasons = _array_problems(item, wanted_shape, wanted_dtypes, allow_nonfinite)
        else:
            reasons = [f"unsupported type {type(item).__name__} (expected str or array)"]
        problems += [InputProblem(index, item, reason) for reason in reasons]
    return InputReport(len(items), tuple(problems))


def _text_problems(text: str, limit: int | None, allow_empty: bool, allow_blank: bool) -> list[str]:
    if text == "":
        return [] if allow_empty else ["empty"]
    reasons = []
    if not text.strip() and not allow_blank:
        reasons.append("whitespace-only")
    if limit is not None and len(text) > limit:
        reasons.append(f"too long ({len(text)} > {limit} characters)")
    return reasons


def _array_problems(
    value: Any,
    shape: tuple[int | None, ...] | None,
    dtypes: tuple[str, ...] | None,
    allow_nonfinite: bool,
) -> list[str]:
    reasons = []
    actual = shape_of(value)
    if shape is not None and not _shape_matches(actual, shape):
        wanted = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        reasons.append(f"wrong shape {actual}, expected {wanted}")
    if dtypes is not None and dtype_name(value) not in dtypes:
        reasons.append(f"wrong dtype {dtype_name(value)}, expected {' or '.join(dtypes)}")
    array = to_numpy(value)
    if not allow_nonfinite and np.issubdtype(array.dtype, np.inexact) and array.size:
        nans, infs = int(np.isnan(array).sum()), int(np.isinf(array).sum())
        if nans or infs:
            reasons.append(f"non-finite values ({nans} NaN, {infs} Inf)")
    if array.size == 0:
        reasons.append("empty array")
    return reasons


def _shape_matches(actual: tuple[int, ...], wanted: tuple[int | None, ...]) -> bool:
    return len(actual) == len(wanted) and all(
        w is None or w == a for a, w in zip(actual, wanted, strict=True)
    )


def _shape_spec(shape: object) -> tuple[int | None, ...] | None:
    if shape is None:
        return None
    accepted = "a tuple of axis sizes (int >= 0, or None for any size)"
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise ProdguardUsageError("shape", shape, accepted)
    for size in shape:
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
            raise ProdguardUsageError("shape", shape, accepted)
    return tuple(shape)


def _dtype_spec(dtype: object) -> tuple[str, ...] | None:
    if dtype is None:
        return None
    names = [dtype] if isinstance(dtype, str) else dtype
    accepted = "a dtype name such as 'float32', or a list of them"
    if not isinstance(names, Sequence) or not names:
        raise ProdguardUsageError("dtype", dtype, accepted)
    result = []
    for name in names:
        try:
            result.append(str(np.dtype(name)) if name != "bfloat16" else "bfloat16")
        except TypeError:
            raise ProdguardUsageError("dtype", dtype, accepted) from None
    return tuple(result)
