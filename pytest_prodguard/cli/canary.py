"""``prodguard canary BASELINE.json CANARY.json``: a canary verdict for a deploy pipeline.

Exit status: 0 healthy, 1 rollback, 3 investigate, 4 insufficient data, 2 usage
error (a bad file or option, reported on one line).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text


def register(commands: Any) -> None:
    """Add ``prodguard canary``."""
    canary = commands.add_parser(
        "canary",
        help="judge a canary against its baseline: exit 0 healthy, 1 rollback, 3 investigate, "
        "4 insufficient data",
        description="Judge a canary against a baseline running at the same time "
        "(input format: docs/canary.md).",
    )
    canary.add_argument("baseline", type=Path, help="the baseline arm's metrics (JSON)")
    canary.add_argument("canary", type=Path, help="the canary arm's metrics (JSON)")
    canary.add_argument(
        "--slo",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="absolute SLO: an error metric's highest rate (errors=0.01) or a latency "
        "percentile's highest value (latency:p99=0.5); repeatable",
    )
    canary.add_argument(
        "--effect",
        action="append",
        default=[],
        metavar="[METRIC=]RATIO",
        help="rate or percentile ratio the rollout must be able to detect (default 2.0); "
        "METRIC=RATIO for one metric; repeatable",
    )
    canary.add_argument("--alpha", default="0.05", help="false flags (default 0.05)")
    canary.add_argument("--rollback-alpha", default="0.01", help="false rollbacks (default 0.01)")
    canary.add_argument(
        "--critical",
        action="append",
        default=None,
        metavar="METRIC",
        help="a metric that alone forces a rollback (default: every error metric); repeatable",
    )
    canary.add_argument(
        "--quantiles", default="0.5,0.95,0.99", help="latency percentiles to compare"
    )
    canary.add_argument("--json", type=Path, help="also write the verdict as JSON to this file")
    canary.set_defaults(handler=_canary)


def _canary(args: argparse.Namespace) -> int:
    from pytest_prodguard.canary import canary_verdict

    verdict = canary_verdict(
        _read(args.baseline, "baseline"),
        _read(args.canary, "canary"),
        slo={key: _number(value, f"--slo {key}") for key, value in _pairs(args.slo, "--slo")},
        effect=_effect(args.effect),
        alpha=_number(args.alpha, "--alpha"),
        rollback_alpha=_number(args.rollback_alpha, "--rollback-alpha"),
        critical=args.critical,
        quantiles=[_number(part, "--quantiles") for part in args.quantiles.split(",")],
    )
    if args.json:
        atomic_write_text(args.json, json.dumps(verdict.to_dict(), indent=2) + "\n")
    print(verdict.text())
    return verdict.exit_code


def _read(path: Path, role: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProdguardUsageError(role, str(path), f"a readable JSON file ({exc})") from None


def _pairs(items: list[str], option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ProdguardUsageError(option, item, "METRIC=VALUE")
        pairs.append((key, value))
    return pairs


def _number(text: str, option: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ProdguardUsageError(option, text, "a number") from None


def _effect(items: list[str]) -> float | dict[str, float]:
    from pytest_prodguard.canary.verdict import DEFAULT_EFFECT

    if not items:
        return DEFAULT_EFFECT
    if len(items) == 1 and "=" not in items[0]:
        return _number(items[0], "--effect")
    return {key: _number(value, f"--effect {key}") for key, value in _pairs(items, "--effect")}
