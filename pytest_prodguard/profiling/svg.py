"""A small, dependency-free, interactive flamegraph (SVG) writer for folded stacks.

py-spy cannot render an external folded file and pyinferno only ships wheels
up to CPython 3.11, so the flamegraph is drawn here: one ``<rect>`` per frame,
widths proportional to samples, the root at the bottom, a ``<title>`` per frame
(hover text in any browser). One self-contained file: a small embedded script
(as in flamegraph.pl) zooms into a frame on click, searches frames by a regular
expression ("Search", Ctrl-F) and shows the share matched, and "Reset zoom"
returns to the whole graph. Without scripts (an image viewer, a CI artifact
preview) it is a plain static flamegraph. The output is valid XML.
"""

from __future__ import annotations

import html
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from pytest_prodguard.profiling.stacks import Stack, parse_frame, short_path

IMAGE_WIDTH = 1200
FRAME_HEIGHT = 16
FONT_SIZE = 12
CHAR_WIDTH = 7.0  # average glyph width of a 12px sans-serif font, for label truncation
MIN_FRAME_WIDTH = 0.5  # pixels; narrower frames (and their children) are not drawn
MAX_DEPTH = 200  # frames below this depth are not drawn (keeps the recursion bounded)
_HEADER = 36
_FOOTER = 8
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


@dataclass
class _Node:
    label: str
    value: int = 0
    children: dict[str, _Node] = field(default_factory=dict)

    def child(self, label: str) -> _Node:
        node = self.children.get(label)
        if node is None:
            node = self.children[label] = _Node(label)
        return node


