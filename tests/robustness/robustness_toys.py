"""Toy models with known flaws for the robustness tests (no pytest here)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

POSITIVE = {"good", "great", "love", "excellent", "fun"}
NEGATIVE = {"bad", "awful", "hate", "boring", "waste"}
CLASSES = ["negative", "positive"]


def _score(text: str, *, fold_case: bool) -> float:
    words = [w.strip(".,!?") for w in text.split()]
    if fold_case:
        words = [w.lower() for w in words]
    hits = sum(w in POSITIVE for w in words) - sum(w in NEGATIVE for w in words)
    return 1.0 / (1.0 + math.exp(-2.0 * hits))


class WordModel:
    """sklearn-style sentiment model; case-sensitive unless ``fold_case``."""

    classes_ = CLASSES

    def __init__(self, *, fold_case: bool = True) -> None:
        self.fold_case = fold_case
        self.batches: list[int] = []

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(len(texts))
        p = np.array([_score(t, fold_case=self.fold_case) for t in texts])
        return np.stack([1 - p, p], axis=1)

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [CLASSES[int(row[1] >= 0.5)] for row in self.predict_proba(texts)]


class Robust(WordModel):
    """Case-insensitive: upper-casing does not change the label."""

    def __init__(self) -> None:
        super().__init__(fold_case=True)


class CaseSensitive(WordModel):
    """Upper-cased sentiment words become unknown: the label flips to neutral/negative."""

    def __init__(self) -> None:
        super().__init__(fold_case=False)
