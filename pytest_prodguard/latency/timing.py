"""Time one round of calls: the timer, batching, and the CPU-wait correction.

- **Timer**: :func:`time.perf_counter_ns` around each round. Calls shorter than
  :data:`MIN_ROUND_SECONDS` are batched: a round runs the callable ``batch``
  times in a plain loop and the per-call time is the round time divided by
  ``batch`` (so percentiles of such calls are percentiles of ``batch``-call
  averages; the timer's own cost stays under about 2% of a round).
- **CPU wait**: on Linux, ``/proc/thread-self/schedstat`` counts the time a
  thread spent runnable but waiting for a CPU that another process held. That
  wait says how busy the machine was, not how slow the code is, so by default it
  is subtracted from the round's wall time (never more than the round's
  off-CPU time, :func:`time.thread_time_ns`). Everything else stays in: GC
  pauses, page faults, I/O, locks, interrupts. ``include_cpu_wait=True`` keeps
  the raw wall time. Where schedstat is unavailable the raw wall time is used.
- **CUDA**: when torch is already imported and has initialised CUDA, the round
  ends with ``torch.cuda.synchronize()`` so that queued kernels are timed.
"""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_prodguard.latency import reference

#: Shortest round worth timing on its own; shorter calls are batched.
MIN_ROUND_SECONDS = 20e-6
_SCHEDSTAT = "/proc/thread-self/schedstat"
_MAX_BATCH = 1 << 24


@dataclass(frozen=True)
class Round:
    """One timed round, per call: latency used for decisions, raw wall time, CPU wait removed."""

    seconds: float
    wall: float
    cpu_wait: float


@dataclass(frozen=True)
class ReferenceRound:
    """One round of the reference workload: its two components, in seconds."""

    python: float
    native: float

    @property
    def combined(self) -> float:
        """Geometric mean of the components (each kind of work counts equally)."""
        return math.sqrt(self.python * self.native)


@dataclass(frozen=True)
class WarmUp:
    """Unmeasured calls made before sampling, and the per-call time they suggest."""

    calls: int
    seconds: float
    per_call: float


class Source(Protocol):
    """What the sampler needs: warm-up, timed rounds, reference rounds and a clock.

    :class:`CallableSource` times a real callable; tests and simulations use a
    synthetic source with a fake clock so that the decision logic is exact and
    deterministic.
    """

    batch: int
    timer: str

    @property
    def cpu_wait_available(self) -> bool:
        """True when the CPU-wait correction is measured."""

    def warm_up(self, calls: int | None, min_seconds: float, max_seconds: float) -> WarmUp:
        """Run unmeasured calls, choose ``batch``, and return what was done."""

    def target(self) -> Round:
        """Time one round of the code under test."""

    def reference(self) -> ReferenceRound:
        """Time one round of the reference workload."""

    def now(self) -> float:
        """Seconds on a monotonic clock."""


