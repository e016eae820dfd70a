"""Profile file names and folders, option validation, and the result's text and dict."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.profiling import (
    PROFILERS,
    SECTION_TITLE,
    HotFrame,
    ProfileResult,
    check_profile_options,
    discard_profile,
    profile_callable,
    profile_folder,
    sanitize_nodeid,
)
from pytest_prodguard.profiling.command import parse_command_args
from pytest_prodguard.profiling.files import OUTPUT_FILES, new_run_id, prepare_folder, run_folder
from pytest_prodguard.profiling.stacks import FrameGrowth


class TestSanitizeNodeid:
    def test_readable_and_hashed(self):
        name = sanitize_nodeid("tests/test_api.py::TestX::test_y[a/b-1]")
        assert re.fullmatch(r"tests_test_api\.py_TestX_test_y_a_b-1-[0-9a-f]{10}", name)

    def test_ids_that_sanitise_alike_stay_apart(self):
        assert sanitize_nodeid("t.py::test[a/b]") != sanitize_nodeid("t.py::test[a:b]")

    def test_stable_across_calls(self):
        assert sanitize_nodeid("t.py::test_x") == sanitize_nodeid("t.py::test_x")

    def test_one_rule_with_latency_baseline_files(self, tmp_path):
        from pytest_prodguard.latency import baseline_path

        nodeid = "tests/test_api.py::TestX::test_y[a/b-1]"
        assert baseline_path(tmp_path, nodeid).stem == sanitize_nodeid(nodeid)

    @given(st.text(max_size=300))
    def test_always_a_safe_bounded_single_folder_name(self, nodeid):
        name = sanitize_nodeid(nodeid)
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
        assert len(name) <= 100 + 11
        assert name not in {".", ".."}
        assert not name.startswith((".", "-"))


class TestFolders:
    def test_a_new_profile_replaces_the_old_files(self, tmp_path: Path):
        folder = prepare_folder(tmp_path, "t-1")
        for file_name in OUTPUT_FILES:
            (folder / file_name).write_text("old")
        (folder / "notes.txt").write_text("user file")
        assert prepare_folder(tmp_path, "t-1") == folder
        assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]

    def test_discard_removes_the_files_and_the_empty_folder(self, tmp_path: Path):
        folder = prepare_folder(tmp_path, "t-1")
        (folder / "stacks.txt").write_text("a 1\n")
        discard_profile(tmp_path, "t-1")
        assert not folder.exists()
        discard_profile(tmp_path, "never-profiled")  # nothing there: no error

    @pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b", "x\x00y"])
    def test_names_must_be_one_folder(self, tmp_path: Path, bad: str):
        with pytest.raises(ProdguardUsageError, match=r"name=.*: a non-empty file name"):
            profile_folder(tmp_path, bad)


class TestOptions:
    def test_defaults_and_duration_strings(self):
        options = check_profile_options(profiler="builtin", seconds="500ms", top=3, rate=250)
        assert (options.profiler, options.seconds, options.top, options.rate) == (
            "builtin",
            0.5,
            3,
            250,
        )
        assert set(PROFILERS) == {"auto", "py-spy", "torch", "builtin"}

    def test_unknown_profiler(self):
        with pytest.raises(
            ProdguardUsageError,
            match=r"profiler='pyspy' \(marker\): one of 'auto', 'py-spy', 'torch', 'builtin'",
        ):
            check_profile_options(profiler="pyspy", source="marker")

    @pytest.mark.parametrize(
        "seconds", [0, -1, float("nan"), float("inf"), "2 parsecs", None, True]
    )
    def test_bad_window(self, seconds):
        with pytest.raises(ProdguardUsageError, match=r"seconds=.*: a positive number of seconds"):
            check_profile_options(seconds=seconds)

    @pytest.mark.parametrize("top", [0, 101, 2.5, "8", True])
    def test_bad_top(self, top):
        with pytest.raises(ProdguardUsageError, match=r"top=.*: a whole number of frames"):
            check_profile_options(top=top)

    @pytest.mark.parametrize("rate", [0, 1001, 99.5, "100"])
    def test_bad_rate(self, rate):
        with pytest.raises(ProdguardUsageError, match=r"rate=.*: a whole number of samples"):
            check_profile_options(rate=rate)

    def test_profile_callable_rejects_bad_arguments_before_running(self, tmp_path: Path):
        calls = []
        with pytest.raises(ProdguardUsageError, match="profiler='perf'"):
            profile_callable(lambda: calls.append(1), profiler="perf", out_dir=tmp_path, name="x")
        with pytest.raises(ProdguardUsageError, match="name='a/b'"):
            profile_callable(lambda: calls.append(1), out_dir=tmp_path, name="a/b")
        assert calls == []


class TestCommandArguments:
    def test_options_then_command(self):
        options = parse_command_args(["--out", "d", "--rate", "200", "--", "python", "-c", "pass"])
        assert (str(options.out), options.rate, options.command) == (
            "d",
            200,
            ["python", "-c", "pass"],
        )
        assert options.name.startswith("python_-c_pass-")

    def test_a_command_without_separator(self):
        assert parse_command_args(["python", "app.py"]).command == ["python", "app.py"]

    def test_missing_command(self):
        with pytest.raises(ProdguardUsageError, match=r"CMD=\[\]: a command to run after --"):
            parse_command_args(["--out", "d", "--"])

    def test_unknown_option(self):
        with pytest.raises(ProdguardUsageError, match=r"prodguard profile=.*--seconds.*usage: "):
            parse_command_args(["--seconds", "3", "--", "python"])

    def test_options_without_separator(self):
        with pytest.raises(ProdguardUsageError, match=r"put -- before CMD"):
            parse_command_args(["--rate", "10", "python"])

    def test_bad_rate(self):
        with pytest.raises(ProdguardUsageError, match=r"rate=0 \(prodguard profile\)"):
            parse_command_args(["--rate", "0", "--", "python"])

    def test_non_numeric_rate(self):
        with pytest.raises(ProdguardUsageError, match=r"invalid int value: 'fast'"):
            parse_command_args(["--rate", "fast", "--", "python"])


def _result(**changes):
    values = {
        "profiler": "py-spy",
        "stack_profiler": "py-spy",
        "samples": 200,
        "calls": 12,
        "seconds": 2.01,
        "hot_frames": [
            HotFrame("JSONEncoder.iterencode", "json/encoder.py", 258, 0.9, 0.9, "return x"),
            HotFrame("test_dump", "tests/test_x.py", 12, 0.0, 1.0, ""),
        ],
        "files": {"raw": "/p/stacks.txt", "svg": "/p/flamegraph.svg"},
    }
    values.update(changes)
    return ProfileResult(**values)


class TestSection:
    def test_headline_frames_and_files(self):
        assert _result().section().splitlines() == [
            f"{SECTION_TITLE} (py-spy, 200 samples, 12 calls in 2.01 s):",
            "    self   total  function                location",
            "   90.0%   90.0%  JSONEncoder.iterencode  json/encoder.py:258  | return x",
            "    0.0%  100.0%  test_dump               tests/test_x.py:12",
            "files:",
            "  raw: /p/stacks.txt",
            "  svg: /p/flamegraph.svg",
        ]

    def test_errors_growth_table_and_note(self):
        result = _result(
            profiler="torch",
            stack_profiler="builtin",
            errors=3,
            first_error="AssertionError: slow",
            grown_frames=[FrameGrowth("iterencode", "json/encoder.py", 0.1, 0.5)],
            op_table="Name  Self CPU %\naten::addmm  90%",
            note="used the builtin sampler because py-spy cannot attach (exit 1): Denied",
        )
        lines = result.section().splitlines()
        assert lines[0] == (
            f"{SECTION_TITLE} (torch.profiler + builtin sampler stacks, 200 samples, "
            "12 calls in 2.01 s, 3 raised (AssertionError: slow)):"
        )
        assert (
            "grew most since the baseline profile (self share; listed only beyond sampling "
            "noise: 3 standard errors of the two profiles' shares):"
        ) in lines
        assert "  +40.0 pp  iterencode  json/encoder.py  (10.0% -> 50.0%, noise 0.0 pp)" in lines
        assert "  aten::addmm  90%" in lines
        assert lines[-1].startswith("note: used the builtin sampler because py-spy cannot attach")

    def test_long_lines_are_cut_but_paths_are_not(self):
        long_path = "/very/" + "deep/" * 60 + "stacks.txt"
        result = _result(
            op_table="x" * 500 + "\n" + "\n".join(f"row {i}" for i in range(40)),
            files={"raw": long_path},
        )
        lines = result.section().splitlines()
        assert f"  raw: {long_path}" in lines
        assert all(len(line) <= 160 for line in lines if long_path not in line)
        assert "  row 20" not in lines  # the operator table is capped

    def test_no_samples(self):
        text = ProfileResult(profiler="none", note="py-spy wrote no stacks").section()
        assert "(no samples inside the profiled code)" in text
        assert text.splitlines()[-1] == "note: py-spy wrote no stacks"

    def test_to_dict_is_json(self):
        data = json.loads(
            json.dumps(_result(grown_frames=[FrameGrowth("f", "f.py", 0, 1)]).to_dict())
        )
        assert data["profiler"] == "py-spy"
        assert data["hot_frames"][0]["function"] == "JSONEncoder.iterencode"
        assert data["grown_frames"] == [
            {"function": "f", "file": "f.py", "before": 0, "after": 1, "noise": 0.0}
        ]
        assert data["files"]["svg"] == "/p/flamegraph.svg"


class TestRunFolders:
    def test_run_ids_sort_by_start_time(self):
        from datetime import datetime, timezone

        early = new_run_id(datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=timezone.utc))
        late = new_run_id(datetime(2026, 1, 2, 3, 4, 5, 8, tzinfo=timezone.utc))
        assert early.startswith("20260102-030405.000007-")
        assert early < late  # also within one second

    def test_only_the_newest_runs_are_kept_and_other_folders_never_touched(self, tmp_path):
        (tmp_path / "not-a-run").mkdir()
        ids = [f"2026010{day}-000000.000000-abcdef" for day in range(1, 5)]
        for run_id in ids[:3]:
            (run_folder(tmp_path, run_id, keep=10) / "t").mkdir()
        current = run_folder(tmp_path, ids[3], keep=2)
        assert current == tmp_path / f"run-{ids[3]}"
        assert sorted(path.name for path in tmp_path.iterdir()) == [
            "not-a-run",
            f"run-{ids[2]}",
            f"run-{ids[3]}",
        ]

    @pytest.mark.parametrize(
        ("run_id", "keep", "field"),
        [("../x", 5, "run_id"), ("20260101-000000.000000-abcdef", 0, "keep")],
    )
    def test_bad_values_are_usage_errors_and_nothing_is_created(
        self, tmp_path, run_id, keep, field
    ):
        with pytest.raises(ProdguardUsageError) as caught:
            run_folder(tmp_path / "profiles", run_id, keep=keep)
        assert caught.value.field == field
        assert not (tmp_path / "profiles").exists()
