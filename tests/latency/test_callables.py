"""What measure() times for coroutine functions, generators and awaitables; interruptions.

No timed assertions: a 5 ms sleep per call is always at least 5 ms, so checking
that the median is at least that proves the whole call was timed (timing only
the coroutine's creation gives about a microsecond).
"""

from __future__ import annotations

import asyncio
import functools
import io
import time
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.latency import callables, measure, parse_latency_spec
from pytest_prodguard.latency.sampler import measure_async

SLEEP = 0.005
SPEC = parse_latency_spec({"p95": "1s", "warmup": 1, "max_time": "60ms"})


async def nap() -> None:
    await asyncio.sleep(SLEEP)


async def instant() -> int:
    return 1


def naps() -> Iterator[int]:
    for _ in range(2):
        time.sleep(SLEEP / 2)
        yield 1


async def async_naps() -> AsyncIterator[int]:
    for _ in range(2):
        await asyncio.sleep(SLEEP / 2)
        yield 1


def hides_a_coroutine() -> object:
    return nap()


def hides_a_generator() -> object:
    return naps()


class AsyncCallable:
    async def __call__(self) -> None:
        await asyncio.sleep(SLEEP)


@pytest.mark.parametrize(
    ("fn", "kind"),
    [
        (nap, callables.AWAIT),
        (functools.partial(nap), callables.AWAIT),
        (AsyncCallable(), callables.AWAIT),
        (naps, callables.ITERATE),
        (async_naps, callables.ASYNC_ITERATE),
        (sorted, callables.CALL),
        (hides_a_coroutine, callables.CALL),  # found out at the first call
    ],
)
def test_classify_reads_the_kind_from_the_callable(fn: object, kind: str) -> None:
    assert callables.classify(fn) == kind


@pytest.mark.parametrize(
    "fn", [nap, AsyncCallable(), naps, async_naps, hides_a_coroutine, hides_a_generator]
)
def test_every_kind_is_timed_to_completion(fn: object) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # "coroutine was never awaited"
        measurement = measure(fn, spec=SPEC)  # type: ignore[arg-type]
    assert measurement.quantiles()["p50"] >= SLEEP
    assert measurement.call_kind != callables.CALL


def test_a_coroutine_object_is_refused_and_closed_without_a_never_awaited_warning() -> None:
    coroutine = nap()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ProdguardUsageError, match="not a coroutine object") as caught:
            measure(coroutine, spec=None)  # type: ignore[arg-type]
    assert caught.value.field == "fn"
    assert coroutine.cr_frame is None  # closed


def test_a_non_callable_is_refused_naming_what_is_accepted() -> None:
    with pytest.raises(ProdguardUsageError, match="a callable: latency"):
        measure(42, spec=None)  # type: ignore[arg-type]


def test_a_sync_measure_inside_a_running_loop_points_at_measure_async() -> None:
    async def inside() -> None:
        measure(nap, spec=None)

    with pytest.raises(ProdguardUsageError, match="measure_async"):
        asyncio.run(inside())


def test_measure_async_awaits_in_the_running_loop() -> None:
    loops: list[bool] = []

    async def main() -> float:
        loop = asyncio.get_running_loop()

        async def here() -> None:
            loops.append(asyncio.get_running_loop() is loop)
            await asyncio.sleep(SLEEP)

        measurement = await measure_async(here, spec=SPEC)
        return measurement.quantiles()["p50"]

    assert asyncio.run(main()) >= SLEEP
    assert loops
    assert all(loops)


def test_a_trivial_coroutine_is_batched_like_a_trivial_call() -> None:
    measurement = measure(instant, spec=None)
    assert measurement.call_kind == callables.AWAIT
    assert measurement.batch > 1  # far below the 20 us round: awaits are batched in the loop


def test_measure_async_measures_plain_callables_too() -> None:
    measurement = asyncio.run(measure_async(sum, ([1, 2],), spec=SPEC))
    assert measurement.call_kind == callables.CALL


def test_a_loop_call_awaits_in_one_loop_reused_across_calls() -> None:
    loops = []

    async def record() -> None:
        loops.append(asyncio.get_running_loop())

    thunk = callables.LoopCall(record, (), {})
    thunk()
    thunk()
    assert len(loops) == 2
    assert loops[0] is loops[1]


class Stop(BaseException):
    pass


def test_an_interruption_hands_over_the_partial_measurement_and_propagates() -> None:
    calls = {"n": 0}
    stop = Stop()

    def slow() -> None:
        calls["n"] += 1
        if calls["n"] > 30:
            raise stop
        time.sleep(0.001)

    partial = []
    with pytest.raises(Stop) as caught:
        measure(
            slow,
            spec=parse_latency_spec({"p95": "1s", "warmup": 2, "max_time": "10s"}),
            on_interrupt=partial.append,
        )
    assert caught.value is stop
    (measurement,) = partial
    assert measurement.stop_reason == "interrupted"
    assert measurement.n == 28  # 30 calls, 2 of them warm-up


def test_an_interruption_during_warm_up_hands_over_nothing() -> None:
    def broken() -> None:
        raise Stop

    partial: list[object] = []
    with pytest.raises(Stop):
        measure(broken, spec=SPEC, on_interrupt=partial.append)
    assert partial == []


@pytest.mark.parametrize(
    ("fn", "python"),
    [
        (nap, True),
        (functools.partial(naps), True),
        (AsyncCallable(), True),
        (AsyncCallable().__call__, True),
        (time.sleep, False),
        (sorted, False),
        (dict, False),
        (str.upper, False),
        (functools.partial(sorted), False),
    ],
)
def test_runs_python_code_tells_builtins_apart(fn: object, python: bool) -> None:
    assert callables.runs_python_code(fn) is python


def test_a_builtin_gets_one_frame_named_after_it_and_behaves_the_same() -> None:
    wrapped = callables.in_own_frame(sorted)
    assert wrapped([3, 1, 2], reverse=True) == [3, 2, 1]
    assert wrapped.__code__.co_name == "sorted"
    assert wrapped.__code__.co_filename == "<builtin>"
    assert callables.in_own_frame(time.sleep).__code__.co_name == "time.sleep"
    assert callables.in_own_frame(nap) is nap  # Python code: left alone


@pytest.mark.parametrize("fn", [map, zip, iter])
def test_a_lazy_iterator_is_a_clear_error_not_a_measured_creation(fn: object) -> None:
    args = {map: (abs, [1, -2]), zip: ([1], [2]), iter: ([1, 2],)}[fn]  # type: ignore[index]
    with pytest.raises(ProdguardUsageError, match=r"returned a lazy iterator.*list\(\.\.\.\)"):
        measure(fn, args, spec=SPEC)  # type: ignore[arg-type]


def test_a_file_object_is_measured_as_returned() -> None:
    # Files are iterators too, but opening one is the work: not an error.
    assert measure(io.BytesIO, (b"x",), spec=None).call_kind == callables.CALL
