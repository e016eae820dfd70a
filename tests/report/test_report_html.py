"""The HTML report: sections parsed, self-contained, and rendered by headless Chromium."""

from __future__ import annotations

import copy
import re
import shutil
import struct
import subprocess
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from pytest_prodguard.report import render_html
from pytest_prodguard.report.charts import Row, render_chart, rows_of_call
from pytest_prodguard.report.embed import (
    ByteBudget,
    embed_flamegraph,
    flamegraph_budget,
    inline_svg,
)
from pytest_prodguard.report.html import MAX_FAILURE_TEXT_BYTES

SECTIONS = ("summary", "incidents", "latency", "failures", "checks", "tests")


class Page(HTMLParser):
    """The element ids, external references and tag counts of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.ids: dict[str, str] = {}
        self.external: list[str] = []
        self.tags: dict[str, int] = {}
        self.outcome_rows: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if values.get("id"):
            self.ids[str(values["id"])] = tag
        for name in ("src", "href"):
            link = values.get(name) or ""
            if link and not link.startswith(("#", "data:")):
                self.external.append(link)
        if tag == "tr" and values.get("data-outcome"):
            self.outcome_rows.append(str(values["data-outcome"]))


@pytest.fixture(scope="module")
def page(real_run) -> str:
    _, report = real_run
    return render_html(report)


def test_every_section_is_there_and_nothing_is_fetched(page):
    parsed = Page(page)
    assert set(SECTIONS) <= set(parsed.ids)
    assert parsed.external == []
    assert parsed.tags["script"] == 1
    assert parsed.tags["style"] >= 1
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")


def test_the_tests_table_lists_every_test_worst_first(page, real_run):
    _, report = real_run
    rows = Page(page).outcome_rows
    # the incident table's rows come first, then one row per test
    test_rows = rows[-len(report["tests"]) :]
    assert test_rows == ["failed"] * 3 + ["xfailed", "skipped"] + ["passed"] * 4


def test_failures_show_their_text_and_an_embedded_interactive_flamegraph(page, real_run):
    folder, report = real_run
    failures = page[page.index("id='failures'") : page.index("id='checks'")]
    assert "assert 500 == 400" in failures
    frames = re.findall(r"<iframe class='flamegraph' (.*?)></iframe>", failures)
    assert frames
    assert all("sandbox='allow-scripts'" in frame for frame in frames)  # it zooms and searches
    assert all("loading='lazy'" in frame for frame in frames)
    embedded = {
        unquote(re.search(r"src='data:image/svg\+xml;charset=utf-8,([^']*)'", frame).group(1))
        for frame in frames
    }
    profiled = next(t for t in report["tests"] if t["nodeid"].endswith("test_profiled_failure"))
    svg = (folder / profiled["profile_files"]["svg"]).read_text(encoding="utf-8")
    assert svg in embedded


def test_latency_budgets_are_charts_with_budget_lines(page):
    latency = page[page.index("id='latency'") : page.index("id='failures'")]
    assert latency.count('<svg class="chart"') == 2
    assert latency.count('class="budget"') == 2
    assert "test_latency_exceeded" in latency


def test_incidents_results_and_new_kinds_are_shown(page):
    assert "Empty payload &lt;b&gt;crashed&lt;/b&gt; predict" in page
    assert "no guard" in page
    assert "INC-2" in page
    assert "assert_calibrated" in page
    checks = page[page.index("id='checks'") : page.index("id='tests'")]
    assert "cache_hits (1)" in checks  # an unknown kind, shown generically as a table
    assert "SELECT 1" in checks


def test_user_text_is_escaped_everywhere(real_run):
    _, report = real_run
    hostile = copy.deepcopy(report)
    for test in hostile["tests"]:
        test["nodeid"] += "<script>alert(1)</script>"
        test["message"] = "<img src=x onerror=alert(2)>"
    page = render_html(hostile)
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert Page(page).external == []


def test_a_baseline_comparison_adds_a_ratio_row_and_a_baseline_tick():
    call = {
        "verdict": {
            "checks": [
                {"name": "p50", "tier": "fail", "budget": 0.01, "status": "pass",
                 "estimate": 0.004, "low": 0.0035, "high": 0.0045, "unit": "s"}
            ],
            "comparison": {"statistic": "p50", "ratio": 2.0, "low": 1.8, "high": 2.2,
                           "tolerance": 0.1, "status": "regressed"},
        }
    }  # fmt: skip
    rows = rows_of_call(call)
    assert [row.name for row in rows] == ["p50", "ratio to baseline (p50)"]
    assert rows[0].reference == pytest.approx(0.002)
    assert rows[1].limit == pytest.approx(1.1)
    chart = render_chart("t", rows)
    assert chart.count('class="baseline"') == 2
    assert render_chart("t", [Row("p95", None, None, None, 1.0, None, "pass", "s")]) == ""


class TestEmbedding:
    @pytest.mark.parametrize(
        "svg",
        [
            "<svg onload='alert(1)'><rect/></svg>",
            "<svg><script>alert('it''s 100% #1')</script></svg>",
            "<svg><foreignObject><div>x</div></foreignObject></svg>",
        ],
    )
    def test_an_svg_with_script_gets_a_sandboxed_frame_of_its_own(self, svg):
        html = inline_svg(svg)
        assert html.startswith("<iframe class='flamegraph' title='flamegraph' loading='lazy' ")
        assert "sandbox='allow-scripts'" in html
        url = html.split("src='data:image/svg+xml;charset=utf-8,", 1)[1].rsplit("'>", 1)[0]
        assert "'" not in url  # the attribute cannot be closed early
        assert unquote(url) == svg

    @pytest.mark.parametrize(
        "svg",
        [
            "<svg><use href='http://x/y.svg#a'/></svg>",
            '<svg><image src="https://x/y.png"/><script>1</script></svg>',
            "<svg><a href='javascript:alert(1)'><rect/></a></svg>",
        ],
    )
    def test_an_svg_that_refers_outside_becomes_an_image(self, svg):
        html = inline_svg(svg)
        assert html.startswith("<img alt='flamegraph' src='data:image/svg+xml;base64,")

    def test_a_plain_svg_is_inlined_with_scoped_styles(self):
        html = inline_svg('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">'
                          "<style>text { fill: #000; }</style><text>f</text></svg>")  # fmt: skip
        assert html.startswith("<svg class='flamegraph' ")
        assert ".flamegraph text {" in html

    def test_the_budget_stops_embedding_and_says_where_the_file_is(self, tmp_path):
        svg = tmp_path / "flamegraph.svg"
        svg.write_text("<svg>" + "x" * 1000 + "</svg>")
        budget = ByteBudget(left=1500)
        assert "<svg class='flamegraph'" in embed_flamegraph(str(svg), budget)
        second = embed_flamegraph(str(svg), budget)
        assert "budget spent" in second
        assert str(svg) in second
        assert (budget.embedded, budget.skipped) == (1, 1)

    def test_a_missing_file_is_a_note(self, tmp_path):
        note = embed_flamegraph(str(tmp_path / "gone.svg"), flamegraph_budget())
        assert "not embedded" in note


# ---------------------------------------------------------------- headless Chromium

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt install chromium)")
def test_headless_chromium_renders_the_sections_and_runs_the_filter(page, tmp_path):
    path = tmp_path / "run.html"
    path.write_text(page, encoding="utf-8")
    dom = chromium("--dump-dom", path.as_uri()).stdout
    for section in SECTIONS:
        assert f'id="{section}"' in dom
    assert '<form id="filters" onsubmit="return false">' in dom  # the script un-hid it
    filtered = chromium("--dump-dom", path.as_uri() + "#q=guard_regressed").stdout
    rows = [line for line in filtered.split("<tr ")[1:] if "data-outcome" in line]
    shown = [row for row in rows if " hidden" not in row.split(">", 1)[0]]
    assert len(shown) == 2  # the incident table's row and the tests table's row
    assert all("test_guard_regressed" in row for row in shown)
    assert "1 of 9 tests shown" in filtered
    shot = tmp_path / "shot.png"
    chromium(f"--screenshot={shot}", "--window-size=1200,1600", path.as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 1600)
    assert len(data) > 20_000  # a blank page compresses to a few kB


def test_the_readme_screenshot_is_committed():
    shot = Path(__file__).parents[2] / "docs" / "report.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_robustness_failures_show_the_minimal_example_and_slices_and_ab_its_checklist():
    test = {
        "nodeid": "t.py::test_model",
        "outcome": "failed",
        "duration": 0.1,
        "robustness": [
            {
                "check": "assert_robust",
                "passed": False,
                "failure_rate": 0.25,
                "n_checked": 400,
                "minimal": {"variation": "upper()", "original": "good", "varied": "GOOD",
                            "output": "pos", "varied_output": "neg"},
                "slices": {"findings": [{"description": "all caps", "failures_with": 90,
                                         "n_failures": 100, "passes_with": 3, "n_passes": 300,
                                         "p_value": 1e-9}]},
            }
        ],
        "ab": [
            {
                "ready": False,
                "control": "A",
                "treatment": "B",
                "checks": [{"name": "sample ratio", "status": "fail", "summary": "p = 1e-6",
                            "advice": "check assignment"}],
            }
        ],
    }  # fmt: skip
    report = {"outcomes": {"failed": 1}, "tests": [test], "incidents": None}
    page = render_html(report)
    failures = page[page.index("id='failures'") : page.index("id='tests'")]
    for text in ("assert_robust", "failure_rate 0.25", "n_checked 400", "GOOD", "all caps",
                 "90/100", "3/300", "A/B checklist", "not ready", "sample ratio",
                 "check assignment"):  # fmt: skip
        assert text in failures


def test_failure_text_past_the_page_budget_is_left_to_the_json():
    text = "E   " + "x" * 3996
    tests = [
        {"nodeid": f"t.py::test_{n}", "outcome": "failed", "duration": 0.0, "message": f"m{n}",
         "failure": text}
        for n in range(MAX_FAILURE_TEXT_BYTES // len(text) + 10)
    ]  # fmt: skip
    page = render_html({"outcomes": {"failed": len(tests)}, "tests": tests, "incidents": None})
    assert page.count("<summary>failure text</summary>") == MAX_FAILURE_TEXT_BYTES // len(text)
    assert page.count("failure text left out (report size budget spent)") == 10
    assert "m0<" in page
    assert f"m{len(tests) - 1}<" in page  # every test keeps its one-line message
