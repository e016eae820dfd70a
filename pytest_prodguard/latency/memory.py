"""Peak memory of a call: Python allocations (tracemalloc) and CUDA (torch).

tracemalloc slows allocation-heavy code several times over, so it never runs
during the timed rounds: the peak is measured in separate calls after sampling
(the largest peak over :data:`MEMORY_CALLS` calls, relative to the memory
already allocated before each call). When torch is already imported and has
initialised CUDA, ``torch.cuda.max_memory_allocated`` gives the CUDA peak of
the same calls; torch is never imported here.
"""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MEMORY_CALLS = 3


@dataclass(frozen=True)
class MemoryPeak:
    """Peak bytes allocated during a call (max over ``calls``), host and CUDA."""

    host: int
    cuda: int | None
    calls: int


def _cuda_module() -> Any:
    torch: Any = sys.modules.get("torch")
    if torch is None:
        return None
    try:
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            return torch.cuda
    except Exception:  # a broken torch install must not break the measurement
        return None
    return None


def measure_peak_memory(
    fn: Callable[..., object],
    args: Sequence[object] = (),
    kwargs: Mapping[str, object] | None = None,
    *,
    calls: int = MEMORY_CALLS,
) -> MemoryPeak:
    """Call ``fn`` ``calls`` times under tracemalloc (and CUDA peak stats) and return the peaks.

    If tracemalloc was already tracing (the user started it) it is left running;
    otherwise it is stopped again. Exceptions from ``fn`` propagate unchanged.
    """
    steps = _peak_steps(calls)
    try:
        next(steps)
        while True:
            fn(*args, **(kwargs or {}))
            steps.send(None)
    except StopIteration as done:
        peak: MemoryPeak = done.value
        return peak


async def measure_peak_memory_async(
    fn: Callable[..., Awaitable[object]],
    args: Sequence[object] = (),
    kwargs: Mapping[str, object] | None = None,
    *,
    calls: int = MEMORY_CALLS,
) -> MemoryPeak:
    """:func:`measure_peak_memory`, awaiting ``fn`` in the running event loop."""
    steps = _peak_steps(calls)
    try:
        next(steps)
        while True:
            await fn(*args, **(kwargs or {}))
            steps.send(None)
    except StopIteration as done:
        peak: MemoryPeak = done.value
        return peak


def _peak_steps(calls: int) -> Generator[None, None, MemoryPeak]:
    """Yields where each call is to be made; returns the peaks of those calls."""
    cuda = _cuda_module()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    host_peak = 0
    cuda_peak: int | None = None
    try:
        for _ in range(calls):
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            cuda_before = 0
            if cuda is not None:
                cuda.synchronize()
                cuda.reset_peak_memory_stats()
                cuda_before = int(cuda.memory_allocated())
            yield
            _, peak = tracemalloc.get_traced_memory()
            host_peak = max(host_peak, peak - before)
            if cuda is not None:
                cuda.synchronize()
                used = int(cuda.max_memory_allocated()) - cuda_before
                cuda_peak = max(cuda_peak or 0, used)
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return MemoryPeak(host=max(0, host_peak), cuda=cuda_peak, calls=calls)