def render_flamegraph(
    stacks: Mapping[Stack, int],
    *,
    title: str,
    unit: str = "samples",
    min_width: float = MIN_FRAME_WIDTH,
) -> str:
    """Render ``stacks`` as a flamegraph SVG document (a string).

    Frames are merged by identical prefix, siblings are sorted by label (as in
    flamegraph.pl), and every frame carries a ``<title>`` with its full label,
    sample count and share. An empty profile still yields a valid SVG with the
    single root frame ``all``. Frames narrower than ``min_width`` pixels (and
    their children) are left out: a larger value gives a smaller file.
    """
    root = _build_tree(stacks)
    depth = _depth(root)
    height = _HEADER + (depth + 1) * FRAME_HEIGHT + _FOOTER
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{IMAGE_WIDTH}" '
        f'height="{height}" viewBox="0 0 {IMAGE_WIDTH} {height}">',
        "<style>text { font-family: Verdana, sans-serif; font-size: "
        f"{FONT_SIZE}px; fill: #000; }} rect {{ stroke: #fff; stroke-width: 0.5; }} "
        "g.frame { cursor: pointer; } text.control { cursor: pointer; fill: #333; }</style>",
        f'<rect x="0" y="0" width="{IMAGE_WIDTH}" height="{height}" fill="#f8f8f8"/>',
        f'<text x="{IMAGE_WIDTH / 2:.0f}" y="22" text-anchor="middle" font-size="16">'
        f"{_text(title)}</text>",
        '<text id="reset" class="control" x="10" y="22" visibility="hidden">Reset zoom</text>',
        f'<text id="search" class="control" x="{IMAGE_WIDTH - 10}" y="22" '
        'text-anchor="end">Search</text>',
        f'<text id="matched" x="{IMAGE_WIDTH - 10}" y="{height - 2}" text-anchor="end"></text>',
    ]
    _draw(
        root,
        parts,
        x=0.0,
        level=0,
        height=height,
        scale=_scale(root),
        total=root.value,
        unit=unit,
        min_width=min_width,
    )
    parts.append(
        _SCRIPT.replace("IMAGE_WIDTH", str(IMAGE_WIDTH)).replace("CHAR_WIDTH", str(CHAR_WIDTH))
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _build_tree(stacks: Mapping[Stack, int]) -> _Node:
    root = _Node("all")
    for stack, count in stacks.items():
        if count <= 0:
            continue
        root.value += count
        node = root
        for label in stack[:MAX_DEPTH]:
            node = node.child(label)
            node.value += count
    return root


def _depth(node: _Node) -> int:
    if not node.children:
        return 0
    return 1 + max(_depth(child) for child in node.children.values())


def _scale(root: _Node) -> float:
    return IMAGE_WIDTH / root.value if root.value else 0.0


def _draw(
    node: _Node,
    parts: list[str],
    *,
    x: float,
    level: int,
    height: int,
    scale: float,
    total: int,
    unit: str,
    min_width: float,
) -> None:
    width = node.value * scale if total else float(IMAGE_WIDTH)
    if level > 0 and width < min_width:
        return
    y = height - _FOOTER - (level + 1) * FRAME_HEIGHT
    share = 100.0 * node.value / total if total else 0.0
    tooltip = f"{_display_label(node.label)} ({node.value} {unit}, {share:.2f}%)"
    name = _short_label(node.label)
    parts.append(
        f'<g class="frame" data-x="{x:.2f}" data-w="{width:.2f}" data-name="{_text(name)}">'
        f"<title>{_text(tooltip)}</title>"
        f'<rect x="{x:.2f}" y="{y}" width="{width:.2f}" height="{FRAME_HEIGHT - 1}" '
        f'fill="{_color(node.label, level)}" rx="2"/>'
        f'<text x="{x + 3:.2f}" y="{y + FRAME_HEIGHT - 4}">'
        f"{_text(_fit(name, width))}</text></g>"
    )
    child_x = x
    for label in sorted(node.children):
        child = node.children[label]
        _draw(
            child,
            parts,
            x=child_x,
            level=level + 1,
            height=height,
            scale=scale,
            total=total,
            unit=unit,
            min_width=min_width,
        )
        child_x += child.value * scale


def _display_label(label: str) -> str:
    frame = parse_frame(label)
    if not frame.file:
        return label
    line = f":{frame.line}" if frame.line else ""  # 0: frames aggregated per function
    return f"{frame.function} ({short_path(frame.file)}{line})"


def _short_label(label: str) -> str:
    return parse_frame(label).function


def _fit(label: str, width: float) -> str:
    room = int((width - 6) / CHAR_WIDTH)
    if room < 3:
        return ""
    return label if len(label) <= room else label[: room - 2] + ".."


def _color(label: str, level: int) -> str:
    if level == 0:
        return "rgb(200,200,200)"
    digest = zlib.crc32(parse_frame(label).function.encode("utf-8", "replace"))
    red = 205 + digest % 50
    green = 80 + (digest >> 8) % 130
    blue = (digest >> 16) % 55
    return f"rgb({red},{green},{blue})"


def _text(value: str) -> str:
    """Escape for XML text and drop characters XML 1.0 cannot carry."""
    safe = value.encode("utf-8", "replace").decode("utf-8")
    return html.escape(_XML_INVALID.sub("?", safe))  # html.escape's entities are XML ones too


# Zoom, search and reset, after flamegraph.pl's: frames carry their unzoomed x and
# width (data-x, data-w); zooming rescales every frame that overlaps the clicked one
# and hides the rest; search colours matching frames and sums the share of the
# outermost matches. IMAGE_WIDTH and CHAR_WIDTH are filled in by render_flamegraph.
_SCRIPT = """<script type="text/ecmascript"><![CDATA[
(function () {
  var W = IMAGE_WIDTH, CHAR = CHAR_WIDTH;
  var frames = Array.prototype.slice.call(document.querySelectorAll("g.frame"));
  var reset = document.getElementById("reset");
  var matched = document.getElementById("matched");
  function num(g, key) { return parseFloat(g.getAttribute(key)); }
  function fit(g, width) {
    var name = g.getAttribute("data-name"), room = Math.floor((width - 6) / CHAR);
    var label = room < 3 ? "" : name.length <= room ? name : name.slice(0, room - 2) + "..";
    g.querySelector("text").textContent = label;
  }
  function zoom(x0, w0) {
    var scale = W / w0;
    frames.forEach(function (g) {
      var x = num(g, "data-x"), w = num(g, "data-w");
      var left = Math.max(0, (x - x0) * scale), right = Math.min(W, (x + w - x0) * scale);
      if (right - left < 0.5) { g.style.display = "none"; return; }
      g.style.display = "";
      var rect = g.querySelector("rect");
      rect.setAttribute("x", left.toFixed(2));
      rect.setAttribute("width", (right - left).toFixed(2));
      g.querySelector("text").setAttribute("x", (left + 3).toFixed(2));
      fit(g, right - left);
    });
    reset.setAttribute("visibility", w0 < W - 0.01 ? "visible" : "hidden");
  }
  function search(pattern) {
    var regex = pattern ? new RegExp(pattern) : null, covered = [], total = 0;
    frames.forEach(function (g) {
      var rect = g.querySelector("rect");
      if (!rect.hasAttribute("data-fill")) {
        rect.setAttribute("data-fill", rect.getAttribute("fill"));
      }
      var hit = regex !== null && regex.test(g.getAttribute("data-name"));
      rect.setAttribute("fill", hit ? "rgb(230,0,230)" : rect.getAttribute("data-fill"));
      if (hit) covered.push([num(g, "data-x"), num(g, "data-x") + num(g, "data-w")]);
    });
    covered.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var end = -1;
    covered.forEach(function (span) {
      if (span[0] >= end) { total += span[1] - span[0]; end = span[1]; }
      else if (span[1] > end) { total += span[1] - end; end = span[1]; }
    });
    matched.textContent = regex ? "Matched: " + (100 * total / W).toFixed(1) + "%" : "";
  }
  frames.forEach(function (g) {
    g.addEventListener("click", function () { zoom(num(g, "data-x"), num(g, "data-w")); });
  });
  function ask() {
    var pattern = window.prompt("Search frames (regular expression; empty to clear)", "");
    if (pattern !== null) search(pattern);
  }
  reset.addEventListener("click", function () { zoom(0, W); });
  document.getElementById("search").addEventListener("click", ask);
  window.addEventListener("keydown", function (event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "f") {
      event.preventDefault();
      ask();
    }
  });
  window.prodguardFlamegraph = {zoom: zoom, search: search, reset: function () { zoom(0, W); }};
})();
]]></script>"""
