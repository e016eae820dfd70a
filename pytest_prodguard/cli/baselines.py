"""``prodguard baselines``: saved latency baselines."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add ``prodguard baselines``."""
    baselines = commands.add_parser("baselines", help="list saved latency baselines")
    baselines.add_argument("--dir", type=Path, default=Path(".prodguard/baselines"))
    baselines.set_defaults(handler=_baselines)


def _baselines(args: argparse.Namespace) -> int:
    """List every saved latency baseline; exit 1 when a file cannot be used."""
    from pytest_prodguard.latency import BaselineError, load_baseline, machine_fingerprint
    from pytest_prodguard.latency.compare import summarise_baseline

    files = sorted(args.dir.glob("*.json")) if args.dir.is_dir() else []
    if not files:
        print(f"no baselines in {args.dir}")
        return 0
    fingerprint = machine_fingerprint()
    broken = 0
    for path in files:
        try:
            baseline = load_baseline(path)
        except BaselineError as error:
            print(f"{path.name}: {error}")
            broken += 1
            continue
        print(f"{baseline.nodeid}  {summarise_baseline(baseline, fingerprint)}")
    return 1 if broken else 0
