"""The ship-readiness checklist: each check passes and fails for the right reason, readably."""

from __future__ import annotations

import json
import pickle

import pytest

from pytest_prodguard import recorder
from pytest_prodguard.ab import (
    Experiment,
    Guardrail,
    Mean,
    ProdguardUsageError,
    ShipReadinessError,
    assert_ship_ready,
    check_ship_ready,
)


def _experiment(control=(1500, 15000), treatment=(1800, 15000), **kwargs):
    revenue = kwargs.pop("revenue", (Mean(control[1], 5.0, 12.0), Mean(treatment[1], 5.3, 12.5)))
    return Experiment.from_dict(
        {
            "control": {"conversion": control, "revenue": revenue[0]},
            "treatment": {"conversion": treatment, "revenue": revenue[1]},
        },
        control="control",
        **kwargs,
    )


CONSISTENT_SEGMENTS = {
    "web": {"control": {"conversion": (900, 9000)}, "treatment": {"conversion": (1080, 9000)}},
    "app": {"control": {"conversion": (600, 6000)}, "treatment": {"conversion": (720, 6000)}},
}


def test_a_sound_experiment_is_ready():
    experiment = _experiment(segments=CONSISTENT_SEGMENTS)
    report = assert_ship_ready(experiment, mde=0.1, guardrails={"revenue": 0.05}, planned_n=15000)
    assert report.ready
    assert [check.name for check in report.checks] == [
        "sample ratio", "power", "significance", "peeking", "simpson", "guardrail 'revenue'"
    ]  # fmt: skip
    assert all(check.status == "pass" for check in report.checks)
    assert "READY" in str(report)
    assert "reached the planned sample size" in report.check("peeking").summary


def test_underpowered_experiment_says_how_many_users_it_needs():
    experiment = _experiment(control=(50, 500), treatment=(75, 500))
    report = check_ship_ready(experiment, mde=0.1)
    power = report.check("power")
    assert power.failed
    assert "needs 14,751 users per arm" in power.summary
    assert "has 500 users per arm" in power.summary
    assert "keep the experiment running until it has 14,751 users per arm" in power.advice
    assert power.details["required_control"] == 14751
    assert not report.ready
    assert "[FAIL] power" in report.text()


def test_sample_ratio_mismatch_fails():
    experiment = _experiment(control=(1500, 15000), treatment=(1700, 14000))
    report = check_ship_ready(experiment, mde=0.1)
    srm = report.check("sample ratio")
    assert srm.failed
    assert srm.summary.startswith("sample ratio mismatch")
    assert "assignment or logging is broken" in srm.advice
    # With the planned 15:14 allocation the same counts are fine.
    planned = check_ship_ready(experiment, mde=0.1, allocation={"control": 15, "treatment": 14})
    assert planned.check("sample ratio").status == "pass"


def test_too_few_units_for_the_sample_ratio_test_is_not_a_pass():
    report = check_ship_ready(_experiment(control=(1, 5), treatment=(2, 5)), mde=0.5)
    srm = report.check("sample ratio")
    assert srm.failed
    assert "too few" in srm.summary
    assert "at least 11 units" in srm.advice


def test_significant_before_the_planned_size_is_flagged_as_peeking():
    experiment = _experiment(control=(500, 5000), treatment=(580, 5000))
    report = check_ship_ready(experiment, mde=0.1, planned_n=15000)
    assert report.check("significance").status == "pass"
    peeking = report.check("peeking")
    assert peeking.failed
    assert "significant before the planned sample size" in peeking.summary
    assert "has 5,000 users per arm, planned 15,000 users per arm" in peeking.summary
    assert peeking.details["sequential"]["p_value"] >= 0.05
    # Without planned_n, the power analysis sets the horizon.
    default = check_ship_ready(experiment, mde=0.1).check("peeking")
    assert default.failed
    assert "planned 14,751 users per arm (from the power analysis)" in default.summary


def test_an_early_stop_that_the_always_valid_test_supports_passes():
    periods = {
        f"day {day}": {
            "control": {"conversion": (100, 1000), "revenue": Mean(1000, 5.0, 12.0)},
            "treatment": {"conversion": (140, 1000), "revenue": Mean(1000, 5.3, 12.5)},
        }
        for day in range(1, 6)
    }
    experiment = _experiment(
        control=(500, 5000),
        treatment=(700, 5000),
        revenue=(Mean(5000, 5.0, 12.0), Mean(5000, 5.3, 12.5)),
        periods=periods,
    )
    report = check_ship_ready(experiment, mde=0.1, planned_n=15000)
    peeking = report.check("peeking")
    assert peeking.status == "pass"
    assert "stopped early but safely" in peeking.summary
    assert peeking.details["sequential"]["labels"] == [f"day {day}" for day in range(1, 6)]
    power = report.check("power")
    assert power.status == "pass"
    assert "stopped early by the always-valid test" in power.summary


