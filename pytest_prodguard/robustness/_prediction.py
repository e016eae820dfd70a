"""A classifier's answer for one input (below both the model adapters and the formatting)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_prodguard.errors import ProdguardUsageError

__all__ = ["Prediction"]


@dataclass(frozen=True)
class Prediction:
    """A classifier's answer for one input: the label, and how sure it is.

    ``confidence`` is the probability of ``label`` (``None`` when the model
    gives none); ``probabilities`` lists every class's probability in the
    order of ``classes``.
    """

    label: Any
    confidence: float | None = None
    probabilities: tuple[float, ...] | None = None
    classes: tuple[Any, ...] | None = None

    def probability(self, cls: Any) -> float:
        """The probability of class ``cls`` (a class name, or an index when classes are unknown)."""
        if self.probabilities is None:
            raise ProdguardUsageError(
                "output", self, "a Prediction with probabilities (use a model that has them)"
            )
        if self.classes is not None and cls in self.classes:
            return self.probabilities[self.classes.index(cls)]
        if isinstance(cls, (int, np.integer)) and 0 <= int(cls) < len(self.probabilities):
            return self.probabilities[int(cls)]
        raise ProdguardUsageError("class", cls, f"one of {list(self.classes or [])}")

    def __str__(self) -> str:
        if self.confidence is None:
            return repr(self.label)
        return f"{self.label!r} (p={self.confidence:.3f})"
