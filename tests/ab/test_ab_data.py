"""Proportion, Mean, pooling and Experiment.from_dict."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_prodguard.ab import Experiment, Mean, ProdguardUsageError, Proportion, pool


def test_proportion_exposes_rate_and_variance():
    stat = Proportion(25, 200)
    assert (stat.n, stat.rate, stat.mean) == (200, 0.125, 0.125)
    assert stat.variance == pytest.approx(0.125 * 0.875)
    assert Proportion(25.0, 200.0) == stat
    assert isinstance(Proportion(25.0, 200.0).trials, int)


def test_mean_from_samples_matches_numpy():
    values = np.random.default_rng(0).normal(3.0, 2.0, 101)
    stat = Mean.from_samples(values)
    assert stat.n == 101
    assert stat.mean == pytest.approx(values.mean())
    assert stat.std == pytest.approx(values.std(ddof=1))


def test_pool_merges_means_exactly():
    rng = np.random.default_rng(1)
    groups = [rng.normal(loc, 1.0 + abs(loc), size) for loc, size in ((0, 10), (5, 200), (-2, 33))]
    pooled = pool(Mean.from_samples(group) for group in groups)
    everything = np.concatenate(groups)
    assert pooled.n == everything.size
    assert pooled.mean == pytest.approx(everything.mean())
    assert pooled.std == pytest.approx(everything.std(ddof=1))


def test_pool_adds_proportions():
    assert pool([Proportion(1, 10), Proportion(5, 20)]) == Proportion(6, 30)


def test_from_dict_accepts_every_documented_shape():
    experiment = Experiment.from_dict(
        {
            "control": {
                "conversion": (100, 1000),
                "revenue": {"n": 1000, "mean": 5.0, "std": 2.0},
                "clicks": {"successes": 300, "trials": 1000},
                "time": {"values": [1.0, 2.0, 3.0]},
            },
            "treatment": {
                "conversion": Proportion(120, 1010),
                "revenue": Mean(1010, 5.2, 2.1),
                "clicks": [310, 1010],
                "time": {"values": [2.0, 2.0, 3.0]},
            },
        },
        control="control",
    )
    assert experiment.arms == ("control", "treatment")
    assert experiment.primary == "conversion"
    assert experiment.units == {"control": 1000, "treatment": 1010}
    assert experiment.kind("revenue") == "mean"
    assert experiment.stat("clicks", "treatment") == Proportion(310, 1010)
    json.dumps(experiment.to_dict())


def test_periods_become_cumulative_looks_once_every_arm_has_data():
    experiment = Experiment.from_dict(
        {"a": {"m": (30, 300)}, "b": {"m": (36, 300)}},
        control="a",
        periods={
            "day 1": {"a": {"m": (10, 100)}},
            "day 2": {"a": {"m": (10, 100)}, "b": {"m": (12, 150)}},
            "day 3": {"a": {"m": (10, 100)}, "b": {"m": (24, 150)}},
        },
    )
    assert [look.label for look in experiment.looks] == ["day 2", "day 3"]
    assert experiment.look_pairs("m", "b") == [
        ("day 2", Proportion(20, 200), Proportion(12, 150)),
        ("day 3", Proportion(30, 300), Proportion(36, 300)),
    ]


def test_segments_are_stored_per_metric_and_arm():
    experiment = Experiment.from_dict(
        {"a": {"m": (30, 300)}, "b": {"m": (36, 300)}},
        control="a",
        segments={
            "web": {"a": {"m": (10, 100)}, "b": {"m": (16, 150)}},
            "app": {"a": {"m": (20, 200)}, "b": {"m": (20, 150)}},
        },
    )
    assert experiment.segment_pairs("m", "b") == {
        "web": (Proportion(10, 100), Proportion(16, 150)),
        "app": (Proportion(20, 200), Proportion(20, 150)),
    }


def test_multi_arm_experiment_orders_control_first():
    experiment = Experiment.from_dict(
        {"b": {"m": (1, 10)}, "control": {"m": (1, 10)}, "c": {"m": (1, 10)}}, control="control"
    )
    assert experiment.arms == ("control", "b", "c")
    assert experiment.treatments == ("b", "c")


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        ({"a": {"m": (1, 10)}}, {"control": "a"}, "needs a control and at least one treatment"),
        ({"a": {"m": (1, 10)}, "b": {"m": (1, 10)}}, {"control": "z"}, "control='z'"),
        (
            {"a": {"m": (1, 10)}, "b": {"m": (1, 10)}},
            {"control": "a", "primary": "x"},
            "primary='x'",
        ),
        ({"a": {"m": (1, 10)}, "b": {"n": (1, 10)}}, {"control": "a"}, "missing"),
        (
            {"a": {"m": (1, 10)}, "b": {"m": {"n": 10, "mean": 1, "std": 1}}},
            {"control": "a"},
            "all rates or all means",
        ),
        ({"a": {"m": "ten"}, "b": {"m": (1, 10)}}, {"control": "a"}, r"data\['a'\]\['m'\]"),
        ({"a": {"m": (11, 10)}, "b": {"m": (1, 10)}}, {"control": "a"}, "successes=11"),
        (
            {"a": {"m": (1, 10)}, "b": {"m": (1, 10)}},
            {"control": "a", "segments": {"web": {"a": {"m": (1, 5)}}}},
            r"segments\['web'\].*every segment",
        ),
        (
            {"a": {"m": (1, 10)}, "b": {"m": (1, 10)}},
            {"control": "a", "units": {"a": 10}},
            "units",
        ),
    ],
)
def test_from_dict_rejects_bad_data(data, kwargs, match):
    with pytest.raises(ProdguardUsageError, match=match):
        Experiment.from_dict(data, **kwargs)


def test_stat_errors_name_the_arm_and_metric():
    with pytest.raises(ProdguardUsageError) as caught:
        Experiment.from_dict({"a": {"m": (-1, 10)}, "b": {"m": (1, 10)}}, control="a")
    assert caught.value.field == "successes"
    assert "data['a']['m']" in str(caught.value)