def test_no_early_claim_is_not_peeking():
    report = check_ship_ready(_experiment(control=(500, 5000), treatment=(505, 5000)), mde=0.1)
    assert report.check("peeking").status == "pass"
    assert report.check("significance").failed
    assert "no significant improvement" in report.check("significance").summary


def test_simpsons_paradox_fails_with_the_numbers_and_the_confounder():
    segments = {
        "small": {"control": {"conversion": (234, 270)}, "treatment": {"conversion": (81, 87)}},
        "large": {"control": {"conversion": (55, 80)}, "treatment": {"conversion": (192, 263)}},
    }
    experiment = Experiment.from_dict(
        {"control": {"conversion": (289, 350)}, "treatment": {"conversion": (273, 350)}},
        control="control",
        segments=segments,
    )
    simpson = check_ship_ready(experiment, mde=0.1).check("simpson")
    assert simpson.failed
    assert "Simpson's paradox" in simpson.summary
    assert "small: +6.44 pp" in simpson.summary
    assert "77% of control vs 25% of treatment" in simpson.summary
    assert "segment-weighted lift" in simpson.summary
    assert simpson.details["rule"] == "every segment"


def test_consistent_segments_pass_the_simpson_check():
    report = check_ship_ready(_experiment(segments=CONSISTENT_SEGMENTS), mde=0.1)
    assert report.check("simpson").status == "pass"


def test_a_degraded_guardrail_fails():
    experiment = _experiment(revenue=(Mean(15000, 5.0, 12.0), Mean(15000, 4.5, 12.0)))
    report = check_ship_ready(experiment, mde=0.1, guardrails=[Guardrail("revenue", 0.05)])
    guardrail = report.check("guardrail 'revenue'")
    assert guardrail.failed
    assert "may be breached" in guardrail.summary
    assert "-10.0%" in guardrail.summary
    assert guardrail.details["passed"] is False


def test_lower_is_better_metrics():
    experiment = Experiment.from_dict(
        {
            "control": {"errors": (300, 10000), "latency": Mean(10000, 120.0, 40.0)},
            "treatment": {"errors": (200, 10000), "latency": Mean(10000, 121.0, 40.0)},
        },
        control="control",
    )
    report = check_ship_ready(
        experiment,
        mde=0.5,
        lower_is_better={"errors", "latency"},
        guardrails=[Guardrail("latency", 5.0, relative=False)],
    )
    assert report.check("significance").status == "pass"
    assert report.check("guardrail 'latency'").status == "pass"
    higher = check_ship_ready(experiment, mde=0.5)
    assert higher.check("significance").failed
    assert "significantly worse" in higher.check("significance").summary


def test_several_success_metrics_are_corrected():
    # conversion alone: p ~ 0.02. Tested with three other flat metrics, Holm multiplies
    # the smallest p-value by 4 and the win disappears.
    data = {
        "control": {"conversion": (1000, 10000)},
        "treatment": {"conversion": (1090, 10000)},
    }
    for metric in ("a", "b", "c"):
        data["control"][metric] = (500, 10000)
        data["treatment"][metric] = (505, 10000)
    experiment = Experiment.from_dict(data, control="control")
    alone = check_ship_ready(experiment, mde=0.1)
    assert alone.check("significance").status == "pass"
    family = check_ship_ready(experiment, mde=0.1, success_metrics=["conversion", "a", "b", "c"])
    significance = family.check("significance")
    assert significance.failed
    assert "Holm correction over 4 tests" in significance.summary
    tests = significance.details["tests"]
    assert tests[0]["adjusted_p_value"] == pytest.approx(4 * tests[0]["p_value"])


def test_multi_arm_experiments_need_the_arm_to_ship_and_correct_over_arms():
    experiment = Experiment.from_dict(
        {
            "control": {"conversion": (1500, 15000)},
            "b": {"conversion": (1800, 15000)},
            "c": {"conversion": (1520, 15000)},
        },
        control="control",
    )
    with pytest.raises(ProdguardUsageError, match=r"treatment=None: name the arm to ship"):
        check_ship_ready(experiment, mde=0.1)
    report = check_ship_ready(experiment, mde=0.1, treatment="b")
    assert report.treatment == "b"
    assert "over 2 tests" in report.check("significance").summary


