"""The builtin fallback profiler: a time-weighted stack sampler in pure Python.

A daemon thread wakes ``rate`` times a second, reads the profiled thread's
frame from :func:`sys._current_frames` and records its stack up to the
profiling loop, in the same folded format as py-spy. It needs no permission
and no dependency, sees waiting frames (``time.sleep``, lock waits, I/O: the
GIL is released there, so the sampler runs on time) and costs one stack walk
per sample.

Why time-weighted: C code that holds the GIL (``json.dumps``' C encoder, a big
``sorted``) keeps the sampler from running until it returns to Python, so a
plain "one sample per wake-up" count would under-represent it. Each sample is
therefore weighted by the wall time elapsed since the previous one, in ticks of
``1 / rate`` seconds. The delayed sample lands in the frame that called the C
function (CPython checks for a pending GIL request right after the call), so
that frame gets the time it really took. A cProfile- or pyinstrument-based
fallback would only see the calling thread too, but costs 4-5x on call-heavy
code (measured in the study behind this package); the sampler does not hook
calls at all.
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from collections import Counter
from types import CodeType, FrameType

from pytest_prodguard.profiling.stacks import Stack, Stacks, frame_label


def _gc_callback_codes() -> set[CodeType]:
    """The code objects of the functions registered in ``gc.callbacks``."""
    return {code for callback in gc.callbacks if (code := getattr(callback, "__code__", None))}


class ThreadSampler:
    """Sample one thread's Python stack below ``loop_code``'s frame.

    Use ``start()``, run the work in the target thread, then ``stop()``;
    ``stacks`` then holds folded stacks whose counts are ticks of ``1/rate`` s.
    Samples taken while the target is not inside the loop are discarded (their
    ticks are not carried over to the next sample).
    """

    def __init__(
        self, *, loop_code: CodeType, rate: float, target_thread: int | None = None
    ) -> None:
        self.loop_code = loop_code
        self.interval = 1.0 / rate
        self.target_thread = threading.get_ident() if target_thread is None else target_thread
        self.stacks: Stacks = Counter()
        self._labels: dict[tuple[CodeType, int], str] = {}
        self._ticks_given = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the sampling thread."""
        self._thread = threading.Thread(target=self._run, name="prodguard-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the sampling thread to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        started = time.perf_counter()
        while not self._stop.wait(self.interval):
            self.sample(time.perf_counter() - started)

    def sample(self, elapsed: float) -> None:
        """Record the target's stack, weighted by the ticks since the previous sample.

        ``elapsed`` is the time since sampling started; the ticks it adds are
        dropped when the target is not inside the loop.
        """
        ticks_due = int(elapsed / self.interval)
        ticks, self._ticks_given = ticks_due - self._ticks_given, ticks_due
        frame = sys._current_frames().get(self.target_thread)
        stack = self._stack_below_loop(frame)
        if stack and ticks > 0:
            self.stacks[stack] += ticks

    def _stack_below_loop(self, frame: FrameType | None) -> Stack:
        labels: list[str] = []
        callbacks = _gc_callback_codes()
        while frame is not None:
            if frame.f_code is self.loop_code:
                return tuple(reversed(labels))
            if frame.f_code in callbacks:
                # A garbage-collection callback (Hypothesis installs one) runs inside
                # whatever frame triggered the collection: its time is the profiled
                # code's, so the callback and what it called are left out.
                labels.clear()
            else:
                labels.append(self._label(frame))
            frame = frame.f_back
        return ()

    def _label(self, frame: FrameType) -> str:
        code = frame.f_code
        line = frame.f_lineno or 0
        key = (code, line)
        label = self._labels.get(key)
        if label is None:
            name = getattr(code, "co_qualname", code.co_name)
            file = code.co_filename
            if not file.startswith("<"):
                file = os.path.abspath(file)
            label = self._labels[key] = frame_label(name, file, line)
        return label
