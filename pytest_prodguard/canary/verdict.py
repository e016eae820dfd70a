"""The canary verdict: healthy, investigate, rollback, or insufficient data.

Every error-rate and latency-percentile comparison, and every SLO check, gives
an always-valid one-sided p-value (:mod:`pytest_prodguard.canary.stats`). They
are adjusted together with Holm's method, which keeps the chance of any false
flag across all checks and all intervals at ``alpha`` (Holm on always-valid
p-values: a false flag needs some true-null p-value to reach ``alpha / m0`` at
some interval, and each does so with probability at most ``alpha / m0``).

- ``rollback``: a critical check's adjusted p-value is below ``rollback_alpha``,
  or a critical gauge is past its limit;
- ``investigate``: any other check below ``alpha``, or a gauge past its limit;
- ``insufficient_data``: nothing flagged, but some comparison could not yet
  detect the configured effect (each says how many more requests it needs);
- ``healthy``: nothing flagged, and every comparison could have seen the effect.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_prodguard import recorder
from pytest_prodguard.ab import _validate
from pytest_prodguard.ab._format import jsonable, p_text
from pytest_prodguard.ab.multiple import adjust_pvalues
from pytest_prodguard.canary import checks
from pytest_prodguard.canary.checks import Check
from pytest_prodguard.canary.data import Arm, ErrorCounts, Gauge, LatencyData, as_arm
from pytest_prodguard.errors import ProdguardUsageError

VERDICTS = ("healthy", "insufficient_data", "investigate", "rollback")
#: Exit status of ``prodguard canary`` per verdict (2 is a usage error).
EXIT_CODES = {"healthy": 0, "rollback": 1, "investigate": 3, "insufficient_data": 4}
DEFAULT_QUANTILES = (0.5, 0.95, 0.99)
#: The rate or percentile ratio a rollout must be able to detect, unless told otherwise.
DEFAULT_EFFECT = 2.0
#: How many error groups the rollback evidence lists.
TOP_GROUPS = 5


@dataclass(frozen=True)
class MetricResult:
    """One judged line: the numbers, the always-valid and Holm-adjusted p-values, the status."""

    check: Check
    adjusted_p_value: float | None
    status: str

    @property
    def name(self) -> str:
        """The line's name (``errors``, ``latency p95``, ``errors SLO``, ``cpu``)."""
        return self.check.name

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        check = self.check
        result: dict[str, Any] = jsonable(
            {
                "name": check.name,
                "metric": check.metric,
                "kind": check.kind,
                "critical": check.critical,
                "baseline": check.baseline,
                "canary": check.canary,
                "ratio": check.ratio,
                "interval": list(check.interval),
                "p_value": check.p_value,
                "adjusted_p_value": self.adjusted_p_value,
                "threshold": check.threshold,
                "status": self.status,
                "shortfall": check.shortfall,
                "numbers": check.numbers,
            }
        )
        return result


@dataclass(frozen=True)
class Evidence:
    """What to keep before rolling back: the window, top error groups, queries to save."""

    window: tuple[str, str] | None
    broken: tuple[str, ...]
    error_groups: tuple[tuple[str, int, int], ...]
    queries: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "window": None
            if self.window is None
            else {"start": self.window[0], "end": self.window[1]},
            "broken": list(self.broken),
            "error_groups": [
                {"group": group, "canary": canary, "baseline": baseline}
                for group, canary, baseline in self.error_groups
            ],
            "queries": list(self.queries),
        }

    def lines(self) -> list[str]:
        """The evidence as indented text lines."""
        start, end = self.window if self.window else ("?", "?")
        lines = [
            "Evidence to keep before rolling back:",
            f"  window: {start} .. {end}" if self.window else "  window: not given",
            f"  broken: {', '.join(self.broken)}",
        ]
        if self.error_groups:
            lines.append("  top error groups (canary / baseline):")
            lines += [f"    {c:>6} / {b:<6} {group}" for group, c, b in self.error_groups]
        lines += [f"  save: {query}" for query in self.queries]
        return lines