class CpuWaitProbe:
    """Reads this thread's cumulative run-queue wait (ns) from schedstat."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self.read_cost_ns = 0
        if sys.platform.startswith("linux"):
            try:
                self._fd = os.open(_SCHEDSTAT, os.O_RDONLY)
                self.wait_ns()
                self.read_cost_ns = self._read_cost_ns()
            except (OSError, ValueError, IndexError):
                self.close()

    def _read_cost_ns(self, repeats: int = 31) -> int:
        """The smallest time the reads inside a timed round add to it (never over-estimated)."""
        costs = []
        for _ in range(repeats):
            start = time.perf_counter_ns()
            self.wait_ns()
            time.thread_time_ns()
            time.thread_time_ns()
            self.wait_ns()
            costs.append(time.perf_counter_ns() - start)
        return min(costs)

    @property
    def available(self) -> bool:
        """True when schedstat could be read."""
        return self._fd is not None

    def wait_ns(self) -> int:
        """Total nanoseconds this thread has waited for a CPU so far."""
        assert self._fd is not None
        return int(os.pread(self._fd, 128, 0).split()[1])

    def close(self) -> None:
        """Release the file descriptor."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def timer_overhead_ns(repeats: int = 31) -> float:
    """Median cost of one back-to-back pair of perf_counter_ns calls."""
    costs = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        costs.append(time.perf_counter_ns() - start)
    costs.sort()
    return float(costs[len(costs) // 2])


def cuda_synchronizer() -> Callable[[], None] | None:
    """``torch.cuda.synchronize`` if torch is imported and CUDA initialised; never imports torch."""
    torch: Any = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            synchronize: Callable[[], None] = torch.cuda.synchronize
            return synchronize
    except Exception:  # a broken torch install must not break timing
        return None
    return None


class CallableSource:
    """Times ``fn(*args, **kwargs)``; exceptions from ``fn`` propagate unchanged.

    The warm-up is written once, as steps (:meth:`_warm_up_steps`) that ask for
    "time k plain calls" and receive nanoseconds; this class answers them by
    calling ``fn`` and :class:`AsyncCallableSource` by awaiting it.
    """

    timer = "perf_counter_ns"

    def __init__(
        self,
        fn: Callable[..., object],
        args: Sequence[object] = (),
        kwargs: Mapping[str, object] | None = None,
        *,
        include_cpu_wait: bool = False,
        check_result: Callable[[object], None] | None = None,
    ) -> None:
        self._fn = fn
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._include_cpu_wait = include_cpu_wait
        self._probe = CpuWaitProbe()
        self._sync: Callable[[], None] | None = None
        # Looks once at what the first call returns (a coroutine, a generator...).
        self._check_result = check_result
        self.batch = 1

    @property
    def cpu_wait_available(self) -> bool:
        """True when the CPU-wait correction can be measured on this system."""
        return self._probe.available

    def close(self) -> None:
        """Release the schedstat file."""
        self._probe.close()

    def now(self) -> float:
        """perf_counter seconds."""
        return time.perf_counter()

    def _plain_calls_ns(self, calls: int) -> int:
        """Nanoseconds of ``calls`` plain calls (no CPU-wait correction)."""
        fn, args, kwargs = self._fn, self._args, self._kwargs
        if self._check_result is not None:
            check, self._check_result = self._check_result, None
            start = time.perf_counter_ns()
            check(fn(*args, **kwargs))
            calls -= 1
            first = time.perf_counter_ns() - start
        else:
            first = 0
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn(*args, **kwargs)
        if self._sync is not None:
            self._sync()
        return first + time.perf_counter_ns() - start

    def warm_up(self, calls: int | None, min_seconds: float, max_seconds: float) -> WarmUp:
        """Run ``calls`` unmeasured calls (automatic when None), then size the batch.

        Automatic warm-up calls until ``min_seconds`` have passed (at least one
        call, at most ``max_seconds``). The first call also tells whether CUDA
        is in use. Calls shorter than MIN_ROUND_SECONDS are then batched, with
        the batch size calibrated by timing growing batches (those calls count
        as warm-up too).
        """
        steps = self._warm_up_steps(calls, min_seconds, max_seconds)
        try:
            request = next(steps)
            while True:
                request = steps.send(self._plain_calls_ns(request))
        except StopIteration as done:
            warm: WarmUp = done.value
            return warm

    def _warm_up_steps(
        self, calls: int | None, min_seconds: float, max_seconds: float
    ) -> Generator[int, int, WarmUp]:
        """The warm-up as steps: yields a number of calls to time, receives their nanoseconds."""
        started = time.perf_counter()
        durations: list[int] = []

        def wanted() -> bool:
            if calls is not None:
                return len(durations) < calls
            elapsed = time.perf_counter() - started
            return len(durations) < 2 or (elapsed < min_seconds and elapsed < max_seconds)

        while wanted():
            durations.append((yield 1))
            self._sync = self._sync or cuda_synchronizer()
        done = len(durations)
        per_call = _typical(durations) / 1e9 if durations else math.nan
        if calls != 0 and durations:
            extra, per_call = yield from self._calibrate_steps(per_call)
            done += extra
        return WarmUp(done, time.perf_counter() - started, per_call)

    def _calibrate_steps(self, per_call: float) -> Generator[int, int, tuple[int, float]]:
        """Grow the batch until one round lasts MIN_ROUND_SECONDS; return (calls made, per call)."""
        if per_call >= MIN_ROUND_SECONDS:
            return 0, per_call
        batch = max(1, math.ceil(MIN_ROUND_SECONDS / max(per_call, 1e-9)))
        extra, elapsed = 0, 0.0
        for _ in range(12):
            elapsed = (yield batch) / 1e9
            extra += batch
            if elapsed >= MIN_ROUND_SECONDS or batch >= _MAX_BATCH:
                break
            grown = math.ceil(batch * 1.2 * MIN_ROUND_SECONDS / max(elapsed, 1e-9))
            batch = min(_MAX_BATCH, max(batch * 2, grown))
        self.batch = batch
        return extra, elapsed / batch

    def target(self) -> Round:
        """Time one round of ``batch`` calls."""
        fn, args, kwargs, batch = self._fn, self._args, self._kwargs, self.batch
        sync = self._sync

        def run() -> None:
            if batch == 1:
                fn(*args, **kwargs)
            else:
                for _ in range(batch):
                    fn(*args, **kwargs)
            if sync is not None:
                sync()

        return self._round(*self._timed(run))

    def _round(self, wall: int, removed: int) -> Round:
        kept = wall if self._include_cpu_wait else wall - removed
        batch = self.batch
        return Round(kept / batch / 1e9, wall / batch / 1e9, removed / batch / 1e9)

    def reference(self) -> ReferenceRound:
        """Time the two reference components, each corrected like the target.

        Both run once untimed first: the first run after a target round pays
        for whatever the target evicted from the caches, which made the ratio
        track the target's memory footprint instead of the machine's speed
        (between-process spread of the ratio 4-5% for numpy and JSON work with
        a cold reference, 1.5-1.7% warm; see docs/latency.md).
        """
        reference.python_work()
        reference.native_work()
        return ReferenceRound(
            self._time_reference(reference.python_work), self._time_reference(reference.native_work)
        )

    def _time_reference(self, work: Callable[[], object]) -> float:
        wall, removed = self._timed(work)
        kept = wall if self._include_cpu_wait else wall - removed
        return max(kept, 1) / 1e9

    def _timed(self, work: Callable[[], object]) -> tuple[int, int]:
        """Wall nanoseconds of ``work()`` and the CPU wait within them to remove.

        The wait counter is read *inside* the timed window: a preemption just
        outside it would otherwise count as waiting without counting as wall
        time, and the correction could then eat into sleeps and I/O. The reads'
        own (smallest measured) cost is taken off the wall time.
        """
        probe = self._probe.available
        start = time.perf_counter_ns()
        wait_before = self._probe.wait_ns() if probe else 0
        cpu_before = time.thread_time_ns() if probe else 0
        work()
        cpu = time.thread_time_ns() - cpu_before if probe else 0
        waited = self._probe.wait_ns() - wait_before if probe else 0
        wall = time.perf_counter_ns() - start
        return self._corrected(wall, waited, cpu)

    def _corrected(self, wall: int, waited: int, cpu: int) -> tuple[int, int]:
        """(wall, wait to remove): the reads' cost off the wall, the wait capped by off-CPU time."""
        if not self._probe.available:
            return wall, 0
        wall = max(wall - self._probe.read_cost_ns, 1)
        return wall, max(0, min(waited, wall - cpu))


class AsyncCallableSource(CallableSource):
    """Times ``await fn(*args, **kwargs)`` inside the running event loop (any anyio backend).

    Only the awaits are timed: the round's timer starts and stops inside the
    loop, so scheduling the round costs nothing measured. Use with
    :func:`.sampler.sample_async`.
    """

    def __init__(
        self,
        fn: Callable[..., Awaitable[object]],
        args: Sequence[object] = (),
        kwargs: Mapping[str, object] | None = None,
        *,
        include_cpu_wait: bool = False,
    ) -> None:
        super().__init__(fn, args, kwargs, include_cpu_wait=include_cpu_wait)
        self._coroutine_fn = fn

    async def _plain_awaits_ns(self, calls: int) -> int:
        """Nanoseconds of ``calls`` plain awaits."""
        fn, args, kwargs = self._coroutine_fn, self._args, self._kwargs
        start = time.perf_counter_ns()
        for _ in range(calls):
            await fn(*args, **kwargs)
        if self._sync is not None:
            self._sync()
        return time.perf_counter_ns() - start

    async def warm_up_async(
        self, calls: int | None, min_seconds: float, max_seconds: float
    ) -> WarmUp:
        """:meth:`CallableSource.warm_up`, awaiting the calls."""
        steps = self._warm_up_steps(calls, min_seconds, max_seconds)
        try:
            request = next(steps)
            while True:
                request = steps.send(await self._plain_awaits_ns(request))
        except StopIteration as done:
            warm: WarmUp = done.value
            return warm

    async def target_async(self) -> Round:
        """Time one round of ``batch`` awaits, corrected like :meth:`CallableSource.target`."""
        fn, args, kwargs, batch = self._coroutine_fn, self._args, self._kwargs, self.batch
        sync = self._sync
        probe = self._probe.available
        start = time.perf_counter_ns()
        wait_before = self._probe.wait_ns() if probe else 0
        cpu_before = time.thread_time_ns() if probe else 0
        for _ in range(batch):
            await fn(*args, **kwargs)
        if sync is not None:
            sync()
        cpu = time.thread_time_ns() - cpu_before if probe else 0
        waited = self._probe.wait_ns() - wait_before if probe else 0
        wall = time.perf_counter_ns() - start
        return self._round(*self._corrected(wall, waited, cpu))


def _typical(durations: Sequence[int]) -> float:
    """Median of the warm-up durations, leaving out the cold first call when possible."""
    values = sorted(durations[1:] if len(durations) > 1 else durations)
    return float(values[len(values) // 2])
