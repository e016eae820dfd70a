"""Command-line options and ini keys -> one frozen :class:`Settings` value.

Every option is declared once in :data:`OPTIONS` (name, help, kind, default),
so the CLI flag and the ini key can never drift apart. Precedence: command
line, then ini, then the built-in default. A bad value is a
:class:`~pytest_prodguard.errors.ProdguardUsageError` naming where it came from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.limits import (
    LATENCY_SCALE,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    PROFILE_SECONDS,
    PROFILE_TOP,
    Limit,
)


@dataclass(frozen=True)
class OptionSpec:
    """One prodguard setting: its ini key, CLI flag, help text and type."""

    key: str
    help: str
    kind: str  # "string" | "bool" | "choice" | "float" | "int" | "optional-tolerance"
    default: Any = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    limit: Limit | None = None  # the documented range of a "float" or "int" option

    @property
    def flag(self) -> str:
        """The command-line spelling, e.g. ``--prodguard-latency-scale``."""
        return "--" + self.key.replace("_", "-")


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "prodguard_incidents",
        "incident registry (TOML); default: incidents.toml in the rootdir",
        "string",
        metavar="PATH",
    ),
    OptionSpec(
        "prodguard_require_guards",
        "fail the run when a fixed incident in the registry has no collected guard test",
        "bool",
        default=False,
    ),
    OptionSpec(
        "prodguard_report",
        "write a machine-readable report of the run (.json or .html)",
        "string",
        metavar="PATH",
    ),
    OptionSpec(
        "prodguard_latency",
        "what a latency budget verdict does: fail the test, only warn, or measure nothing",
        "choice",
        default="fail",
        choices=("fail", "warn", "off"),
    ),
    OptionSpec(
        "prodguard_latency_scale",
        "multiply every latency budget by this factor (e.g. 1.5 on slow CI machines)",
        "float",
        default=1.0,
        metavar="X",
        limit=LATENCY_SCALE,
    ),
    OptionSpec(
        "prodguard_latency_inconclusive",
        "what an undecided latency verdict does after max_time: warn or fail",
        "choice",
        default="warn",
        choices=("warn", "fail"),
    ),
    OptionSpec(
        "prodguard_latency_normalize",
        "judge budgets at the machine's typical speed: a same-machine baseline's or else this "
        "run's own (auto), or on raw times (off)",
        "choice",
        default="auto",
        choices=("auto", "off"),
    ),
    OptionSpec(
        "prodguard_baseline_save",
        "save latency baselines (per-test sample summaries) to the baseline folder",
        "bool",
        default=False,
    ),
    OptionSpec(
        "prodguard_baseline_compare",
        "compare latency tests to saved baselines; fail when slower by more than TOL "
        "(default 10 percent) with statistical significance",
        "optional-tolerance",
        metavar="TOL",
    ),
    OptionSpec(
        "prodguard_baseline_dir",
        "folder of saved latency baselines; default .prodguard/baselines in the rootdir",
        "string",
        metavar="DIR",
    ),
    OptionSpec(
        "prodguard_profile",
        "profile failing latency tests and tests marked profile_on_failure",
        "choice",
        default="failures",
        choices=("failures", "off"),
    ),
    OptionSpec(
        "prodguard_profile_with",
        "profiler to use on failure",
        "choice",
        default="auto",
        choices=("auto", "py-spy", "torch", "builtin"),
    ),
    OptionSpec(
        "prodguard_profile_seconds",
        "how long to profile a failing test's code (seconds)",
        "float",
        default=2.0,
        metavar="S",
        limit=PROFILE_SECONDS,
    ),
    OptionSpec(
        "prodguard_profile_dir",
        "where flamegraphs and raw profiles go; default .prodguard/profiles in the rootdir",
        "string",
        metavar="DIR",
    ),
    OptionSpec(
        "prodguard_profile_top",
        "how many hottest frames a failure message lists",
        "int",
        default=8,
        metavar="N",
        limit=PROFILE_TOP,
    ),
    OptionSpec(
        "prodguard_profile_keep",
        "how many pytest runs' profile folders to keep (run-<id>/ in the profile folder)",
        "int",
        default=5,
        metavar="N",
    ),
    OptionSpec(
        "prodguard_profile_frames",
        "flamegraph boxes per function (one box per function in each stack) or per source line",
        "choice",
        default="function",
        choices=("function", "line"),
    ),
)

OPTIONS_BY_KEY: Mapping[str, OptionSpec] = {spec.key: spec for spec in OPTIONS}


@dataclass(frozen=True)
class Settings:
    """Every prodguard setting, validated, with paths resolved against the rootdir."""

    rootdir: Path
    incidents: Path
    incidents_explicit: bool
    require_guards: bool
    report: Path | None
    latency: str
    latency_scale: float
    latency_inconclusive: str
    latency_normalize: str
    baseline_save: bool
    baseline_compare: float | None
    baseline_dir: Path
    profile: str
    profile_with: str
    profile_seconds: float
    profile_dir: Path
    profile_top: int
    profile_keep: int = 5
    profile_frames: str = "function"
    #: the keys set on the command line or in the ini file (not left at their default)
    explicit: frozenset[str] = frozenset()

    def profiler_for(self, marker_profiler: str | None) -> str:
        """The profiler for a test: an explicit option (command line or ini) wins over
        the ``profile_on_failure(profiler=...)`` marker, which wins over the default."""
        if "prodguard_profile_with" in self.explicit or marker_profiler is None:
            return self.profile_with
        return marker_profiler


def parse_tolerance(value: object, *, source: str) -> float:
    """Parse a tolerance such as ``"10%"``, ``"0.1"`` or ``10`` (percent) into a fraction."""
    accepted = "a relative tolerance such as '10%' or 0.1 (greater than 0 and below 1000%)"
    text = str(value).strip()
    try:
        number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ProdguardUsageError("tolerance", value, accepted, source=source) from None
    if not text.endswith("%") and number >= 1:
        number /= 100  # "10" means 10 %, the way people say it
    if not math.isfinite(number) or number <= 0 or number >= 10:
        raise ProdguardUsageError("tolerance", value, accepted, source=source)
    return number


def _convert(spec: OptionSpec, raw: object, source: str) -> Any:
    if spec.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ProdguardUsageError(spec.key, raw, "true or false", source=source)
    if spec.kind == "choice":
        if raw not in spec.choices:
            raise ProdguardUsageError(
                spec.key, raw, f"one of {', '.join(spec.choices)}", source=source
            )
        return raw
    if spec.kind in ("float", "int"):
        return _number(spec, raw, source)
    if spec.kind == "optional-tolerance":
        return parse_tolerance(raw, source=source)
    return str(raw)


def _number(spec: OptionSpec, raw: object, source: str) -> float | int:
    """A "float" or "int" option's value, inside its documented range."""
    limit = spec.limit or (POSITIVE_INT if spec.kind == "int" else POSITIVE_FLOAT)
    text = str(raw).strip()
    try:
        number: float | int = int(text) if spec.kind == "int" else float(text)
    except ValueError:
        raise ProdguardUsageError(spec.key, raw, limit.accepted, source=source) from None
    if not limit.contains(number):
        raise ProdguardUsageError(spec.key, raw, limit.accepted, source=source)
    return number


