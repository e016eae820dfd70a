"""The adaptive sampler: warm up, time rounds, interleave the reference, stop when decided.

Procedure (:func:`measure`):

1. Warm-up: ``warmup`` unmeasured calls, or automatically calls for 2.5% of
   ``max_time`` (at least one, at most 10%); calls shorter than 20 us are then
   batched (:mod:`.timing`).
2. ``gc.collect()`` once, so that every run starts from the same heap state;
   the collector stays enabled while sampling because its pauses are real
   latency of allocation-heavy code. Collections during sampling are counted
   and reported.
3. Rounds of the target; after every ``k``-th round one round of the
   reference workload, with ``k`` chosen so that the reference costs about a
   quarter of the target's time.
4. Looks after 10, 20, 40, ... rounds, up to the number of rounds that fits in
   ``max_time`` (estimated from the warm-up). At each look the look judge
   (:mod:`.looks`) evaluates, once, every budget of both tiers and the baseline
   comparison not decided at an earlier look; sampling stops as soon as every
   fail-tier budget (except ``max``) and the comparison are decided, at the
   last planned look, or when ``max_time`` of sampling has passed (that last
   look, judged too, spends the error share of the next planned look). What
   the looks decided comes with the measurement
   (:func:`measure_with_decisions`), so the verdict does not evaluate it
   again. Without budgets to decide, sampling records for a fixed 0.5 s (at
   most ``max_time``).
5. Peak memory, when a memory budget is set, in separate calls (:mod:`.memory`).
"""

from __future__ import annotations

import functools
import gc
import math
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, cast

from pytest_prodguard.latency import callables
from pytest_prodguard.latency.baseline import Baseline, nominal_reference
from pytest_prodguard.latency.compare import prepare_comparison
from pytest_prodguard.latency.decisions import ComparisonSetup, Decisions
from pytest_prodguard.latency.environment import (
    describe_environment,
    machine_fingerprint,
    snapshot_processes,
)
from pytest_prodguard.latency.looks import LookJudge, Rounds, needs_looks
from pytest_prodguard.latency.measurement import Measurement
from pytest_prodguard.latency.memory import (
    MemoryPeak,
    measure_peak_memory,
    measure_peak_memory_async,
)
from pytest_prodguard.latency.sequential import first_fail_look, first_pass_look, plan_looks
from pytest_prodguard.latency.spec import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_TIME,
    QUANTILES,
    LatencySpec,
)
from pytest_prodguard.latency.timing import (
    AsyncCallableSource,
    CallableSource,
    Round,
    Source,
    WarmUp,
    timer_overhead_ns,
)

RECORDING_SECONDS = 0.5
#: Least sampling time of a measurement that is saved as a baseline run: a run that
#: stopped at an early decision (10 reference pairs for a fast budget pass) would
#: otherwise be a noisy draw of the statistic every later comparison is centred on.
BASELINE_SAVE_SECONDS = RECORDING_SECONDS
REFERENCE_SHARE = 0.25
_WARMUP_MIN_SHARE = 0.025
_WARMUP_MAX_SHARE = 0.10


def _pass_anchors(spec: LatencySpec | None) -> list[int]:
    """The first sizes at which each fail-tier quantile budget could pass."""
    if spec is None:
        return []
    return [
        first_pass_look(QUANTILES[name], spec.confidence)
        for name in spec.budgets
        if name in QUANTILES
    ]


def _gc_counts() -> tuple[int, int, int]:
    stats = gc.get_stats()
    return (
        int(stats[0]["collections"]),
        int(stats[1]["collections"]),
        int(stats[2]["collections"]),
    )


#: What the sampling steps ask their driver for: a warm-up (with its arguments) or a round.
_WARM_UP, _TARGET = "warm_up", "target"
_Request = tuple[str, tuple[object, ...]]


def sample(source: Source, spec: LatencySpec | None, **options: Any) -> Measurement:
    """Run the adaptive sampling procedure on ``source`` and return the Measurement.

    The options are those of :func:`_sampling_steps`, which documents the procedure.
    """
    return sample_with_decisions(source, spec, **options)[0]


def sample_with_decisions(
    source: Source, spec: LatencySpec | None, **options: Any
) -> tuple[Measurement, Decisions]:
    """:func:`sample`, with what its looks decided (for :func:`.verdict.judge` and
    :func:`.compare.compare_to_baseline`, which then evaluate nothing again)."""
    steps = _sampling_steps(source, spec, **options)
    reply: object = None
    while True:
        try:
            name, arguments = steps.send(reply)
        except StopIteration as done:
            result: tuple[Measurement, Decisions] = done.value
            return result
        try:
            reply = source.warm_up(*arguments) if name == _WARM_UP else source.target()  # type: ignore[arg-type]
        except BaseException as exc:
            steps.throw(exc)  # the steps hand over the rounds so far, then re-raise
            raise


