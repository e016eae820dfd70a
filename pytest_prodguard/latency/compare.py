"""Compare a measurement with its saved baseline: regressed, improved, unchanged or inconclusive.

The statistic is ``s`` = the median over reference pairs of
log(target time / reference time), where the reference is the calibration
workload run right after the target round (:mod:`.reference`). Its difference
``d = s_now - centre`` (the runs' mean, or their prediction at this run's speed,
below) estimates the log of the slowdown ratio with the machine's momentary
speed divided out.

``d`` has two sources of noise:

- *within the run*: the order-statistic interval of the median of the pairs
  (distribution-free), which shrinks as the sampler takes more rounds;
- *between processes*: whole processes drift by a few percent even after the
  reference ratio; this is estimated from the spread of the baseline's saved
  runs, pooled with a prior (``sigma`` 5% on the same machine, 15% across
  machines, worth :data:`PRIOR_RUNS` runs) so that one or two runs do not
  claim an implausibly small spread.

On the same machine the baseline's centre is predicted at this run's
reference speed (:func:`baseline_model`): code that slows down less than the
reference in a slow mode (numpy) has a lower ratio in that mode, and runs saved
partly in it would otherwise be off-centre.

With ``se`` the combined standard error and ``t`` the Student quantile at the
look's share of alpha, the interval is ``d +- t*se`` and the verdict:

- **regressed**: the interval is above 0 (slower with significance) *and*
  ``d > log(1 + tolerance)`` (slower by more than the tolerance);
- **improved**: the mirror image (faster with significance, by more than the
  tolerance), flagged so that the baseline can be tightened;
- **inconclusive**: slower than the tolerance but not significantly;
- **unchanged**: otherwise.

If the between-process model holds, identical code is reported as regressed
with probability at most ``(1 - confidence) / 2`` (far less in practice,
because the point estimate must also exceed the tolerance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

from pytest_prodguard.latency.baseline import (
    RATIO,
    RAW,
    Baseline,
    BaselineRun,
    run_reference_time,
)
from pytest_prodguard.latency.decisions import (
    MIN_PAIRS,
    ComparisonDecision,
    Decisions,
    undecided_state,
)

# The comparison's state and setup live a floor below (with the sampler's decisions that
# carry them); this module, their first home, re-exports them.
from pytest_prodguard.latency.decisions import ComparisonSetup as ComparisonSetup
from pytest_prodguard.latency.decisions import ComparisonState as ComparisonState
from pytest_prodguard.latency.decisions import ComponentChoice as ComponentChoice
from pytest_prodguard.latency.environment import fingerprint_label
from pytest_prodguard.latency.measurement import (
    COMBINED,
    COMPONENTS,
    Measurement,
    RoundRecord,
    paired_log_ratios,
    reference_round_times,
)
from pytest_prodguard.latency.sequential import allocate_alpha, side_alpha
from pytest_prodguard.latency.stats import (
    quantile_bounds,
    sample_quantile,
    student_t_quantile,
)
from pytest_prodguard.units import format_duration

REGRESSED, IMPROVED, UNCHANGED, INCONCLUSIVE = "regressed", "improved", "unchanged", "inconclusive"
SIGMA_SAME_MACHINE = 0.05
SIGMA_CROSS_MACHINE = 0.15
PRIOR_RUNS = 2
#: Scaled median absolute deviations beyond which a baseline run is left out.
OUTLIER_MADS = 4.0
#: Ridge penalty (squared log-speed units) on the slope of the runs' statistic against
#: their reference speed: with runs saved at nearly one speed (a spread of 3% gives
#: 10 runs x 0.03^2 = 0.009) the slope is shrunk almost to 0; runs spread over slow and
#: fast modes (20%: 0.4) estimate it.
SLOPE_PENALTY = 0.05
#: The slope is kept within +-1: -1 means the code does not slow down at all when the
#: reference does, +1 that it slows down twice as much.
MAX_SLOPE = 1.0
#: The speed trend is used only when the runs show it clearly: least-squares slope
#: beyond this many standard errors (sigma pooled with the prior). A slope fitted to
#: noise and then extrapolated to a process in a slow mode moved JSON comparisons by
#: 5-7% in the benchmark; below this the runs' mean is used, as without speeds.
SLOPE_EVIDENCE = 3.0
#: Same-machine runs needed before a comparison may divide by one reference component
#: alone instead of their geometric mean (:func:`choose_component`).
MIN_RUNS_TO_CHOOSE = 5
#: A single component is used only when its pooled between-run spread is below this
#: share of the combined reference's: small differences are noise, and picking the
#: smallest of three noisy spreads would understate the spread that is used.
CHOOSE_FACTOR = 0.8


def select_runs(
    baseline: Baseline, fingerprint: dict[str, str], kind: str
) -> tuple[list[BaselineRun], bool]:
    """Baseline runs to compare with: same machine when there are any, else all (cross-machine)."""
    usable = [run for run in baseline.runs if run.kind == kind]
    same = [run for run in usable if dict(run.fingerprint) == fingerprint]
    if same:
        return same, False
    return usable, True


def between_run_sigma(runs: Sequence[BaselineRun], prior_sigma: float) -> tuple[float, float]:
    """Pooled between-run sd of the statistic and its degrees of freedom.

    The prior counts as PRIOR_RUNS runs with spread ``prior_sigma``: the
    posterior-mean form of a scaled-inverse-chi-square prior.
    """
    count = len(runs)
    center = math.fsum(run.statistic for run in runs) / count
    squares = math.fsum((run.statistic - center) ** 2 for run in runs)
    dof = PRIOR_RUNS + count - 1
    return math.sqrt((PRIOR_RUNS * prior_sigma**2 + squares) / dof), float(dof)


def run_log_reference(run: BaselineRun, component: str = COMBINED) -> float | None:
    """log of the run's median reference time (:func:`.baseline.run_reference_time`)."""
    time = run_reference_time(run, component)
    return math.log(time) if time is not None else None


