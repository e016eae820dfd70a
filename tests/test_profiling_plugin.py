"""End to end: the profile attached to a failing latency test or ``profile_on_failure`` test.

In-process runs use the builtin sampler (``PRODGUARD_PYSPY=0``, set by an autouse
fixture) so that they behave the same with or without a usable py-spy; the py-spy
and torch paths run in a subprocess, where the attach probe starts fresh.
Failures come from 10x margins with a fixed ``warmup=4`` (see
``tests/test_latency_plugin.py``); the profile window is 0.3 s
(``prodguard_profile_seconds`` in the ini).
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pytest_prodguard.profiling import pyspy

INI = """\
[pytest]
console_output_style = classic
prodguard_profile_seconds = 0.3
"""

# Subprocesses and pytest-xdist workers start faster without plugins these tests do not use.
LEAN = ("-p", "no:benchmark", "-p", "no:metadata", "-p", "no:hypothesispytest")

JSON_HEAVY = """
import json

import pytest

CATALOG = {f"sku{i}": {"price": i / 7, "tags": ["a", "b"] * 3} for i in range(5_000)}

def render_catalog():
    return json.dumps(CATALOG)

@pytest.mark.latency_budget(p95="1ms", warmup=4, max_time="0.3s")
def test_render(latency):
    latency(render_catalog)
"""

SLEEPY = """
import os
import time

import pytest

def nap():
    time.sleep(0.01)

@pytest.mark.latency_budget(p95="1ms", warmup=4, max_time="0.3s")
def test_nap_budget(latency):
    latency(nap)

@pytest.mark.profile_on_failure
def test_nap_marked():
    nap()
    assert False, "marked failure"