async def sample_async(
    source: AsyncCallableSource, spec: LatencySpec | None, **options: Any
) -> Measurement:
    """:func:`sample` for an awaited callable, in the running event loop."""
    return (await sample_with_decisions_async(source, spec, **options))[0]


async def sample_with_decisions_async(
    source: AsyncCallableSource, spec: LatencySpec | None, **options: Any
) -> tuple[Measurement, Decisions]:
    """:func:`sample_with_decisions` for an awaited callable, in the running event loop."""
    steps = _sampling_steps(source, spec, **options)
    reply: object = None
    while True:
        try:
            name, arguments = steps.send(reply)
        except StopIteration as done:
            result: tuple[Measurement, Decisions] = done.value
            return result
        try:
            if name == _WARM_UP:
                reply = await source.warm_up_async(*arguments)  # type: ignore[arg-type]
            else:
                reply = await source.target_async()
        except BaseException as exc:
            steps.throw(exc)
            raise


def _sampling_steps(
    source: Source,
    spec: LatencySpec | None,
    *,
    setup: ComparisonSetup | None = None,
    tolerance: float | None = None,
    overhead_per_round: float = 0.0,
    before_sampling: Callable[[], object] | None = None,
    nominal_reference: float | None = None,
    normalize_within_run: bool = False,
    min_seconds: float = 0.0,
    on_interrupt: Callable[[Measurement], object] | None = None,
) -> Generator[_Request, object, tuple[Measurement, Decisions]]:
    """The adaptive sampling procedure on ``source``, as steps; returns the Measurement
    and what its looks decided (:class:`.looks.LookJudge`).

    Every call into the code under test is a step the driver performs (a
    warm-up, a timed round), so that :func:`sample` calls and
    :func:`sample_async` awaits the same procedure.

    ``source`` may be a real :class:`~.timing.CallableSource` or a synthetic one
    with a fake clock (the decision logic is then exactly reproducible).
    ``overhead_per_round`` is the bookkeeping time per round used when sizing
    the look schedule; ``before_sampling`` runs after warm-up, just before the
    first timed round (:func:`measure` passes ``gc.collect``).
    ``nominal_reference`` (seconds of one reference round at the machine's
    typical speed) makes budgets be judged on normalized times
    (:meth:`.Measurement.decision_samples`); without it,
    ``normalize_within_run`` judges them at this run's own typical speed.
    A budget can fail only at looks expected to span
    :data:`.sequential.MIN_FAIL_SECONDS` of sampling (:func:`.first_fail_look`).
    ``min_seconds`` keeps sampling after a decision until that much sampling
    time has passed (capped by ``max_time``): the verdicts still come from the
    deciding look, and the extra rounds serve a baseline run being saved.
    ``on_interrupt`` receives the rounds measured so far (stop reason
    ``"interrupted"``) when anything, such as a timeout or Ctrl-C, interrupts
    sampling; the exception then propagates unchanged.
    """
    max_time = spec.max_time if spec else DEFAULT_MAX_TIME
    warm_up_arguments = (
        spec.warmup if spec else None,
        _WARMUP_MIN_SHARE * max_time,
        _WARMUP_MAX_SHARE * max_time,
    )
    warm = cast(WarmUp, (yield (_WARM_UP, warm_up_arguments)))
    run = Rounds()
    first = None
    round_cost = warm.per_call * source.batch
    if not math.isfinite(round_cost) or round_cost <= 0:
        first = cast(Round, (yield (_TARGET, ())))
        round_cost = max(first.wall * source.batch, 1e-9)
    source.reference()
    probe = source.reference()
    # The reference runs each component twice (an untimed warming run first).
    reference_cost = 2 * (probe.python + probe.native)
    every = max(1, math.ceil(reference_cost / (REFERENCE_SHARE * round_cost)))
    cost = round_cost + reference_cost / every + overhead_per_round
    if needs_looks(spec, setup, tolerance):
        planned = plan_looks(max(1, math.floor(max_time / cost)), anchors=_pass_anchors(spec))
        time_limit = max_time
    else:
        planned, time_limit = (), min(RECORDING_SECONDS, max_time)
    fail_from = first_fail_look(planned, cost)
    judge = LookJudge(
        spec,
        planned,
        every,
        setup,
        tolerance,
        nominal_reference,
        within_run=normalize_within_run,
        fail_from=fail_from,
    )
    floor = min(min_seconds, time_limit)
    if before_sampling is not None:
        before_sampling()
    gc_before = _gc_counts()
    start = source.now()

    def record(stop_reason: str) -> Measurement:
        return _measurement(
            source,
            spec,
            warm,
            run,
            planned,
            every,
            stop_reason,
            start,
            gc_before,
            fail_from,
            nominal_reference=nominal_reference,
            normalize_within_run=normalize_within_run,
        )

    try:
        reason = yield from _rounds(
            source, run, judge, planned, every, first, start, floor, time_limit
        )
    except BaseException:
        if on_interrupt is not None:
            on_interrupt(record("interrupted"))
        raise
    measurement = record(reason)
    return measurement, judge.decisions(measurement)