def look_log_reference(
    reference_index: Sequence[int],
    reference_python: Sequence[float],
    reference_native: Sequence[float],
    rounds: int,
    component: str = COMBINED,
) -> float | None:
    """log of the median reference time among the rounds taken within the first ``rounds``."""
    times = reference_round_times(
        reference_index, reference_python, reference_native, rounds, component
    )
    return sample_quantile([math.log(time) for time in times], 0.5) if times else None


def project_runs(runs: Sequence[BaselineRun], component: str) -> list[BaselineRun]:
    """The runs with ``statistic`` replaced by their statistic for ``component``.

    Runs that did not record that component are dropped (none are for ``combined``).
    """
    if component == COMBINED:
        return list(runs)
    projected = []
    for run in runs:
        value = run.statistic_for(component)
        if value is not None:
            projected.append(replace(run, statistic=value))
    return projected


def choose_component(runs: Sequence[BaselineRun], prior_sigma: float) -> ComponentChoice:
    """Pick the reference component whose ratio moved least across this test's saved runs.

    The reference's two components slow down unequally when a process or the
    machine changes speed (an interpreter loop vs sorting and hashing in C), and
    code tracks the one that resembles it: on the project's machines the
    between-process spread of a pure-Python workload's ratio was 0.7% with the
    interpreter component alone against 2.1% with the geometric mean
    (``benchmarks/reference_candidates.py``). With at least
    :data:`MIN_RUNS_TO_CHOOSE` runs that recorded both components, each
    candidate's spread is pooled with the prior over the runs that
    :func:`leave_out_outliers` keeps for it, and a single component replaces the
    geometric mean only when its spread is below :data:`CHOOSE_FACTOR` times the
    geometric mean's. Fewer runs, or runs saved before components were recorded,
    keep the geometric mean.
    """
    if len(runs) < MIN_RUNS_TO_CHOOSE or any(
        run.statistic_for(component) is None for run in runs for component in COMPONENTS
    ):
        return ComponentChoice()
    spreads = {}
    for component in COMPONENTS:
        kept = leave_out_outliers(project_runs(runs, component), prior_sigma)
        spreads[component] = between_run_sigma(kept, prior_sigma)[0]
    best = min(COMPONENTS, key=lambda component: spreads[component])
    if spreads[best] >= CHOOSE_FACTOR * spreads[COMBINED]:
        best = COMBINED
    return ComponentChoice(best, spreads)


