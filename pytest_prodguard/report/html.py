"""A run report as one self-contained HTML page.

Everything is inline (CSS, a little JavaScript, SVG charts and flamegraphs):
the file opens from a CI artifact with no network. Without JavaScript every
section is there and readable; with it, a filter bar narrows the tests by
outcome and text (a link ending in ``#q=TEXT`` opens the page filtered). Details
(failure text, flamegraphs, records) sit in closed
``<details>`` elements, which the browser neither lays out nor paints until
opened: that keeps first paint fast for thousands of tests.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.report.charts import render_chart, rows_of_call
from pytest_prodguard.report.embed import ByteBudget, embed_flamegraph, flamegraph_budget

#: Outcomes in the order the page lists them: the worst news first.
OUTCOME_ORDER = ("error", "failed", "xfailed", "skipped", "passed")
#: Guard outcomes in the order tables list them: the worst news first.
GUARD_ORDER = {"regressed": 0, "now-passes": 1, "reproducing": 2, "not-run": 3, "guarded": 4}
#: Result kinds with a dedicated rendering; any other kind is shown generically.
SHOWN_ELSEWHERE = frozenset({"incident", "latency", "profile", "robustness", "ab"})
FIXED_KEYS = frozenset(
    {"nodeid", "outcome", "duration", "location", "message", "failure", "profile_files"}
)
MAX_GENERIC_CHARS = 20_000
#: Failure text the page may hold in all (a mass failure of 5,000 tests would be 20 MB);
#: past it a test shows its one-line message and the JSON report keeps the text.
MAX_FAILURE_TEXT_BYTES = 1_500_000


@dataclass
class Budgets:
    """What one page may still spend on flamegraphs and on failure text."""

    flamegraphs: ByteBudget = field(default_factory=flamegraph_budget)
    failure_text: ByteBudget = field(default_factory=lambda: ByteBudget(MAX_FAILURE_TEXT_BYTES))


_STYLE = """
:root{--bad:#b00020;--good:#1b5e20;--warn:#8a6d00;--line:#d0d4da}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1200px;padding:1em 2em;
color:#1d1f23}
h1{margin:.2em 0}h2{margin-top:1.6em;border-bottom:2px solid var(--line)}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid var(--line);
padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f4f6}
.n{text-align:right;white-space:nowrap}.id{font-family:ui-monospace,monospace;word-break:break-all}
.failed,.error,.regressed,.now-passes,.no-guard,.fail{color:var(--bad);font-weight:600}
.passed,.guarded,.pass{color:var(--good)}.xfailed,.reproducing,.skipped,.warn,.not-run{color:var(--warn)}
.chips span{display:inline-block;margin:0 .4em .3em 0;padding:.15em .6em;border-radius:1em;
background:#f3f4f6;font-weight:600}.env{color:#555;font-size:13px}
pre{white-space:pre-wrap;margin:.3em 0;font-size:12px;background:#f7f7f9;padding:.5em;
max-height:30em;overflow:auto}
article{border:1px solid var(--line);border-radius:6px;padding:.4em .8em;margin:.6em 0}
article h3{margin:.2em 0;font-size:15px}details{margin:.3em 0}summary{cursor:pointer}
.chart .lbl,.chart .val{font:12px system-ui,sans-serif;fill:#333}.chart .axis{stroke:#bbb}
.chart .budget{stroke:var(--bad);stroke-width:2}.chart .baseline{stroke:#1565c0;stroke-width:2}
.flame svg,.flame img{max-width:100%;height:auto}.flame iframe{width:100%;border:0}
#filters{position:sticky;top:0;background:#fff;padding:.5em 0;border-bottom:1px solid var(--line)}
#filters input[type=search]{width:22em}.legend{font-size:12px;color:#555}
"""

_SCRIPT = """
(function(){
var bar=document.getElementById('filters');if(!bar)return;bar.hidden=false;
var q=document.getElementById('q'),boxes=bar.querySelectorAll('input[type=checkbox]');
var items=null,texts=null,shown=document.getElementById('shown');
var rows=[].slice.call(document.querySelectorAll('#tests tr[data-outcome]'));
function apply(){
 if(!items){items=[].slice.call(document.querySelectorAll('[data-outcome]'));
  texts=items.map(function(e){return e.textContent.toLowerCase();});}
 var on={};boxes.forEach(function(b){on[b.value]=b.checked;});
 var t=q.value.trim().toLowerCase(),count=0;
 items.forEach(function(e,i){
  var ok=on[e.getAttribute('data-outcome')]&&(!t||texts[i].indexOf(t)>=0);
  e.hidden=!ok;});
 rows.forEach(function(r){if(!r.hidden)count++;});
 shown.textContent=count+' of '+rows.length+' tests shown';}
q.addEventListener('input',apply);boxes.forEach(function(b){b.addEventListener('change',apply);});
var m=/^#q=(.*)$/.exec(location.hash);if(m){q.value=decodeURIComponent(m[1]);apply();}
})();
"""


def render_html(report: Mapping[str, Any]) -> str:
    """The page for a run report (the dict of :func:`build_report` or a merged report)."""
    tests = list(report.get("tests") or ())
    anchors = {index: f"t{index}" for index, test in enumerate(tests) if _has_details(test)}
    budgets = Budgets()
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<title>prodguard report</title>",
        f"<style>{_STYLE}</style></head><body>",
        _summary(report),
        _filters(tests),
        _incidents(report.get("incidents")),
        _latency(tests, anchors),
        _failures(tests, anchors, budgets),
        _checks(tests, anchors, budgets),
        _test_table(tests, anchors),
        f"<script>{_SCRIPT}</script></body></html>\n",
    ]
    return "".join(parts)


def _has_details(test: Mapping[str, Any]) -> bool:
    failing = test.get("outcome") in ("failed", "error")
    return failing or any(key not in FIXED_KEYS for key in test)


# ---------------------------------------------------------------- header


def _summary(report: Mapping[str, Any]) -> str:
    esc = html.escape
    outcomes: Mapping[str, int] = report.get("outcomes") or {}
    chips = "".join(
        f"<span class='{esc(name)}'>{outcomes[name]} {esc(name)}</span>"
        for name in (*OUTCOME_ORDER, *sorted(set(outcomes) - set(OUTCOME_ORDER)))
        if outcomes.get(name)
    )
    started = report.get("started")
    when = (
        dt.datetime.fromtimestamp(started, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        if isinstance(started, (int, float))
        else "?"
    )
    shards = report.get("shards")
    merged = f", merged from {len(shards)} shard reports" if shards else ""
    return (
        "<header id='summary'><h1>prodguard report</h1>"
        f"<div class='chips'>{chips or '<span>no tests</span>'}</div>"
        f"<p>{len(report.get('tests') or ())} tests in {esc(str(report.get('duration')))} s, "
        f"started {when}, exit status {esc(str(report.get('exit_status')))}{merged}</p>"
        f"<p class='env'>{esc(environment_line(report.get('environment') or {}))}</p></header>"
    )


def environment_line(env: Mapping[str, Any]) -> str:
    """One line: Python, platform, CPU, load, git revision (what is known)."""
    parts = [f"Python {env.get('python', '?')}", str(env.get("platform", "?"))]
    if env.get("cpu_model"):
        parts.append(f"{env['cpu_model']} ({env.get('logical_cores', '?')} cores)")
    load = env.get("load_average")
    if load:
        parts.append("load " + " ".join(f"{value:g}" for value in load))
    git = env.get("git")
    if git:
        commit = str(git.get("commit", ""))[:12]
        parts.append(f"git {commit}" + (f" on {git['branch']}" if git.get("branch") else ""))
    if env.get("ci"):
        parts.append(str(env["ci"]))
    return " · ".join(parts)


def _filters(tests: Sequence[Mapping[str, Any]]) -> str:
    present = {test.get("outcome") for test in tests}
    boxes = "".join(
        f"<label><input type='checkbox' value='{name}' checked> {name}</label> "
        for name in OUTCOME_ORDER
        if name in present
    )
    return (
        "<form id='filters' hidden onsubmit='return false'>"
        "<input id='q' type='search' placeholder='search tests, messages, incidents' "
        f"aria-label='search'> {boxes}<span id='shown' class='legend'></span></form>"
    )


# ---------------------------------------------------------------- incidents


def _incidents(incidents: Mapping[str, Any] | None) -> str:
    if not incidents or not (incidents.get("guards") or incidents.get("unguarded_fixed")):
        return ""
    esc = html.escape
    rows = []
    guards = sorted(
        incidents.get("guards") or (), key=lambda g: GUARD_ORDER.get(g.get("outcome"), 9)
    )
    for guard in guards:
        outcome = str(guard.get("outcome", ""))
        rows.append(
            f"<tr data-outcome='{esc(_test_outcome_of_guard(outcome))}'>"
            f"<td class='{esc(outcome)}'>{esc(outcome)}</td>"
            f"<td>{esc(str(guard.get('incident')))}</td><td>{esc(str(guard.get('severity')))}</td>"
            f"<td>{esc(str(guard.get('title')))}</td>"
            f"<td class='id'>{esc(str(guard.get('nodeid')))}</td></tr>"
        )
    for incident in incidents.get("unguarded_fixed") or ():
        rows.append(
            "<tr><td class='no-guard'>no guard</td>"
            f"<td>{esc(str(incident.get('id')))}</td><td>{esc(str(incident.get('severity')))}</td>"
            f"<td>{esc(str(incident.get('title')))}</td><td>(no collected test)</td></tr>"
        )
    counts = incidents.get("counts") or {}
    headline = ", ".join(f"{count} {name}" for name, count in counts.items())
    gaps = len(incidents.get("unguarded_fixed") or ())
    return (
        "<section id='incidents'><h2>Incidents</h2>"
        f"<p>{esc(headline or 'no guards ran')}; {gaps} fixed without a guard</p>"
        "<table><tr><th>outcome</th><th>incident</th><th>severity</th><th>title</th>"
        f"<th>test</th></tr>{''.join(rows)}</table></section>"
    )


def _test_outcome_of_guard(outcome: str) -> str:
    return {"regressed": "failed", "now-passes": "failed", "reproducing": "xfailed"}.get(
        outcome, "skipped" if outcome == "not-run" else "passed"
    )


# ---------------------------------------------------------------- latency


def latency_calls(test: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The test's latency records, flattened (each ``latency`` result is a list of calls)."""
    calls: list[Mapping[str, Any]] = []
    for entry in test.get("latency") or ():
        for call in entry if isinstance(entry, list) else [entry]:
            if isinstance(call, Mapping):
                calls.append(call)
    return calls


def _latency(tests: Sequence[Mapping[str, Any]], anchors: Mapping[int, str]) -> str:
    esc = html.escape
    blocks = []
    for index, test in enumerate(tests):
        for call in latency_calls(test):
            status = str(call.get("status", ""))
            chart = render_chart(f"{test['nodeid']} [{call.get('label')}]", rows_of_call(call))
            blocks.append(
                f"<div data-outcome='{esc(str(test.get('outcome')))}'>"
                f"<h3><span class='{esc(status)}'>{esc(status)}</span> "
                f"{_test_link(test, index, anchors)} [{esc(str(call.get('label')))}]</h3>"
                f"<p>{esc(str(call.get('headline', '')))}</p>{chart}</div>"
            )
    if not blocks:
        return ""
    legend = (
        "<p class='legend'>dot: measured statistic; bar: its confidence interval; "
        "<span style='color:#b00020'>red line</span>: budget; "
        "<span style='color:#1565c0'>blue line</span>: saved baseline</p>"
    )
    return f"<section id='latency'><h2>Latency budgets</h2>{legend}{''.join(blocks)}</section>"


def _test_link(test: Mapping[str, Any], index: int, anchors: Mapping[int, str]) -> str:
    nodeid = html.escape(str(test.get("nodeid")))
    anchor = anchors.get(index)
    return f"<a class='id' href='#{anchor}'>{nodeid}</a>" if anchor else f"<span>{nodeid}</span>"


# ---------------------------------------------------------------- per-test details


def _failures(
    tests: Sequence[Mapping[str, Any]], anchors: Mapping[int, str], budgets: Budgets
) -> str:
    articles = [
        _article(test, anchors[index], budgets, flamegraphs=True)
        for index, test in _in_outcome_order(tests)
        if test.get("outcome") in ("failed", "error")
    ]
    if not articles:
        return ""
    return f"<section id='failures'><h2>Failures</h2>{''.join(articles)}</section>"


def _checks(
    tests: Sequence[Mapping[str, Any]], anchors: Mapping[int, str], budgets: Budgets
) -> str:
    articles = [
        _article(test, anchors[index], budgets, flamegraphs=False)
        for index, test in _in_outcome_order(tests)
        if test.get("outcome") not in ("failed", "error") and index in anchors
    ]
    if not articles:
        return ""
    return f"<section id='checks'><h2>Checks and results</h2>{''.join(articles)}</section>"


def _in_outcome_order(tests: Sequence[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    rank = {name: position for position, name in enumerate(OUTCOME_ORDER)}
    indexed = list(enumerate(tests))
    return sorted(indexed, key=lambda pair: rank.get(str(pair[1].get("outcome")), len(rank)))


def _article(test: Mapping[str, Any], anchor: str, budgets: Budgets, *, flamegraphs: bool) -> str:
    esc = html.escape
    outcome = esc(str(test.get("outcome")))
    parts = [
        f"<article id='{anchor}' data-outcome='{outcome}'>",
        f"<h3><span class='{outcome}'>{outcome}</span> <span class='id'>"
        f"{esc(str(test.get('nodeid')))}</span></h3>",
    ]
    if test.get("message"):
        parts.append(f"<p>{esc(str(test['message']))}</p>")
    if test.get("failure"):
        parts.append(_failure_text(str(test["failure"]), budgets.failure_text))
    for guard in test.get("incident") or ():
        guarantee = f" ({esc(str(guard['guarantee']))})" if guard.get("guarantee") else ""
        parts.append(
            f"<p>incident {esc(str(guard.get('incident')))}: "
            f"<span class='{esc(str(guard.get('outcome')))}'>{esc(str(guard.get('outcome')))}"
            f"</span>{guarantee}</p>"
        )
    for call in latency_calls(test):
        details = esc(str((call.get("verdict") or {}).get("details") or call.get("headline")))
        parts.append(
            f"<details><summary>latency [{esc(str(call.get('label')))}]: "
            f"{esc(str(call.get('headline', '')))}</summary><pre>{details}</pre></details>"
        )
    flame = budgets.flamegraphs if flamegraphs else None
    parts += [_profile(record, test, flame) for record in test.get("profile") or ()]
    parts += [_robustness(record) for record in test.get("robustness") or ()]
    parts += [_ab(record) for record in test.get("ab") or ()]
    for kind in sorted(set(test) - FIXED_KEYS - SHOWN_ELSEWHERE):
        parts.append(generic_kind(kind, test[kind]))
    parts.append("</article>")
    return "".join(parts)


def _profile(record: Mapping[str, Any], test: Mapping[str, Any], budget: ByteBudget | None) -> str:
    esc = html.escape
    lines = [_hot_frame_line(frame) for frame in (record.get("hot_frames") or [])[:10]]
    head = (
        f"profile ({esc(str(record.get('profiler')))}, {esc(str(record.get('samples')))} samples)"
    )
    body = f"<pre>{esc(chr(10).join(lines))}</pre>" if lines else ""
    if record.get("note"):
        body += f"<p>note: {esc(str(record['note']))}</p>"
    files = {**(record.get("files") or {}), **(test.get("profile_files") or {})}
    if files.get("svg") and budget is not None:
        raw = str(files["raw"]) if files.get("raw") else None
        body += embed_flamegraph(str(files["svg"]), budget, raw=raw, title=str(test["nodeid"]))
    return f"<details open><summary>{head}</summary>{body}</details>"


def _failure_text(text: str, budget: ByteBudget) -> str:
    if not budget.take(len(text)):
        return (
            "<p class='legend'>failure text left out (report size budget spent): see the JSON</p>"
        )
    return f"<details><summary>failure text</summary><pre>{html.escape(text)}</pre></details>"


def _hot_frame_line(frame: Any) -> str:
    if not isinstance(frame, Mapping):
        return str(frame)
    share = frame.get("self_share")
    total = frame.get("total_share")
    where = f"{frame.get('file')}:{frame.get('line')}" if frame.get("file") else ""
    shares = f"self {share:6.1%}  total {total:6.1%}" if isinstance(share, float) else ""
    if not isinstance(total, float):
        shares = ""
    return f"{shares}  {frame.get('function')}  {where}".strip()


def _robustness(record: Mapping[str, Any]) -> str:
    esc = html.escape
    passed = record.get("passed")
    status = "pass" if passed else "fail"
    figures = [
        f"{name} {_figure(record[name])}"
        for name in (
            "ece",
            "max_ece",
            "failure_rate",
            "max_failure_rate",
            "n_checked",
            "n_failures",
            "n_errors",
            "max_errors",
            "threshold",
            "n_inputs",
            "runs",
        )
        if record.get(name) is not None
    ]
    parts = [
        f"<div class='robustness'><p><b>{esc(str(record.get('check')))}</b> "
        f"<span class='{status}'>{status}</span> {esc(', '.join(figures))}</p>"
    ]
    example = record.get("minimal") or (record if "varied" in record else None)
    if isinstance(example, Mapping):
        rows = "".join(
            f"<tr><th>{name}</th><td>{esc(str(example.get(name)))}</td></tr>"
            for name in ("variation", "original", "varied", "output", "varied_output")
            if example.get(name) is not None
        )
        parts.append(f"<p>minimal failing example:</p><table>{rows}</table>")
    slices = record.get("slices")
    if isinstance(slices, Mapping) and slices.get("findings"):
        rows = "".join(
            f"<tr><td>{esc(str(f.get('description') or f.get('trait')))}</td>"
            f"<td class='n'>{f.get('failures_with')}/{f.get('n_failures')}</td>"
            f"<td class='n'>{f.get('passes_with')}/{f.get('n_passes')}</td>"
            f"<td class='n'>{_figure(f.get('p_value'))}</td></tr>"
            for f in slices["findings"]
        )
        parts.append(
            "<p>failure slices:</p><table><tr><th>trait</th><th>failures with it</th>"
            f"<th>passes with it</th><th>p</th></tr>{rows}</table>"
        )
    worst = record.get("worst")
    if worst:
        parts.append(f"<pre>{esc(chr(10).join(str(line) for line in worst))}</pre>")
    parts.append("</div>")
    return "".join(parts)


def _ab(record: Mapping[str, Any]) -> str:
    esc = html.escape
    ready = record.get("ready")
    verdict = "ready to ship" if ready else "not ready"
    rows = "".join(
        f"<tr><td class='{esc(str(check.get('status')))}'>{esc(str(check.get('status')))}</td>"
        f"<td>{esc(str(check.get('name')))}</td><td>{esc(str(check.get('summary', '')))}</td>"
        f"<td>{esc(str(check.get('advice') or ''))}</td></tr>"
        for check in record.get("checks") or ()
    )
    return (
        f"<div class='ab'><p><b>A/B checklist</b> {esc(str(record.get('treatment')))} vs "
        f"{esc(str(record.get('control')))}: <span class='{'pass' if ready else 'fail'}'>"
        f"{verdict}</span></p><table><tr><th>status</th><th>check</th><th>result</th>"
        f"<th>advice</th></tr>{rows}</table></div>"
    )


def generic_kind(kind: str, records: Any) -> str:
    """Records of a kind this page has no special view for: a table, or JSON."""
    esc = html.escape
    items = records if isinstance(records, list) else [records]
    flat = all(
        isinstance(item, Mapping) and all(not isinstance(v, (dict, list)) for v in item.values())
        for item in items
    )
    if items and flat:
        columns = list(dict.fromkeys(key for item in items for key in item))
        head = "".join(f"<th>{esc(str(column))}</th>" for column in columns)
        rows = "".join(
            "<tr>" + "".join(f"<td>{esc(str(item.get(c, '')))}</td>" for c in columns) + "</tr>"
            for item in items
        )
        body = f"<table><tr>{head}</tr>{rows}</table>"
    else:
        text = json.dumps(records, indent=1, default=str)
        if len(text) > MAX_GENERIC_CHARS:
            text = text[:MAX_GENERIC_CHARS] + "\n... (cut; the JSON report has it all)"
        body = f"<pre>{esc(text)}</pre>"
    return f"<details class='kind'><summary>{esc(kind)} ({len(items)})</summary>{body}</details>"


def _figure(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


# ---------------------------------------------------------------- all tests


def _test_table(tests: Sequence[Mapping[str, Any]], anchors: Mapping[int, str]) -> str:
    esc = html.escape
    rows = []
    for index, test in _in_outcome_order(tests):
        outcome = esc(str(test.get("outcome")))
        duration = test.get("duration")
        seconds = f"{duration:.3f}" if isinstance(duration, (int, float)) else ""
        rows.append(
            f"<tr data-outcome='{outcome}'><td class='{outcome}'>{outcome}</td>"
            f"<td>{_test_link(test, index, anchors)}</td><td class='n'>{seconds}</td>"
            f"<td>{esc(str(test.get('message', '')))}</td></tr>"
        )
    return (
        f"<section id='tests'><h2>Tests</h2><table><tr><th>outcome</th><th>test</th>"
        f"<th class='n'>s</th><th>message</th></tr>{''.join(rows)}</table></section>"
    )
