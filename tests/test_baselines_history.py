"""Baselines made visible: summary lines per save and comparison, and ``prodguard baselines``
show / prune / reset / accept / import (pytest-benchmark saved runs as starting baselines)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_prodguard.cli import main
from pytest_prodguard.latency import load_baseline, machine_fingerprint, save_baseline
from pytest_prodguard.latency.history import (
    chart,
    history_lines,
    keep_newest,
    runs_from_benchmark_json,
)
from pytest_prodguard.latency.verdict import measurement_from_samples

INI = (
    "[pytest]\nconsole_output_style = classic\nprodguard_profile = off\n"
    "asyncio_default_fixture_loop_scope = function\n"
)

WORK = """
import pytest

@pytest.mark.latency_budget(p95="100ms", warmup=20, max_time="1s")
def test_work(latency):
    latency(sum, range(1000))
"""

BENCH = """
import time

import pytest

def work():
    time.sleep(0.001)

@pytest.mark.latency_budget(p95="100ms")
def test_bench(benchmark):
    benchmark(work)
"""
BENCH_ARGS = ("--benchmark-max-time=0.05", "--benchmark-min-rounds=10")


def saved(folder: Path, p50s: list[float], nodeid: str = "t.py::test_x") -> Path:
    path = folder / "t.json"
    for p50 in p50s:
        samples = [p50 * (1 + 0.01 * (i % 5 - 2)) for i in range(50)]
        measurement = replace(measurement_from_samples(samples), fingerprint=machine_fingerprint())
        save_baseline(path, measurement, nodeid=nodeid)
    return path


@pytest.fixture
def tester(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


class TestSummaryLines:
    def test_a_save_and_a_comparison_each_get_a_line_at_default_verbosity(self, tester):
        tester.makepyfile(test_work=WORK)
        first = tester.runpytest("-p", "no:cacheprovider", "--prodguard-baseline-save")
        # Before: a save printed nothing about what was saved.
        first.stdout.fnmatch_lines(
            ["*saved: baseline run 1 of 1 saved to *.prodguard/baselines/*.json (p50 *)"]
        )
        compared = tester.runpytest("-p", "no:cacheprovider", "--prodguard-baseline-compare")
        # Before: a passing comparison showed only with -rA.
        compared.stdout.fnmatch_lines(["*compared: latency * vs baseline*1 baseline run(s)*"])


class TestHistory:
    def test_show_lists_each_run_with_date_machine_p50_and_a_chart(self, tmp_path):
        path = saved(tmp_path, [0.001, 0.002, 0.004])
        lines = history_lines(load_baseline(path), machine_fingerprint())
        assert lines[0].startswith("t.py::test_x  (t.json, 3 run(s), newest last)")
        assert [line.split()[0] for line in lines[1:4]] == ["1", "2", "3"]
        assert "p50      1 ms  raw times  this machine" in lines[1]
        assert "p50      4 ms" in lines[3]
        assert lines[4].startswith("  p50  ▁")
        assert lines[4].endswith("1 ms .. 4 ms")

    def test_the_chart_rises_with_the_values(self):
        assert chart([1.0, 2.0, 3.0]) == "▁▅█"
        assert chart([2.0, 2.0]) == "▄▄"

    def test_keep_newest_rejects_a_bad_count(self, tmp_path):
        baseline = load_baseline(saved(tmp_path, [0.001, 0.002]))
        assert [run.quantiles["p50"] for run in keep_newest(baseline, 1).runs] == [
            pytest.approx(0.002)
        ]
        with pytest.raises(ValueError, match="keep=0: a whole number of runs from 1 to 10"):
            keep_newest(baseline, 0)


class TestCommand:
    def test_show_prints_the_history(self, tmp_path, capsys):
        saved(tmp_path, [0.001, 0.002])
        assert main(["baselines", "--dir", str(tmp_path), "show", "test_x"]) == 0
        out = capsys.readouterr().out
        assert "t.py::test_x  (t.json, 2 run(s), newest last)" in out

    def test_accept_keeps_the_newest_run_and_prune_the_newest_n(self, tmp_path, capsys):
        path = saved(tmp_path, [0.004, 0.003, 0.002, 0.001])
        assert main(["baselines", "prune", "--keep", "3", "--dir", str(tmp_path)]) == 0
        assert len(load_baseline(path).runs) == 3
        assert main(["baselines", "accept", "t.py::test_x", "--dir", str(tmp_path)]) == 0
        (run,) = load_baseline(path).runs
        assert run.quantiles["p50"] == pytest.approx(0.001)
        assert "kept the newest 1 of 3 run(s)" in capsys.readouterr().out

    def test_reset_deletes_the_baseline_and_its_profile(self, tmp_path, capsys):
        path = saved(tmp_path, [0.001])
        path.with_suffix(".folded").write_text("a;b 3\n")
        assert main(["baselines", "reset", "test_x", "--dir", str(tmp_path)]) == 0
        assert list(tmp_path.iterdir()) == []

    @pytest.mark.parametrize(
        ("argv", "message"),
        [
            (["show", "nope"], "test='nope': a node id (or part of one) with a baseline in"),
            (["prune", "--keep", "0"], "keep=0: a whole number of runs from 1 to 10"),
            (["accept", "test_x", "--keep", "11"], "keep=11: a whole number of runs from 1"),
        ],
    )
    def test_a_bad_argument_is_one_line_exit_2_and_files_unchanged(
        self, tmp_path, capsys, argv, message
    ):
        path = saved(tmp_path, [0.001, 0.002])
        before = path.read_bytes()
        assert main(["baselines", "--dir", str(tmp_path), *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("prodguard: error: ")
        assert message in err
        assert len(err.strip().splitlines()) == 1
        assert path.read_bytes() == before


class TestImport:
    def test_a_real_pytest_benchmark_run_becomes_a_starting_baseline(self, tester, monkeypatch):
        pytest.importorskip("pytest_benchmark")
        tester.makepyfile(test_bench=BENCH)
        tester.runpytest(
            "-p", "no:cacheprovider", *BENCH_ARGS, "--benchmark-autosave"
        ).assert_outcomes(passed=1)
        (autosaved,) = (tester.path / ".benchmarks").rglob("*.json")
        monkeypatch.chdir(tester.path)
        assert main(["baselines", "import", str(autosaved), "--same-machine"]) == 0
        (path,) = (tester.path / ".prodguard" / "baselines").glob("*.json")
        baseline = load_baseline(path)
        assert baseline.nodeid == "test_bench.py::test_bench"
        (run,) = baseline.runs
        stats = json.loads(autosaved.read_text())["benchmarks"][0]["stats"]
        assert run.statistic == pytest.approx(math.log(stats["median"]))
        assert run.n == stats["rounds"]
        # The plugin then compares the benchmark test with the imported run.
        compared = tester.runpytest(
            "-p", "no:cacheprovider", *BENCH_ARGS, "--prodguard-baseline-compare"
        )
        compared.assert_outcomes(passed=1)
        compared.stdout.fnmatch_lines(["*compared: latency * vs baseline*1 baseline run(s)*"])

    def test_the_standard_error_comes_from_the_interquartile_range(self):
        data = {
            "datetime": "2026-01-01T00:00:00",
            "benchmarks": [
                {
                    "fullname": "t.py::test_a",
                    "stats": {"median": 0.01, "q1": 0.009, "q3": 0.011, "rounds": 100},
                }
            ],
        }
        ((nodeid, run),) = runs_from_benchmark_json(data, "x.json")
        assert nodeid == "t.py::test_a"
        sigma = math.log(0.011 / 0.009) / 1.3489795
        assert run.statistic_se == pytest.approx(1.2533 * sigma / 10, rel=1e-3)
        assert dict(run.fingerprint) == {}  # compared as another machine unless told
        assert dict(run.quantiles) == {"p25": 0.009, "p50": 0.01, "p75": 0.011}

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("{not json", "file=*: a readable JSON file"),
            ('{"format": "x"}', "file=*: a pytest-benchmark saved run"),
            ('{"benchmarks": [{"fullname": "t::a", "stats": {}}]}', "benchmark='t::a': an entry"),
        ],
    )
    def test_a_bad_file_is_one_line_exit_2_and_writes_nothing(
        self, tmp_path, capsys, content, message
    ):
        source = tmp_path / "bench.json"
        source.write_text(content)
        folder = tmp_path / "baselines"
        assert main(["baselines", "--dir", str(folder), "import", str(source)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert err.startswith("prodguard: error: ")
        import fnmatch

        assert fnmatch.fnmatch(err, f"*{message}*")
        assert not folder.exists()
