"""Turn a measurement and a spec into one verdict with a headline and a details section.

Every budget failure has the same shape::

    latency budget exceeded: p95 = 31.2 ms (95% CI 29.8 ms–33 ms) > budget 20 ms [n=412, 1.9 s]

followed by a details section: every budget with its interval and the look
that decided it, every estimated percentile with its interval, the samples
taken, the CPU wait removed, GC activity, the reference workload, peak
memory, the baseline comparison (when given), the environment and a line that
reproduces the test.

The duration budgets' checks come from the sampler's look judge
(:mod:`.looks`), which evaluated each budget at its looks until one decided it
(:class:`~.decisions.Decisions`); without them (external samples, another
spec) the looks recorded in the measurement are replayed here
(:func:`.checks.replay_statistic`), with the same result.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.latency.checks import (
    FAIL,
    INCONCLUSIVE,
    PASS,
    Check,
    memory_check,
    replay_statistic,
)
from pytest_prodguard.latency.compare import INCONCLUSIVE as COMPARISON_INCONCLUSIVE
from pytest_prodguard.latency.compare import REGRESSED, ComparisonVerdict
from pytest_prodguard.latency.decisions import Decisions
from pytest_prodguard.latency.environment import format_environment
from pytest_prodguard.latency.measurement import Measurement, quantile_interval
from pytest_prodguard.latency.spec import QUANTILES, LatencySpec
from pytest_prodguard.latency.stats import mean_bounds
from pytest_prodguard.units import format_bytes, format_duration

INCONCLUSIVE_POLICIES = ("warn", "fail")


@dataclass(frozen=True)
class LatencyVerdict:
    """The verdict on one measured callable.

    ``status`` is ``"pass"``, ``"fail"``, ``"warn"`` (a warn tier was exceeded)
    or ``"inconclusive"`` (some fail-tier budget stayed undecided and the
    inconclusive policy is ``"warn"``). ``headline`` is one line; ``details`` the
    multi-line section for the report.
    """

    status: str
    headline: str
    details: str
    checks: tuple[Check, ...]
    measurement: Measurement
    comparison: ComparisonVerdict | None = None
    nodeid: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form, for ``report.user_properties`` and the JSON report."""
        return {
            "kind": "latency_budget",
            "status": self.status,
            "headline": self.headline,
            "details": self.details,
            "nodeid": self.nodeid,
            "checks": [check.to_dict() for check in self.checks],
            "comparison": self.comparison.to_dict() if self.comparison else None,
            "measurement": self.measurement.to_dict(),
        }


def _validate_policy(inconclusive: str) -> None:
    if inconclusive not in INCONCLUSIVE_POLICIES:
        raise ProdguardUsageError(
            "prodguard_latency_inconclusive",
            inconclusive,
            "'warn' (an undecided budget is a warning) or 'fail' (it fails the test)",
        )


def measurement_from_samples(samples: Sequence[float], *, confidence: float = 0.95) -> Measurement:
    """Wrap externally measured per-call seconds (e.g. pytest-benchmark's) as a Measurement."""
    values = tuple(float(value) for value in samples)
    for value in values:
        if not math.isfinite(value) or value < 0:
            raise ProdguardUsageError(
                "samples", value, "finite, non-negative per-call durations in seconds"
            )
    return Measurement(
        samples=values,
        wall_samples=values,
        batch=1,
        elapsed=math.fsum(values),
        confidence=confidence,
        timer="external",
    )


def _checks(
    measurement: Measurement, spec: LatencySpec, decisions: Decisions | None
) -> list[Check]:
    decided = decisions.checks_for(measurement, spec) if decisions is not None else None
    duration = list(decided) if decided is not None else _replayed_checks(measurement, spec)
    return duration + _memory_checks(measurement, spec)


def _replayed_checks(measurement: Measurement, spec: LatencySpec) -> list[Check]:
    """Every duration budget judged by replaying the measurement's looks (one look if none)."""
    return [
        replay_statistic(
            name,
            budget,
            tier,
            measurement.samples,
            measurement.looks,
            measurement.planned_looks,
            measurement.confidence,
            measurement.look_times,
            prefix=measurement.decision_samples,
            fail_from=measurement.first_fail_look,
        )
        for name, tier, budget in spec.duration_budgets()
    ]


