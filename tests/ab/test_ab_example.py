"""The shipped example data is reproducible and tells the story the docs tell."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from pytest_prodguard.ab import Experiment, check_ship_ready

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

FOLDER = pathlib.Path(__file__).parents[2] / "examples" / "experiment"
COLUMNS = {
    "variant": "variant",
    "converted": "converted",
    "value": "revenue",
    "segment": "platform",
    "period": "day",
}
SETTINGS = {"mde": 0.10, "planned_n": 5_500, "guardrails": {"revenue": 0.05}}


def test_events_csv_is_what_make_data_writes(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_data", FOLDER / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUTPUT", tmp_path / "events.csv")
    module.main()
    shipped = (FOLDER / "events.csv").read_bytes()
    assert (tmp_path / "events.csv").read_bytes() == shipped
    assert len(shipped) < 300_000


def test_the_full_experiment_is_ready():
    report = check_ship_ready(Experiment.from_events(FOLDER / "events.csv", **COLUMNS), **SETTINGS)
    assert report.ready, report.text()


def test_the_early_snapshot_fails_for_power_and_peeking():
    early = pd.read_csv(FOLDER / "events.csv").query("day <= 3")
    report = check_ship_ready(Experiment.from_events(early, **COLUMNS), **SETTINGS)
    assert [check.name for check in report.failures] == ["power", "peeking"]
    assert report.check("significance").status == "pass"
