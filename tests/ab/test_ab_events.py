"""Experiment.from_events: vectorised aggregation of unit-level rows from every source."""

from __future__ import annotations

import numpy as np
import pytest

from pytest_prodguard.ab import Experiment, Mean, ProdguardUsageError, Proportion, cuped

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _events(seed=0, rows=6000):
    rng = np.random.default_rng(seed)
    variant = rng.choice(["control", "treatment"], rows)
    segment = rng.choice(["app", "web", "tablet"], rows, p=[0.5, 0.4, 0.1])
    day = rng.integers(1, 8, rows)
    converted = rng.random(rows) < np.where(variant == "treatment", 0.12, 0.10)
    pre = rng.gamma(2.0, 5.0, rows)
    revenue = np.where(converted, 0.5 * pre + rng.gamma(2.0, 10.0, rows), 0.0)
    return pd.DataFrame(
        {
            "variant": variant,
            "segment": segment,
            "day": day,
            "converted": converted.astype(int),
            "revenue": revenue,
            "pre_revenue": pre,
        }
    )


KWARGS = {
    "variant": "variant",
    "converted": "converted",
    "value": "revenue",
    "segment": "segment",
    "period": "day",
}


def _assert_same(left: Experiment, right: Experiment):
    assert left.arms == right.arms
    assert dict(left.units) == dict(right.units)
    for metric in left.metrics:
        for arm in left.arms:
            _assert_stat(left.stat(metric, arm), right.stat(metric, arm))
    assert list(left.segments) == list(right.segments)
    assert [look.label for look in left.looks] == [look.label for look in right.looks]
    for name in left.segments:
        for metric in left.metrics:
            for arm in left.arms:
                _assert_stat(left.segments[name][metric][arm], right.segments[name][metric][arm])


def _assert_stat(left, right):
    assert type(left) is type(right)
    if isinstance(left, Proportion):
        assert left == right
    else:
        assert left.n == right.n
        assert left.mean == pytest.approx(right.mean, rel=1e-12)
        assert left.std == pytest.approx(right.std, rel=1e-9)


def test_dataframe_aggregates_match_a_groupby():
    frame = _events()
    experiment = Experiment.from_events(frame, **KWARGS)
    assert experiment.arms == ("control", "treatment")
    assert experiment.primary == "converted"
    for arm, rows in frame.groupby("variant"):
        assert experiment.units[arm] == len(rows)
        assert experiment.stat("converted", arm) == Proportion(int(rows.converted.sum()), len(rows))
        _assert_stat(experiment.stat("revenue", arm), Mean.from_samples(rows.revenue))
    assert list(experiment.segments) == ["app", "tablet", "web"]
    for (segment, arm), rows in frame.groupby(["segment", "variant"]):
        _assert_stat(experiment.segments[segment]["revenue"][arm], Mean.from_samples(rows.revenue))
    assert [look.label for look in experiment.looks] == [str(day) for day in range(1, 8)]
    for look in experiment.looks:
        upto = frame[frame.day <= int(look.label)]
        for arm, rows in upto.groupby("variant"):
            assert look.metrics["converted"][arm] == Proportion(
                int(rows.converted.sum()), len(rows)
            )
            _assert_stat(look.metrics["revenue"][arm], Mean.from_samples(rows.revenue))


def test_parquet_csv_arrow_and_dict_sources_agree(tmp_path):
    frame = _events(1)
    reference = Experiment.from_events(frame, **KWARGS)
    parquet = tmp_path / "events.parquet"
    frame.to_parquet(parquet)
    csv = tmp_path / "events.csv"
    frame.to_csv(csv, index=False)
    _assert_same(reference, Experiment.from_events(parquet, **KWARGS))
    _assert_same(reference, Experiment.from_events(str(csv), **KWARGS))
    _assert_same(reference, Experiment.from_events(pa.Table.from_pandas(frame), **KWARGS))
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    _assert_same(reference, Experiment.from_events(columns, **KWARGS))
    categorical = frame.astype({"variant": "category", "segment": "category"})
    _assert_same(reference, Experiment.from_events(categorical, **KWARGS))


