"""What ``latency(fn)`` times for each kind of callable.

A coroutine function returns at once: timing the call would time only the
creation of the coroutine (a 5 ms coroutine measured "1.45 us"). So each kind
is timed to completion:

- a coroutine function (or any callable returning an awaitable) is awaited,
  in a fresh event loop outside async tests, or in the test's own loop with
  ``await latency.measure_async(fn, ...)``;
- a generator function is consumed fully (``deque(fn(...), maxlen=0)``), an
  async generator function by ``async for``;
- a coroutine *object* (``latency(fetch(url))``) is refused: it can be awaited
  only once, so it cannot be measured; so is a callable returning a lazy iterator
  that is not a generator (``map``, ``zip``, itertools): it may never end, so it
  is not consumed blindly, and the error says how to consume it.

:func:`classify` decides from the callable; a callable that hides its kind (a
plain wrapper returning a coroutine or a generator) is caught by
:func:`check_first_result` on the first warm-up call, and the measurement
starts again as the right kind.
"""

from __future__ import annotations

import collections
import collections.abc
import functools
import inspect
import io
import types
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar

from pytest_prodguard.errors import ProdguardUsageError

CALL, AWAIT, ITERATE, ASYNC_ITERATE = "call", "await", "iterate", "async-iterate"
#: How each kind is described in reports.
KIND_WORDS = {
    CALL: "called",
    AWAIT: "awaited",
    ITERATE: "consumed fully (generator)",
    ASYNC_ITERATE: "consumed fully (async generator)",
}
ASYNC_KINDS = (AWAIT, ASYNC_ITERATE)
FN_ACCEPTED = "a callable: latency(fn, *args, **kwargs)"
COROUTINE_OBJECT_ACCEPTED = (
    "a coroutine function and its arguments, latency(fetch, url), not a coroutine object "
    "such as fetch(url): a coroutine can be awaited only once, so it cannot be measured"
)
LAZY_ITERATOR_ACCEPTED = (
    "a callable that does its work when called; this one returned a lazy iterator, so only "
    "its creation would be timed: consume it in the measured call, latency(lambda: list(...))"
)
IN_LOOP_ACCEPTED = (
    "an event loop is already running in this thread (an async test), so latency(fn) "
    "cannot start one to await fn: use `await latency.measure_async(fn, *args)` there"
)

T = TypeVar("T")


class LazyResultError(Exception):
    """The first call returned a coroutine or generator: measure again as ``kind``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def classify(fn: object) -> str:
    """The kind of ``fn`` (:data:`CALL`, :data:`AWAIT`, ...); a usage error when not measurable."""
    if inspect.isawaitable(fn):
        if inspect.iscoroutine(fn):
            fn.close()  # never awaited on purpose: no "was never awaited" warning
        raise ProdguardUsageError("fn", fn, COROUTINE_OBJECT_ACCEPTED)
    if not callable(fn):
        raise ProdguardUsageError("fn", fn, FN_ACCEPTED)
    call = None if inspect.isroutine(fn) or inspect.isclass(fn) else type(fn).__call__
    for candidate in (fn, call):
        if candidate is None:
            continue
        if inspect.isasyncgenfunction(candidate):
            return ASYNC_ITERATE
        if inspect.iscoroutinefunction(candidate):
            return AWAIT
        if inspect.isgeneratorfunction(candidate):
            return ITERATE
    return CALL


def check_first_result(result: object) -> None:
    """Raise :class:`LazyResultError` when a plain call returned work still to be done."""
    if inspect.iscoroutine(result):
        result.close()
        raise LazyResultError(AWAIT)
    if inspect.isawaitable(result):
        raise LazyResultError(AWAIT)
    if inspect.isgenerator(result):
        result.close()
        raise LazyResultError(ITERATE)
    if inspect.isasyncgen(result):
        raise LazyResultError(ASYNC_ITERATE)
    if isinstance(result, collections.abc.Iterator) and not isinstance(result, io.IOBase):
        # map, filter, zip, itertools...: possibly endless, so not consumed blindly
        raise ProdguardUsageError("fn", result, LAZY_ITERATOR_ACCEPTED)


def as_sync(fn: Callable[..., object], kind: str) -> Callable[..., object]:
    """A plain callable doing ``fn``'s whole work, generators consumed (kinds call, iterate)."""
    if kind != ITERATE:
        return fn

    def consume(*args: Any, **kwargs: Any) -> None:
        collections.deque(fn(*args, **kwargs), maxlen=0)  # type: ignore[call-overload]

    consume.__qualname__ = getattr(fn, "__qualname__", "generator")
    return consume


