"""The walk-through on examples/shop: evidence -> triage -> incidents -> guards that run.

Every seeded bug's guard must fail on the buggy service and pass on the fixed one
without edits. Figure (also in benchmarks/RESULTS.md): 6 of 6 seeded bugs = 100%
(target >= 90%).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_prodguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
EVIDENCE = EXAMPLES / "shop" / "evidence"
SEEDED_BUGS = 6
TARGET = 0.9


@pytest.fixture
def shop(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester folder where ``shop`` imports (ini ``pythonpath``, so xdist workers too)."""
    monkeypatch.delenv("SHOP_FIXED", raising=False)
    pytester.makeini(f"[pytest]\nprodguard_incidents = incidents.toml\npythonpath = {EXAMPLES}\n")
    pytester.path.joinpath("incidents.toml").write_text("# shop incidents\n")
    return pytester


def triage_groups(log: Path, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    assert main(["triage", str(log), "--json"]) == 0
    return json.loads(capsys.readouterr().out)["groups"]


def create_guards(shop: pytest.Pytester, groups: int, capsys) -> list[str]:
    """One incident per error group, each printed guard appended to one test file."""
    sources = []
    for number in range(1, groups + 1):
        code = main(
            [
                "incidents",
                "new",
                "--registry",
                str(shop.path / "incidents.toml"),
                "--from-log",
                str(EVIDENCE / "app.log"),
                "--group",
                str(number),
                "--entry",
                "shop.service:handle",
                "--severity",
                "high",
            ]
        )
        assert code == 0
        out = capsys.readouterr().out
        sources.append(out[out.index("@pytest.mark") :])
    header = "import pytest\nfrom pytest_prodguard.forensics import replay_incident\n\n\n"
    shop.makepyfile(test_guards=header + "\n\n".join(sources))
    return sources


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Test name -> outcome word from -rA short summary lines."""
    found = {}
    for line in result.outlines:
        match = re.match(r"^(PASSED|FAILED|XFAIL|XPASS|SKIPPED|ERROR) \S*::(test_\w+)", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


def test_the_evidence_is_what_running_the_service_produces(tmp_path):
    command = [sys.executable, "-m", "shop.generate_evidence", "--out", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{EXAMPLES}"}
    env.pop("SHOP_FIXED", None)
    subprocess.run(command, cwd=EXAMPLES, env=env, check=True, capture_output=True)
    for name in ("app.log", "app.jsonl", "traces.otlp.jsonl", "metrics.csv"):
        assert (tmp_path / name).read_bytes() == (EVIDENCE / name).read_bytes(), name


def test_text_and_json_logs_triage_to_the_same_seeded_groups(capsys):
    text_groups = triage_groups(EVIDENCE / "app.log", capsys)
    json_groups = triage_groups(EVIDENCE / "app.jsonl", capsys)
    assert len(text_groups) == SEEDED_BUGS
    assert {g["fingerprint"] for g in text_groups} == {g["fingerprint"] for g in json_groups}
    burst = next(g for g in text_groups if g["kind"] == "ZeroDivisionError")
    assert burst["rate_rise"]["p_value"] < 0.01 / SEEDED_BUGS


def test_the_trace_of_a_failed_request_is_one_timeline(capsys):
    [group] = [g for g in triage_groups(EVIDENCE / "app.log", capsys) if g["kind"] == "KeyError"]
    trace_id = group["trace_ids"][0]
    args = ["triage", str(EVIDENCE / "app.log"), "--json", "--trace-id", trace_id]
    files = [
        "--traces",
        str(EVIDENCE / "traces.otlp.jsonl"),
        "--metrics",
        str(EVIDENCE / "metrics.csv"),
    ]
    assert main([*args, *files]) == 0
    trace = json.loads(capsys.readouterr().out)["trace"]
    assert trace["critical_path"][0]["span"] == "POST /promo"
    assert trace["errors_on_path"][0]["error"].startswith("HTTP 500")
    kinds = {event["kind"] for event in trace["timeline"]}
    assert kinds == {"span", "log", "metric"}


def test_every_generated_guard_fails_on_the_buggy_service_and_passes_on_the_fixed_one(
    shop, capsys, monkeypatch
):
    create_guards(shop, SEEDED_BUGS, capsys)
    buggy = shop.runpytest("-p", "no:cacheprovider", "-rA")
    buggy.assert_outcomes(xfailed=SEEDED_BUGS)  # open incidents: each repro still fails

    monkeypatch.setenv("SHOP_FIXED", "1")
    fixed_open = shop.runpytest("-p", "no:cacheprovider", "-rA")
    fixed_open.assert_outcomes(failed=SEEDED_BUGS)  # strict: "now passes, mark it fixed"
    fixed_open.stdout.fnmatch_lines(["*6 open now passing*"])

    registry = shop.path / "incidents.toml"
    registry.write_text(registry.read_text().replace('status = "open"', 'status = "fixed"'))
    fixed = shop.runpytest("-p", "no:cacheprovider", "-rA")
    monkeypatch.delenv("SHOP_FIXED")
    regressed = shop.runpytest("-p", "no:cacheprovider", "-rA")

    caught = [
        name
        for name, outcome in outcomes(fixed).items()
        if outcome == "PASSED"
        and outcomes(buggy).get(name) == "XFAIL"
        and outcomes(regressed).get(name) == "FAILED"
    ]
    share = len(caught) / SEEDED_BUGS
    print(f"seeded bugs caught by generated guards: {len(caught)}/{SEEDED_BUGS} = {share:.0%}")
    assert share >= TARGET
    assert len(caught) == SEEDED_BUGS
    regressed.stdout.fnmatch_lines(
        ["*incident INC-2026-00? recurs: replaying the captured request*"]
    )


def test_guards_run_under_xdist(shop, capsys):
    create_guards(shop, 2, capsys)
    result = shop.runpytest("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(xfailed=2)
    result.stdout.fnmatch_lines(["*2 open still reproducing*"])


def test_a_guard_can_replay_through_a_fixture(shop, capsys):
    shop.makeconftest(
        "import pytest\nfrom shop.service import handle\n\n"
        "@pytest.fixture\ndef shop_api():\n    return handle\n"
    )
    registry = str(shop.path / "incidents.toml")
    log = str(EVIDENCE / "app.jsonl")
    args = ["incidents", "new", "--registry", registry, "--from-log", log]
    assert main([*args, "--group", "2", "--entry-fixture", "shop_api"]) == 0
    out = capsys.readouterr().out
    assert "def test_inc_2026_001_does_not_recur(incident, shop_api):" in out
    shop.makepyfile(test_guard=out[out.index("import pytest") :])
    shop.runpytest("-p", "no:cacheprovider").assert_outcomes(xfailed=1)


def test_a_guard_without_entry_point_skips_with_write_the_repro(shop, capsys):
    registry = str(shop.path / "incidents.toml")
    log = str(EVIDENCE / "app.log")
    assert main(["incidents", "new", "--registry", registry, "--from-log", log]) == 0
    out = capsys.readouterr().out
    shop.makepyfile(test_guard=out[out.index("import pytest") :])
    result = shop.runpytest("-p", "no:cacheprovider", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*write the repro: send the captured request*"])
    result.stdout.no_fnmatch_line("*Mark it fixed*")