def _rounds(
    source: Source,
    run: Rounds,
    judge: LookJudge,
    planned: Sequence[int],
    every: int,
    first: Round | None,
    start: float,
    floor: float,
    time_limit: float,
) -> Generator[_Request, object, str]:
    """Timed rounds with reference rounds and looks until decided; returns the stop reason."""
    decided_at: int | None = None
    reason = "recorded"
    next_look = 0
    while True:
        current = first if first is not None else cast(Round, (yield (_TARGET, ())))
        first = None
        run.samples.append(current.seconds)
        run.walls.append(current.wall)
        if current.cpu_wait > 0:
            run.cpu_wait_seconds += current.cpu_wait * source.batch
            run.cpu_wait_rounds += 1
        n = len(run.samples)
        if n % every == 0:
            reference = source.reference()
            run.reference_index.append(n - 1)
            run.reference_python.append(reference.python)
            run.reference_native.append(reference.native)
        elapsed = source.now() - start
        if planned and n == planned[next_look]:
            run.looks.append(n)
            run.look_times.append(elapsed)
            decided = judge.look(run, final=next_look == len(planned) - 1)
            if decided_at is None and decided:
                decided_at = next_look
            if decided_at is not None and elapsed >= floor:
                reason = "decided"
                break
            next_look += 1
            if next_look == len(planned):
                reason = "decided" if decided_at is not None else "plan_end"
                break
            continue
        if decided_at is not None and elapsed >= floor:
            reason = "decided"
            break
        if elapsed >= time_limit:
            if planned:
                run.looks.append(n)
                run.look_times.append(elapsed)
                judge.look(run, final=True)
                reason = "max_time"
            break
    return reason


def _measurement(
    source: Source,
    spec: LatencySpec | None,
    warm: WarmUp,
    run: Rounds,
    planned: Sequence[int],
    every: int,
    reason: str,
    start: float,
    gc_before: tuple[int, int, int],
    fail_from: int,
    *,
    nominal_reference: float | None,
    normalize_within_run: bool,
) -> Measurement:
    gc_after = _gc_counts()
    return Measurement(
        samples=tuple(run.samples),
        wall_samples=tuple(run.walls),
        batch=source.batch,
        elapsed=source.now() - start,
        warmup_calls=warm.calls,
        warmup_seconds=warm.seconds,
        planned_looks=tuple(planned),
        looks=tuple(run.looks),
        look_times=tuple(run.look_times),
        stop_reason=reason,
        reference_every=every,
        reference_index=tuple(run.reference_index),
        reference_python=tuple(run.reference_python),
        reference_native=tuple(run.reference_native),
        confidence=spec.confidence if spec else DEFAULT_CONFIDENCE,
        include_cpu_wait=spec.include_cpu_wait if spec else False,
        cpu_wait_available=source.cpu_wait_available,
        cpu_wait_seconds=run.cpu_wait_seconds,
        cpu_wait_rounds=run.cpu_wait_rounds,
        timer=source.timer,
        nominal_reference=nominal_reference,
        normalize_within_run=normalize_within_run and nominal_reference is None,
        first_fail_look=fail_from,
        gc_collections=(
            gc_after[0] - gc_before[0],
            gc_after[1] - gc_before[1],
            gc_after[2] - gc_before[2],
        ),
    )


#: Bookkeeping per round of the real source (schedstat and thread-time reads, appends).
_REAL_OVERHEAD_SECONDS = 12e-6


