"""Validation of user-supplied numbers for the A/B package.

Every public function of :mod:`pytest_prodguard.ab` checks its inputs here so
that a bad value is reported as a :class:`ProdguardUsageError` naming the
field, the value and what is accepted, never as a ``nan`` or a traceback from
deep inside scipy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection

from pytest_prodguard.errors import ProdguardUsageError

ALTERNATIVES = ("two-sided", "larger", "smaller")


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def real(value: object, *, field: str) -> float:
    """Return ``value`` as a finite float, or raise naming ``field``."""
    if not _is_real(value):
        raise ProdguardUsageError(field, value, "must be a finite real number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not math.isfinite(number):
        raise ProdguardUsageError(field, value, "must be a finite real number (not NaN or inf)")
    return number


def positive(value: object, *, field: str) -> float:
    """Return ``value`` as a finite float greater than zero."""
    number = real(value, field=field)
    if number <= 0:
        raise ProdguardUsageError(field, value, "must be a finite number greater than 0")
    return number


def non_negative(value: object, *, field: str) -> float:
    """Return ``value`` as a finite float greater than or equal to zero."""
    number = real(value, field=field)
    if number < 0:
        raise ProdguardUsageError(field, value, "must be a finite number >= 0")
    return number


def nonzero(value: object, *, field: str) -> float:
    """Return ``value`` as a finite, non-zero float (an effect size)."""
    number = real(value, field=field)
    if number == 0:
        raise ProdguardUsageError(
            field, value, "must be a non-zero effect size (an effect of 0 cannot be detected)"
        )
    return number


def probability(value: object, *, field: str) -> float:
    """Return ``value`` as a float strictly between 0 and 1 (alpha, power, a rate)."""
    number = real(value, field=field)
    if not 0 < number < 1:
        raise ProdguardUsageError(field, value, "must be a number strictly between 0 and 1")
    return number


def count(value: object, *, field: str, minimum: int = 0) -> int:
    """Return ``value`` as an int >= ``minimum``; integral floats such as ``10.0`` are accepted."""
    accepted = f"must be a whole number >= {minimum}"
    if not _is_real(value):
        raise ProdguardUsageError(field, value, accepted)
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int beyond the float range
        raise ProdguardUsageError(field, value, accepted + " (and below 1e308)") from None
    if not math.isfinite(number) or not number.is_integer() or number < minimum:
        raise ProdguardUsageError(field, value, accepted)
    return int(number)


def choice(value: object, *, field: str, options: Collection[str]) -> str:
    """Return ``value`` if it is one of ``options``."""
    if not isinstance(value, str) or value not in options:
        listed = ", ".join(repr(option) for option in options)
        raise ProdguardUsageError(field, value, f"must be one of {listed}")
    return value


def alternative(value: object) -> str:
    """Validate a test's ``alternative`` (which direction counts as an effect)."""
    return choice(value, field="alternative", options=ALTERNATIVES)


def power_above_alpha(power: float, alpha: float, *, tails: int) -> None:
    """A power at or below the false-positive rate needs no data at all: refuse it."""
    if power <= alpha / tails:
        raise ProdguardUsageError(
            "power", power, f"must be greater than the one-tail alpha ({alpha / tails:g})"
        )