"""

SVG_NS = "{http://www.w3.org/2000/svg}"
FROZEN_NOTE = "note: used the builtin sampler because disabled by PRODGUARD_PYSPY=0"


@pytest.fixture(autouse=True)
def _builtin_sampler(monkeypatch: pytest.MonkeyPatch):
    """In-process runs use the builtin sampler; each test probes py-spy afresh.

    Inner runs are not xdist workers either, even when this suite runs with ``-n``
    (pytest-benchmark reads PYTEST_XDIST_WORKER and warns).
    """
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.setenv(pyspy.ENV_ENABLE, "0")
    monkeypatch.delenv(pyspy.ENV_BINARY, raising=False)
    pyspy.reset_pyspy_status()
    yield
    pyspy.reset_pyspy_status()


@pytest.fixture
def tester(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def profile_dirs(pytester: pytest.Pytester) -> list[Path]:
    """The per-test profile folders of every kept run (``run-<id>/<test>/``)."""
    root = pytester.path / ".prodguard" / "profiles"
    return sorted(path for path in root.glob("run-*/*") if path.is_dir())


def run_dirs(pytester: pytest.Pytester) -> list[Path]:
    return sorted((pytester.path / ".prodguard" / "profiles").glob("run-*"))


def junit_properties(path: Path) -> dict[str, dict[str, str]]:
    root = ET.parse(path).getroot()
    return {
        str(case.get("name")): {
            str(p.get("name")): str(p.get("value")) for p in case.iter("property")
        }
        for case in root.iter("testcase")
    }


def svg_frame_titles(path: Path) -> list[str]:
    root = ET.parse(path).getroot()  # raises if the file is not well-formed XML
    assert root.tag == f"{SVG_NS}svg"
    return [str(group.findtext(f"{SVG_NS}title")) for group in root.iter(f"{SVG_NS}g")]


class TestWhereTheTimeWent:
    def test_a_json_heavy_latency_failure_names_the_json_encoder_among_the_top_frames(self, tester):
        tester.makepyfile(test_json=JSON_HEAVY)
        result = run(tester)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "latency budget exceeded: p95 = * > budget 1 ms [[]n=*",
                "*- where the time went -*",
                "where the time went (builtin sampler, * samples, * calls in *):",
                "    self   total  function*location",
                "*JSONEncoder.iterencode*json/encoder.py:*",
                "files:",
                "  raw: */stacks.txt",
                "  svg: */flamegraph.svg",
                FROZEN_NOTE,
            ]
        )
        rows = _frame_rows(result)
        assert any("JSONEncoder" in row and "json/encoder.py" in row for row in rows[:3]), rows

    def test_the_flamegraph_is_valid_svg_with_frames_and_the_raw_stacks_are_folded(self, tester):
        tester.makepyfile(test_json=JSON_HEAVY)
        run(tester).assert_outcomes(failed=1)
        (folder,) = profile_dirs(tester)
        assert folder.name.startswith("test_json.py_test_render-")
        titles = svg_frame_titles(folder / "flamegraph.svg")
        assert titles[0].startswith("all (")
        # one box per function by default: no line numbers in the flamegraph
        assert any(title.startswith("JSONEncoder.iterencode (json/encoder.py)") for title in titles)
        stacks = (folder / "stacks.txt").read_text(encoding="utf-8").splitlines()
        assert stacks
        assert all(line.rsplit(" ", 1)[1].isdigit() for line in stacks)
        assert any("render_catalog" in line for line in stacks)

    def test_a_sleeping_test_shows_the_time_sleep_line(self, tester):
        tester.makepyfile(test_sleepy=SLEEPY)
        result = run(tester)
        result.assert_outcomes(failed=2)
        result.stdout.fnmatch_lines(
            [
                "*_ test_nap_budget _*",
                "where the time went (*",
                "*nap  *test_sleepy.py:* | time.sleep(0.01)",
                "*_ test_nap_marked _*",
                "*AssertionError: marked failure",
                "where the time went (builtin sampler, * calls in *, * raised "
                "(AssertionError: marked failure*",
                "*nap  *test_sleepy.py:* | time.sleep(0.01)",
            ]
        )

    def test_profile_top_limits_the_frame_rows(self, tester):
        tester.makepyfile(test_json=JSON_HEAVY)
        result = run(tester, "--prodguard-profile-top", "1")
        result.assert_outcomes(failed=1)
        rows = _frame_rows(result)
        assert len(rows) == 1
        assert "JSONEncoder.iterencode" in rows[0]

    def test_the_command_line_profiler_wins_over_the_marker(self, tester):
        tester.makepyfile(
            test_marked="""
            import time
            import pytest

            @pytest.mark.profile_on_failure(profiler="py-spy")
            def test_fails():
                time.sleep(0.01)
                assert False
            """
        )
        result = run(tester, "--prodguard-profile-with", "builtin")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["where the time went (builtin sampler, *"])
        # builtin was asked for, so there is nothing to explain
        result.stdout.no_fnmatch_line("note: *")


class TestFallback:
    def test_pyspy_switched_off_gives_the_same_sections_and_a_one_line_note(self, tester):
        tester.makepyfile(test_sleepy=SLEEPY)
        result = run(tester, "-k", "budget")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*- prodguard latency -*",
                "*- where the time went -*",
                "where the time went (builtin sampler, * samples, *):",
                "    self   total  function*",
                "*nap*| time.sleep(0.01)",
                "files:",
                "  raw: *",
                "  svg: *",
                FROZEN_NOTE,
            ],
            consecutive=False,
        )

    def test_a_denied_pyspy_gives_the_same_sections_and_says_why(
        self, tester, tmp_path, monkeypatch
    ):
        if os.name == "nt":
            pytest.skip("the fake py-spy is a shell script")
        fake = tmp_path / "fake-py-spy"
        fake.write_text(
            "#!/bin/sh\n"
            'echo "Permission Denied: Try running again with elevated permissions" >&2\n'
            "exit 1\n",
            encoding="utf-8",
        )
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
        monkeypatch.delenv(pyspy.ENV_ENABLE)
        monkeypatch.setenv(pyspy.ENV_BINARY, str(fake))
        pyspy.reset_pyspy_status()
        tester.makepyfile(test_sleepy=SLEEPY)
        result = run(tester, "-k", "budget")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "where the time went (builtin sampler, * samples, *):",
                "*nap*| time.sleep(0.01)",
                "files:",
                "note: used the builtin sampler because py-spy cannot attach (exit 1): "
                "Permission Denied: Try running again with elevated permissions",
            ]
        )

    def test_a_real_pyspy_profiles_in_a_subprocess(self, tester, monkeypatch):
        monkeypatch.delenv(pyspy.ENV_ENABLE)
        pyspy.reset_pyspy_status()
        usable, reason = pyspy.pyspy_status()
        if not usable:
            pytest.skip(f"py-spy cannot sample here: {reason}")
        tester.makepyfile(test_json=JSON_HEAVY)
        result = tester.runpytest_subprocess("-p", "no:cacheprovider", *LEAN)
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            ["where the time went (py-spy, * samples, *):", "*JSONEncoder.*json/encoder.py:*"]
        )
        result.stdout.no_fnmatch_line("note: *")


TORCH_MODEL = """
import pytest
import torch

torch.manual_seed(0)
torch.set_num_threads(1)
MODEL = torch.nn.Sequential(torch.nn.Linear(256, 256), torch.nn.ReLU(), torch.nn.Linear(256, 8))
BATCH = torch.randn(64, 256)

def predict():
    with torch.no_grad():
        return MODEL(BATCH)

