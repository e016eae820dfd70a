"""The ``prodguard`` command: registry, report, baseline and profiling tools.

Each subcommand lives in its own module of this package, which exposes
``register(commands)`` to add its argparse subparser(s) and handlers. A new
subcommand is a new module plus one entry in :data:`SUBCOMMANDS`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from pytest_prodguard.errors import ProdguardUsageError

#: Modules of this package that add subcommands, in ``prodguard --help`` order.
SUBCOMMANDS: tuple[str, ...] = (
    "incidents",
    "triage",
    "report",
    "baselines",
    "profile",
    "logs",
    "canary",
    "init",
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``prodguard`` console script; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        if args_list[:1] == ["profile"]:
            from pytest_prodguard.cli.profile import run_profile

            return run_profile(args_list[1:])
        if args_list[:2] == ["report", "merge"]:
            from pytest_prodguard.cli.report import run_merge

            return run_merge(args_list[2:])
        parser = build_parser()
        args = parser.parse_args(args_list)
        if not hasattr(args, "handler"):
            parser.print_help()
            return 2
        return int(args.handler(args))
    except ProdguardUsageError as exc:
        print(f"prodguard: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # an output path that cannot be written, say: one line, no traceback
        print(f"prodguard: error: {exc}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    """The ``prodguard`` argument parser with every subcommand registered."""
    from pytest_prodguard import __version__

    parser = argparse.ArgumentParser(
        prog="prodguard", description="pytest-prodguard's registry, report and profiling tools"
    )
    parser.add_argument("--version", action="version", version=f"pytest-prodguard {__version__}")
    commands = parser.add_subparsers(title="commands")
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"pytest_prodguard.cli.{name}")
        module.register(commands)
    return parser


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
