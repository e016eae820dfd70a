"""One drawing interface, two engines: Hypothesis (shrinks) and ``random`` (fast).

Variation plans draw every choice through :class:`Draw`. Under ``@given`` the
choices come from Hypothesis, so failures shrink; each choice is arranged so
that its simplest value (``False``, the lowest integer, the first option) is
the smallest change. The batched search draws the same plans from a seeded
:class:`random.Random`, which costs microseconds rather than Hypothesis's
per-example bookkeeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from hypothesis import strategies as st

T = TypeVar("T")


class Draw(Protocol):
    """The choices a variation plan makes."""

    def integer(self, min_value: int, max_value: int) -> int:
        """An int in ``[min_value, max_value]``; simplest is ``min_value``."""
        ...

    def boolean(self) -> bool:
        """A bool; simplest is ``False``."""
        ...

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``; simplest is the first."""
        ...

    def choice_where(self, options: Sequence[T], ok: Callable[[T], bool]) -> T:
        """One of ``options`` satisfying ``ok`` (at least one must); simplest is the first.

        Unlike choosing from a filtered list, the choice keeps its meaning when
        earlier steps are deleted, which is what lets shrinking delete them.
        """
        ...

    def more(self) -> bool:
        """Whether to add another step (usually True); simplest is ``False``."""
        ...

    def group(self, fn: Callable[[Draw], T]) -> T:
        """Run ``fn`` as one unit, so that shrinking can delete all its choices at once."""
        ...


class HypothesisDraw:
    """Draw through a Hypothesis ``draw`` function (inside ``@st.composite``)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw

    def integer(self, min_value: int, max_value: int) -> int:
        """Hypothesis integers shrink toward ``min_value``."""
        return int(self._draw(st.integers(min_value, max_value)))

    def boolean(self) -> bool:
        """Hypothesis booleans shrink toward ``False``."""
        return bool(self._draw(st.booleans()))

    def choice(self, options: Sequence[T]) -> T:
        """``sampled_from`` shrinks toward the first option."""
        if len(options) == 1:
            return options[0]
        return options[self.integer(0, len(options) - 1)]

    def choice_where(self, options: Sequence[T], ok: Callable[[T], bool]) -> T:
        """An index into all ``options``, moved forward to the next option that is ``ok``.

        A filter would record its rejected attempts, so deleting an earlier
        step would change what the later choices mean; an index does not.
        """
        return _next_ok(options, self.integer(0, len(options) - 1), ok)

    def more(self) -> bool:
        """A flag before each step, as ``st.lists`` does: deleting a step's block shrinks."""
        return self.integer(0, 3) != 0

    def group(self, fn: Callable[[Draw], T]) -> T:
        """A nested draw: Hypothesis sees one span it can delete or reorder."""
        return self._draw(_grouped(fn))  # type: ignore[no-any-return]


def _next_ok(options: Sequence[T], start: int, ok: Callable[[T], bool]) -> T:
    for offset in range(len(options)):
        option = options[(start + offset) % len(options)]
        if ok(option):
            return option
    raise NoOption("choice_where: no option is acceptable")


class NoOption(ValueError):
    """``choice_where`` found no acceptable option."""


class RandomDraw:
    """Draw from a seeded :class:`random.Random` (no shrinking, no overhead)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def integer(self, min_value: int, max_value: int) -> int:
        """Uniform int in ``[min_value, max_value]``."""
        return self._rng.randint(min_value, max_value)

    def boolean(self) -> bool:
        """A fair coin."""
        return self._rng.random() < 0.5

    def choice(self, options: Sequence[T]) -> T:
        """Uniform choice."""
        return options[self._rng.randrange(len(options))]

    def choice_where(self, options: Sequence[T], ok: Callable[[T], bool]) -> T:
        """Uniform among the options that satisfy ``ok`` (by rejection, then by filtering)."""
        for _ in range(8):
            option = options[self._rng.randrange(len(options))]
            if ok(option):
                return option
        acceptable = [option for option in options if ok(option)]
        if not acceptable:
            raise NoOption("choice_where: no option is acceptable")
        return self.choice(acceptable)

    def more(self) -> bool:
        """Another step with probability 2/3 (so 1.9 steps on average, up to the cap)."""
        return self._rng.random() < 2 / 3

    def group(self, fn: Callable[[Draw], T]) -> T:
        """Just ``fn(self)``."""
        return fn(self)


class Plan(Protocol):
    """Validated options that draw one variation of an input."""

    def draw(self, x: Any, d: Draw) -> Any:
        """Draw a variation of ``x``."""
        ...

    def draw_applied(self, x: Any, d: Draw) -> tuple[Any, Any]:
        """Draw a variation of ``x`` and return it with the varied input."""
        ...


def plan_strategy(plan: Plan, x: Any) -> st.SearchStrategy[Any]:
    """A Hypothesis strategy drawing ``plan.draw(x, ...)`` with shrinking choices."""
    return _planned(plan, x)


# Built once: decorating with st.composite inspects signatures (milliseconds),
# far too slow to repeat for every step of every example.
@st.composite
def _grouped(draw: Callable[[st.SearchStrategy[Any]], Any], fn: Callable[[Draw], Any]) -> Any:
    return fn(HypothesisDraw(draw))


@st.composite
def _planned(draw: Callable[[st.SearchStrategy[Any]], Any], plan: Plan, x: Any) -> Any:
    return plan.draw(x, HypothesisDraw(draw))