def as_awaitable(fn: Callable[..., Any], kind: str) -> Callable[..., Awaitable[object]]:
    """A coroutine function doing ``fn``'s whole work (kinds await, async-iterate)."""
    if kind == ASYNC_ITERATE:

        async def consume(*args: Any, **kwargs: Any) -> None:
            async for _ in fn(*args, **kwargs):
                pass

        consume.__qualname__ = getattr(fn, "__qualname__", "async generator")
        return consume
    if inspect.iscoroutinefunction(fn):
        return fn

    async def awaited(*args: Any, **kwargs: Any) -> object:
        return await fn(*args, **kwargs)

    awaited.__qualname__ = getattr(fn, "__qualname__", "awaitable")
    return awaited


def runs_python_code(fn: object) -> bool:
    """True when calling ``fn`` enters a Python frame of its own (a profile can see it)."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    target = getattr(fn, "__func__", fn)  # bound methods
    if isinstance(getattr(target, "__code__", None), types.CodeType):
        return True
    if inspect.isclass(fn) or inspect.isroutine(fn):
        return False  # a C function, builtin method or class implemented in C
    call = inspect.getattr_static(type(fn), "__call__", None)
    return isinstance(getattr(call, "__code__", None), types.CodeType)


def callable_name(fn: object) -> str:
    """``time.sleep``, ``sorted``, ``numpy.add``: how a builtin callable is named in profiles."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    name = name or type(fn).__name__
    module = getattr(fn, "__module__", None)
    if not module and isinstance(getattr(fn, "__self__", None), types.ModuleType):
        module = fn.__self__.__name__  # type: ignore[attr-defined]
    return name if module in (None, "builtins") else f"{module}.{name}"


def in_own_frame(fn: Callable[..., object]) -> Callable[..., object]:
    """``fn`` itself, or a builtin/C callable wrapped in one Python frame named after it.

    A C function (``time.sleep``, ``sorted``, a numpy ufunc) has no Python frame,
    so a stack sampler saw nothing below the profiling loop: "no samples inside
    the profiled code". The wrapper's code object carries the callable's name
    (``time.sleep``) and the file ``<builtin>``, so its samples land on one frame
    named after it (location ``<builtin>:1``).
    """
    if runs_python_code(fn):
        return fn

    def call(*args: Any, **kwargs: Any) -> object:
        return fn(*args, **kwargs)

    name = callable_name(fn)
    # Line 1 of "<builtin>": the wrapper's own source lines mean nothing in a profile.
    renamed: dict[str, Any] = {"co_name": name, "co_filename": "<builtin>", "co_firstlineno": 0}
    if hasattr(call.__code__, "co_qualname"):  # Python 3.11+
        renamed["co_qualname"] = name
    call.__code__ = call.__code__.replace(**renamed)
    call.__qualname__ = call.__name__ = name
    return call


def refuse_running_loop(fn: object) -> None:
    """Usage error when an event loop runs in this thread (an async test): use measure_async."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise ProdguardUsageError("fn", fn, IN_LOOP_ACCEPTED)


def run_in_new_loop(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine ``make()`` returns in a fresh event loop, closed afterwards."""
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(make())
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()


class LoopCall:
    """A plain thunk that awaits ``fn(*args, **kwargs)`` in its own event loop (for profiling).

    The loop is created on the first call and closed when the thunk is garbage
    collected, so repeated calls (a profiling window) pay for one loop only.
    """

    def __init__(
        self,
        fn: Callable[..., Awaitable[object]],
        args: Sequence[object],
        kwargs: Mapping[str, object],
    ) -> None:
        self.fn, self.args, self.kwargs = fn, tuple(args), dict(kwargs)
        self._loop: Any = None
        self.__qualname__ = getattr(fn, "__qualname__", "coroutine")

    def __call__(self) -> object:
        """Await the call once (raises what it raises)."""
        import asyncio

        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            weakref.finalize(self, self._loop.close)
        return self._loop.run_until_complete(self.fn(*self.args, **self.kwargs))
