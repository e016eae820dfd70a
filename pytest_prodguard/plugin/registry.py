"""The incident registry as the incidents concern loads it: once, on first use.

A broken registry, or one named by ``--prodguard-incidents`` that does not exist, is
one clean usage error; a guard naming an id the registry lacks is a usage error of
that test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_prodguard.errors import ProdguardUsageError

if TYPE_CHECKING:
    from pytest_prodguard.incidents import IncidentContext, Registry, ReproSpec
    from pytest_prodguard.settings import Settings


class RegistryLoader:
    """Loads the incident registry once, on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._registry: Registry | None = None
        self._loaded = False

    def __call__(self) -> Registry | None:
        """The registry; None when the default file does not exist."""
        if not self._loaded:
            from pytest_prodguard.incidents import RegistryError, load_registry

            self._loaded = True
            path = self.settings.incidents
            if path.exists() or self.settings.incidents_explicit:
                try:
                    self._registry = load_registry(path)
                except RegistryError as exc:  # a named but missing file too: a typo
                    named = "" if path.exists() else " (named by --prodguard-incidents)"
                    raise pytest.UsageError(f"prodguard: {exc}{named}") from None
        return self._registry

    def context_for(self, spec: ReproSpec) -> IncidentContext:
        """The guard's record and artifacts; a usage error for an id the registry lacks."""
        from pytest_prodguard.incidents import Artifacts, IncidentContext

        registry = self()
        if registry is None:
            raise ProdguardUsageError(
                "incident_id",
                spec.incident_id,
                f"an id from the incident registry, but {self.settings.incidents} does not "
                "exist: create it or point --prodguard-incidents / ini prodguard_incidents at it",
            )
        record = registry.get(spec.incident_id)
        assert record.artifacts_dir is not None  # set for every record loaded from a file
        return IncidentContext(record, spec, Artifacts(record.artifacts_dir))