def resolve(cli_values: Mapping[str, object], ini_values: Mapping[str, object]) -> dict[str, Any]:
    """Apply the precedence CLI > ini > default and validate each value.

    ``cli_values`` holds ``None`` for flags not given; ``ini_values`` holds ``None``
    or ``""`` for keys not set.
    """
    resolved: dict[str, Any] = {}
    for spec in OPTIONS:
        cli = cli_values.get(spec.key)
        ini = ini_values.get(spec.key)
        if cli is not None:
            resolved[spec.key] = _convert(spec, cli, f"from {spec.flag}")
        elif ini not in (None, "", []):
            resolved[spec.key] = _convert(spec, ini, f"from ini key {spec.key}")
        else:
            resolved[spec.key] = spec.default
    return resolved


def _source(spec: OptionSpec, cli_values: Mapping[str, object]) -> str:
    """Where a resolved value came from: its flag when given there, else its ini key."""
    return (
        f"from {spec.flag}" if cli_values.get(spec.key) is not None else f"from ini key {spec.key}"
    )


def build_settings(
    rootdir: Path, cli_values: Mapping[str, object], ini_values: Mapping[str, object]
) -> Settings:
    """Build the frozen :class:`Settings` from raw CLI and ini values."""
    values = resolve(cli_values, ini_values)

    def path(key: str, default: str) -> Path:
        given = values[key]
        candidate = Path(given) if given else Path(default)
        return candidate if candidate.is_absolute() else rootdir / candidate

    report = values["prodguard_report"]
    if report and not str(report).endswith((".json", ".html")):
        spec = OPTIONS_BY_KEY["prodguard_report"]
        raise ProdguardUsageError(
            spec.key, report, "a path ending in .json or .html", source=_source(spec, cli_values)
        )
    return Settings(
        rootdir=rootdir,
        incidents=path("prodguard_incidents", "incidents.toml"),
        incidents_explicit=bool(values["prodguard_incidents"]),
        require_guards=values["prodguard_require_guards"],
        report=path("prodguard_report", "") if report else None,
        latency=values["prodguard_latency"],
        latency_scale=values["prodguard_latency_scale"],
        latency_inconclusive=values["prodguard_latency_inconclusive"],
        latency_normalize=values["prodguard_latency_normalize"],
        baseline_save=values["prodguard_baseline_save"],
        baseline_compare=values["prodguard_baseline_compare"],
        baseline_dir=path("prodguard_baseline_dir", ".prodguard/baselines"),
        profile=values["prodguard_profile"],
        profile_with=values["prodguard_profile_with"],
        profile_seconds=values["prodguard_profile_seconds"],
        profile_dir=path("prodguard_profile_dir", ".prodguard/profiles"),
        profile_top=values["prodguard_profile_top"],
        profile_keep=values["prodguard_profile_keep"],
        profile_frames=values["prodguard_profile_frames"],
        explicit=frozenset(key for key in values if _given(cli_values, ini_values, key)),
    )


def _given(cli_values: Mapping[str, object], ini_values: Mapping[str, object], key: str) -> bool:
    return cli_values.get(key) is not None or ini_values.get(key) not in (None, "", [])