@pytest.mark.latency_budget(p95="1us", warmup=4, max_time="0.3s")
def test_model_budget(latency):
    latency(predict)

@pytest.mark.profile_on_failure(profiler="torch")
def test_model_marked():
    predict()
    assert False, "wrong logits"
"""


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_a_torch_model_shows_aten_operators_in_the_profile(tester):
    # Not importorskip: torch imported here would be dropped from sys.modules when the
    # pytester fixture restores its snapshot, and a later `import torch` in this process
    # then crashes (a C extension cannot be initialised twice).
    tester.makepyfile(test_model=TORCH_MODEL)
    result = tester.runpytest_subprocess("-p", "no:cacheprovider", *LEAN)
    result.assert_outcomes(failed=2)
    for name in ("test_model_budget", "test_model_marked"):
        result.stdout.fnmatch_lines(
            [
                f"*_ {name} _*",
                "where the time went (torch.profiler + builtin sampler stacks, *):",
                "*Linear.forward*",
                "torch operators:",
                "*aten::addmm*",
                "files:",
                "  chrome_trace: */torch-trace.json",
            ]
        )
    folders = profile_dirs(tester)
    assert len(folders) == 2
    for folder in folders:
        trace = json.loads((folder / "torch-trace.json").read_text(encoding="utf-8"))
        assert any(event.get("name") == "aten::addmm" for event in trace["traceEvents"])


FLAKY_FIX = """
import os
import time

import pytest

def work():
    if os.environ.get("PRODGUARD_TEST_BROKEN"):
        time.sleep(0.01)
    else:
        sum(range(10))

@pytest.mark.latency_budget(p95="1ms", warmup=4, max_time="0.3s")
def test_budget(latency):
    latency(work)

@pytest.mark.profile_on_failure
def test_marked():
    work()
    assert not os.environ.get("PRODGUARD_TEST_BROKEN")
