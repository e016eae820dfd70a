"""GitHub Actions output: ``::error`` annotations for failing guards and a job summary.

GitHub shows at most 10 error annotations per step (50 per job) and drops the
rest without a word, and a step summary is capped at 1 MiB. So at most
:data:`MAX_ANNOTATIONS` annotations are printed, followed by a plain line
saying how many more failed, and the markdown summary is cut to
:data:`MAX_SUMMARY_BYTES` with a line saying what was left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_prodguard.report.html import (
    FIXED_KEYS,
    GUARD_ORDER,
    SHOWN_ELSEWHERE,
    environment_line,
    latency_calls,
)

MAX_ANNOTATIONS = 10
MAX_SUMMARY_BYTES = 1_000_000  # GitHub's cap is 1 MiB (1,048,576 bytes); keep a margin
_FAILING_GUARDS = {"regressed": "incident regressed", "now-passes": "open incident now passes"}


@dataclass(frozen=True)
class Annotation:
    """One failing guard, placed on a file and line."""

    title: str
    message: str
    file: str | None = None
    line: int | None = None

    def command(self) -> str:
        """The ``::error file=…,line=…,title=…::message`` workflow command."""
        properties = []
        if self.file:
            properties.append(f"file={_escape_property(self.file)}")
            if self.line:
                properties.append(f"line={self.line}")
        properties.append(f"title={_escape_property(self.title)}")
        return f"::error {','.join(properties)}::{_escape_data(self.message)}"


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def failing_guards(report: Mapping[str, Any]) -> list[Annotation]:
    """Every failing guard: regressed or now-passing incidents, latency failures,
    failed robustness and A/B checks, fixed incidents without a guard."""
    found: list[Annotation] = []
    for test in report.get("tests") or ():
        found.extend(_test_annotations(test))
    incidents = report.get("incidents") or {}
    for incident in incidents.get("unguarded_fixed") or ():
        found.append(
            Annotation(
                title=f"fixed incident {incident.get('id')} has no guard test",
                message=f"{incident.get('id')} [{incident.get('severity')}] "
                f"{incident.get('title')}: add @pytest.mark.incident_repro("
                f"{incident.get('id')!r}) to a test that reproduces it",
                file=_relative_registry(incidents.get("registry")),
            )
        )
    return found


def _test_annotations(test: Mapping[str, Any]) -> Iterator[Annotation]:
    location = test.get("location") or {}
    where = {"file": location.get("path"), "line": location.get("line")}
    nodeid = str(test.get("nodeid"))
    for guard in test.get("incident") or ():
        label = _FAILING_GUARDS.get(str(guard.get("outcome")))
        if label:
            yield Annotation(
                title=f"{label}: {guard.get('incident')}",
                message=f"{nodeid}: {guard.get('title')} ({test.get('message', '')})",
                **where,
            )
    for call in latency_calls(test):
        if call.get("status") == "fail":
            yield Annotation(
                title=f"latency budget exceeded [{call.get('label')}]",
                message=f"{nodeid}: {call.get('headline')}",
                **where,
            )
    for record in test.get("robustness") or ():
        if record.get("passed") is False:
            yield Annotation(
                title=f"robustness check failed: {record.get('check')}",
                message=f"{nodeid}: {test.get('message', '')}",
                **where,
            )
    for record in test.get("ab") or ():
        if record.get("ready") is False and test.get("outcome") == "failed":
            yield Annotation(
                title="A/B experiment not ready to ship",
                message=f"{nodeid}: {test.get('message', '')}",
                **where,
            )
    for kind in sorted(set(test) - FIXED_KEYS - SHOWN_ELSEWHERE):
        if test.get("outcome") == "failed" and any(map(_failed_record, test[kind])):
            yield Annotation(
                title=f"prodguard {kind} check failed",
                message=f"{nodeid}: {test.get('message', '')}",
                **where,
            )


def _failed_record(record: object) -> bool:
    """A record of another kind that says it failed (``status: fail`` or ``passed: false``)."""
    if not isinstance(record, Mapping):
        return False
    return record.get("status") == "fail" or record.get("passed") is False


def _relative_registry(path: object) -> str | None:
    if not isinstance(path, str):
        return None
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and path.startswith(workspace.rstrip("/") + "/"):
        return path[len(workspace.rstrip("/")) + 1 :]
    return path


def annotation_lines(annotations: Sequence[Annotation], limit: int = MAX_ANNOTATIONS) -> list[str]:
    """The workflow commands to print, then one plain line counting the ones left out."""
    lines = [annotation.command() for annotation in annotations[:limit]]
    rest = len(annotations) - limit
    if rest > 0:
        lines.append(
            f"prodguard: {rest} more failing guard(s) not annotated (GitHub shows at most "
            f"{limit} error annotations per step); see the job summary or the prodguard report"
        )
    return lines


# ---------------------------------------------------------------- job summary


def step_summary(
    report: Mapping[str, Any],
    *,
    report_path: str | None = None,
    environ: Mapping[str, str] | None = None,
    limit: int = MAX_SUMMARY_BYTES,
) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: outcomes, incidents, latency, failures, links."""
    env = os.environ if environ is None else environ
    outcomes = report.get("outcomes") or {}
    head = [
        "## prodguard",
        "",
        " · ".join(f"**{count}** {name}" for name, count in outcomes.items()) or "no tests",
        f"in {report.get('duration')} s — {environment_line(report.get('environment') or {})}",
        "",
    ]
    links = _links(env, report_path)
    body = [*_incident_rows(report), *_latency_rows(report), *_failure_rows(report)]
    return _fit(head, body, links, limit)