@dataclass(frozen=True)
class BaselineModel:
    """What the baseline runs predict for this run's statistic, and how precisely.

    ``center`` is the predicted statistic at this run's reference speed,
    ``sigma`` the between-run sd (pooled with the prior) on ``dof`` degrees of
    freedom, ``scale`` the prediction's inflation sqrt(1 + 1/m + leverage),
    ``slope`` the fitted change of the statistic per unit of log reference time
    and ``speed_shift`` this run's log reference time minus the runs' mean.
    """

    center: float
    sigma: float
    dof: float
    scale: float
    slope: float = 0.0
    speed_shift: float = 0.0


def baseline_model(
    runs: Sequence[BaselineRun],
    prior_sigma: float,
    log_reference: float | None = None,
    *,
    slope_evidence: float = SLOPE_EVIDENCE,
    component: str = COMBINED,
) -> BaselineModel:
    """Predict this run's statistic from the baseline runs, adjusting for machine speed.

    Without ``log_reference`` (or with fewer than 3 runs that recorded their
    reference speed) the prediction is the runs' mean, with
    :func:`between_run_sigma`. Otherwise the statistic is regressed on the
    runs' log reference time with a ridge penalty (:data:`SLOPE_PENALTY`) and
    the slope kept within +-:data:`MAX_SLOPE`, provided the runs show the trend
    clearly (least-squares slope beyond ``slope_evidence`` standard errors,
    :data:`SLOPE_EVIDENCE`): the reference does not slow down
    by the same factor as every kind of code (in slow modes of the shared
    machines numpy sorting slowed by about half as much as the reference), so a
    baseline saved partly in a slow mode would otherwise be off-centre for a
    run in the usual mode. The prior counts as PRIOR_RUNS runs, one degree of
    freedom goes to the slope, and the prediction variance grows with the
    distance of this run's speed from the runs' (the leverage term). The speeds
    are those of ``component``, the reference the runs' statistic divides by.
    """
    count = len(runs)
    speeds = [run_log_reference(run, component) for run in runs]
    if log_reference is None or count < 3 or any(speed is None for speed in speeds):
        sigma, dof = between_run_sigma(runs, prior_sigma)
        center = math.fsum(run.statistic for run in runs) / count
        return BaselineModel(center, sigma, dof, math.sqrt(1 + 1 / count))
    xs = [speed for speed in speeds if speed is not None]
    ys = [run.statistic for run in runs]
    x_mean, y_mean = math.fsum(xs) / count, math.fsum(ys) / count
    sxx = math.fsum((x - x_mean) ** 2 for x in xs)
    sxy = math.fsum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True))
    dof = PRIOR_RUNS + count - 2

    def pooled_sigma(slope: float) -> float:
        """Residual sd around the line with this slope, pooled with the prior."""
        squares = math.fsum(
            (y - y_mean - slope * (x - x_mean)) ** 2 for x, y in zip(xs, ys, strict=True)
        )
        return math.sqrt((PRIOR_RUNS * prior_sigma**2 + squares) / dof)

    least_squares = sxy / sxx if sxx > 0 else 0.0
    clear = sxx > 0 and abs(least_squares) > slope_evidence * pooled_sigma(
        least_squares
    ) / math.sqrt(sxx)
    if not clear:
        sigma, mean_dof = between_run_sigma(runs, prior_sigma)
        return BaselineModel(y_mean, sigma, mean_dof, math.sqrt(1 + 1 / count))
    slope = max(-MAX_SLOPE, min(MAX_SLOPE, sxy / (sxx + SLOPE_PENALTY)))
    sigma = pooled_sigma(slope)
    shift = log_reference - x_mean
    leverage = shift**2 / (sxx + SLOPE_PENALTY)
    return BaselineModel(
        y_mean + slope * shift,
        sigma,
        float(dof),
        math.sqrt(1 + 1 / count + leverage),
        slope,
        shift,
    )


