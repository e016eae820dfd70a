"""pytest-prodguard's pytest layer: options, and one plugin object per concern.

This module is the ``pytest11`` entry point (``prodguard``). It declares the
options and, in ``pytest_configure``, lets each concern in :data:`CONCERNS`
register its markers and plugin objects where they are needed (the report and
the incident ledger on the controller only; a concern's per-test hooks only once a
collected test needs them, see :func:`.common.need`); ``pytest_unconfigure``
removes them again. Domain packages compute; these modules only translate their
results into test outcomes (see CONTRIBUTING for which object owns which hook).
Nothing heavy is imported at load time.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin.common import (
    is_worker,
    need_all,
    settings_key,
    unregister_plugins,
    xdist_active,
)
from pytest_prodguard.settings import OPTIONS, OptionSpec, build_settings

#: The concern modules of this package, in registration order: ``pytest_configure`` calls
#: each one's ``register(config, settings)``. A new concern is a module with a ``register``
#: function and one line here.
CONCERNS = (
    "outcome",
    "latency",
    "profiling",
    "incidents",
    "postmortem",
    "report",
    "junit",
    "queries",
    "logs",
    "marker_checks",
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
        elif spec.const is not None:
            kwargs.update(nargs="?", const=spec.const, metavar=spec.metavar)
        else:
            kwargs["metavar"] = spec.metavar
        group.addoption(spec.flag, **kwargs)
        # default None: an unset key is told apart from one set to the default.
        parser.addini(spec.key, spec.help, type=_ini_type(spec), default=None)


def _ini_type(spec: OptionSpec) -> Any:
    """The ini type pytest checks, so pytest 9's ``[tool.pytest]`` takes native TOML values.

    From pytest 9.2 a number key is ``float | str`` (``int | str``): native numbers in
    TOML, and a string pytest cannot convert reaches :mod:`pytest_prodguard.settings`,
    whose error says what is accepted. pytest 9.0/9.1 check numbers themselves; older
    versions have no native TOML table, so the key stays a string there.
    """
    if spec.kind == "bool":
        return "bool"
    number = {"float": float, "int": int, "optional-tolerance": float}.get(spec.kind)
    if number is not None and pytest.version_tuple >= (9, 2):
        return number | str  # the tolerance: 0.1 or "10%"
    if spec.kind in ("float", "int") and pytest.version_tuple >= (9, 0):
        return spec.kind
    return "string"


def _read_ini(config: pytest.Config, key: str) -> object:
    try:
        return config.getini(key)
    except (TypeError, ValueError, pytest.UsageError) as exc:  # pytest checked the type
        raise pytest.UsageError(f"prodguard: ini key {key}: {exc}") from None


def pytest_configure(config: pytest.Config) -> None:
    """Validate the settings once, then let every concern register itself."""
    cli = {spec.key: config.getoption(spec.key) for spec in OPTIONS}
    ini = {spec.key: _read_ini(config, spec.key) for spec in OPTIONS}
    try:
        settings = build_settings(config.rootpath, cli, ini)
    except ProdguardUsageError as exc:
        raise pytest.UsageError(f"prodguard: {exc}") from None
    config.stash[settings_key] = settings
    for name in CONCERNS:
        importlib.import_module(f"{__name__}.{name}").register(config, settings)
    if xdist_active(config) and not is_worker(config):
        need_all(config)  # the controller collects nothing, so nothing would ask for them


def pytest_unconfigure(config: pytest.Config) -> None:
    """Unregister the concerns' plugin objects (in-process runs reuse this module)."""
    unregister_plugins(config)
