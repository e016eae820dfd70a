"""pytest-prodguard's pytest layer: options, and one plugin object per concern.

This module is the ``pytest11`` entry point (``prodguard``). It declares the
options and, in ``pytest_configure``, lets each concern in :data:`CONCERNS`
register its markers and plugin objects where they are needed (the report and
the incident ledger on the controller only); ``pytest_unconfigure`` removes
them again. Domain packages compute; these modules only translate their
results into test outcomes (see CONTRIBUTING for which object owns which hook).
Nothing heavy is imported at load time.
"""

from __future__ import annotations

from typing import Any

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin import (
    incidents,
    latency,
    logs,
    marker_checks,
    outcome,
    profiling,
    report,
)
from pytest_prodguard.plugin.common import settings_key, unregister_plugins
from pytest_prodguard.settings import OPTIONS, build_settings

#: Each concern's ``register(config, settings)``, called in this order in pytest_configure.
#: A new concern is a module with a ``register`` function, added here.
CONCERNS = (
    outcome.register,
    latency.register,
    profiling.register,
    incidents.register,
    report.register,
    logs.register,
    marker_checks.register,
)


def pytest_addoption(parser: pytest.Parser) -> None:
    """Declare every prodguard option once, as a CLI flag and an ini key."""
    group = parser.getgroup("prodguard", "pytest-prodguard: production lessons as tests")
    for spec in OPTIONS:
        kwargs: dict[str, Any] = {"dest": spec.key, "default": None, "help": spec.help}
        if spec.kind == "bool":
            kwargs["action"] = "store_true"
        elif spec.kind == "choice":
            kwargs["choices"] = spec.choices
        elif spec.kind == "optional-tolerance":
            kwargs.update(nargs="?", const="10%", metavar=spec.metavar)
        else:
            kwargs["metavar"] = spec.metavar
        group.addoption(spec.flag, **kwargs)
        parser.addini(spec.key, spec.help, type="string", default="")


def pytest_configure(config: pytest.Config) -> None:
    """Validate the settings once, then let every concern register itself."""
    cli = {spec.key: config.getoption(spec.key) for spec in OPTIONS}
    ini = {spec.key: config.getini(spec.key) for spec in OPTIONS}
    try:
        settings = build_settings(config.rootpath, cli, ini)
    except ProdguardUsageError as exc:
        raise pytest.UsageError(f"prodguard: {exc}") from None
    config.stash[settings_key] = settings
    for register in CONCERNS:
        register(config, settings)


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unregister the concerns' plugin objects (in-process runs reuse this module)."""
    unregister_plugins(config)
