"""``prodguard report``: show, convert or merge ``--prodguard-report`` JSON files.

``prodguard report run.json`` prints every test grouped by outcome;
``--html OUT`` writes the HTML page instead; ``prodguard report merge A.json
B.json ... -o all.json`` merges CI shard reports into one.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text

USAGE = (
    "prodguard report RUN.json [--html OUT.html] | "
    "prodguard report merge A.json B.json ... -o OUT.json"
)


def register(commands: Any) -> None:
    """Add ``prodguard report`` (and its ``merge`` form)."""
    report = commands.add_parser(
        "report",
        help="show a --prodguard-report JSON file, convert it to HTML, or merge shard reports",
        usage=USAGE,
    )
    report.add_argument(
        "path", type=Path, help="a report (for merging: prodguard report merge --help)"
    )
    report.add_argument("--html", type=Path, help="write the HTML page instead of printing")
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    report = load_report(args.path, html=args.html is not None)
    if args.html:
        from pytest_prodguard.report import render_html

        atomic_write_text(args.html, render_html(report))
        print(f"wrote {args.html}")
        return 0
    from pytest_prodguard.report.text import report_text

    print(report_text(report), end="")
    return 0


def run_merge(argv: list[str]) -> int:
    """``prodguard report merge A.json B.json ... -o OUT``: options and paths in any order."""
    from pytest_prodguard.report import write_report
    from pytest_prodguard.report.merge import merge_reports

    parser = argparse.ArgumentParser(
        prog="prodguard report merge",
        description="merge the --prodguard-report JSON files of CI shards into one report",
    )
    parser.add_argument("paths", nargs="+", type=Path, metavar="SHARD.json")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="the merged report (.json or .html)"
    )
    args = parser.parse_intermixed_args(argv)
    output: Path = args.output
    if output.suffix not in (".json", ".html"):
        raise ProdguardUsageError("-o", str(output), "an output path ending in .json or .html")
    html = output.suffix == ".html"
    shards = [(str(path), load_report(path, html=html)) for path in args.paths]  # read all first
    merged = merge_reports(shards)
    write_report(output, merged)
    gaps = len((merged.get("incidents") or {}).get("unguarded_fixed") or ())
    print(
        f"merged {len(shards)} reports ({len(merged['tests'])} tests, {gaps} fixed incidents "
        f"without a guard) into {output}"
    )
    return 0


def load_report(path: Path, *, html: bool = False) -> dict[str, Any]:
    """Read and shape-check a prodguard JSON report; a usage error names what is wrong."""
    from pytest_prodguard.report import check_report_shape

    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8 text
        raise ProdguardUsageError("path", str(path), f"a prodguard JSON report ({exc})") from None
    return check_report_shape(report, str(path), html=html)
