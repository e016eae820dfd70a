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


def check_report_shape(report: object, source: str) -> dict[str, Any]:
    """``report`` if it looks like a prodguard report of this version; else a usage error."""
    accepted = f"a pytest-prodguard JSON report with schema_version {SCHEMA_VERSION}"
    if not isinstance(report, dict):
        raise ProdguardUsageError("report", type(report).__name__, accepted, source=source)
    version = report.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ProdguardUsageError("schema_version", version, accepted, source=source)
    tests = report.get("tests")
    if not isinstance(tests, list) or not all(
        isinstance(test, dict) and isinstance(test.get("nodeid"), str) for test in tests
    ):
        raise ProdguardUsageError(
            "tests", "<malformed>", "a list of test entries with a nodeid", source=source
        )
    return report
