"""Bad canary input: a clear ProdguardUsageError naming the field and the value."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_prodguard.canary import VERDICTS, Arm, ErrorCounts, Gauge, canary_verdict
from pytest_prodguard.errors import ProdguardUsageError

GOOD = {
    "metrics": [
        {"name": "errors", "type": "errors", "requests": [1000, 1000], "errors": [10, 12]},
        {"name": "latency", "type": "latency", "samples": [[0.1, 0.2, 0.3], [0.2, 0.4]]},
        {
            "name": "api_latency",
            "type": "latency",
            "buckets": [[0.1, 2], [0.5, 7], ["+Inf", 9]],
        },
        {"name": "cpu", "type": "saturation", "values": [0.4, 0.5], "limit": 0.8},
    ]
}


def _with(metric_index, **changes):
    arm = copy.deepcopy(GOOD)
    arm["metrics"][metric_index].update(changes)
    return arm


@pytest.mark.parametrize(
    ("arm", "field", "fragment"),
    [
        (_with(0, errors=[-1, 12]), "errors.errors[0]", "whole number >= 0"),
        (_with(0, requests=[1000.5, 1000]), "errors.requests[0]", "whole number >= 0"),
        (_with(0, errors=[10, "12"]), "errors.errors[1]", "whole number"),
        (_with(0, errors=[10, 1001]), "errors.errors[1]", "must not exceed the 1000 requests"),
        (_with(0, errors=[10]), "errors.errors", "one count per interval"),
        (_with(1, samples=[]), "latency.samples", "non-empty list"),
        (_with(1, samples=[[0.1], []]), "latency.samples[1]", "non-empty list"),
        (_with(1, samples=[0.1, -0.2]), "latency.samples[0][1]", ">= 0"),
        (_with(1, samples=[0.1, float("nan")]), "latency.samples[0][1]", "finite"),
        (
            _with(2, buckets=[[0.1, 5], [0.5, 3], ["+Inf", 9]]),
            "api_latency.buckets[0][1] count",
            "cumulative",
        ),
        (
            _with(2, buckets=[[0.5, 2], [0.1, 7], ["+Inf", 9]]),
            "api_latency.buckets[0][1] le",
            "sorted ascending",
        ),
        (_with(2, buckets=[[0.1, 0], ["+Inf", 0]]), "api_latency.buckets[0]", "empty"),
        (_with(2, buckets=[["fast", 1], ["+Inf", 2]]), "api_latency.buckets[0][0] le", "+Inf"),
        (
            _with(2, buckets=[[[0.1, 1], ["+Inf", 2]], [[0.2, 1], ["+Inf", 2]]]),
            "api_latency.buckets[1]",
            "same bucket edges",
        ),
        (_with(1, buckets=[[0.1, 1]]), "latency", "exactly one of 'samples' or 'buckets'"),
        (_with(3, values=[0.4, -0.1]), "cpu.values[1]", ">= 0"),
        (_with(3, limit="high"), "cpu.limit", "finite real number"),
        (_with(3, type="disk"), "cpu.type", "'errors', 'latency'"),
        (_with(3, colour="red"), "cpu", "unknown keys"),
        (_with(3, name="errors"), "metrics", "names a metric twice"),
        ({"metrics": []}, "baseline.metrics", "non-empty list"),
        ({"metrics": GOOD["metrics"], "extra": 1}, "baseline", "unknown keys"),
        ({**GOOD, "window": "today"}, "baseline.window", '"start"'),
        ({**GOOD, "error_groups": {"Timeout": -2}}, "baseline.error_groups['Timeout']", ">= 0"),
    ],
)
def test_bad_arm_names_the_field_and_value(arm, field, fragment):
    with pytest.raises(ProdguardUsageError) as info:
        canary_verdict(arm, GOOD)
    assert info.value.field == field
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("options", "field", "fragment"),
    [
        ({"alpha": 1.5}, "alpha", "strictly between 0 and 1"),
        ({"alpha": 0.01, "rollback_alpha": 0.05}, "rollback_alpha", "<= alpha"),
        ({"effect": 0.5}, "effect", "above 1"),
        ({"effect": {"nope": 2.0}}, "effect", "names no metric"),
        ({"slo": {"errors": 2}}, "slo['errors']", "strictly between 0 and 1"),
        ({"slo": {"latency:p99": -1}}, "slo['latency:p99']", "greater than 0"),
        ({"slo": {"latency:fast": 1}}, "slo['latency:fast']", "latency percentile"),
        ({"slo": {"cpu": 0.5}}, "slo['cpu']", "error metric"),
        ({"critical": ["disk"]}, "critical", "names no metric"),
        ({"quantiles": [0.5, 1.0]}, "quantiles[1]", "strictly between 0 and 1"),
        ({"quantiles": [0.5, 0.5]}, "quantiles", "twice"),
    ],
)
def test_bad_option_names_the_field_and_value(options, field, fragment):
    with pytest.raises(ProdguardUsageError) as info:
        canary_verdict(GOOD, GOOD, **options)
    assert info.value.field == field
    assert fragment in str(info.value)


def test_canary_must_name_the_baselines_metrics_with_paired_intervals():
    missing = {"metrics": GOOD["metrics"][:2]}
    with pytest.raises(ProdguardUsageError, match="same metrics as the baseline"):
        canary_verdict(GOOD, missing)
    with pytest.raises(ProdguardUsageError, match="intervals must pair"):
        canary_verdict(GOOD, _with(0, requests=[2000], errors=[22]))
    with pytest.raises(ProdguardUsageError, match="same type as the baseline"):
        canary_verdict(GOOD, _with(3, type="throughput"))


def test_python_objects_are_validated_where_they_are_built():
    with pytest.raises(ProdguardUsageError, match="must not exceed"):
        ErrorCounts("errors", (10,), (11,))
    with pytest.raises(ProdguardUsageError, match="names a metric twice"):
        Arm((ErrorCounts("e", (1,), (0,)), Gauge("e", "saturation", (0.1,))))
    arm = Arm((ErrorCounts("errors", (6000,), (60,)),))
    assert canary_verdict(arm, arm).metric("errors").check.numbers["canary_errors"] == 60


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "+Inf", "errors", "0.1", "latency"]),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "name",
                    "type",
                    "requests",
                    "errors",
                    "samples",
                    "buckets",
                    "values",
                    "limit",
                    "metrics",
                ]
            ),
            children,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@st.composite
def mangled_arms(draw):
    """GOOD with one value somewhere replaced by arbitrary JSON."""
    arm = copy.deepcopy(GOOD)
    metric = draw(st.sampled_from(arm["metrics"]))
    key = draw(st.sampled_from(sorted(metric)))
    metric[key] = draw(JSON_VALUES)
    return arm


@settings(max_examples=150)
@given(arm=st.one_of(mangled_arms(), JSON_VALUES))
def test_any_json_gives_a_verdict_or_a_usage_error(arm):
    assert _judge(arm) in VERDICTS or _judge(arm).startswith("usage error: ")


def _judge(arm):
    try:
        return canary_verdict(arm, arm).verdict
    except ProdguardUsageError as error:
        return f"usage error: {error.field}"