def measure(
    fn: Callable[..., object],
    args: Sequence[object] = (),
    kwargs: Mapping[str, object] | None = None,
    *,
    spec: LatencySpec | None,
    baseline: Baseline | None = None,
    tolerance: float | None = None,
    normalize: bool = True,
    min_seconds: float = 0.0,
    on_interrupt: Callable[[Measurement], object] | None = None,
) -> Measurement:
    """Measure ``fn(*args, **kwargs)`` adaptively and return the Measurement.

    With a ``spec``, sampling stops as soon as every fail-tier budget (and the
    comparison with ``baseline`` at ``tolerance``, when both are given) is
    decided, or after ``spec.max_time`` seconds of sampling. Without a spec it
    records for a fixed 0.5 s. With a ``baseline`` saved on this machine and
    ``normalize``, budgets are judged at the machine's typical speed: times are
    rescaled by the reference workload's speed now against its median in the
    saved runs (:func:`.baseline.nominal_reference`); without such a baseline,
    against its median in this run (bursts of a slower machine are taken out).
    ``min_seconds`` keeps sampling after the decision until that much time has passed (use
    :data:`BASELINE_SAVE_SECONDS` when the measurement will be saved as a
    baseline run). An exception raised by ``fn`` propagates unchanged; with
    ``on_interrupt`` the rounds timed before it are handed over first.

    Coroutine functions are awaited in a fresh event loop and generators consumed
    fully (:mod:`.callables`); inside a running event loop use :func:`measure_async`.
    :func:`measure_with_decisions` also returns what the looks decided.
    """
    options = _Options(spec, baseline, tolerance, normalize, min_seconds, on_interrupt)
    return _measure_any(fn, args, kwargs, options)[0]


def measure_with_decisions(
    fn: Callable[..., object],
    args: Sequence[object] = (),
    kwargs: Mapping[str, object] | None = None,
    *,
    spec: LatencySpec | None,
    baseline: Baseline | None = None,
    tolerance: float | None = None,
    normalize: bool = True,
    min_seconds: float = 0.0,
    on_interrupt: Callable[[Measurement], object] | None = None,
) -> tuple[Measurement, Decisions]:
    """:func:`measure`, with what its looks decided (:class:`~.decisions.Decisions`).

    Hand them to :func:`.verdict.judge` and :func:`.compare.compare_to_baseline`
    (``decisions=``) with the same ``spec``, ``baseline`` and ``tolerance``:
    each budget and the comparison were evaluated once, at the looks, and are
    not evaluated again.
    """
    options = _Options(spec, baseline, tolerance, normalize, min_seconds, on_interrupt)
    return _measure_any(fn, args, kwargs, options)


def _measure_any(
    fn: Callable[..., object],
    args: Sequence[object],
    kwargs: Mapping[str, object] | None,
    options: _Options,
) -> tuple[Measurement, Decisions]:
    kind = callables.classify(fn)
    while True:
        try:
            if kind in callables.ASYNC_KINDS:
                callables.refuse_running_loop(fn)
                return callables.run_in_new_loop(
                    functools.partial(
                        _measure_awaited,
                        callables.as_awaitable(fn, kind),
                        args,
                        kwargs,
                        kind,
                        options,
                    )
                )
            return _measure_called(callables.as_sync(fn, kind), args, kwargs, kind, options)
        except callables.LazyResultError as lazy:
            kind = lazy.kind


async def measure_async(
    fn: Callable[..., object],
    args: Sequence[object] = (),
    kwargs: Mapping[str, object] | None = None,
    *,
    spec: LatencySpec | None,
    baseline: Baseline | None = None,
    tolerance: float | None = None,
    normalize: bool = True,
    min_seconds: float = 0.0,
    on_interrupt: Callable[[Measurement], object] | None = None,
) -> Measurement:
    """:func:`measure`, awaiting ``fn`` in the running event loop (asyncio or anyio).

    A plain callable is accepted too (and called, or its generator consumed).
    """
    options = _Options(spec, baseline, tolerance, normalize, min_seconds, on_interrupt)
    return (await _measure_any_async(fn, args, kwargs, options))[0]


async def measure_with_decisions_async(
    fn: Callable[..., object],
    args: Sequence[object] = (),
    kwargs: Mapping[str, object] | None = None,
    *,
    spec: LatencySpec | None,
    baseline: Baseline | None = None,
    tolerance: float | None = None,
    normalize: bool = True,
    min_seconds: float = 0.0,
    on_interrupt: Callable[[Measurement], object] | None = None,
) -> tuple[Measurement, Decisions]:
    """:func:`measure_async`, with what its looks decided (:func:`measure_with_decisions`)."""
    options = _Options(spec, baseline, tolerance, normalize, min_seconds, on_interrupt)
    return await _measure_any_async(fn, args, kwargs, options)


