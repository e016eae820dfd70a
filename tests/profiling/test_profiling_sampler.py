"""The builtin sampler's bookkeeping, driven with synthetic clock values."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections import Counter

from pytest_prodguard.profiling.sampler import ThreadSampler
from pytest_prodguard.profiling.stacks import frame_label

THIS_FILE = os.path.abspath(__file__)


def profiled_loop(action):
    """Stands in for the runner's loop: stacks are cut below this frame."""
    return worker(action)


def worker(action):
    return action()


def outside(action):
    return action()


def make_sampler(rate=100):
    return ThreadSampler(loop_code=profiled_loop.__code__, rate=rate)


def sample_inside(sampler, elapsed):
    profiled_loop(lambda: sampler.sample(elapsed))


def sample_outside(sampler, elapsed):
    outside(lambda: sampler.sample(elapsed))


def test_each_sample_is_weighted_by_the_ticks_since_the_previous_one():
    sampler = make_sampler(rate=100)  # one tick = 10 ms
    sample_inside(sampler, 0.052)  # 5 ticks
    sample_inside(sampler, 0.057)  # still tick 5: nothing to add
    sample_inside(sampler, 0.253)  # 20 more ticks, e.g. after a GIL-holding C call
    (stack,) = sampler.stacks
    assert sampler.stacks[stack] == 25
    assert stack[0] == frame_label("worker", THIS_FILE, worker.__code__.co_firstlineno + 1)
    assert stack[-1].startswith("ThreadSampler.sample (")


def test_samples_outside_the_loop_are_dropped_with_their_ticks():
    sampler = make_sampler(rate=100)
    sample_outside(sampler, 0.035)  # 3 ticks, dropped
    sample_inside(sampler, 0.045)  # 1 tick
    assert sum(sampler.stacks.values()) == 1


def test_another_thread_is_sampled_from_the_sampling_thread():
    sampler = make_sampler(rate=500)
    release = threading.Event()
    sampler.start()
    profiled_loop(lambda: release.wait(0.2))
    sampler.stop()
    assert sampler.stacks
    assert all(stack[0].startswith("worker (") for stack in sampler.stacks)
    assert Counter(stack[-1].split(" (")[0] for stack in sampler.stacks).most_common(1)[0][0] in {
        "Event.wait",
        "Condition.wait",
    }


def test_a_garbage_collection_callback_is_left_out_of_the_stack():
    # Hypothesis registers a gc callback; when a collection runs inside the profiled
    # code, the callback's frame sits on top of the stack and used to take the samples.
    stacks = []

    def loop():
        collect_garbage()

    def collect_garbage():
        gc.callbacks.append(callback)
        try:
            gc.collect()
        finally:
            gc.callbacks.remove(callback)

    def callback(phase, info):
        if phase == "start" and not stacks:
            stacks.append(sampler._stack_below_loop(sys._getframe()))

    sampler = ThreadSampler(loop_code=loop.__code__, rate=100)
    loop()
    assert len(stacks) == 1
    assert [label.split(" ")[0] for label in stacks[0]] == [
        collect_garbage.__qualname__
    ], stacks[0]