def evaluate_comparison(
    values: Sequence[float],
    runs: Sequence[BaselineRun],
    tolerance: float,
    alpha: float,
    prior_sigma: float,
    *,
    between_alpha: float = 0.0125,
    final: bool = False,
    log_reference: float | None = None,
    component: str = COMBINED,
) -> ComparisonState:
    """Judge the current run's statistic values against baseline runs at one look.

    ``alpha`` is this look's share of the within-run error budget (for the
    order-statistic interval of the median), ``between_alpha`` the error budget
    of the between-run part, which is the same draw at every look and so is not
    split over looks. The interval is the within-run interval widened on each
    side by ``t * sqrt(between^2 + baseline_se^2)``; by the union bound it misses
    the true ratio with probability at most (sum of within shares) + between_alpha.
    With ``log_reference`` (this run's log median reference time, same machine)
    the baseline's centre and spread come from :func:`baseline_model`;
    ``component`` is the reference the statistic divides by (the ``runs`` carry
    their statistic for it, :func:`project_runs`).
    """
    count = len(values)
    if count < MIN_PAIRS or alpha <= 0 or not runs:
        return undecided_state(count)
    ordered = sorted(values)
    model = baseline_model(runs, prior_sigma, log_reference, component=component)
    center, sigma, dof = model.center, model.sigma, model.dof
    d = sample_quantile(ordered, 0.5) - center
    low_w, high_w = quantile_bounds(ordered, 0.5, alpha, alpha)
    if not (math.isfinite(low_w) and math.isfinite(high_w)):
        return undecided_state(count, d, sigma, dof)
    within_low, within_high = low_w - center, high_w - center
    between = sigma * model.scale
    se_base = math.sqrt(math.fsum(run.statistic_se**2 for run in runs) / len(runs) ** 2)
    margin = student_t_quantile(1 - between_alpha, dof) * math.sqrt(between**2 + se_base**2)
    low, high = within_low - margin, within_high + margin
    limit = math.log1p(tolerance)
    if d > limit and low > 0:
        status = REGRESSED
    elif d < -limit and high < 0:
        status = IMPROVED
    elif d > limit:
        status = INCONCLUSIVE
    else:
        status = UNCHANGED
    # More rounds only shrink the within-run interval; the between-run margin stays. A
    # regression (improvement) is still reachable only if the far end of the within-run
    # interval is beyond the tolerance and would stay significant after the margin.
    could_regress = within_high > limit and within_high - margin > 0
    could_improve = within_low < -limit and within_low + margin < 0
    decided = status in (REGRESSED, IMPROVED) or not (could_regress or could_improve)
    if final and not decided and status == UNCHANGED and could_regress:
        status = INCONCLUSIVE
    return ComparisonState(
        status,
        decided,
        d,
        low,
        high,
        within_low,
        within_high,
        count,
        sigma,
        dof,
        model.slope,
        model.speed_shift,
    )


def comparison_alphas(pair_counts: Sequence[int], confidence: float) -> list[float]:
    """Per-look within-run alphas: half of one side's error, spread over the looks.

    A look with p pairs can bound the median once 0.5**p <= its alpha. The
    other half (:func:`between_alpha`) covers the between-run part.
    """
    return allocate_alpha(
        pair_counts,
        side_alpha(confidence) / 2,
        lambda pairs, alpha: (
            pairs >= MIN_PAIRS and alpha > 0 and pairs * math.log(0.5) <= math.log(alpha)
        ),
    )


def between_alpha(confidence: float) -> float:
    """Error budget of the between-run part of the comparison interval (not split over looks)."""
    return side_alpha(confidence) / 2