async def _measure_any_async(
    fn: Callable[..., object],
    args: Sequence[object],
    kwargs: Mapping[str, object] | None,
    options: _Options,
) -> tuple[Measurement, Decisions]:
    kind = callables.classify(fn)
    while True:
        try:
            if kind in callables.ASYNC_KINDS:
                awaitable = callables.as_awaitable(fn, kind)
                return await _measure_awaited(awaitable, args, kwargs, kind, options)
            return _measure_called(callables.as_sync(fn, kind), args, kwargs, kind, options)
        except callables.LazyResultError as lazy:
            kind = lazy.kind


@dataclass(frozen=True)
class _Options:
    spec: LatencySpec | None
    baseline: Baseline | None
    tolerance: float | None
    normalize: bool
    min_seconds: float
    on_interrupt: Callable[[Measurement], object] | None


@dataclass(frozen=True)
class _Context:
    """What is settled before sampling and recorded with the measurement afterwards."""

    sampling: Mapping[str, Any]
    nominal_runs: int
    normalization_note: str
    fingerprint: Mapping[str, str]
    processes: Any
    environment_start: Mapping[str, object]
    overhead: float


def _context(options: _Options) -> _Context:
    fingerprint = machine_fingerprint()
    baseline, normalize = options.baseline, options.normalize
    nominal, nominal_runs = (
        nominal_reference(baseline, fingerprint)
        if baseline is not None and normalize
        else (None, 0)
    )
    tolerance, setup = options.tolerance, None
    if baseline is not None and tolerance is not None:
        setup = prepare_comparison(baseline, fingerprint, has_reference=True)
    processes = snapshot_processes()
    environment_start = describe_environment()
    sampling = {
        "setup": setup,
        "tolerance": tolerance,
        "before_sampling": gc.collect,
        "nominal_reference": nominal,
        "normalize_within_run": normalize,
        "min_seconds": options.min_seconds,
        "on_interrupt": options.on_interrupt,
    }
    return _Context(
        sampling,
        nominal_runs,
        "switched off" if not normalize else "",
        fingerprint,
        processes,
        environment_start,
        timer_overhead_ns(),
    )


def _overhead_per_round(source: CallableSource) -> float:
    return _REAL_OVERHEAD_SECONDS if source.cpu_wait_available else 1e-6


def _measure_called(
    fn: Callable[..., object],
    args: Sequence[object],
    kwargs: Mapping[str, object] | None,
    kind: str,
    options: _Options,
) -> tuple[Measurement, Decisions]:
    context = _context(options)
    spec = options.spec
    source = CallableSource(
        fn,
        args,
        kwargs,
        include_cpu_wait=spec.include_cpu_wait if spec else False,
        check_result=callables.check_first_result if kind == callables.CALL else None,
    )
    try:
        measurement, decisions = sample_with_decisions(
            source, spec, overhead_per_round=_overhead_per_round(source), **context.sampling
        )
    finally:
        source.close()
    peak = None
    if spec is not None and spec.has_memory_budget:
        peak = measure_peak_memory(fn, args, kwargs)
    return _finished(measurement, context, peak, kind), decisions


async def _measure_awaited(
    fn: Callable[..., Awaitable[object]],
    args: Sequence[object],
    kwargs: Mapping[str, object] | None,
    kind: str,
    options: _Options,
) -> tuple[Measurement, Decisions]:
    context = _context(options)
    spec = options.spec
    source = AsyncCallableSource(
        fn, args, kwargs, include_cpu_wait=spec.include_cpu_wait if spec else False
    )
    try:
        measurement, decisions = await sample_with_decisions_async(
            source, spec, overhead_per_round=_overhead_per_round(source), **context.sampling
        )
    finally:
        source.close()
    peak = None
    if spec is not None and spec.has_memory_budget:
        peak = await measure_peak_memory_async(fn, args, kwargs)
    return _finished(measurement, context, peak, kind), decisions


def _finished(
    measurement: Measurement, context: _Context, peak: MemoryPeak | None, kind: str
) -> Measurement:
    return replace(
        measurement,
        timer_overhead_ns=context.overhead,
        peak_memory=peak.host if peak else None,
        cuda_peak_memory=peak.cuda if peak else None,
        memory_calls=peak.calls if peak else 0,
        nominal_runs=context.nominal_runs,
        normalization_note=context.normalization_note,
        fingerprint=MappingProxyType(context.fingerprint),
        environment_start=MappingProxyType(context.environment_start),
        environment_end=MappingProxyType(describe_environment(since=context.processes)),
        call_kind=kind,
    )