def _memory_checks(measurement: Measurement, spec: LatencySpec) -> list[Check]:
    checks: list[Check] = []
    for tier, budget in (("fail", spec.peak_memory), ("warn", spec.warn_peak_memory)):
        if budget is None:
            continue
        if measurement.peak_memory is None:
            checks.append(
                Check(
                    "peak_memory",
                    tier,
                    float(budget),
                    INCONCLUSIVE,
                    math.nan,
                    math.nan,
                    math.nan,
                    0,
                    unit="bytes",
                    note="peak memory was not measured",
                )
            )
            continue
        checks.append(
            memory_check(
                "peak_memory", tier, budget, measurement.peak_memory, measurement.memory_calls
            )
        )
        if measurement.cuda_peak_memory is not None:
            checks.append(
                memory_check(
                    "peak_memory (cuda)",
                    tier,
                    budget,
                    measurement.cuda_peak_memory,
                    measurement.memory_calls,
                )
            )
    return checks


def overall_status(
    checks: Sequence[Check], comparison: ComparisonVerdict | None, policy: str
) -> str:
    """pass | warn | inconclusive | fail from the budget checks and the baseline comparison.

    ``policy`` is what an undecided fail-tier check or comparison counts as
    (``"warn"`` keeps it inconclusive, ``"fail"`` fails).
    """
    fail_tier = [check for check in checks if check.tier == "fail"]
    if any(check.status == FAIL for check in fail_tier):
        return "fail"
    if comparison is not None and comparison.status == REGRESSED:
        return "fail"
    undecided = any(check.status == INCONCLUSIVE for check in fail_tier) or (
        comparison is not None and comparison.status == COMPARISON_INCONCLUSIVE
    )
    if undecided:
        return "fail" if policy == "fail" else "inconclusive"
    if any(check.status == FAIL for check in checks if check.tier == "warn"):
        return "warn"
    return "pass"


def _bracket(check: Check, measurement: Measurement) -> str:
    if check.unit == "bytes":
        return f"[{check.note}]" if check.note else ""
    parts = [f"n={check.n}"]
    if measurement.batch > 1:
        parts[0] += f" rounds of {measurement.batch} calls"
    if check.elapsed is not None:
        parts.append(f"{check.elapsed:.2g} s")
    return f"[{', '.join(parts)}]"


def _value_text(check: Check, confidence: float) -> str:
    value = f"{check.name} = {check.format_value(check.estimate)}"
    interval = check.interval_text()
    if interval == "observed" or check.unit == "bytes":
        return value
    return f"{value} ({confidence:.0%} CI {interval})"


def _check_headline(check: Check, measurement: Measurement, spec: LatencySpec, prefix: str) -> str:
    what = "memory budget" if check.unit == "bytes" else "latency budget"
    value = _value_text(check, measurement.confidence)
    budget = check.format_value(check.budget)
    tail = _bracket(check, measurement)
    if check.tier == "warn" and check.status == FAIL:
        fail_budget = spec.budgets.get(check.name)
        if check.unit == "bytes":
            fail_budget = spec.peak_memory
        also = f" (budget {check.format_value(fail_budget)})" if fail_budget is not None else ""
        return f"{what} warn tier exceeded: {value} > warn {budget}{also} {tail}".rstrip()
    if check.status == FAIL:
        return f"{what} exceeded: {value} > budget {budget} {tail}".rstrip()
    if check.status == INCONCLUSIVE:
        why = f"; {check.note}" if check.note else ""
        return f"{what} undecided{prefix}: {value} vs budget {budget} {tail}".rstrip() + why
    return f"{what} met: {value} <= budget {budget} {tail}".rstrip()


def _headline(
    status: str,
    checks: Sequence[Check],
    comparison: ComparisonVerdict | None,
    measurement: Measurement,
    spec: LatencySpec,
) -> str:
    fail_tier = [check for check in checks if check.tier == "fail"]
    failed = [check for check in fail_tier if check.status == FAIL]
    if failed:
        return _check_headline(failed[0], measurement, spec, "")
    if comparison is not None and comparison.status == REGRESSED:
        return comparison.headline
    undecided = [check for check in fail_tier if check.status == INCONCLUSIVE]
    if status in ("fail", "inconclusive") and undecided:
        suffix = " (counted as a failure)" if status == "fail" else ""
        return _check_headline(undecided[0], measurement, spec, suffix)
    if status in ("fail", "inconclusive") and comparison is not None:
        return comparison.headline
    warned = [check for check in checks if check.tier == "warn" and check.status == FAIL]
    if warned:
        return _check_headline(warned[0], measurement, spec, "")
    candidates = fail_tier or list(checks)
    if not candidates:
        return comparison.headline if comparison is not None else "latency measured"
    tightest = max(candidates, key=lambda check: _closeness(check))
    return _check_headline(tightest, measurement, spec, "")


def _closeness(check: Check) -> float:
    if not math.isfinite(check.estimate) or check.budget <= 0:
        return -math.inf
    return check.estimate / check.budget


