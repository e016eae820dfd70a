"""The :class:`Variation` value: a named, composable, callable change to an input.

A variation is a frozen value. Calling it on an input returns the varied
input; ``str()`` reads like ``typo(swap at 5) + upper()``; ``a + b`` applies
``a`` then ``b``. Atomic steps are :class:`Edit` values that name an operation
registered by the text or tensor module, so two equal edits always do the same
thing and a failure can be replayed from its ``str()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._args import short_value
from pytest_prodguard.robustness._arrays import is_array_like

__all__ = [
    "Compose",
    "Edit",
    "FunctionVariation",
    "Identity",
    "Operation",
    "SampledVariation",
    "Variation",
    "compose",
    "operation_rank",
    "register_operation",
    "variation",
]


class Variation(ABC):
    """A change to an input: callable, composable with ``+``, readable with ``str()``.

    Subclasses are frozen dataclasses, hence hashable and comparable by value.
    The identity variation (no change) has ``str() == "identity()"``.
    """

    @abstractmethod
    def __call__(self, x: Any) -> Any:
        """Return the varied input; the original ``x`` is never modified."""

    @property
    @abstractmethod
    def steps(self) -> tuple[Variation, ...]:
        """The atomic steps applied in order (empty for the identity)."""

    @property
    def is_identity(self) -> bool:
        """Whether this variation changes nothing."""
        return not self.steps

    @property
    def kinds(self) -> tuple[str, ...]:
        """The distinct kinds of the steps (``"case"``, ``"typo"``, ...), in order."""
        return tuple(dict.fromkeys(_kind_of(step) for step in self.steps))

    @property
    def ops(self) -> tuple[str, ...]:
        """The distinct operation names of the steps (``"upper"``, ``"swap"``, ...)."""
        return tuple(dict.fromkeys(_op_of(step) for step in self.steps))

    def source_rows(self, n_rows: int) -> np.ndarray | None:
        """For batch-changing variations: the original row behind each varied row.

        ``None`` means the rows are unchanged, so outputs compare row for row.
        """
        rows: np.ndarray | None = None
        size = n_rows
        for step in self.steps:
            step_rows = step._own_rows(size)
            if step_rows is None:
                continue
            rows = step_rows if rows is None else rows[step_rows]
            size = len(step_rows)
        return rows

    def _own_rows(self, n_rows: int) -> np.ndarray | None:
        return None

    def __add__(self, other: object) -> Variation:
        if not isinstance(other, Variation):
            return NotImplemented
        return compose(self, other)

    def __repr__(self) -> str:
        return f"Variation({str(self)!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis's "Falsifying example" printer uses this instead of the dataclass fields."""
        printer.text(repr(self))


@dataclass(frozen=True)
class Operation:
    """A registered atomic operation: what it does and how it reads.

    ``domain`` is ``"text"`` (inputs are ``str``) or ``"tensor"`` (numpy arrays
    or torch tensors). ``rows`` is set for operations that change the batch.
    """

    name: str
    kind: str
    domain: str
    apply: Callable[..., Any]
    describe: Callable[..., str]
    rows: Callable[..., np.ndarray] | None = None


_OPERATIONS: dict[str, Operation] = {}


def register_operation(operation: Operation) -> Operation:
    """Add ``operation`` to the registry that :class:`Edit` looks names up in."""
    if operation.name in _OPERATIONS:
        raise ValueError(f"operation {operation.name!r} is already registered")
    _OPERATIONS[operation.name] = operation
    return operation


@dataclass(frozen=True, repr=False)
class Identity(Variation):
    """The variation that changes nothing; ``str()`` is ``identity()``."""

    def __call__(self, x: Any) -> Any:
        """Return ``x`` unchanged."""
        return x

    @property
    def steps(self) -> tuple[Variation, ...]:
        """No steps."""
        return ()

    def __str__(self) -> str:
        return "identity()"


@dataclass(frozen=True, repr=False)
class Edit(Variation):
    """One atomic step: a registered operation ``op`` with its arguments."""

    op: str
    args: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.op not in _OPERATIONS:
            raise ProdguardUsageError("op", self.op, "one of " + ", ".join(sorted(_OPERATIONS)))

    @property
    def operation(self) -> Operation:
        """The registered operation this edit applies."""
        return _OPERATIONS[self.op]

    @property
    def kind(self) -> str:
        """The operation's kind, e.g. ``"typo"``."""
        return self.operation.kind

    @property
    def steps(self) -> tuple[Variation, ...]:
        """Just this edit."""
        return (self,)

    def __call__(self, x: Any) -> Any:
        """Apply the operation to ``x`` (a ``str`` for text ops, an array for tensor ops)."""
        operation = self.operation
        if operation.domain == "text" and not isinstance(x, str):
            raise ProdguardUsageError(
                "x", short_value(x), f"a str (the input of the text variation {self})"
            )
        if operation.domain == "tensor" and not is_array_like(x):
            raise ProdguardUsageError(
                "x",
                short_value(x),
                f"a numpy array or torch tensor (the input of the tensor variation {self})",
            )
        return operation.apply(x, *self.args)

    def _own_rows(self, n_rows: int) -> np.ndarray | None:
        rows = self.operation.rows
        return None if rows is None else rows(n_rows, *self.args)

    def __str__(self) -> str:
        return self.operation.describe(*self.args)