@dataclass(frozen=True)
class CanaryVerdict:
    """The verdict with every judged metric; ``str()`` gives the readable report."""

    verdict: str
    reason: str
    metrics: tuple[MetricResult, ...]
    settings: Mapping[str, Any]
    evidence: Evidence | None

    @property
    def healthy(self) -> bool:
        """Whether the canary may proceed."""
        return self.verdict == "healthy"

    @property
    def exit_code(self) -> int:
        """The ``prodguard canary`` exit status for this verdict."""
        return EXIT_CODES[self.verdict]

    def metric(self, name: str) -> MetricResult:
        """The judged line called ``name``."""
        for result in self.metrics:
            if result.name == name:
                return result
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, as recorded in the run's report."""
        return {
            "verdict": self.verdict,
            "reason": self.reason,
            "metrics": [result.to_dict() for result in self.metrics],
            "settings": jsonable(dict(self.settings)),
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
        }

    def text(self) -> str:
        """Headline, how the family-wise error is controlled, one line per metric, evidence."""
        settings = self.settings
        lines = [
            f"Canary verdict: {self.verdict.upper()} ({self.reason})",
            f"  Holm over {settings['tests']} tests, always valid over {settings['intervals']} "
            f"interval(s); alpha {settings['alpha']:g} (investigate), "
            f"{settings['rollback_alpha']:g} (rollback)",
        ]
        header = (
            "metric",
            "baseline",
            "canary",
            "ratio [interval]",
            "p (always valid)",
            "threshold",
            "status",
        )
        rows: list[tuple[str, ...]] = [header]
        rows += [_row(result) for result in self.metrics]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            lines.append(
                "  "
                + "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
        for result in self.metrics:
            if result.status == "insufficient" and result.check.shortfall:
                lines.append(f"  {result.name}: {result.check.shortfall}")
        if self.evidence is not None:
            lines += self.evidence.lines()
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


class CanaryError(AssertionError):
    """Raised by :func:`assert_canary_healthy`; the message is the readable verdict."""

    def __init__(self, verdict: CanaryVerdict) -> None:
        super().__init__(verdict.text())
        self.verdict = verdict

    def __reduce__(self) -> tuple[type[CanaryError], tuple[CanaryVerdict]]:
        # Rebuild from the verdict (not the message) when pickled, e.g. across processes.
        return (type(self), (self.verdict,))


CanaryError.__module__ = "pytest_prodguard.canary"


def canary_verdict(
    baseline: Arm | Mapping[str, Any],
    canary: Arm | Mapping[str, Any],
    *,
    slo: Mapping[str, float] | None = None,
    effect: float | Mapping[str, float] = DEFAULT_EFFECT,
    alpha: float = 0.05,
    rollback_alpha: float = 0.01,
    critical: Collection[str] | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> CanaryVerdict:
    """Judge a canary against a baseline running at the same time.

    ``baseline`` and ``canary`` are :class:`Arm` values or their JSON form
    (``docs/canary.md``). ``slo`` maps an error metric to its highest allowed
    rate (``{"errors": 0.01}``) or ``"<latency metric>:p<NN>"`` to the highest
    allowed percentile (``{"latency:p99": 0.5}``). ``effect`` is the rate or
    percentile ratio the rollout must be able to detect (one number, or per
    metric). ``alpha`` bounds false flags of any kind, ``rollback_alpha`` false
    rollbacks, both across all metrics and all intervals. ``critical`` names
    the metrics that alone force a rollback (default: every error metric).
    The verdict is recorded as ``"canary"`` in the running test's report.
    """
    base, cand = as_arm(baseline, "baseline"), as_arm(canary, "canary")
    options = _options(base, slo, effect, alpha, rollback_alpha, critical, quantiles)
    pairs = _paired_metrics(base, cand)
    built = _build_checks(pairs, options)
    tested = {
        index: check.p_value for index, check in enumerate(built) if check.p_value is not None
    }
    adjusted = (
        dict(zip(tested, adjust_pvalues(list(tested.values())), strict=True)) if tested else {}
    )
    results = tuple(
        MetricResult(check, adjusted.get(index), _status(check, adjusted.get(index), options))
        for index, check in enumerate(built)
    )
    verdict, reason = _overall(results)
    intervals = max(metric.intervals for metric in cand.metrics)
    settings = {
        "alpha": options.alpha,
        "rollback_alpha": options.rollback_alpha,
        "effect": dict(options.effects),
        "slo": dict(options.slo),
        "critical": sorted(options.critical),
        "quantiles": list(options.quantiles),
        "tests": len(tested),
        "intervals": intervals,
        "correction": "holm",
    }
    evidence = _evidence(base, cand, results) if verdict == "rollback" else None
    result = CanaryVerdict(verdict, reason, results, settings, evidence)
    recorder.record("canary", result.to_dict())
    return result


def assert_canary_healthy(
    baseline: Arm | Mapping[str, Any],
    canary: Arm | Mapping[str, Any],
    **options: Any,
) -> CanaryVerdict:
    """Like :func:`canary_verdict`, but raise :class:`CanaryError` unless the verdict is healthy."""
    __tracebackhide__ = True  # pytest shows the verdict, not this frame
    result = canary_verdict(baseline, canary, **options)
    if not result.healthy:
        raise CanaryError(result)
    return result


@dataclass(frozen=True)
class _Options:
    slo: Mapping[str, float]
    effects: Mapping[str, float]
    alpha: float
    rollback_alpha: float
    critical: frozenset[str]
    quantiles: tuple[float, ...]


def _options(
    base: Arm,
    slo: object,
    effect: object,
    alpha: object,
    rollback_alpha: object,
    critical: object,
    quantiles: object,
) -> _Options:
    names = [metric.name for metric in base.metrics]
    alpha_ = _validate.probability(alpha, field="alpha")
    rollback = _validate.probability(rollback_alpha, field="rollback_alpha")
    if rollback > alpha_:
        raise ProdguardUsageError("rollback_alpha", rollback_alpha, f"must be <= alpha ({alpha_})")
    if isinstance(quantiles, (str, bytes)) or not isinstance(quantiles, Sequence) or not quantiles:
        raise ProdguardUsageError("quantiles", quantiles, "a non-empty list such as [0.5, 0.95]")
    quantiles_ = tuple(
        _validate.probability(q, field=f"quantiles[{i}]") for i, q in enumerate(quantiles)
    )
    if len(set(quantiles_)) != len(quantiles_):
        raise ProdguardUsageError("quantiles", quantiles, "names a percentile twice")
    return _Options(
        slo=_slo(base, slo),
        effects=_effects(names, effect),
        alpha=alpha_,
        rollback_alpha=rollback,
        critical=_critical(base, critical),
        quantiles=quantiles_,
    )


def _effects(names: list[str], effect: object) -> dict[str, float]:
    default, overrides = DEFAULT_EFFECT, {}
    if isinstance(effect, Mapping):
        for name, value in effect.items():
            if name not in names:
                raise ProdguardUsageError("effect", name, f"names no metric; metrics: {names}")
            overrides[name] = _effect(value, f"effect[{name!r}]")
    else:
        default = _effect(effect, "effect")
    return {name: overrides.get(name, default) for name in names}


def _effect(value: object, field: str) -> float:
    number = _validate.real(value, field=field)
    if not 1.0 < number <= 100.0:
        raise ProdguardUsageError(field, value, "a ratio above 1 and at most 100 (2.0 = twice)")
    return number


def _slo(base: Arm, slo: object) -> dict[str, float]:
    if slo is None:
        return {}
    if not isinstance(slo, Mapping):
        raise ProdguardUsageError("slo", slo, 'a mapping such as {"errors": 0.01}')
    checked = {}
    for key, value in slo.items():
        name, _, percentile = str(key).partition(":")
        metric = base.metric(name)
        if isinstance(metric, ErrorCounts) and not percentile:
            checked[str(key)] = _validate.probability(value, field=f"slo[{key!r}]")
        elif isinstance(metric, LatencyData) and _percentile(percentile) is not None:
            checked[str(key)] = _validate.positive(value, field=f"slo[{key!r}]")
        else:
            raise ProdguardUsageError(
                f"slo[{key!r}]",
                value,
                "keys name an error metric ('errors') or a latency percentile ('latency:p99')",
            )
    return checked


def _percentile(text: str) -> float | None:
    if not text.startswith("p"):
        return None
    try:
        value = float(text[1:]) / 100
    except ValueError:
        return None
    return value if 0 < value < 1 else None


def _critical(base: Arm, critical: object) -> frozenset[str]:
    if critical is None:
        return frozenset(m.name for m in base.metrics if isinstance(m, ErrorCounts))
    if isinstance(critical, (str, bytes)) or not isinstance(critical, Collection):
        raise ProdguardUsageError("critical", critical, "a list of metric names")
    for name in critical:
        if base.metric(str(name)) is None:
            names = [m.name for m in base.metrics]
            raise ProdguardUsageError("critical", name, f"names no metric; metrics: {names}")
    return frozenset(str(name) for name in critical)


Pair = tuple[ErrorCounts, ErrorCounts] | tuple[LatencyData, LatencyData] | tuple[Gauge, Gauge]


def _paired_metrics(base: Arm, cand: Arm) -> list[Pair]:
    names_b = [m.name for m in base.metrics]
    names_c = [m.name for m in cand.metrics]
    if sorted(names_b) != sorted(names_c):
        raise ProdguardUsageError(
            "canary.metrics", names_c, f"must name the same metrics as the baseline {names_b}"
        )
    pairs: list[Pair] = []
    for metric_b in base.metrics:
        metric_c = cand.metric(metric_b.name)
        if type(metric_c) is not type(metric_b) or (
            isinstance(metric_b, Gauge)
            and isinstance(metric_c, Gauge)
            and metric_b.kind != metric_c.kind
        ):
            raise ProdguardUsageError(
                f"canary {metric_b.name}",
                type(metric_c).__name__,
                f"must be the same type as the baseline's ({type(metric_b).__name__})",
            )
        if not isinstance(metric_b, Gauge) and metric_c.intervals != metric_b.intervals:
            raise ProdguardUsageError(
                f"canary {metric_b.name}",
                metric_c.intervals,
                f"intervals must pair with the baseline's ({metric_b.intervals})",
            )
        pairs.append((metric_b, metric_c))  # type: ignore[arg-type]
    return pairs


def _build_checks(pairs: list[Pair], options: _Options) -> list[Check]:
    comparisons = sum(
        len(options.quantiles) if isinstance(b, LatencyData) else 1
        for b, _ in pairs
        if not isinstance(b, Gauge)
    )
    # Power is judged at the Bonferroni level, the strictest Holm can apply.
    level = options.alpha / max(1, comparisons + len(options.slo))
    built: list[Check] = []
    for metric_b, metric_c in pairs:
        name = metric_b.name
        critical = name in options.critical
        effect = options.effects[name]
        if isinstance(metric_b, ErrorCounts) and isinstance(metric_c, ErrorCounts):
            built.append(
                checks.error_rate_check(
                    metric_b,
                    metric_c,
                    effect=effect,
                    alpha=options.alpha,
                    level=level,
                    critical=critical,
                )
            )
            if name in options.slo:
                built.append(
                    checks.error_slo_check(
                        metric_c, slo=options.slo[name], effect=effect, critical=critical
                    )
                )
        elif isinstance(metric_b, LatencyData) and isinstance(metric_c, LatencyData):
            built += _latency_checks(metric_b, metric_c, options, level, critical)
        elif isinstance(metric_b, Gauge) and isinstance(metric_c, Gauge):
            built.append(checks.gauge_check(metric_b, metric_c, critical=critical))
    return built


def _latency_checks(
    base: LatencyData, cand: LatencyData, options: _Options, level: float, critical: bool
) -> list[Check]:
    effect = options.effects[base.name]
    built = [
        checks.latency_check(
            base, cand, q, effect=effect, alpha=options.alpha, level=level, critical=critical
        )
        for q in options.quantiles
    ]
    for key, limit in options.slo.items():
        name, _, percentile = key.partition(":")
        q = _percentile(percentile)
        if name == base.name and q is not None:
            built.append(checks.latency_slo_check(cand, q, slo=limit, critical=critical))
    return built


def _status(check: Check, adjusted: float | None, options: _Options) -> str:
    if check.limit_broken:
        return "rollback" if check.critical else "investigate"
    if adjusted is None:
        return "ok"
    if adjusted < options.rollback_alpha and check.critical:
        return "rollback"
    if adjusted < options.alpha:
        return "investigate"
    return "insufficient" if check.shortfall else "ok"


def _overall(results: Sequence[MetricResult]) -> tuple[str, str]:
    by_status = {
        status: [r.name for r in results if r.status == status]
        for status in ("rollback", "investigate", "insufficient")
    }
    if by_status["rollback"]:
        return "rollback", f"critical metric(s) broken: {', '.join(by_status['rollback'])}"
    if by_status["investigate"]:
        return "investigate", f"flagged: {', '.join(by_status['investigate'])}"
    if by_status["insufficient"]:
        return "insufficient_data", (
            f"cannot yet detect the configured effect: {', '.join(by_status['insufficient'])}"
        )
    return "healthy", "no metric worse than the baseline, and enough data to see it if it were"


def _evidence(base: Arm, cand: Arm, results: Sequence[MetricResult]) -> Evidence:
    broken = tuple(r.name for r in results if r.status in ("rollback", "investigate"))
    groups = sorted(
        (
            (group, count, base.error_groups.get(group, 0))
            for group, count in cand.error_groups.items()
        ),
        key=lambda item: (item[2] - item[1], item[0]),
    )[:TOP_GROUPS]
    return Evidence(
        window=cand.window,
        broken=broken,
        error_groups=tuple(groups),
        queries=cand.queries + _suggested_queries(cand),
    )


def _suggested_queries(cand: Arm) -> tuple[str, ...]:
    if not cand.labels:
        return ()
    selector = ",".join(f'{key}="{value}"' for key, value in sorted(cand.labels.items()))
    span = f" from {cand.window[0]} to {cand.window[1]}" if cand.window else ""
    return (
        f"logs {{{selector}}} level=error{span}",
        f"traces {{{selector}}} status=error{span}",
        f"traces {{{selector}}} slowest 1%{span}",
    )


def _row(result: MetricResult) -> tuple[str, ...]:
    check = result.check
    low, high = check.interval
    interval = f" [{low:.2f}, {high:.2f}]" if not (math.isnan(low) and math.isnan(high)) else ""
    ratio = "n/a" if math.isnan(check.ratio) else f"{check.ratio:.2f}{interval}"
    if check.kind == "slo" and not math.isnan(check.ratio):
        ratio = f"{check.ratio:.2f} of the SLO"
    if result.adjusted_p_value is None:
        p_cell = "-"
    else:
        holm = p_text(result.adjusted_p_value).removeprefix("p = ").removeprefix("p ")
        p_cell = f"{p_text(check.p_value or 0.0)}, Holm {holm}"
    status = result.status.upper() + (" *critical" if check.critical else "")
    return (check.name, check.baseline, check.canary, ratio, p_cell, check.threshold, status)
