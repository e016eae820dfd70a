"""The checkout experiment's ship decision, kept as a regression test.

``experiment/events.csv`` holds one row per user (made by
``experiment/make_data.py``). The test fails, with a readable report, if the
data stops supporting the decision: too few users for the effect we care
about, a broken 50/50 split, no significant lift, a result read before the
planned sample size, a reversal across platforms, or a revenue regression.

Run ``python -m pytest examples -k experiment``; set ``PRODGUARD_EXAMPLE_PEEK=1``
to check the snapshot of the first three days instead, and see how the
checklist refuses an early, novelty-inflated result.
"""

from __future__ import annotations

import os
import pathlib

from pytest_prodguard.ab import Experiment, assert_ship_ready

EVENTS = pathlib.Path(__file__).parent / "experiment" / "events.csv"
COLUMNS = {
    "variant": "variant",
    "converted": "converted",
    "value": "revenue",
    "segment": "platform",
    "period": "day",
}


def _events() -> object:
    if os.environ.get("PRODGUARD_EXAMPLE_PEEK") != "1":
        return EVENTS
    import pandas as pd

    return pd.read_csv(EVENTS).query("day <= 3")


def test_new_checkout_is_ready_to_ship():
    experiment = Experiment.from_events(_events(), **COLUMNS)
    report = assert_ship_ready(
        experiment,
        mde=0.10,  # the smallest relative lift in conversion worth shipping for
        planned_n=5_500,  # users per arm the experiment was planned to run to
        guardrails={"revenue": 0.05},  # revenue per user must not drop by 5% or more
    )
    assert report.check("significance").details["winners"] == ["converted"]
