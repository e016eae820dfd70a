"""``prodguard baselines``: list, show, prune, reset, accept and import latency baselines."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError

DEFAULT_DIR = Path(".prodguard/baselines")


def register(commands: Any) -> None:
    """Add ``prodguard baselines`` and its actions (no action: list every baseline)."""
    baselines = commands.add_parser(
        "baselines", help="list, show, prune, reset, accept or import latency baselines"
    )
    baselines.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="baseline folder")
    baselines.set_defaults(handler=_list)
    actions = baselines.add_subparsers(dest="action", metavar="ACTION")

    show = actions.add_parser("show", help="a test's saved runs (date, machine, p50, ratio)")
    show.add_argument("test", help="node id, or part of one")
    _dir_option(show)
    show.set_defaults(handler=_show)

    prune = actions.add_parser("prune", help="keep only the newest runs of every baseline")
    prune.add_argument("--keep", type=int, default=5, help="runs to keep (default 5)")
    _dir_option(prune)
    prune.set_defaults(handler=_prune)

    reset = actions.add_parser("reset", help="delete a test's baselines (and saved profiles)")
    reset.add_argument("test", help="node id, or part of one")
    _dir_option(reset)
    reset.set_defaults(handler=_reset)

    accept = actions.add_parser(
        "accept",
        help="take the newest saved run(s) as the baseline (after saving an improvement "
        "with --prodguard-baseline-save), dropping the older, slower ones",
    )
    accept.add_argument("test", help="node id, or part of one")
    accept.add_argument("--keep", type=int, default=1, help="newest runs to keep (default 1)")
    _dir_option(accept)
    accept.set_defaults(handler=_accept)

    imports = actions.add_parser(
        "import", help="start baselines from pytest-benchmark saved runs (.benchmarks/*/*.json)"
    )
    imports.add_argument("files", nargs="+", type=Path, help="pytest-benchmark JSON files")
    imports.add_argument(
        "--same-machine",
        action="store_true",
        help="the runs were saved on this machine (compared as same-machine runs)",
    )
    _dir_option(imports)
    imports.set_defaults(handler=_import)


def _dir_option(parser: argparse.ArgumentParser) -> None:
    """``--dir`` after the action too (SUPPRESS: an absent one keeps the value given before)."""
    parser.add_argument("--dir", type=Path, default=argparse.SUPPRESS, help="baseline folder")


def _list(args: argparse.Namespace) -> int:
    """List every saved latency baseline; exit 1 when a file cannot be used."""
    from pytest_prodguard.latency import machine_fingerprint
    from pytest_prodguard.latency.compare import summarise_baseline
    from pytest_prodguard.latency.history import load_all

    baselines, errors = load_all(args.dir)
    if not baselines and not errors:
        print(f"no baselines in {args.dir}")
        return 0
    fingerprint = machine_fingerprint()
    for error in errors:
        print(error)
    for baseline in baselines:
        print(f"{baseline.nodeid}  {summarise_baseline(baseline, fingerprint)}")
    return 1 if errors else 0


def _chosen(args: argparse.Namespace) -> list[Any]:
    """The baselines of ``args.test``; a usage error naming the folder when there are none."""
    from pytest_prodguard.latency.history import load_all, matching

    baselines, _ = load_all(args.dir)
    chosen = matching(baselines, args.test)
    if not chosen:
        raise ProdguardUsageError(
            "test", args.test, f"a node id (or part of one) with a baseline in {args.dir}"
        )
    return chosen


def _show(args: argparse.Namespace) -> int:
    from pytest_prodguard.latency import machine_fingerprint
    from pytest_prodguard.latency.history import history_lines

    fingerprint = machine_fingerprint()
    for baseline in _chosen(args):
        print("\n".join(history_lines(baseline, fingerprint)))
    return 0


def _prune(args: argparse.Namespace) -> int:
    from pytest_prodguard.latency.history import keep_newest, load_all, write_baseline

    baselines, errors = load_all(args.dir)
    for error in errors:
        print(error)
    dropped = 0
    for baseline in baselines:
        kept = keep_newest(baseline, args.keep)
        if len(kept.runs) < len(baseline.runs):
            write_baseline(kept)
            dropped += len(baseline.runs) - len(kept.runs)
    print(f"pruned {dropped} run(s) from {len(baselines)} baseline(s) in {args.dir}")
    return 1 if errors else 0


def _reset(args: argparse.Namespace) -> int:
    from pytest_prodguard.latency.history import files_of

    for baseline in _chosen(args):
        for path in files_of(baseline):
            path.unlink()
            print(f"deleted {path}")
    return 0


def _accept(args: argparse.Namespace) -> int:
    from pytest_prodguard.latency.history import keep_newest, write_baseline

    for baseline in _chosen(args):
        kept = keep_newest(baseline, args.keep)
        write_baseline(kept)
        print(
            f"{baseline.nodeid}: kept the newest {len(kept.runs)} of {len(baseline.runs)} "
            f"run(s) as the baseline ({baseline.path})"
        )
    return 0


def _import(args: argparse.Namespace) -> int:
    from pytest_prodguard.latency import machine_fingerprint
    from pytest_prodguard.latency.history import import_runs, runs_from_benchmark_json

    fingerprint = machine_fingerprint() if args.same_machine else None
    parsed = []
    for path in args.files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ProdguardUsageError(
                "file", str(path), f"a readable JSON file ({error})"
            ) from None
        parsed.extend(runs_from_benchmark_json(data, str(path), fingerprint))
    written = import_runs(parsed, args.dir)
    print(f"imported {len(parsed)} pytest-benchmark run(s) into {len(set(written))} baseline(s)")
    for path in sorted(set(written)):
        print(f"  {path}")
    return 0
