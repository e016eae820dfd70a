# The imports follow the check that names a missing extra:
# ruff: noqa: E402
"""Canary verdicts: healthy, investigate, rollback, or not enough data yet.

Compare a canary with a baseline running at the same time, on error counts,
latency percentiles (raw samples or Prometheus histogram buckets) and
throughput/saturation readings::

    from pytest_prodguard.canary import assert_canary_healthy

    def test_canary_is_healthy():
        assert_canary_healthy(
            json.loads(Path("baseline.json").read_text()),
            json.loads(Path("canary.json").read_text()),
            slo={"errors": 0.01, "latency:p99": 0.5},
        )

Error rates use an exact conditional test (it works with zero baseline
errors), percentiles distribution-free order-statistic bounds, all always
valid over the intervals of a rollout and adjusted together with Holm's
method. See ``docs/canary.md`` for the input format and the guarantees.
"""

from __future__ import annotations

from pytest_prodguard.extras import require_extra as _require_extra

_require_extra("ab", "pytest_prodguard.canary", ("numpy", "scipy"))

from pytest_prodguard.canary.checks import Check
from pytest_prodguard.canary.data import Arm, ErrorCounts, Gauge, LatencyData
from pytest_prodguard.canary.distributions import Histogram, Samples
from pytest_prodguard.canary.verdict import (
    EXIT_CODES,
    VERDICTS,
    CanaryError,
    CanaryVerdict,
    Evidence,
    MetricResult,
    assert_canary_healthy,
    canary_verdict,
)
from pytest_prodguard.errors import ProdguardUsageError

__all__ = [
    "EXIT_CODES",
    "VERDICTS",
    "Arm",
    "CanaryError",
    "CanaryVerdict",
    "Check",
    "ErrorCounts",
    "Evidence",
    "Gauge",
    "Histogram",
    "LatencyData",
    "MetricResult",
    "ProdguardUsageError",
    "Samples",
    "assert_canary_healthy",
    "canary_verdict",
]