def _check_line(check: Check, measurement: Measurement) -> str:
    status = check.status.upper()
    if check.tier == "warn":
        status = {FAIL: "WARN", PASS: "ok", INCONCLUSIVE: "undecided"}[check.status]
    where = f" at n={check.n}" if check.unit != "bytes" else ""
    if check.elapsed is not None:
        where += f" ({check.elapsed:.2g} s)"
    interval = check.interval_text()
    text = (
        f"  {check.name:<18} {check.tier:<4} {check.format_value(check.estimate):>10}  "
        f"[{interval}]  budget {check.format_value(check.budget)}  {status}{where}"
    )
    return f"{text}; {check.note}" if check.note else text


def _estimates_line(measurement: Measurement) -> str:
    if not measurement.samples:
        return "estimates: no samples"
    parts = []
    # The judged times once for every estimate (normalizing them costs more than sorting).
    values = measurement.decision_samples()
    ordered = sorted(values)
    for name, q in QUANTILES.items():
        estimate, low, high = quantile_interval(ordered, q, measurement.confidence)
        parts.append(f"{name} {format_duration(estimate)} [{_bound(low)}–{_bound(high)}]")
    alpha = (1 - measurement.confidence) / 2
    mean = math.fsum(values) / measurement.n
    low, high = mean_bounds(values, alpha, alpha)
    parts.append(f"mean {format_duration(mean)} [{_bound(low)}–{_bound(high)}]")
    parts.append(f"max {format_duration(ordered[-1])}")
    scale = ", at the machine's typical speed" if measurement.normalized else ""
    return (
        f"estimates at n={measurement.n} "
        f"({measurement.confidence:.0%} intervals, not sequential{scale}):\n    "
        + "\n    ".join(parts)
    )


def _normalization_line(measurement: Measurement) -> str:
    """How the judged times relate to the raw ones (machine-speed normalization)."""
    factor = measurement.speed_factor()
    if measurement.normalized_to == "saved runs" and factor is not None:
        raw = _raw_p95_note(measurement)
        return (
            f"machine speed: budgets judged at this machine's typical speed; the reference "
            f"workload ran {factor:.3g}x its median over {measurement.nominal_runs} saved "
            f"baseline run(s) of this test, and each round was rescaled by its neighbouring "
            f"reference rounds{raw}"
        )
    if measurement.normalized_to == "this run":
        return (
            "machine speed: budgets judged at this run's typical speed; rounds beside "
            "reference rounds slower than their median in this run were rescaled to it "
            f"(bursts of a slower machine){_raw_p95_note(measurement)}; saving a baseline with "
            "--prodguard-baseline-save also corrects a whole run on a slow machine"
        )
    if measurement.timer == "external":
        reason = "no reference rounds in external samples"
    elif measurement.normalization_note == "switched off":
        reason = "switched off"
    elif not measurement.reference_index:
        reason = "no reference rounds"
    else:
        reason = measurement.normalization_note or "no nominal reference time given"
    return f"machine speed: raw times judged, not normalized ({reason})"


def _raw_p95_note(measurement: Measurement) -> str:
    """The `; raw p95 ...` suffix of a normalized line: the times before rescaling."""
    raw_p95 = measurement.quantiles().get("p95")
    return f"; raw p95 {format_duration(raw_p95)}" if raw_p95 is not None else ""


def _bound(value: float) -> str:
    return format_duration(value) if math.isfinite(value) else ("-inf" if value < 0 else "inf")


