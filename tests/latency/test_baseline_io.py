"""Baseline files: names, round trips, appending, atomic and concurrent writes, bad files."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
from pathlib import Path

import pytest

from pytest_prodguard.latency import (
    BaselineError,
    BaselineMissingError,
    Measurement,
    baseline_path,
    load_baseline,
    save_baseline,
)
from pytest_prodguard.latency.baseline import MAX_RUNS, RATIO, RAW
from pytest_prodguard.latency.reference import REFERENCE_VERSION

NODEID = "tests/test_api.py::test_search[query-ü/1]"


def make_measurement(
    scale: float = 1.0, with_reference: bool = True, native: float = 30e-6
) -> Measurement:
    samples = tuple(scale * (1e-3 + i * 1e-6) for i in range(40))
    index = tuple(range(40)) if with_reference else ()
    reference = tuple(30e-6 for _ in index)
    return Measurement(
        samples=samples,
        wall_samples=samples,
        batch=1,
        elapsed=sum(samples),
        reference_index=index,
        reference_python=reference,
        reference_native=tuple(native for _ in index),
        fingerprint={
            "cpu_model": "Test CPU",
            "logical_cores": "2",
            "python": "CPython 3.11",
            "platform": "Linux-x86_64",
        },
    )


class TestBaselinePath:
    def test_sanitised_readable_and_unique(self, tmp_path: Path) -> None:
        path = baseline_path(tmp_path, NODEID)
        assert path.parent == tmp_path
        assert path.suffix == ".json"
        assert all(c.isalnum() or c in "._-" for c in path.name)
        assert path.name.startswith("tests_test_api.py_test_search_query-")
        assert baseline_path(tmp_path, NODEID) == path
        assert baseline_path(tmp_path, NODEID + "x") != path
        assert baseline_path(tmp_path, "a/b") != baseline_path(tmp_path, "a_b")

    def test_label_separates_callables_of_one_test(self, tmp_path: Path) -> None:
        assert baseline_path(tmp_path, NODEID, "encode") != baseline_path(
            tmp_path, NODEID, "decode"
        )

    def test_long_ids_stay_short(self, tmp_path: Path) -> None:
        assert len(baseline_path(tmp_path, "x" * 1000).name) < 130


class TestSaveAndLoad:
    def test_round_trip(self, tmp_path: Path) -> None:
        path = baseline_path(tmp_path / ".prodguard" / "baselines", NODEID)
        save_baseline(path, make_measurement(), nodeid=NODEID)
        baseline = load_baseline(path)
        assert baseline.nodeid == NODEID
        assert baseline.path == path
        (run,) = baseline.runs
        assert run.kind == RATIO
        assert run.pairs == 40
        assert run.n == 40
        assert run.fingerprint["cpu_model"] == "Test CPU"
        assert run.quantiles["p50"] == pytest.approx(1.0195e-3, rel=1e-3)
        data = json.loads(path.read_text())
        assert data["format"] == "pytest-prodguard/latency-baseline"
        assert data["reference_version"] == REFERENCE_VERSION

    def test_the_ratio_to_each_reference_component_is_saved(self, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        save_baseline(path, make_measurement(native=60e-6), nodeid=NODEID)
        (run,) = load_baseline(path).runs
        median = math.log(1.0195e-3)
        assert run.statistic_for("python") == pytest.approx(median - math.log(30e-6), abs=1e-3)
        assert run.statistic_for("native") == pytest.approx(median - math.log(60e-6), abs=1e-3)
        combined = median - 0.5 * math.log(30e-6 * 60e-6)
        assert run.statistic_for("combined") == run.statistic == pytest.approx(combined, abs=1e-3)
        assert set(json.loads(path.read_text())["runs"][0]["component_statistics"]) == {
            "python",
            "native",
        }

    def test_a_file_saved_before_components_were_recorded_still_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        save_baseline(path, make_measurement(), nodeid=NODEID)
        data = json.loads(path.read_text())
        del data["runs"][0]["component_statistics"]
        path.write_text(json.dumps(data))
        (run,) = load_baseline(path).runs
        assert run.statistic_for("python") is None
        assert run.statistic_for("combined") == run.statistic

    def test_without_reference_rounds_saves_the_raw_statistic(self, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        save_baseline(path, make_measurement(with_reference=False), nodeid=NODEID)
        (run,) = load_baseline(path).runs
        assert run.kind == RAW
        assert dict(run.component_statistics) == {}

    def test_saves_append_and_keep_the_last_runs(self, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        for i in range(MAX_RUNS + 3):
            save_baseline(path, make_measurement(1 + i / 100), nodeid=NODEID)
        runs = load_baseline(path).runs
        assert len(runs) == MAX_RUNS
        assert runs[-1].quantiles["p50"] > runs[0].quantiles["p50"]

    def test_a_corrupt_file_is_replaced_on_save(self, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        path.write_text("{not json")
        save_baseline(path, make_measurement(), nodeid=NODEID)
        assert len(load_baseline(path).runs) == 1

    def test_a_file_of_another_test_is_replaced_not_merged(self, tmp_path: Path) -> None:
        path = tmp_path / "b.json"
        save_baseline(path, make_measurement(), nodeid="other::test")
        save_baseline(path, make_measurement(), nodeid=NODEID)
        baseline = load_baseline(path)
        assert baseline.nodeid == NODEID
        assert len(baseline.runs) == 1

    def test_a_failed_write_leaves_the_old_file_intact_and_no_temp_files(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        path = tmp_path / "b.json"
        save_baseline(path, make_measurement(), nodeid=NODEID)
        before = path.read_bytes()

        def broken_replace(src: str, dst: str) -> None:
            raise OSError("disk full")

        monkeypatch.setattr(os, "replace", broken_replace)
        with pytest.raises(OSError, match="disk full"):
            save_baseline(path, make_measurement(2.0), nodeid=NODEID)
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [
            "b.json"
        ]


def _save_many(path: str, count: int, offset: int) -> None:
    for i in range(count):
        save_baseline(Path(path), make_measurement(1 + (offset + i) / 100), nodeid=NODEID)


def test_concurrent_saves_lose_no_run_and_never_leave_a_partial_file(tmp_path: Path) -> None:
    # Two processes (as under pytest -n 2) append to the same baseline at once.
    path = tmp_path / "b.json"
    context = multiprocessing.get_context(
        "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    )
    workers = [context.Process(target=_save_many, args=(str(path), 4, 10 * k)) for k in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(load_baseline(path).runs) == 8


class TestBadFiles:
    def write(self, tmp_path: Path, data: object) -> Path:
        path = tmp_path / "bad.json"
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return path

    def valid(self, tmp_path: Path) -> dict[str, object]:
        path = tmp_path / "good.json"
        save_baseline(path, make_measurement(), nodeid=NODEID)
        data: dict[str, object] = json.loads(path.read_text())
        return data

    def test_missing_file_is_its_own_error(self, tmp_path: Path) -> None:
        with pytest.raises(BaselineMissingError, match=r"no latency baseline at .*nothere.json"):
            load_baseline(tmp_path / "nothere.json")

    def test_not_json(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, "{oops")
        with pytest.raises(BaselineError, match=r"latency baseline .*bad.json: not valid JSON"):
            load_baseline(path)

    def test_not_an_object(self, tmp_path: Path) -> None:
        with pytest.raises(BaselineError, match=r"bad.json: not a JSON object"):
            load_baseline(self.write(tmp_path, [1, 2]))

    def test_foreign_file(self, tmp_path: Path) -> None:
        path = self.write(tmp_path, {"machine_info": {}, "benchmarks": []})
        with pytest.raises(
            BaselineError, match=r"bad.json: not a pytest-prodguard latency baseline"
        ):
            load_baseline(path)

    def test_other_format_version(self, tmp_path: Path) -> None:
        data = self.valid(tmp_path) | {"version": 99}
        with pytest.raises(
            BaselineError, match=r"format version 99, this pytest-prodguard reads 1"
        ):
            load_baseline(self.write(tmp_path, data))

    def test_other_reference_workload(self, tmp_path: Path) -> None:
        data = self.valid(tmp_path) | {"reference_version": 0}
        with pytest.raises(BaselineError, match=r"reference workload v0"):
            load_baseline(self.write(tmp_path, data))

    def test_no_runs(self, tmp_path: Path) -> None:
        data = self.valid(tmp_path) | {"runs": []}
        with pytest.raises(BaselineError, match=r"bad.json: no saved runs"):
            load_baseline(self.write(tmp_path, data))

    @pytest.mark.parametrize(
        ("key", "value", "message"),
        [
            ("statistic", "fast", "run 0 has no numeric 'statistic'"),
            ("statistic_se", -1.0, "run 0 has a negative 'statistic_se'"),
            ("kind", "mean", "run 0 has an unknown kind 'mean'"),
            ("n", -3, "run 0 has no count 'n'"),
            ("fingerprint", "AMD", "run 0 has no 'fingerprint' object"),
            ("quantiles", {"p50": "x"}, "run 0 has malformed 'quantiles'"),
            ("peak_memory", "lots", "run 0 has a malformed 'peak_memory'"),
            (
                "component_statistics",
                {"gpu": 0.1},
                r"run 0 has malformed 'component_statistics' \(numbers for python, native\)",
            ),
            ("component_statistics", {"python": "x"}, "run 0 has malformed 'component_statistics'"),
        ],
    )
    def test_malformed_run(self, tmp_path: Path, key: str, value: object, message: str) -> None:
        data = self.valid(tmp_path)
        runs = data["runs"]
        assert isinstance(runs, list)
        runs[0][key] = value
        with pytest.raises(BaselineError, match=rf"bad.json: {message}.*--prodguard-baseline-save"):
            load_baseline(self.write(tmp_path, data))

    def test_unreadable_bytes(self, tmp_path: Path) -> None:
        path = tmp_path / "bad.json"
        path.write_bytes(b"\xff\xfe\x00garbage")
        with pytest.raises(BaselineError, match=r"bad.json"):
            load_baseline(path)
