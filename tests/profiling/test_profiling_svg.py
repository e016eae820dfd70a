"""The flamegraph writer: valid XML, one titled rect per frame, widths proportional to samples."""

from __future__ import annotations

import json
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_prodguard.profiling.svg import IMAGE_WIDTH, MIN_FRAME_WIDTH, render_flamegraph

SVG = "{http://www.w3.org/2000/svg}"


def frames_of(svg_text):
    """(title, x, width, y) of every frame group in the document."""
    root = ET.fromstring(svg_text)
    assert root.tag == f"{SVG}svg"
    frames = []
    for group in root.iter(f"{SVG}g"):
        title = group.find(f"{SVG}title").text
        rect = group.find(f"{SVG}rect")
        frames.append((title, float(rect.get("x")), float(rect.get("width")), float(rect.get("y"))))
    return frames


def test_each_frame_has_a_title_with_samples_and_share():
    stacks = Counter({("test (t.py:1)", "encode (e.py:2)"): 3, ("test (t.py:1)",): 1})
    titles = [title for title, *_ in frames_of(render_flamegraph(stacks, title="t"))]
    assert titles == [
        "all (4 samples, 100.00%)",
        "test (t.py:1) (4 samples, 100.00%)",
        "encode (e.py:2) (3 samples, 75.00%)",
    ]


def test_widths_are_proportional_to_samples_and_children_sit_on_their_parent():
    stacks = Counter({("a (a.py:1)", "b (b.py:1)"): 1, ("a (a.py:1)", "c (c.py:1)"): 3})
    frames = {
        title.split(" (")[0]: (x, width, y)
        for title, x, width, y in frames_of(render_flamegraph(stacks, title="t"))
    }
    assert frames["all"][1] == pytest.approx(IMAGE_WIDTH)
    assert frames["b"][1] == pytest.approx(IMAGE_WIDTH / 4, abs=0.01)
    assert frames["c"][1] == pytest.approx(3 * IMAGE_WIDTH / 4, abs=0.01)
    assert frames["b"][0] + frames["b"][1] == pytest.approx(frames["c"][0], abs=0.01)
    assert (
        frames["b"][2] == frames["c"][2] < frames["a"][2] < frames["all"][2]
    )  # root at the bottom


def test_names_are_escaped():
    stacks = Counter({('<lambda> & "quote" (/tmp/<x>.py:1)', "ctrl\x01char\ud800 (x.py:2)"): 2})
    text = render_flamegraph(stacks, title="a <b> & c")
    titles = [title for title, *_ in frames_of(text)]
    assert titles[1].startswith('<lambda> & "quote" (/tmp/<x>.py:1)')
    assert titles[2].startswith("ctrl?char? (x.py:2)")


def test_an_empty_profile_is_a_valid_svg_with_the_root_frame():
    assert [title for title, *_ in frames_of(render_flamegraph(Counter(), title="none"))] == [
        "all (0 samples, 0.00%)"
    ]


def test_frames_too_narrow_to_see_are_left_out():
    stacks = Counter({("big (b.py:1)",): 100_000, ("tiny (t.py:1)", "tinier (t.py:2)"): 1})
    titles = [title for title, *_ in frames_of(render_flamegraph(stacks, title="t"))]
    assert not any(title.startswith("tiny") for title in titles)
    assert IMAGE_WIDTH / 100_001 < MIN_FRAME_WIDTH


def test_very_deep_stacks_are_drawn_to_a_bounded_depth():
    stacks = Counter({tuple(f"f{i} (r.py:{i})" for i in range(1, 2000)): 1})
    frames = frames_of(render_flamegraph(stacks, title="deep"))
    assert 2 < len(frames) <= 201


@given(
    st.dictionaries(
        st.lists(
            st.sampled_from(["a (a.py:1)", "b (b.py:2)", "<c> (c.py:3)", "d&e"]), max_size=6
        ).map(tuple),
        st.integers(1, 1000),
        max_size=10,
    )
)
def test_any_profile_renders_to_valid_xml_whose_frames_fit_the_image(stacks):
    frames = frames_of(render_flamegraph(Counter(stacks), title="property"))
    assert frames[0][0].startswith("all ")
    for _title, x, width, _y in frames:
        assert x >= 0
        assert x + width <= IMAGE_WIDTH + 0.05  # coordinates are written with 2 decimals


