"""The guard test printed for a new incident."""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError

WRITE_THE_REPRO = "write the repro"
_ENTRY = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def validate_entry(entry: str) -> str:
    """``package.module:function`` (dotted attributes allowed), else a usage error."""
    if not _ENTRY.fullmatch(entry):
        raise ProdguardUsageError(
            "--entry", entry, "package.module:function, e.g. myapp.api:handle"
        )
    return entry


def validate_fixture_name(name: str) -> str:
    """A fixture name the guard can request (a Python identifier), else a usage error."""
    if not name.isidentifier() or keyword.iskeyword(name) or name == "incident":
        raise ProdguardUsageError(
            "--entry-fixture", name, "the name of a fixture (a Python identifier, not 'incident')"
        )
    return name


def guard_source(
    incident_id: str,
    entry: str | None,
    failure: Mapping[str, Any] | None,
    *,
    has_payload: bool,
    entry_fixture: str | None = None,
) -> str:
    """A runnable guard: it replays the captured request through ``entry`` when one is named.

    ``entry_fixture`` names a fixture whose value is the callable to replay through
    (a test client's method, say); the guard requests it and passes it on.

    The incident is open, so the guard is a strict expected failure while the bug
    reproduces and turns into "now passes, mark it fixed" once the fix lands. Without
    an entry point it skips with "write the repro" rather than failing with advice
    that does not apply.
    """
    name = f"test_{incident_id.lower().replace('-', '_')}_does_not_recur"
    header = (
        "\n# A guard for the new incident (status is open: it must fail until the fix lands):\n"
        "import pytest\n"
    )
    if (entry or entry_fixture) and failure is not None:
        target = entry_fixture or f'"{entry}"'
        fixtures = f"incident, {entry_fixture}" if entry_fixture else "incident"
        return (
            f"{header}from pytest_prodguard.forensics import replay_incident\n\n\n"
            f'@pytest.mark.incident_repro("{incident_id}")\n'
            f"def {name}({fixtures}):\n"
            f"    # Replays {'request.json' if has_payload else 'a call with no payload'} "
            f"and fails if {_what(failure)} happens again.\n"
            f"    replay_incident(incident, {target})\n"
        )
    payload = '    payload = incident.artifacts.json("request.json")\n' if has_payload else ""
    what = _what(failure) if failure else "the failure"
    return (
        f"{header}\n\n"
        f'@pytest.mark.incident_repro("{incident_id}")\n'
        f"def {name}(incident):\n"
        f"{payload}"
        f'    pytest.skip("{WRITE_THE_REPRO}: send the captured request through the code that '
        f"failed and assert that {what} does not happen (or rerun prodguard incidents new "
        f'with --entry module:function)")\n'
    )


def _what(failure: Mapping[str, Any]) -> str:
    if failure.get("exception_type"):
        return str(failure["exception_type"])
    if failure.get("status"):
        return f"status {failure['status']}"
    return "the captured error"