def _links(env: Mapping[str, str], report_path: str | None) -> list[str]:
    lines = []
    server, repository, run = (
        env.get("GITHUB_SERVER_URL"),
        env.get("GITHUB_REPOSITORY"),
        env.get("GITHUB_RUN_ID"),
    )
    if server and repository and run:
        url = f"{server}/{repository}/actions/runs/{run}"
        lines.append(f"Artifacts: [{repository} run {run}]({url})")
    if report_path:
        lines.append(f"Report: `{report_path}` (upload it as an artifact to keep it)")
    return ["", *lines] if lines else []


def _incident_rows(report: Mapping[str, Any]) -> list[str]:
    incidents = report.get("incidents") or {}
    guards = incidents.get("guards") or []
    gaps = incidents.get("unguarded_fixed") or []
    if not guards and not gaps:
        return []
    rows = ["### Incidents", "", "| outcome | incident | severity | title | test |"]
    rows.append("|---" * 5 + "|")
    for guard in sorted(guards, key=lambda g: GUARD_ORDER.get(str(g.get("outcome")), 9)):
        rows.append(
            f"| {guard.get('outcome')} | {_cell(guard.get('incident'))} | {guard.get('severity')}"
            f" | {_cell(guard.get('title'))} | `{_cell(guard.get('nodeid'))}` |"
        )
    for incident in gaps:
        rows.append(
            f"| **no guard** | {_cell(incident.get('id'))} | {incident.get('severity')} | "
            f"{_cell(incident.get('title'))} | |"
        )
    return [*rows, ""]


def _latency_rows(report: Mapping[str, Any]) -> list[str]:
    rows = []
    for test in report.get("tests") or ():
        for call in latency_calls(test):
            comparison = (call.get("verdict") or {}).get("comparison") or call.get("comparison")
            ratio = comparison.get("ratio") if comparison else None
            ratio_text = f"{ratio:.2f}x" if isinstance(ratio, (int, float)) else ""
            rows.append(
                f"| {call.get('status')} | `{_cell(test.get('nodeid'))}` "
                f"[{_cell(call.get('label'))}] | {_cell(call.get('headline'))} | {ratio_text} |"
            )
    if not rows:
        return []
    rows.sort(key=lambda row: not row.startswith("| fail"))
    header = ["### Latency", "", "| verdict | test | headline | vs baseline |", "|---" * 4 + "|"]
    return [*header, *rows, ""]


def _failure_rows(report: Mapping[str, Any]) -> list[str]:
    rows = [
        f"- `{_cell(test.get('nodeid'))}` ({test.get('outcome')}): {_cell(test.get('message', ''))}"
        for test in report.get("tests") or ()
        if test.get("outcome") in ("failed", "error")
    ]
    return ["### Failures", "", *rows, ""] if rows else []


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")[:300]


def _fit(head: list[str], body: list[str], tail: list[str], limit: int) -> str:
    """Join the parts, cutting body lines so the whole stays under ``limit`` bytes."""
    size = sum(len(line.encode("utf-8")) + 1 for line in (*head, *tail)) + 200
    kept: list[str] = []
    for line in body:
        size += len(line.encode("utf-8")) + 1
        if size > limit:
            kept.append(
                f"\n_{len(body) - len(kept)} more lines left out: a job summary is capped at "
                "1 MiB; the prodguard report has everything._"
            )
            break
        kept.append(line)
    return "\n".join([*head, *kept, *tail]) + "\n"


def publish(report: Mapping[str, Any], report_path: object = None) -> list[str]:
    """Append the job summary to ``$GITHUB_STEP_SUMMARY`` (if set); return the lines to print."""
    path_text = str(report_path) if report_path is not None else None
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    lines = annotation_lines(failing_guards(report))
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as handle:
                handle.write(step_summary(report, report_path=path_text))
        except OSError as exc:
            lines.append(f"prodguard: could not write the job summary {summary_file}: {exc}")
    return lines
