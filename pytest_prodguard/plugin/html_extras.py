"""pytest-html: a test's flamegraph embedded in its HTML report (when pytest-html runs)."""

from __future__ import annotations

import pytest


def add_flamegraph(config: pytest.Config, item: pytest.Item, report: pytest.TestReport) -> None:
    """Embed the test's flamegraph in pytest-html's report (a local path would not travel)."""
    html = config.pluginmanager.getplugin("html")
    svg = next((v for k, v in item.user_properties if k == "prodguard.profile.svg"), None)
    if html is None or not isinstance(svg, str):
        return
    import base64
    from pathlib import Path

    try:
        content = base64.b64encode(Path(svg).read_bytes()).decode("ascii")
    except OSError:
        return
    extras = list(getattr(report, "extras", []))
    # pytest-html takes images as base64 and inlines them (--self-contained-html) or
    # writes them next to the report: either way they travel with it.
    extras.append(html.extras.svg(content, name="prodguard flamegraph"))
    report.extras = extras  # type: ignore[attr-defined]