def test_multi_chunk_dictionary_parquet(tmp_path):
    frame = _events(2, rows=5000)
    path = tmp_path / "chunks.parquet"
    pq.write_table(pa.Table.from_pandas(frame), path, row_group_size=700)
    _assert_same(Experiment.from_events(frame, **KWARGS), Experiment.from_events(path, **KWARGS))


def test_dates_booleans_and_several_metrics():
    frame = _events(3)
    frame["date"] = pd.Timestamp("2025-03-01") + pd.to_timedelta(frame.day, unit="D")
    frame["clicked"] = frame.revenue > 5
    experiment = Experiment.from_events(
        frame,
        variant="variant",
        converted=["converted", "clicked"],
        value=["revenue", "pre_revenue"],
        period="date",
    )
    assert experiment.looks[0].label == "2025-03-02"
    assert experiment.kind("clicked") == "rate"
    assert experiment.kind("pre_revenue") == "mean"


def test_cuped_column_matches_the_cuped_function():
    frame = _events(4)
    experiment = Experiment.from_events(
        frame, variant="variant", converted="converted", value="revenue",
        cuped={"revenue": "pre_revenue"},
    )  # fmt: skip
    control, treatment = (frame[frame.variant == arm] for arm in ("control", "treatment"))
    expected = cuped(
        control=control.revenue,
        control_pre=control.pre_revenue,
        treatment=treatment.revenue,
        treatment_pre=treatment.pre_revenue,
    )
    _assert_stat(experiment.stat("revenue", "control"), expected.control)
    _assert_stat(experiment.stat("revenue", "treatment"), expected.treatment)
    assert "CUPED-adjusted" in experiment.notes[0]


def test_explicit_control_and_primary():
    frame = _events(5).replace({"variant": {"control": "A", "treatment": "B"}})
    experiment = Experiment.from_events(
        frame, variant="variant", converted="converted", value="revenue", control="B",
        primary="revenue",
    )  # fmt: skip
    assert experiment.arms == ("B", "A")
    assert experiment.primary == "revenue"


@pytest.mark.parametrize(
    ("change", "kwargs", "match"),
    [
        (None, {"segment": "platform"}, r"segment='platform': is not a column; available"),
        (None, {"converted": None, "value": None}, r"name at least one metric column"),
        (None, {"control": "B"}, r"control='B': must be one of the arms"),
        (
            lambda f: f.assign(variant="control"),
            {},
            r"variant='variant': column holds a single arm",
        ),
        (
            lambda f: f.assign(variant=f.variant.replace({"control": "A"})),
            {},
            r"control=None: name the control arm",
        ),
        (
            lambda f: f.assign(revenue=f.revenue.where(f.index != 17)),
            {},
            r"value='revenue': column has 1 missing/NaN value\(s\), first at row 17",
        ),
        (
            lambda f: f.assign(converted=f.converted * 2),
            {},
            r"converted='converted': column must hold only 0/1",
        ),
        (
            lambda f: f.assign(revenue="lots"),
            {},
            r"value='revenue': column must be numeric",
        ),
        (
            lambda f: f.assign(segment=f.segment.where(f.index != 3)),
            {},
            r"segment='segment': column has 1 missing",
        ),
        (
            lambda f: f.assign(
                segment=np.where(
                    (f.segment == "tablet") & (f.variant == "control"), "app", f.segment
                )
            ),
            {},
            r"segment='tablet': has no units in arm\(s\) \['control'\].*every segment",
        ),
        (None, {"cuped": {"clicks": "pre_revenue"}}, r"cuped='clicks'"),
    ],
)
def test_bad_event_data_is_a_clear_error(change, kwargs, match):
    frame = _events(6, rows=3000)
    if change is not None:
        frame = change(frame)
    with pytest.raises(ProdguardUsageError, match=match):
        Experiment.from_events(frame, **{**KWARGS, **kwargs})


