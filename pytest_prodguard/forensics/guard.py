"""The guard test printed for a new incident."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

WRITE_THE_REPRO = "write the repro"


def guard_source(
    incident_id: str,
    entry: str | None,
    failure: Mapping[str, Any] | None,
    *,
    has_payload: bool,
) -> str:
    """A runnable guard: it replays the captured request through ``entry`` when one is named.

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
    if entry and failure is not None:
        return (
            f"{header}from pytest_prodguard.forensics import replay_incident\n\n\n"
            f'@pytest.mark.incident_repro("{incident_id}")\n'
            f"def {name}(incident):\n"
            f"    # Replays {'request.json' if has_payload else 'a call with no payload'} "
            f"and fails if {_what(failure)} happens again.\n"
            f'    replay_incident(incident, "{entry}")\n'
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
