# The imports follow the check that names a missing extra:
# ruff: noqa: E402
"""A/B test checks: power, significance, SRM, Simpson's paradox, peeking, guardrails.

Turn an experiment's ship decision into a regression test::

    from pytest_prodguard.ab import Experiment, assert_ship_ready

    def test_new_checkout_is_ready_to_ship():
        experiment = Experiment.from_events(
            "events.parquet", variant="variant", converted="converted",
            value="revenue", segment="platform", period="day",
        )
        assert_ship_ready(experiment, mde=0.05, guardrails={"revenue": 0.02})

Every statistic is validated against statsmodels/scipy; see ``docs/ab.md`` for
the formulas and their guarantees. This package imports numpy and scipy when
imported (users import it explicitly); pandas and pyarrow only when reading
event data.
"""

from __future__ import annotations

from pytest_prodguard.extras import require_extra as _require_extra

_require_extra("ab", "pytest_prodguard.ab", ("numpy", "scipy"))

from pytest_prodguard.ab.checklist import (
    CheckResult,
    Guardrail,
    ShipReadinessError,
    ShipReport,
    assert_ship_ready,
    check_ship_ready,
)
from pytest_prodguard.ab.cuped import CupedResult, cuped
from pytest_prodguard.ab.data import Experiment, Look, Mean, Proportion, Stat, pool
from pytest_prodguard.ab.multiple import adjust_pvalues
from pytest_prodguard.ab.power import (
    achieved_power,
    mean_mde,
    mean_power,
    mean_sample_size,
    minimum_detectable_effect,
    rate_mde,
    rate_power,
    rate_sample_size,
    required_sample_size,
    required_sample_size_mean,
)
from pytest_prodguard.ab.sequential import SequentialResult, sequential_test
from pytest_prodguard.ab.significance import (
    NonInferiorityResult,
    SignificanceResult,
    compare,
    non_inferiority_test,
    proportions_test,
    welch_test,
)
from pytest_prodguard.ab.simpson import SegmentEffect, SimpsonResult, simpson_check
from pytest_prodguard.ab.srm import SRMResult, srm_test
from pytest_prodguard.errors import ProdguardUsageError

__all__ = [
    "CheckResult",
    "CupedResult",
    "Experiment",
    "Guardrail",
    "Look",
    "Mean",
    "NonInferiorityResult",
    "ProdguardUsageError",
    "Proportion",
    "SRMResult",
    "SegmentEffect",
    "SequentialResult",
    "ShipReadinessError",
    "ShipReport",
    "SignificanceResult",
    "SimpsonResult",
    "Stat",
    "achieved_power",
    "adjust_pvalues",
    "assert_ship_ready",
    "check_ship_ready",
    "compare",
    "cuped",
    "mean_mde",
    "mean_power",
    "mean_sample_size",
    "minimum_detectable_effect",
    "non_inferiority_test",
    "pool",
    "proportions_test",
    "rate_mde",
    "rate_power",
    "rate_sample_size",
    "required_sample_size",
    "required_sample_size_mean",
    "sequential_test",
    "simpson_check",
    "srm_test",
    "welch_test",
]
