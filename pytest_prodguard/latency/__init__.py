"""Latency and memory budgets that decide with confidence on noisy machines.

Pure Python, no pytest: :func:`parse_latency_spec` validates marker arguments,
:func:`measure` samples a callable adaptively (:func:`measure_async` in a
running event loop; :func:`measure_with_decisions` also returns what its looks
decided), :func:`judge` / :func:`judge_samples` turn samples into a
three-valued verdict, and the
baseline functions save, load and compare per-test summaries. The plugin wires
these to ``@pytest.mark.latency_budget`` and the ``latency`` fixture; see
``docs/latency.md``.
"""

from __future__ import annotations

from pytest_prodguard.latency.baseline import (
    Baseline,
    BaselineError,
    BaselineLockTimeout,
    BaselineMissingError,
    BaselineRun,
    baseline_path,
    load_baseline,
    save_baseline,
)
from pytest_prodguard.latency.checks import Check
from pytest_prodguard.latency.compare import ComparisonVerdict, compare_to_baseline
from pytest_prodguard.latency.decisions import Decisions
from pytest_prodguard.latency.environment import (
    describe_environment,
    fingerprint_label,
    format_environment,
    machine_fingerprint,
)
from pytest_prodguard.latency.measurement import Measurement
from pytest_prodguard.latency.sampler import (
    BASELINE_SAVE_SECONDS,
    measure,
    measure_async,
    measure_with_decisions,
    sample,
)
from pytest_prodguard.latency.spec import (
    ACCEPTED_KEYWORDS,
    STATISTICS,
    LatencySpec,
    parse_latency_spec,
)
from pytest_prodguard.latency.verdict import (
    LatencyVerdict,
    judge,
    judge_samples,
    measurement_from_samples,
)

__all__ = [
    "ACCEPTED_KEYWORDS",
    "BASELINE_SAVE_SECONDS",
    "STATISTICS",
    "Baseline",
    "BaselineError",
    "BaselineLockTimeout",
    "BaselineMissingError",
    "BaselineRun",
    "Check",
    "ComparisonVerdict",
    "Decisions",
    "LatencySpec",
    "LatencyVerdict",
    "Measurement",
    "baseline_path",
    "compare_to_baseline",
    "describe_environment",
    "fingerprint_label",
    "format_environment",
    "judge",
    "judge_samples",
    "load_baseline",
    "machine_fingerprint",
    "measure",
    "measure_async",
    "measure_with_decisions",
    "measurement_from_samples",
    "parse_latency_spec",
    "sample",
    "save_baseline",
]
