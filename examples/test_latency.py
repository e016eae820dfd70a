"""Latency budgets on the service's request path.

The budgets are set well above what the code needs on a CI runner, so they
catch regressions (such as INC-2025-005) without failing healthy code; the gate
only fails when the budget is exceeded with 95 % confidence.

To see a failure with its flamegraph, bring INC-2025-005's slow serialisation
back::

    PRODGUARD_EXAMPLE_SLOW_JSON=1 python -m pytest examples -k latency

The failure lists the hottest frames (the JSON encoder) and writes
``.prodguard/profiles/<test>/flamegraph.svg`` next to ``examples/``.
"""

from __future__ import annotations

import pytest

REVIEWS = [
    "great product, I love it",
    "terrible service and a slow delivery",
    "the app is really nice",
    "my order arrived broken, I want a refund",
] * 8  # a batch of 32, the service's usual request size


@pytest.mark.latency_budget(p95="10ms", p99="25ms", peak_memory="32MB")
def test_predicting_a_batch_of_32_stays_within_budget(service, latency):
    result = latency(service.predict, REVIEWS)
    assert result.n >= 10


@pytest.mark.incident_repro("INC-2025-005")
@pytest.mark.latency_budget(p95="2ms", warn_p95="1ms")
def test_serialising_a_response_stays_fast(service, latency):
    response = service.handle({"texts": REVIEWS})
    latency(service.serialize, response)


def test_handle_latency_is_recorded_for_the_report(service, latency):
    # No marker: measured and recorded (terminal summary, JSON report), never judged.
    latency(service.handle, {"texts": REVIEWS})
