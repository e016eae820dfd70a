"""Flamegraph SVG files embedded in the HTML report, within a size budget.

The profiler writes a plain SVG (``profiling/svg.py``: one ``<g>`` per frame
with a ``<title>`` hover text, no script). It is inlined as markup so the hover
texts work with no JavaScript; its stylesheet is scoped so it cannot restyle
the page. An SVG that carries script (another tool's flamegraph) is embedded as
an image instead, which browsers render without running it. A per-report
budget keeps thousands of failures from making a report nobody can open.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

#: A frame costs about 200 bytes of SVG, and a deep profile has thousands (a synthetic
#: 300-function service profile drew 5,217 frames, 0.97 MB). Larger flamegraphs are
#: redrawn from their folded stacks with narrow frames left out until they fit.
TARGET_FLAMEGRAPH_BYTES = 50_000
#: Without folded stacks to redraw from, a larger flamegraph is linked, not embedded.
MAX_FLAMEGRAPH_BYTES = 400_000
#: 50 flamegraphs of the target size fit, and 5,000 tests stay under 5 MB (benchmarks/).
MAX_TOTAL_BYTES = 3_000_000
_MIN_WIDTHS = (4.0, 8.0, 16.0, 32.0)  # pixels, tried in turn; a frame under 4 px shows no label

#: Markup that could run code or load something when inlined: such an SVG becomes an image.
_ACTIVE = re.compile(r"<script|<foreignobject|javascript:|\son[a-z]+\s*=|<use\b", re.IGNORECASE)
_PROLOG = re.compile(r"<\?xml[^>]*\?>\s*", re.IGNORECASE)
_STYLE_RULE = re.compile(r"(^|})\s*([a-z]+)\s*\{")


@dataclass
class ByteBudget:
    """Bytes a report may still spend on one kind of content (``max_item``: per piece)."""

    left: int
    max_item: int | None = None
    embedded: int = 0
    skipped: int = 0

    def take(self, size: int) -> bool:
        """Spend ``size`` bytes if the budget allows it."""
        if size > self.left or (self.max_item is not None and size > self.max_item):
            self.skipped += 1
            return False
        self.left -= size
        self.embedded += 1
        return True


def flamegraph_budget() -> ByteBudget:
    """The flamegraph budget of one report."""
    return ByteBudget(MAX_TOTAL_BYTES, MAX_FLAMEGRAPH_BYTES)


def embed_flamegraph(
    path: str, budget: ByteBudget, *, raw: str | None = None, title: str = ""
) -> str:
    """HTML showing the flamegraph at ``path``, or a line saying why it is not shown.

    ``raw`` is the profile's folded-stacks file: a flamegraph over the target
    size is redrawn from it, coarser, to fit.
    """
    esc = html.escape
    try:
        svg = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<p class='legend'>flamegraph {esc(path)} not embedded: {esc(str(exc))}</p>"
    if len(svg) > TARGET_FLAMEGRAPH_BYTES and raw is not None:
        svg = coarser_flamegraph(raw, title) or svg
    if not budget.take(len(svg)):
        return (
            f"<p class='legend'>flamegraph not embedded (report size budget spent): {esc(path)}</p>"
        )
    caption = (
        "<p class='legend'>flamegraph: width is time; hover a frame for its full name and "
        f"share, click one to zoom in, click the bottom frame to zoom out. File: {esc(path)}</p>"
    )
    return f"<div class='flame'>{caption}{inline_svg(svg)}</div>"


def coarser_flamegraph(raw: str, title: str) -> str | None:
    """The flamegraph of the folded stacks in ``raw``, redrawn to fit the target size."""
    from pytest_prodguard.profiling.stacks import parse_folded
    from pytest_prodguard.profiling.svg import render_flamegraph

    try:
        stacks = parse_folded(Path(raw).read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    svg = None
    for width in _MIN_WIDTHS:
        label = f"{title} (frames under {width:g} px left out; the file has them all)"
        svg = render_flamegraph(stacks, title=label, min_width=width)
        if len(svg) <= TARGET_FLAMEGRAPH_BYTES:
            break
    return svg


def inline_svg(svg: str) -> str:
    """The SVG as markup for an HTML page (scoped styles), or as an image if it is active."""
    if _ACTIVE.search(svg):
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f"<img alt='flamegraph' src='data:image/svg+xml;base64,{data}'>"
    body = _PROLOG.sub("", svg, count=1)
    body = re.sub(r"<!DOCTYPE[^>]*>\s*", "", body, count=1, flags=re.IGNORECASE)
    body = re.sub(r"<svg\b", "<svg class='flamegraph'", body, count=1)
    return re.sub(r"<style>(.*?)</style>", _scoped_style, body, count=1, flags=re.DOTALL)


def _scoped_style(match: re.Match[str]) -> str:
    rules = _STYLE_RULE.sub(lambda m: f"{m.group(1)} .flamegraph {m.group(2)} {{", match.group(1))
    return f"<style>{rules}</style>"
