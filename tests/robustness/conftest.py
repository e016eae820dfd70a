"""Fixtures for the robustness tests: toy models with known flaws, a clean history."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pytest_prodguard.recorder import recording_to
from pytest_prodguard.robustness import clear_history


@pytest.fixture(autouse=True)
def _fresh_history() -> Iterator[None]:
    """Each test slices only the examples it checked itself."""
    clear_history()
    yield
    clear_history()


class Recorded(list[tuple[str, dict[str, Any]]]):
    """Collects ``record()`` calls made inside ``with recorded:`` (inside the test body,
    because the prodguard plugin installs its own sink around the call phase)."""

    def __enter__(self) -> Recorded:
        self._block = recording_to(lambda kind, payload: self.append((kind, payload)))
        self._block.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._block.__exit__(*exc)


@pytest.fixture
def recorded() -> Recorded:
    """What the checks passed to ``pytest_prodguard.record`` inside ``with recorded:``."""
    return Recorded()