def _sampling_lines(measurement: Measurement) -> list[str]:
    lines = [
        f"samples: {measurement.n} rounds x {measurement.batch} call(s) in "
        f"{measurement.elapsed:.3g} s (stopped: {measurement.stop_reason}; looks at "
        f"{', '.join(str(size) for size in measurement.looks) or 'end only'}); warm-up "
        f"{measurement.warmup_calls} call(s) in {measurement.warmup_seconds:.3g} s; timer "
        f"{measurement.timer}"
        + (
            f" (overhead {measurement.timer_overhead_ns:.0f} ns)"
            if measurement.timer_overhead_ns
            else ""
        )
    ]
    if measurement.include_cpu_wait:
        lines.append("CPU wait: included (raw wall time judged)")
    elif measurement.cpu_wait_available:
        raw_p95 = measurement.quantiles(wall=True).get("p95")
        raw = f"; raw wall-time p95 {format_duration(raw_p95)}" if raw_p95 is not None else ""
        lines.append(
            f"CPU wait removed: {measurement.cpu_wait_seconds:.3g} s over "
            f"{measurement.cpu_wait_rounds} round(s) spent waiting for a CPU held by other "
            f"processes{raw}"
        )
    elif measurement.timer != "external":
        lines.append("CPU wait: not measurable on this system (raw wall time judged)")
    gen0, gen1, gen2 = measurement.gc_collections
    if measurement.timer != "external":
        lines.append(
            f"GC during sampling (collector enabled): {gen0} gen0, {gen1} gen1, "
            f"{gen2} gen2 collections"
        )
    medians = measurement.reference_medians()
    if medians:
        lines.append(
            f"reference workload: python {format_duration(medians['python'])}, native "
            f"{format_duration(medians['native'])} (medians of {len(measurement.reference_index)} "
            f"rounds, one after every {measurement.reference_every} target round(s))"
        )
    lines.append(_normalization_line(measurement))
    if measurement.peak_memory is not None:
        cuda = (
            f"; CUDA peak {format_bytes(measurement.cuda_peak_memory)}"
            if measurement.cuda_peak_memory is not None
            else ""
        )
        lines.append(
            f"memory: peak {format_bytes(measurement.peak_memory)} above the start of the call "
            f"(max of {measurement.memory_calls} traced calls){cuda}"
        )
    return lines


def _reproduce(nodeid: str, comparison: ComparisonVerdict | None) -> str:
    if not nodeid:
        return "reproduce: re-run this test with pytest"
    extra = ""
    if comparison is not None:
        extra = f" --prodguard-baseline-compare={comparison.tolerance:.0%}"
    return f"reproduce: python -m pytest {shlex.quote(nodeid)}{extra}"


def _details(
    status: str,
    checks: Sequence[Check],
    comparison: ComparisonVerdict | None,
    measurement: Measurement,
    spec: LatencySpec,
    nodeid: str,
) -> str:
    lines = [f"latency verdict: {status} ({spec.describe() or 'no budgets'})"]
    if checks:
        lines.append(
            f"budgets ({measurement.confidence:.0%} sequential intervals; "
            "percentiles distribution-free, mean Student-t):"
        )
        lines.extend(_check_line(check, measurement) for check in checks)
    lines.append(_estimates_line(measurement))
    lines.extend(_sampling_lines(measurement))
    if comparison is not None:
        lines.append(comparison.headline)
        lines.append(comparison.details)
    lines.append(
        format_environment(dict(measurement.environment_start), dict(measurement.environment_end))
    )
    lines.append(_reproduce(nodeid, comparison))
    return "\n".join(lines)


def judge(
    measurement: Measurement,
    spec: LatencySpec,
    *,
    inconclusive: str = "warn",
    comparison: ComparisonVerdict | None = None,
    nodeid: str = "",
    decisions: Decisions | None = None,
) -> LatencyVerdict:
    """Judge every budget of ``spec`` on ``measurement``.

    ``inconclusive="fail"`` turns an undecided fail-tier budget into a failure;
    with ``"warn"`` (default) the status is ``"inconclusive"``. A given
    ``comparison`` (from :func:`compare_to_baseline`) joins the verdict: a
    regression fails it, an undecided comparison counts as inconclusive, and
    its lines appear in the details. ``nodeid`` goes into the reproduce line.

    ``decisions`` from the sampler that took ``measurement`` with this ``spec``
    (:func:`.sampler.measure_with_decisions`) hold each duration budget's check
    from the look that decided it: they are used as they are, and nothing is
    evaluated again. Without them (external samples, another spec) the
    sampler's looks are replayed: each budget is evaluated at each look taken
    until one decides it (one look, with the whole error budget, when the
    measurement has none). Memory budgets are judged here either way.
    """
    _validate_policy(inconclusive)
    checks = _checks(measurement, spec, decisions)
    status = overall_status(checks, comparison, inconclusive)
    headline = _headline(status, checks, comparison, measurement, spec)
    details = _details(status, checks, comparison, measurement, spec, nodeid)
    return LatencyVerdict(status, headline, details, tuple(checks), measurement, comparison, nodeid)


def judge_samples(
    samples: Sequence[float],
    spec: LatencySpec,
    *,
    inconclusive: str = "warn",
    nodeid: str = "",
) -> LatencyVerdict:
    """Judge external per-call seconds (pytest-benchmark's rounds): one look, no adaptivity."""
    _validate_policy(inconclusive)
    if not samples:
        raise ProdguardUsageError("samples", list(samples), "at least one measured duration")
    measurement = measurement_from_samples(samples, confidence=spec.confidence)
    return judge(measurement, spec, inconclusive=inconclusive, nodeid=nodeid)
