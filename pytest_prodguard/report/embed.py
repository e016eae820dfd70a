"""Flamegraph SVG files embedded in the HTML report, within a size budget.

The profiler writes one self-contained SVG with a small script of its own
(``profiling/svg.py``: click to zoom, search, reset). Such an SVG is embedded
as a lazily loaded ``<iframe>`` of a ``data:`` URL, sandboxed to scripts: it
runs as if opened on its own, cannot reach the page, and shows statically where
scripts are off. A plain SVG without script is inlined as markup (its hover
texts work with no JavaScript) with its stylesheet scoped to it; one that
refers to anything outside the file becomes an image, which browsers render
without fetching. A per-report budget keeps thousands of failures from making
a report nobody can open.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

#: A frame costs about 200 bytes of SVG, and a deep profile has thousands (a synthetic
#: 300-function service profile drew 5,217 frames, 0.97 MB). Larger flamegraphs are
#: redrawn from their folded stacks with narrow frames left out until they fit.
TARGET_FLAMEGRAPH_BYTES = 50_000
#: Without folded stacks to redraw from, a larger flamegraph is linked, not embedded.
MAX_FLAMEGRAPH_BYTES = 400_000
#: 50 flamegraphs of the target size fit, and 5,000 tests stay under 5 MB (benchmarks/).
MAX_TOTAL_BYTES = 3_000_000
_MIN_WIDTHS = (4.0, 8.0, 16.0, 32.0)  # pixels, tried in turn; a frame under 4 px shows no label

#: Markup that runs code: such an SVG gets a sandboxed frame of its own.
_SCRIPTED = re.compile(r"<script|<foreignobject|javascript:|\son[a-z]+\s*=", re.IGNORECASE)
#: A reference to anything outside the file: such an SVG is shown as an image (never fetched).
_EXTERNAL = re.compile(r"""(?:href|src)\s*=\s*["']?\s*(?:[a-z]+:|//)(?!#)""", re.IGNORECASE)
_HEIGHT = re.compile(r"<svg\b[^>]*?\sheight=[\"']([\d.]+)", re.IGNORECASE)
#: Characters a data: URL in a single-quoted attribute may keep as they are.
_URL_SAFE = ' /=:;,.-_()[]{}!*~@$+?<>"\t'
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
        f"share, click one to zoom in. File: {esc(path)}</p>"
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
    """HTML that shows ``svg``: a sandboxed frame if it has script, an image if it refers
    outside itself, else the markup itself with its styles scoped to it."""
    if _EXTERNAL.search(svg.replace('xmlns="http://www.w3.org/2000/svg"', "")):
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f"<img alt='flamegraph' src='data:image/svg+xml;base64,{data}'>"
    if _SCRIPTED.search(svg):
        found = _HEIGHT.search(svg)
        height = int(float(found.group(1))) + 8 if found else 400
        url = "data:image/svg+xml;charset=utf-8," + quote(svg, safe=_URL_SAFE)
        return (
            f"<iframe class='flamegraph' title='flamegraph' loading='lazy' "
            f"sandbox='allow-scripts' style='height:{height}px' src='{url}'></iframe>"
        )
    body = _PROLOG.sub("", svg, count=1)
    body = re.sub(r"<!DOCTYPE[^>]*>\s*", "", body, count=1, flags=re.IGNORECASE)
    body = re.sub(r"<svg\b", "<svg class='flamegraph'", body, count=1)
    return re.sub(r"<style>(.*?)</style>", _scoped_style, body, count=1, flags=re.DOTALL)


def _scoped_style(match: re.Match[str]) -> str:
    rules = _STYLE_RULE.sub(lambda m: f"{m.group(1)} .flamegraph {m.group(2)} {{", match.group(1))
    return f"<style>{rules}</style>"
