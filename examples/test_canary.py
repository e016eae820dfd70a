"""The sentiment service's canary check, kept as a regression test.

``canary/*.json`` hold ten minutes of the service's recorded metrics per
deployment (made by ``canary/make_data.py``): requests and 5xx errors of
``/predict``, its latency histogram, CPU and worker-pool utilisation. The same
check runs in the deploy pipeline as::

    prodguard canary canary/baseline.json canary/canary_good.json \\
        --slo predict_errors=0.01 --slo predict_latency:p99=0.25

Run ``python -m pytest examples -k canary``; set ``PRODGUARD_EXAMPLE_BAD_CANARY=1`` to
check the broken build instead and see the rollback verdict with its evidence.
"""

from __future__ import annotations

import json
import os
import pathlib

from pytest_prodguard.canary import assert_canary_healthy, canary_verdict

DATA = pathlib.Path(__file__).parent / "canary"
SLO = {"predict_errors": 0.01, "predict_latency:p99": 0.25}


def _arm(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_release_1_5_0_is_a_healthy_canary():
    canary = (
        "canary_bad.json" if os.environ.get("PRODGUARD_EXAMPLE_BAD_CANARY") else "canary_good.json"
    )
    verdict = assert_canary_healthy(_arm("baseline.json"), _arm(canary), slo=SLO)
    assert verdict.metric("predict_latency p99").status == "ok"


def test_the_build_without_the_tokenizer_cache_is_rolled_back_with_its_evidence():
    verdict = canary_verdict(_arm("baseline.json"), _arm("canary_bad.json"), slo=SLO)
    assert verdict.verdict == "rollback"
    assert verdict.metric("predict_errors").status == "rollback"
    assert verdict.metric("predict_latency p99").status == "investigate"
    assert verdict.metric("predict_latency p50").status == "ok"
    assert verdict.metric("cpu").status == "investigate"
    assert verdict.evidence is not None
    assert verdict.evidence.error_groups[0][0] == "TimeoutError"