def test_bad_sources(tmp_path):
    with pytest.raises(ProdguardUsageError, match="file not found"):
        Experiment.from_events(tmp_path / "missing.csv", **KWARGS)
    other = tmp_path / "events.json"
    other.write_text("{}")
    with pytest.raises(ProdguardUsageError, match=r"must be a \.csv"):
        Experiment.from_events(other, **KWARGS)
    with pytest.raises(ProdguardUsageError, match="source='int'"):
        Experiment.from_events(42, **KWARGS)
    csv = tmp_path / "events.csv"
    _events(7, rows=50).drop(columns="day").to_csv(csv, index=False)
    with pytest.raises(ProdguardUsageError, match=r"period='day': is not a column"):
        Experiment.from_events(csv, **KWARGS)
    holes = tmp_path / "holes.csv"
    frame = _events(7, rows=50)
    frame["revenue"] = frame.revenue.astype(object)
    frame.loc[[4, 9], "revenue"] = None
    frame.to_csv(holes, index=False)
    with pytest.raises(ProdguardUsageError, match=r"2 missing/NaN value\(s\), first at row 4"):
        Experiment.from_events(holes, **KWARGS)
    parquet = tmp_path / "events.parquet"
    _events(7, rows=50).drop(columns="revenue").to_parquet(parquet)
    with pytest.raises(ProdguardUsageError, match=r"value='revenue': is not a column"):
        Experiment.from_events(parquet, **KWARGS)


def test_unused_labels_and_unsorted_dictionaries_are_resolved_on_the_cells(tmp_path):
    frame = _events(8, rows=4000)
    frame = frame[frame.day != 4]  # a gap in the integer periods
    categorical = frame.astype(
        {
            "variant": pd.CategoricalDtype(["zzz", "treatment", "control"]),
            "segment": pd.CategoricalDtype(["web", "tablet", "app", "unused"]),
        }
    )
    experiment = Experiment.from_events(categorical, **KWARGS)
    assert experiment.arms == ("control", "treatment")
    assert list(experiment.segments) == ["app", "tablet", "web"]
    assert [look.label for look in experiment.looks] == ["1", "2", "3", "5", "6", "7"]
    _assert_same(Experiment.from_events(frame.reset_index(drop=True), **KWARGS), experiment)
    table = pa.Table.from_pandas(categorical, preserve_index=False)
    path = tmp_path / "unsorted.parquet"
    pq.write_table(table, path)
    _assert_same(experiment, Experiment.from_events(path, **KWARGS))


def test_wide_integer_periods_are_compacted(monkeypatch):
    from pytest_prodguard.ab import events

    monkeypatch.setattr(events, "_MAX_CELLS", 50)
    frame = _events(9, rows=3000)
    frame["day"] = frame.day * 1000  # a span of 6,001 values, 7 of them used
    experiment = Experiment.from_events(frame, **KWARGS)
    assert [look.label for look in experiment.looks] == [str(day * 1000) for day in range(1, 8)]
    reference = Experiment.from_events(_events(9, rows=3000), **KWARGS)
    for look, expected in zip(experiment.looks, reference.looks, strict=True):
        assert look.metrics["converted"] == expected.metrics["converted"]
    assert experiment.stat("revenue", "treatment") == reference.stat("revenue", "treatment")


def test_metric_columns_are_processed_in_batches(tmp_path, monkeypatch):
    from pytest_prodguard.ab import events

    frame = _events(10, rows=5000)
    reference = Experiment.from_events(frame, **KWARGS)
    monkeypatch.setattr(events, "_BATCH_ROWS", 1000)  # and 300-row chunks
    path = tmp_path / "groups.parquet"
    pq.write_table(pa.Table.from_pandas(frame), path, row_group_size=300)
    _assert_same(reference, Experiment.from_events(path, **KWARGS))
    # A NaN (not a null) deep in a later chunk is reported at its row in the whole column.
    revenue = frame.revenue.to_numpy().copy()
    revenue[3210] = np.nan
    table = pa.Table.from_pandas(frame.drop(columns="revenue"), preserve_index=False)
    chunked = pa.chunked_array([revenue[:2500], revenue[2500:]])
    with pytest.raises(ProdguardUsageError, match=r"first at row 3210"):
        Experiment.from_events(table.append_column("revenue", chunked), **KWARGS)


def test_nullable_pandas_columns():
    frame = _events(11, rows=2000)
    frame["day"] = frame.day.astype("Int64")
    experiment = Experiment.from_events(frame, **KWARGS)
    assert [look.label for look in experiment.looks] == [str(day) for day in range(1, 8)]
    frame.loc[5, "day"] = pd.NA
    with pytest.raises(ProdguardUsageError, match=r"period='day': column has 1 missing.*row 5"):
        Experiment.from_events(frame, **KWARGS)