def test_mean_primary_metric():
    experiment = Experiment.from_dict(
        {
            "control": {"revenue": Mean(4100, 10.0, 8.0)},
            "treatment": {"revenue": Mean(4100, 10.8, 8.0)},
        },
        control="control",
    )
    report = check_ship_ready(experiment, mde=0.05, planned_n=4100)
    assert report.ready, report.text()
    assert "a baseline of 10 (std 8)" in report.check("power").summary


def test_an_underpowered_plan_fails_until_the_data_itself_is_enough():
    experiment = _experiment(control=(500, 5000), treatment=(505, 5000))
    power = check_ship_ready(experiment, mde=0.1, planned_n=8000).check("power")
    assert power.failed
    assert power.summary.startswith("the plan of 8,000 users per arm is underpowered")
    assert "plan for 14,751 users per arm" in power.advice
    enough = _experiment(control=(1500, 15000), treatment=(1800, 15000))
    assert check_ship_ready(enough, mde=0.1, planned_n=8000).check("power").status == "pass"


def test_zero_baseline_fails_the_power_check_with_a_reason():
    report = check_ship_ready(_experiment(control=(0, 1000), treatment=(5, 1000)), mde=0.1)
    assert report.check("power").failed
    assert "control rate is 0.00%" in report.check("power").summary
    zero_mean = Experiment.from_dict(
        {"control": {"delta": Mean(500, 0.0, 1.0)}, "treatment": {"delta": Mean(500, 0.2, 1.0)}},
        control="control",
    )
    power = check_ship_ready(zero_mean, mde=0.1).check("power")
    assert power.failed
    assert "relative MDE is undefined" in power.summary
    assert "relative_mde=False" in power.advice
    assert check_ship_ready(zero_mean, mde=0.2, relative_mde=False).check("power").status == "pass"


def test_assert_raises_an_assertion_error_carrying_the_report():
    experiment = _experiment(control=(50, 500), treatment=(75, 500))
    with pytest.raises(ShipReadinessError) as caught:
        assert_ship_ready(experiment, mde=0.1)
    assert isinstance(caught.value, AssertionError)
    assert str(caught.value) == caught.value.report.text()
    assert "needs 14,751 users per arm" in str(caught.value)
    copied = pickle.loads(pickle.dumps(caught.value))
    assert str(copied) == str(caught.value)
    assert type(caught.value).__module__ == "pytest_prodguard.ab"


def test_report_is_recorded_as_json_in_the_running_test():
    recorded = []
    with recorder.recording_to(lambda kind, payload: recorded.append((kind, payload))):
        report = check_ship_ready(_experiment(segments=CONSISTENT_SEGMENTS), mde=0.1)
    assert [kind for kind, _ in recorded] == ["ab"]
    payload = recorded[0][1]
    assert payload == report.to_dict()
    assert json.loads(json.dumps(payload)) == payload
    assert payload["checks"][0]["name"] == "sample ratio"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mde": 0}, r"mde=0: must be a finite number greater than 0"),
        ({"alpha": 2}, r"alpha=2"),
        ({"power": 0}, r"power=0"),
        ({"treatment": "z"}, r"treatment='z': must be one of \['treatment'\]"),
        ({"guardrails": {"latency": 0.1}}, r"guardrails='latency': is not a metric"),
        ({"guardrails": {"revenue": -0.1}}, r"guardrails\['revenue'\]\.margin=-0\.1"),
        ({"guardrails": "revenue"}, r"guardrails='revenue'"),
        ({"planned_n": 0}, r"planned_n=0: must be a whole number >= 1"),
        ({"planned_n": {"control": 10}}, r"planned_n=.*every arm"),
        ({"allocation": {"control": 1}}, r"allocation=.*every arm"),
        ({"correction": "sidak"}, r"correction='sidak'"),
        ({"success_metrics": ["clicks"]}, r"success_metrics='clicks': is not a metric"),
        ({"lower_is_better": ["clicks"]}, r"lower_is_better='clicks'"),
        ({"mixing_sd": -1}, r"mixing_sd=-1"),
        ({"relative_mde": "yes"}, r"relative_mde='yes'"),
        ({"method": "t"}, r"method='t': must be one of 'pooled'"),
    ],
)
def test_bad_arguments_are_usage_errors(kwargs, match):
    arguments = {"mde": 0.1, **kwargs}
    with pytest.raises(ProdguardUsageError, match=match):
        check_ship_ready(_experiment(), **arguments)


def test_only_an_experiment_is_accepted():
    with pytest.raises(ProdguardUsageError, match=r"experiment=.*must be an Experiment"):
        check_ship_ready({"control": {}}, mde=0.1)


def test_mde_is_required():
    with pytest.raises(TypeError):
        check_ship_ready(_experiment())  # type: ignore[call-arg]
