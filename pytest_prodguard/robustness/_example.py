"""An evaluated example: an input, a variation of it, and what the model said."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.robustness._format import show
from pytest_prodguard.robustness._variation import Identity, Variation

__all__ = ["Example"]


@dataclass(frozen=True)
class Example:
    """One checked example: ``original`` varied by ``variation`` into ``varied``.

    ``output``/``varied_output`` are the model's outputs (``None`` when not
    evaluated); ``sample_index`` is the sample's position when the example was
    drawn from a list of samples.
    """

    original: Any = field(compare=False)
    variation: Variation = field(default_factory=Identity)
    varied: Any = field(default=None, compare=False)
    output: Any = field(default=None, compare=False)
    varied_output: Any = field(default=None, compare=False)
    sample_index: int | None = None

    def __str__(self) -> str:
        return f"{self.variation}: {show(self.original, 60)} -> {show(self.varied, 60)}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable summary (inputs and outputs as bounded text)."""
        return {
            "variation": str(self.variation),
            "original": show(self.original, 200),
            "varied": show(self.varied, 200),
            "output": show(self.output, 120),
            "varied_output": show(self.varied_output, 120),
            "sample_index": self.sample_index,
        }
