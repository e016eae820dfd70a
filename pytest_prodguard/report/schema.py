"""The JSON report's schema: its version, the shipped JSON Schema, and a light shape check.

The full JSON Schema (``schema.json`` next to this module) documents every
field; tools validate against it with any JSON Schema library. Readers in this
package (``prodguard report``, ``merge``) only check the shape they rely on,
so they work without ``jsonschema`` installed.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError

#: Raised when a field changes meaning or a required one is added (1: no schema, kinds only).
SCHEMA_VERSION = 2


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a report, as shipped in the package."""
    text = resources.files("pytest_prodguard.report").joinpath("schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def check_report_shape(report: object, path: str, *, html: bool = False) -> dict[str, Any]:
    """``report`` if it has the shape the report commands read; else a usage error on ``path``.

    A report without ``schema_version`` (written before it existed, or by hand) is read
    as far as its shape allows; one of another version is refused. ``html``: the page
    also needs each guard's severity and test id.
    """
    problem = _shape_problem(report, html=html)
    if problem is not None:
        raise ProdguardUsageError("path", path, f"a prodguard JSON report ({problem})")
    assert isinstance(report, dict)  # _shape_problem said so
    return report


def _shape_problem(report: object, *, html: bool) -> str | None:
    if not isinstance(report, dict):
        return f"an object, not {type(report).__name__}"
    version = report.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        return f"schema_version {version!r}; this pytest-prodguard reads {SCHEMA_VERSION}"
    incidents = report.get("incidents") or {}
    if not isinstance(incidents, dict):
        return "incidents must be an object"
    extra = {"severity", "nodeid"} if html else set()
    parts = (
        ("tests", report.get("tests", []), {"nodeid", "outcome"}),
        ("incidents.guards", incidents.get("guards", []), {"outcome", "incident", "title", *extra}),
        ("incidents.unguarded_fixed", incidents.get("unguarded_fixed", []), {"id", "title"}),
    )
    for name, rows, keys in parts:
        if not isinstance(rows, list) or not all(
            isinstance(row, dict) and keys <= set(row) for row in rows
        ):
            return f"{name} must be a list of objects with {', '.join(sorted(keys))}"
    return None