def raw_log_values(samples: Sequence[float], rounds: int) -> list[float]:
    """log of the per-call times of the first ``rounds`` rounds (the RAW statistic's values)."""
    return [math.log(max(value, 1e-12)) for value in samples[:rounds]]


def pair_counts(record: RoundRecord, sizes: Sequence[int], kind: str) -> list[int]:
    """Values the statistic has at looks of ``sizes`` rounds: reference pairs, or rounds (RAW)."""
    if kind != RATIO:
        return list(sizes)
    return [sum(1 for index in record.reference_index if index < size) for size in sizes]


def planned_pair_counts(planned: Sequence[int], every: int, kind: str) -> list[int]:
    """Values the statistic will have at each planned look (a reference round every ``every``)."""
    if kind != RATIO:
        return list(planned)
    return [size // max(1, every) for size in planned]


def look_state(
    record: RoundRecord,
    rounds: int,
    setup: ComparisonSetup,
    tolerance: float,
    alpha: float,
    confidence: float,
    *,
    final: bool,
) -> ComparisonState:
    """The comparison at a look of the first ``rounds`` rounds of ``record``.

    The statistic's values are the paired log ratios (ratio statistic) or the
    log per-call times (raw); on the same machine the ratio's baseline is
    predicted at the reference speed of those rounds (:func:`baseline_model`).
    ``final`` marks the last look a measurement takes (:func:`evaluate_comparison`).
    """
    component = setup.component
    if setup.kind == RATIO:
        values = paired_log_ratios(
            record.samples,
            record.reference_index,
            record.reference_python,
            record.reference_native,
            rounds,
            component,
        )
    else:
        values = raw_log_values(record.samples, rounds)
    adjusted = setup.kind == RATIO and not setup.cross_machine
    log_reference = (
        look_log_reference(
            record.reference_index,
            record.reference_python,
            record.reference_native,
            rounds,
            component,
        )
        if adjusted
        else None
    )
    return evaluate_comparison(
        values,
        setup.runs,
        tolerance,
        alpha,
        setup.prior_sigma,
        between_alpha=between_alpha(confidence),
        final=final,
        log_reference=log_reference,
        component=component,
    )


def replay_comparison(
    measurement: Measurement, setup: ComparisonSetup, tolerance: float
) -> ComparisonDecision:
    """Replay the measurement's looks: the first deciding look's state, or the last look's.

    Look i spends the within-run alpha of planned look i; without looks the
    whole measurement is one look with the whole alpha. Used when the sampler's
    :class:`~.decisions.Decisions` are not at hand (external samples, a
    measurement judged against another baseline or tolerance).
    """
    looks = measurement.looks or (measurement.n,)
    counts = (
        planned_pair_counts(measurement.planned_looks, measurement.reference_every, setup.kind)
        if measurement.looks
        else pair_counts(measurement, looks, setup.kind)
    )
    alphas = comparison_alphas(counts, measurement.confidence)
    decision: ComparisonDecision | None = None
    for index, size in enumerate(looks):
        alpha = alphas[min(index, len(alphas) - 1)]
        final = index == len(looks) - 1
        state = look_state(
            measurement, size, setup, tolerance, alpha, measurement.confidence, final=final
        )
        elapsed = measurement.look_times[index] if index < len(measurement.look_times) else None
        decision = ComparisonDecision(setup, tolerance, state, size, elapsed)
        if state.decided:
            break
    assert decision is not None
    return decision


@dataclass(frozen=True)
class ComparisonVerdict:
    """Result of comparing a measurement with its baseline.

    ``ratio``, ``low`` and ``high`` are the slowdown factor now/baseline and its
    interval (1.25 = 25% slower). ``cross_machine`` is True when no baseline run
    came from a machine with the same fingerprint; ``label`` says so in words.
    ``slope`` and ``speed_shift`` are the speed adjustment of the deciding look
    (:class:`BaselineModel`).
    """

    status: str
    headline: str
    details: str
    ratio: float
    low: float
    high: float
    tolerance: float
    cross_machine: bool
    label: str
    baseline_runs: int
    statistic: str
    pairs: int
    n: int
    elapsed: float | None
    sigma_between: float
    nodeid: str = ""
    left_out: int = 0
    slope: float = 0.0
    speed_shift: float = 0.0
    component: str = COMBINED

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form; infinite bounds become None."""

        def finite(value: float) -> float | None:
            return value if math.isfinite(value) else None

        return {
            "kind": "latency_baseline_comparison",
            "status": self.status,
            "headline": self.headline,
            "ratio": finite(self.ratio),
            "low": finite(self.low),
            "high": finite(self.high),
            "tolerance": self.tolerance,
            "cross_machine": self.cross_machine,
            "label": self.label,
            "baseline_runs": self.baseline_runs,
            "statistic": self.statistic,
            "pairs": self.pairs,
            "n": self.n,
            "elapsed": self.elapsed,
            "sigma_between": finite(self.sigma_between),
            "nodeid": self.nodeid,
            "left_out": self.left_out,
            "speed_slope": self.slope,
            "reference_speed": math.exp(self.speed_shift),
            "reference_component": self.component,
        }


def _ratio_text(value: float) -> str:
    return f"{value:.3g}x" if math.isfinite(value) else ("inf" if value > 0 else "0x")


def _headline(
    status: str,
    ratio: float,
    low: float,
    high: float,
    tolerance: float,
    confidence: float,
    tail: str,
) -> str:
    interval = f"({confidence:.0%} CI {_ratio_text(low)}–{_ratio_text(high)})"
    percent = f"{tolerance:.0%}"
    value = f"{_ratio_text(ratio)} the baseline {interval}"
    if status == REGRESSED:
        return f"latency regression: {value} > tolerance +{percent} {tail}"
    if status == IMPROVED:
        return (
            f"latency improvement: {value}, faster by more than {percent}; "
            f"save a new baseline to tighten it {tail}"
        )
    if status == INCONCLUSIVE:
        return f"latency vs baseline undecided: {value}, tolerance +{percent} {tail}"
    return f"latency unchanged vs baseline: {value}, tolerance +{percent} {tail}"


def prepare_comparison(
    baseline: Baseline, fingerprint: dict[str, str], *, has_reference: bool
) -> ComparisonSetup:
    """Pick the statistic (ratio when both sides have reference rounds) and the baseline runs.

    On the same machine the ratio divides by the reference component that
    tracked this test best across its runs (:func:`choose_component`). Runs far
    from the others (:func:`leave_out_outliers`) are left out and counted in
    ``left_out``.
    """
    kind = RATIO if has_reference else RAW
    runs, cross = select_runs(baseline, fingerprint, kind)
    if not runs and kind == RATIO:
        kind = RAW
        runs, cross = select_runs(baseline, fingerprint, kind)
    prior = SIGMA_CROSS_MACHINE if cross else SIGMA_SAME_MACHINE
    choice = choose_component(runs, prior) if kind == RATIO and not cross else ComponentChoice()
    kept = leave_out_outliers(project_runs(runs, choice.component), prior)
    return ComparisonSetup(
        tuple(kept),
        cross,
        prior,
        kind,
        left_out=len(runs) - len(kept),
        choice=choice,
        baseline=baseline,
        fingerprint=MappingProxyType(dict(fingerprint)),
    )


def leave_out_outliers(runs: Sequence[BaselineRun], prior_sigma: float) -> list[BaselineRun]:
    """The runs within a robust distance of the others; all of them when fewer than three.

    A run saved while its process was in a slow (or fast) mode would otherwise
    shift the baseline's centre and inflate its spread, so that nothing short of
    a 2x slowdown could be significant. With three or more runs, a run is left
    out when it is further from the median of the runs than both
    ``OUTLIER_MADS`` scaled median absolute deviations and ``2 * prior_sigma``
    (10% on the same machine): only runs that are clearly off are dropped, and
    the prior keeps the spread of the remaining runs from being trusted blindly.
    The runs that stay are the ones the speed trend (:func:`baseline_model`) is
    fitted on, so one odd run cannot bend it.
    """
    if len(runs) < 3:
        return list(runs)
    values = sorted(run.statistic for run in runs)
    center = sample_quantile(values, 0.5)
    mad = sample_quantile(sorted(abs(value - center) for value in values), 0.5)
    limit = max(OUTLIER_MADS * 1.4826 * mad, 2 * prior_sigma)
    return [run for run in runs if abs(run.statistic - center) <= limit]


def compare_to_baseline(
    measurement: Measurement,
    baseline: Baseline,
    *,
    tolerance: float,
    nodeid: str = "",
    decisions: Decisions | None = None,
) -> ComparisonVerdict:
    """Compare ``measurement`` with ``baseline`` at ``tolerance`` (0.1 = fail above +10%).

    ``tolerance`` is a parsed fraction (``settings.parse_tolerance`` validates user input).
    ``decisions`` from the sampler that took ``measurement`` against this
    ``baseline`` at this ``tolerance`` (:func:`.sampler.measure_with_decisions`)
    carry the setup prepared before sampling and the look that decided: they
    are used as they are and nothing is evaluated again. Without them (or for
    another measurement, baseline or tolerance) the setup is prepared here and
    the sampler's looks are replayed (:func:`replay_comparison`).
    """
    fingerprint = dict(measurement.fingerprint)
    decision = (
        decisions.comparison_for(measurement, baseline, tolerance)
        if decisions is not None
        else None
    )
    if decision is None:
        decision = _replayed(measurement, baseline, fingerprint, tolerance)
    return _verdict(measurement, decision, fingerprint, nodeid)


def _replayed(
    measurement: Measurement, baseline: Baseline, fingerprint: dict[str, str], tolerance: float
) -> ComparisonDecision:
    """The comparison decided from scratch: the setup prepared, then the looks replayed."""
    setup = prepare_comparison(
        baseline, fingerprint, has_reference=len(measurement.paired_log_ratios()) >= MIN_PAIRS
    )
    if not setup.runs:
        return ComparisonDecision(setup, tolerance, undecided_state(0), measurement.n, None)
    return replay_comparison(measurement, setup, tolerance)


def _verdict(
    measurement: Measurement,
    decision: ComparisonDecision,
    fingerprint: dict[str, str],
    nodeid: str,
) -> ComparisonVerdict:
    """The verdict, headline and details of a decided comparison."""
    setup, state, tolerance = decision.setup, decision.state, decision.tolerance
    runs, cross, prior, kind = list(setup.runs), setup.cross_machine, setup.prior_sigma, setup.kind
    rounds, elapsed = decision.rounds, decision.elapsed
    label = _label(runs, fingerprint, cross)
    ratio, low, high = math.exp(state.d), math.exp(state.low), math.exp(state.high)
    time_text = f", {elapsed:.2g} s" if elapsed is not None else ""
    tail = f"[n={rounds}{time_text}, {len(runs)} baseline run(s), {label}]"
    reference = "" if setup.component == COMBINED else f" ({setup.component} reference component)"
    statistic = (
        f"median of log(target/reference) over interleaved pairs{reference}"
        if kind == RATIO
        else "median per-call time (not normalized: no reference rounds)"
    )
    headline = _headline(state.status, ratio, low, high, tolerance, measurement.confidence, tail)
    details = _details(state, runs, label, statistic, measurement, tolerance, prior)
    if setup.choice.describe():
        details += "\n" + setup.choice.describe()
    if setup.left_out:
        details += (
            f"\n  {setup.left_out} saved run(s) left out as outliers (further from the median "
            "of the runs than 4 scaled MADs and twice the prior spread)"
        )
    return ComparisonVerdict(
        status=state.status,
        headline=headline,
        details=details,
        ratio=ratio,
        low=low,
        high=high,
        tolerance=tolerance,
        cross_machine=cross,
        label=label,
        baseline_runs=len(runs),
        statistic=statistic,
        pairs=state.pairs,
        n=rounds,
        elapsed=elapsed,
        sigma_between=state.sigma_between,
        nodeid=nodeid,
        left_out=setup.left_out,
        slope=state.slope,
        speed_shift=state.speed_shift,
        component=setup.component,
    )


def _label(runs: Sequence[BaselineRun], fingerprint: dict[str, str], cross: bool) -> str:
    if not runs:
        return "no usable baseline run"
    if not cross:
        return "same machine"
    other = fingerprint_label(dict(runs[-1].fingerprint))
    return f"cross-machine: baseline from {other}, now {fingerprint_label(fingerprint)}"


def _details(
    state: ComparisonState,
    runs: Sequence[BaselineRun],
    label: str,
    statistic: str,
    measurement: Measurement,
    tolerance: float,
    prior: float,
) -> str:
    lines = [
        f"baseline comparison: {state.status} ({label})",
        f"  statistic: {statistic}",
        f"  ratio now/baseline {_ratio_text(math.exp(state.d))}, interval "
        f"{_ratio_text(math.exp(state.low))}–{_ratio_text(math.exp(state.high))}, "
        f"tolerance +{tolerance:.0%}; within this run alone "
        f"{_ratio_text(math.exp(state.within_low))}–{_ratio_text(math.exp(state.within_high))}",
    ]
    if runs:
        saved = sorted(run.saved_at for run in runs)
        lines.append(
            f"  baseline: {len(runs)} run(s) saved {saved[0]} .. {saved[-1]}; between-run spread "
            f"{state.sigma_between:.1%} (prior {prior:.0%} counted as {PRIOR_RUNS} runs)"
        )
        medians = sorted(run.quantiles["p50"] for run in runs if "p50" in run.quantiles)
        now = measurement.quantiles().get("p50")
        if medians and now:
            lines.append(
                f"  raw medians: baseline {format_duration(medians[len(medians) // 2])}, "
                f"now {format_duration(now)} (not normalized)"
            )
    if state.speed_shift:
        lines.append(
            f"  machine speed: the reference ran {math.exp(state.speed_shift):.2f}x its mean time "
            f"in the baseline runs; across the runs the statistic moved {state.slope:+.2f} per "
            "unit of log reference time, so the baseline is predicted "
            f"{math.expm1(state.slope * state.speed_shift):+.1%} at this speed"
        )
    return "\n".join(lines)


def summarise_baseline(baseline: Baseline, fingerprint: dict[str, str]) -> str:
    """One line about a saved baseline, as a comparison on this machine would use it.

    Runs, how many are from this machine, when they were saved, the median
    per-call time of the newest run, and, for the ratio statistic, its spread
    across the runs and the reference component a comparison divides by.
    """
    runs = baseline.runs
    setup = prepare_comparison(baseline, fingerprint, has_reference=True)
    same = sum(1 for run in runs if dict(run.fingerprint) == fingerprint)
    saved = sorted(run.saved_at for run in runs)
    parts = [
        f"{len(runs)} run(s), {same} from this machine",
        f"saved {saved[0]} .. {saved[-1]}" if len(saved) > 1 else f"saved {saved[0]}",
    ]
    median = runs[-1].quantiles.get("p50")
    if median is not None:
        parts.append(f"p50 {format_duration(median)}")
    if setup.runs and setup.kind == RATIO:
        values = [run.statistic for run in setup.runs]
        sigma = f"{_sample_sd(values):.1%}" if len(values) > 1 else "n/a"
        where = "cross-machine" if setup.cross_machine else f"{setup.component} reference"
        parts.append(f"ratio spread {sigma} ({where})")
    elif setup.runs:
        parts.append("raw times (no reference rounds)")
    if setup.left_out:
        parts.append(f"{setup.left_out} run(s) left out as outliers")
    return "; ".join(parts)


def _sample_sd(values: Sequence[float]) -> float:
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((value - mean) ** 2 for value in values) / (len(values) - 1))