INTERACTIVE_STACKS = Counter(
    {
        ("t (t.py:1)", "score (s.py:2)", "tokenize (k.py:3)"): 30,
        ("t (t.py:1)", "score (s.py:2)"): 10,
        ("t (t.py:1)", "other (o.py:4)"): 60,
    }
)

# A minimal stand-in for the browser DOM: enough for the embedded script's zoom,
# search and reset to run under node and report what they did to the frames.
DOM_HARNESS = r"""
const fs = require("fs");
const svg = fs.readFileSync(process.argv[2], "utf8");
const pattern = new RegExp('<g class="frame" data-x="([^"]+)" data-w="([^"]+)" ' +
  'data-name="([^"]+)">.*?fill="([^"]+)"', "g");
const frames = [...svg.matchAll(pattern)].map((m) => {
  const attrs = {"data-x": m[1], "data-w": m[2], "data-name": m[3]};
  const rect = {a: {x: m[1], width: m[2], fill: m[4]}, setAttribute(k, v) { this.a[k] = v; },
    getAttribute(k) { return this.a[k]; }, hasAttribute(k) { return k in this.a; }};
  const text = {a: {}, textContent: "", setAttribute(k, v) { this.a[k] = v; }};
  return {attrs, rect, text, style: {}, getAttribute(k) { return this.attrs[k]; },
    querySelector(s) { return s === "rect" ? rect : text; }, addEventListener() {}};
});
const element = () => ({a: {}, textContent: "", setAttribute(k, v) { this.a[k] = v; },
  addEventListener() {}});
const byId = {reset: element(), matched: element(), search: element()};
global.document = {querySelectorAll: () => frames, getElementById: (id) => byId[id]};
global.window = {addEventListener() {}, prompt: () => null};
eval(svg.match(/<!\[CDATA\[([\s\S]*)\]\]>/)[1]);
const api = window.prodguardFlamegraph;
const find = (name) => frames.find((f) => f.attrs["data-name"] === name);
const out = {};
api.zoom(+find("score").attrs["data-x"], +find("score").attrs["data-w"]);
out.zoomed = {score: find("score").rect.a.width, other: find("other").style.display,
  reset: byId.reset.a.visibility};
api.search("token|score");
out.matched = byId.matched.textContent;
out.fill = find("tokenize").rect.a.fill;
api.reset();
out.reset = {score: find("score").rect.a.width, other: find("other").style.display};
console.log(JSON.stringify(out));
"""


def test_the_flamegraph_is_one_self_contained_file_with_zoom_search_and_reset():
    root = ET.fromstring(render_flamegraph(INTERACTIVE_STACKS, title="t"))
    (script,) = root.iter(f"{SVG}script")
    assert "zoom" in script.text
    assert "search" in script.text
    controls = {text.get("id"): text.text for text in root.iter(f"{SVG}text") if text.get("id")}
    assert controls["reset"] == "Reset zoom"
    assert controls["search"] == "Search"
    frames = [group for group in root.iter(f"{SVG}g") if group.get("class") == "frame"]
    assert {group.get("data-name") for group in frames} == {
        "all",
        "t",
        "score",
        "tokenize",
        "other",
    }
    assert not any(element.get("href") for element in root.iter())  # nothing external


def test_the_embedded_script_zooms_searches_and_resets(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is needed to run the flamegraph's script")
    svg = tmp_path / "flamegraph.svg"
    svg.write_text(render_flamegraph(INTERACTIVE_STACKS, title="t"), encoding="utf-8")
    harness = tmp_path / "harness.js"
    harness.write_text(DOM_HARNESS, encoding="utf-8")
    done = subprocess.run(
        [node, str(harness), str(svg)], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(done.stdout)
    # Clicking "score" (40% of the samples) makes it the full width and hides "other".
    assert result["zoomed"] == {"score": f"{IMAGE_WIDTH:.2f}", "other": "none", "reset": "visible"}
    assert result["matched"] == "Matched: 40.0%"  # tokenize lies inside score: counted once
    assert result["fill"] == "rgb(230,0,230)"
    assert result["reset"] == {"score": f"{0.4 * IMAGE_WIDTH:.2f}", "other": ""}