"""


class TestFiles:
    def test_a_passing_test_leaves_no_profile(self, tester):
        tester.makepyfile(test_fixed=FLAKY_FIX)
        run(tester).assert_outcomes(passed=2)
        assert profile_dirs(tester) == []

    def test_a_later_passing_run_keeps_the_earlier_runs_profiles(self, tester, monkeypatch):
        tester.makepyfile(test_fixed=FLAKY_FIX)
        monkeypatch.setenv("PRODGUARD_TEST_BROKEN", "1")
        run(tester).assert_outcomes(failed=2)
        names = [folder.name for folder in profile_dirs(tester)]
        assert len(names) == 2
        assert all(name.startswith("test_fixed.py_") for name in names)
        files = [folder / "flamegraph.svg" for folder in profile_dirs(tester)]
        assert all(path.is_file() for path in files)
        monkeypatch.delenv("PRODGUARD_TEST_BROKEN")
        run(tester).assert_outcomes(passed=2)
        # Before: the passing run deleted them, and paths in earlier reports dangled.
        assert all(path.is_file() for path in files)
        assert len(run_dirs(tester)) == 1  # the passing run wrote no folder

    def test_only_the_newest_runs_are_kept(self, tester, monkeypatch):
        tester.makepyfile(test_fixed=FLAKY_FIX)
        monkeypatch.setenv("PRODGUARD_TEST_BROKEN", "1")
        seen = []
        for _ in range(3):
            run(tester, "-k", "marked", "--prodguard-profile-keep=2").assert_outcomes(failed=1)
            seen.append(run_dirs(tester)[-1])
        assert run_dirs(tester) == seen[1:]

    def test_a_fixed_baseline_regression_without_marker_keeps_its_earlier_profile(
        self, tester, monkeypatch
    ):
        tester.makepyfile(
            test_unmarked="""
            from test_fixed import work

            def test_work(latency):
                latency(work)
            """,
            test_fixed=FLAKY_FIX,
        )
        args = ("test_unmarked.py", "--prodguard-profile", "off")
        run(tester, *args, "--prodguard-baseline-save").assert_outcomes(passed=1)
        monkeypatch.setenv("PRODGUARD_TEST_BROKEN", "1")
        result = run(tester, "test_unmarked.py", "--prodguard-baseline-compare")
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["latency regression: *", "where the time went (*"])
        assert len(profile_dirs(tester)) == 1
        monkeypatch.delenv("PRODGUARD_TEST_BROKEN")
        run(tester, "test_unmarked.py", "--prodguard-baseline-compare").assert_outcomes(passed=1)
        assert len(profile_dirs(tester)) == 1  # kept: it belongs to the earlier run

    def test_profile_paths_are_in_user_properties_and_the_json_report(self, tester):
        tester.makepyfile(test_sleepy=SLEEPY)
        run(
            tester,
            "--junitxml=junit.xml",
            "-o",
            "junit_family=xunit1",
            "--prodguard-report=report.json",
        ).assert_outcomes(failed=2)
        properties = junit_properties(tester.path / "junit.xml")
        report = json.loads((tester.path / "report.json").read_text(encoding="utf-8"))
        tests = {test["nodeid"].split("::")[1]: test for test in report["tests"]}
        for name in ("test_nap_budget", "test_nap_marked"):
            svg = Path(properties[name]["prodguard.profile.svg"])
            raw = Path(properties[name]["prodguard.profile.raw"])
            assert svg.name == "flamegraph.svg"
            assert svg.is_file()
            assert raw.name == "stacks.txt"
            assert raw.is_file()
            assert svg.parent == raw.parent
            profile = json.loads(properties[name]["prodguard.profile"])
            assert profile["files"] == {"raw": str(raw), "svg": str(svg)}
            (reported,) = tests[name]["profile"]
            assert reported["files"] == profile["files"]
            assert reported["profiler"] == "builtin"
            assert reported["hot_frames"][0]["function"] == "nap"

    def test_profile_off_profiles_nothing(self, tester):
        tester.makepyfile(test_sleepy=SLEEPY)
        reprec = tester.inline_run("-p", "no:cacheprovider", "--prodguard-profile", "off")
        reprec.assertoutcome(failed=2)
        failed = reprec.getfailures()
        assert len(failed) == 2
        for report in failed:
            assert not [name for name, _ in report.user_properties if "profile" in name]
            assert "where the time went" not in [title for title, _ in report.sections]
        assert not (tester.path / ".prodguard" / "profiles").exists()


class TestMarker:
    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            (
                'profiler="pyspy"',
                "profiler='pyspy' (marker): one of 'auto', 'py-spy', 'torch', 'builtin'",
            ),
            ('"auto", "torch"', "args=('auto', 'torch'): only profile_on_failure(profiler='auto')"),
            ("seconds=1", "seconds=1: only profile_on_failure(profiler='auto')"),
        ],
        ids=["unknown-profiler", "two-args", "unknown-keyword"],
    )
    def test_a_bad_marker_is_a_setup_error(self, tester, arguments, message):
        tester.makepyfile(
            test_bad=f"""
            import pytest

            @pytest.mark.profile_on_failure({arguments})
            def test_bad():
                raise AssertionError("the body must not run")
            """
        )
        result = run(tester)
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines(
            [
                "*ERROR at setup of test_bad*",
                f"test_bad.py::test_bad: @pytest.mark.profile_on_failure: {message}",
            ]
        )
        result.stdout.no_fnmatch_line("*the body must not run*")
        assert profile_dirs(tester) == []


def test_two_failing_tests_under_xdist_write_distinct_profile_folders(tester):
    pytest.importorskip("xdist")
    tester.makepyfile(
        test_pair="""
        import time
        import pytest

        @pytest.mark.profile_on_failure
        @pytest.mark.parametrize("i", [1, 2])
        def test_fails(i):
            time.sleep(0.01)
            assert False
        """
    )
    result = run(tester, "-n", "2", "-p", "no:html", *LEAN)
    result.assert_outcomes(failed=2)
    folders = profile_dirs(tester)
    assert len(folders) == 2
    assert all((folder / "flamegraph.svg").is_file() for folder in folders)
    assert all(svg_frame_titles(folder / "flamegraph.svg") for folder in folders)
    shown = [line for line in result.stdout.lines if line.startswith("  svg: ")]
    assert sorted(shown) == sorted(f"  svg: {folder / 'flamegraph.svg'}" for folder in folders)


def test_the_pytest_html_report_embeds_the_flamegraph(tester):
    pytest.importorskip("pytest_html")
    tester.makepyfile(test_sleepy=SLEEPY)
    result = run(tester, "-k", "marked", "--html=report.html", "--self-contained-html")
    result.assert_outcomes(failed=1)
    (folder,) = profile_dirs(tester)
    page = (tester.path / "report.html").read_text(encoding="utf-8")
    assert "prodguard flamegraph" in page
    svg = (folder / "flamegraph.svg").read_bytes()
    assert f"data:image/svg+xml;base64,{base64.b64encode(svg).decode()}" in page
    assert "&#34;format_type&#34;: &#34;url&#34;" not in page  # a local path would not travel


def _frame_rows(result: pytest.RunResult) -> list[str]:
    """The hot-frame rows of the first "where the time went" block in the output."""
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if line.startswith("    self   total  "))
    end = next(i for i in range(start, len(lines)) if lines[i] == "files:")
    return lines[start + 1 : end]