@dataclass(frozen=True, repr=False)
class Compose(Variation):
    """Several variations applied left to right; ``str()`` joins them with `` + ``."""

    parts: tuple[Variation, ...]

    def __post_init__(self) -> None:
        flat: list[Variation] = []
        for part in self.parts:
            if not isinstance(part, Variation):
                raise ProdguardUsageError("parts", short_value(part), "Variation values")
            flat.extend(part.steps)
        object.__setattr__(self, "parts", tuple(flat))

    @property
    def steps(self) -> tuple[Variation, ...]:
        """The atomic steps, flattened."""
        return self.parts

    def __call__(self, x: Any) -> Any:
        """Apply every step in order."""
        for step in self.parts:
            x = step(x)
        return x

    def __str__(self) -> str:
        return " + ".join(str(step) for step in self.parts) or "identity()"


@dataclass(frozen=True, repr=False)
class FunctionVariation(Variation):
    """A user-defined atomic variation wrapping a plain function."""

    fn: Callable[[Any], Any]
    name: str
    kind: str = "custom"

    @property
    def steps(self) -> tuple[Variation, ...]:
        """Just this variation."""
        return (self,)

    def __call__(self, x: Any) -> Any:
        """Return ``fn(x)``."""
        return self.fn(x)

    def __str__(self) -> str:
        return self.name if self.name.endswith(")") else f"{self.name}()"


@dataclass(frozen=True, repr=False)
class SampledVariation(Variation):
    """A variation drawn for one real sample (see :func:`variations_of`).

    ``sample`` is the real input it was drawn for and ``varied`` the result of
    applying it; calling it on any other input applies the same steps.
    """

    index: int
    variation: Variation
    sample: Any = field(compare=False, hash=False)

    @property
    def steps(self) -> tuple[Variation, ...]:
        """The steps of the wrapped variation."""
        return self.variation.steps

    @property
    def varied(self) -> Any:
        """The sample with the variation applied."""
        return self.variation(self.sample)

    def __call__(self, x: Any) -> Any:
        """Apply the wrapped variation to ``x``."""
        return self.variation(x)

    def __str__(self) -> str:
        return str(self.variation)

    def __repr__(self) -> str:
        return f"Variation({str(self)!r}, sample={self.index})"


def operation_rank(step: Variation) -> int:
    """Registration order of a step's operation (the order strategies shrink toward)."""
    if isinstance(step, Edit):
        return list(_OPERATIONS).index(step.op)
    return len(_OPERATIONS)


def compose(*variations: Variation) -> Variation:
    """Apply ``variations`` left to right; the identity if there are none."""
    steps: list[Variation] = []
    for item in variations:
        if not isinstance(item, Variation):
            raise ProdguardUsageError("variations", short_value(item), "Variation values")
        steps.extend(item.steps)
    if not steps:
        return Identity()
    if len(steps) == 1:
        return steps[0]
    return Compose(tuple(steps))


def variation(
    fn: Callable[[Any], Any], *, name: str | None = None, kind: str = "custom"
) -> Variation:
    """Wrap a plain function as an atomic :class:`Variation` named ``name``."""
    if isinstance(fn, Variation):
        return fn
    if not callable(fn):
        raise ProdguardUsageError("fn", short_value(fn), "a callable taking the input")
    label = name if name is not None else getattr(fn, "__name__", type(fn).__name__)
    if not isinstance(label, str) or not label:
        raise ProdguardUsageError("name", name, "a non-empty str")
    if not isinstance(kind, str) or not kind:
        raise ProdguardUsageError("kind", kind, "a non-empty str")
    return FunctionVariation(fn, label, kind)


def as_variation(value: object, field_name: str = "variation") -> Variation:
    """Accept a :class:`Variation` or a plain callable; raise for anything else."""
    if isinstance(value, Variation):
        return value
    if callable(value):
        return variation(value)
    raise ProdguardUsageError(
        field_name, short_value(value), "a Variation (drawn from a strategy) or a callable"
    )


def _kind_of(step: Variation) -> str:
    if isinstance(step, (Edit, FunctionVariation)):
        return step.kind
    return "custom"


def _op_of(step: Variation) -> str:
    if isinstance(step, Edit):
        return step.op
    if isinstance(step, FunctionVariation):
        return step.name
    return type(step).__name__
