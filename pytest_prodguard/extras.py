"""Optional dependencies by feature, and the clear error when one is missing.

The core (incident guards, latency budgets, profiling with the builtin
sampler, reports) needs pytest alone. Features that need more are installed
with an extra: ``pip install "pytest-prodguard[ab]"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

#: extra name -> the modules it provides, as imported.
EXTRAS: dict[str, tuple[str, ...]] = {
    "robustness": ("numpy", "hypothesis"),
    "ab": ("numpy", "scipy", "pandas", "pyarrow"),
    "torch": ("torch",),
    "profile": ("py-spy",),  # an executable, found by the profiler, not imported
}


class MissingExtraError(ImportError):
    """A feature's optional dependencies are not installed; the message names the extra."""


def install_hint(extra: str) -> str:
    """The pip command that installs ``extra``."""
    return f"pip install 'pytest-prodguard[{extra}]'"


def require_extra(extra: str, feature: str, modules: Sequence[str]) -> None:
    """Import ``modules`` or raise :class:`MissingExtraError` naming ``feature`` and ``extra``."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise MissingExtraError(
            f"{feature} needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: {install_hint(extra)}",
            name=missing[0],
        )
