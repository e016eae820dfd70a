"""pytest-prodguard: production lessons as pytest regression tests.

The package itself imports nothing heavy; submodules such as
:mod:`pytest_prodguard.ab` and :mod:`pytest_prodguard.robustness` are imported
on demand by the user.
"""

from __future__ import annotations

from pytest_prodguard.errors import LatencyWarning, ProdguardUsageError
from pytest_prodguard.recorder import record

__all__ = ["LatencyWarning", "ProdguardUsageError", "__version__", "record"]

__version__ = "0.1.0"
