"""Incident registry, ``incident_repro`` marker semantics and repro-run math."""

from __future__ import annotations

from pytest_prodguard.incidents.artifacts import Artifacts
from pytest_prodguard.incidents.outcome import (
    GuardOutcome,
    GuardRecord,
    IncidentContext,
    classify,
    guard_result,
)
from pytest_prodguard.incidents.registry import (
    SEVERITIES,
    STATUSES,
    Incident,
    Registry,
    RegistryError,
    load_registry,
)
from pytest_prodguard.incidents.repro import (
    MARKER_SIGNATURE,
    ReproSpec,
    detection_probability,
    parse_repro_marker,
    runs_for_rate,
)

__all__ = [
    "MARKER_SIGNATURE",
    "SEVERITIES",
    "STATUSES",
    "Artifacts",
    "GuardOutcome",
    "GuardRecord",
    "Incident",
    "IncidentContext",
    "Registry",
    "RegistryError",
    "ReproSpec",
    "classify",
    "detection_probability",
    "guard_result",
    "load_registry",
    "parse_repro_marker",
    "runs_for_rate",
]
