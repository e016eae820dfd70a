"""``prodguard logs check FILE…``: the log contract over production log samples."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(commands: Any) -> None:
    """Add ``prodguard logs check``."""
    logs = commands.add_parser("logs", help="check log files against a log contract")
    actions = logs.add_subparsers(title="logs commands")
    check = actions.add_parser(
        "check",
        help="check log files (JSON lines or text): exit 1 on violations, values masked",
    )
    check.add_argument("files", nargs="+", type=Path, metavar="FILE")
    check.add_argument("--json", action="store_true", help="every line must be one JSON object")
    check.add_argument(
        "--required",
        action="append",
        default=[],
        metavar="FIELD",
        help="a field every record needs",
    )
    check.add_argument(
        "--forbid",
        action="append",
        metavar="NAME",
        help="detector or group ('secrets', 'pii'); default: secrets and pii; 'none' for none",
    )
    check.add_argument(
        "--allow", action="append", default=[], metavar="REGEX", help="values to accept"
    )
    check.add_argument("--max-records", type=int, default=None, metavar="N")
    check.add_argument("--limit", type=int, default=50, help="violations to print (default 50)")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from pytest_prodguard.logs.contract import check_records, parse_contract
    from pytest_prodguard.logs.files import records_from_file

    forbid = args.forbid if args.forbid is not None else ["secrets", "pii"]
    contract = parse_contract(
        (),
        {
            "json": args.json,
            "required": tuple(args.required),
            "forbid": tuple(name for name in forbid if name != "none"),
            "allow": tuple(args.allow),
            "max_records": args.max_records,
        },
    )
    records = [record for path in args.files for record in records_from_file(path)]
    verdict = check_records(records, contract)
    if verdict.failed:
        print(verdict.details(limit=args.limit))
        return 1
    print(f"ok: {len(records)} record(s) in {len(args.files)} file(s) satisfy the log contract")
    return 0
