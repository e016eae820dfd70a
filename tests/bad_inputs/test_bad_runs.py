"""Catalogue: registries, artifacts and partial runs as pytest meets them.

A non-UTF-8 or named-but-missing registry stops the run with one usage error (no
INTERNALERROR); an artifact that cannot be decoded makes its guard "not run",
never REGRESSED; a run that may not collect every guard says it cannot judge
guard coverage instead of failing.
"""

from __future__ import annotations

import pytest
from catalogue import REGISTRY, assert_usage_error

GUARD = """
import pytest

@pytest.mark.incident_repro("INC-2025-001")
def test_guard(incident):
    {body}
"""


class TestRegistryAsPytestReadsIt:
    @pytest.mark.parametrize(
        ("content", "problem"),
        [
            (b"# caf\xe9\n", "not UTF-8 text (byte 0xe9 at offset 5); TOML must be UTF-8"),
            (REGISTRY.encode("utf-16"), "not UTF-8 text (byte 0xff at offset 0)"),
            (REGISTRY.encode() + b"# \x80\n", "not UTF-8 text (byte 0x80 at offset"),
        ],
        ids=["latin-1", "utf-16", "stray-byte"],
    )
    def test_non_utf8_registry_is_a_usage_error(self, project, content, problem):
        registry = project.path / "incidents.toml"
        registry.write_bytes(content)
        project.makepyfile(GUARD.format(body="pass"))
        result = project.runpytest()
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        assert_usage_error(result, f"prodguard: incident registry {registry}: {problem}")
        assert registry.read_bytes() == content

    @pytest.mark.parametrize(
        "how", ["--prodguard-incidents=incidnets.toml", "ini"], ids=["flag", "ini"]
    )
    def test_named_registry_that_does_not_exist_is_a_usage_error(self, project, how):
        if how == "ini":
            project.makeini("[pytest]\nprodguard_incidents = incidnets.toml\n")
        project.makepyfile("def test_plain():\n    pass\n")
        args = [how] if how.startswith("--") else []
        result = project.runpytest("--prodguard-require-guards", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        missing = project.path / "incidnets.toml"
        assert_usage_error(
            result,
            f"prodguard: incident registry {missing}: file not found "
            "(named by --prodguard-incidents)",
        )


class TestArtifacts:
    @pytest.mark.parametrize(
        ("content", "read", "byte"),
        [
            (b"caf\xe9", "text", "0xe9 at offset 3"),
            (b'{"a": "\xff"}', "json", "0xff at offset 7"),
            (b'{"a": 1}\n{"b": "\xc3"}\n', "jsonl", "0xc3 at offset 16"),
            ("payload".encode("utf-16"), "text", "0xff at offset 0"),
        ],
        ids=["latin-1-text", "json", "jsonl", "utf-16"],
    )
    def test_undecodable_artifact_makes_the_guard_not_run(
        self, project, unchanged, content, read, byte
    ):
        folder = project.path / "incidents" / "INC-2025-001"
        folder.mkdir(parents=True)
        (folder / "payload").write_bytes(content)
        project.makepyfile(GUARD.format(body=f'incident.artifacts.{read}("payload")'))
        check = unchanged(folder)
        result = project.runpytest()
        result.assert_outcomes(failed=1)
        assert_usage_error(
            result,
            f"artifact='payload': UTF-8 text ({folder / 'payload'}: not UTF-8 text (byte {byte})",
            "not run     INC-2025-001",
        )
        assert "REGRESSED" not in result.stdout.str()
        check()

    def test_bytes_stay_readable_through_file(self, project):
        folder = project.path / "incidents" / "INC-2025-001"
        folder.mkdir(parents=True)
        (folder / "payload").write_bytes(b"caf\xe9")
        project.makepyfile(
            GUARD.format(
                body='assert incident.artifacts.file("payload").read_bytes() == b"caf\\xe9"'
            )
        )
        project.runpytest().assert_outcomes(passed=1)


TWO_FILES = {
    "test_guard": GUARD.format(body="pass"),
    "test_other": """
        import os
        import pytest

        @pytest.mark.slow
        def test_other():
            assert not os.environ.get("PRODGUARD_FAIL_OTHER")
        """,
}


class TestPartialRuns:
    @pytest.fixture
    def suite(self, project):
        project.makeini("[pytest]\nconsole_output_style = classic\nmarkers = slow\n")
        project.makepyfile(**TWO_FILES)
        return project

    @pytest.mark.parametrize(
        ("args", "reason"),
        [
            (["test_other.py"], "it names specific test files or node ids (test_other.py)"),
            (["test_other.py::test_other"], "it names specific test files or node ids"),
            (["--ignore=test_guard.py"], "--ignore limits which test files are collected"),
            (["--ignore-glob=*guard*"], "--ignore-glob limits which test files are collected"),
        ],
        ids=["file", "node-id", "ignore", "ignore-glob"],
    )
    def test_a_run_that_may_miss_guards_cannot_judge_coverage(self, suite, args, reason):
        result = suite.runpytest("--prodguard-require-guards", "-p", "no:cacheprovider", *args)
        assert result.ret == pytest.ExitCode.OK
        assert_usage_error(
            result,
            f"prodguard_require_guards not enforced: this run cannot judge guard "
            f"coverage: {reason}",
        )

    def test_last_failed_rerun_of_a_green_fix_passes(self, suite, monkeypatch):
        monkeypatch.setenv("PRODGUARD_FAIL_OTHER", "1")
        suite.runpytest("--prodguard-require-guards").assert_outcomes(passed=1, failed=1)
        monkeypatch.delenv("PRODGUARD_FAIL_OTHER")
        result = suite.runpytest("--lf", "--prodguard-require-guards")
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        assert_usage_error(result, "cannot judge guard coverage: --lf limits which test files")

    @pytest.mark.parametrize(
        "args",
        [["-k", "other"], ["-m", "slow"], ["--deselect", "test_guard.py::test_guard"]],
        ids=["-k", "-m", "--deselect"],
    )
    def test_deselecting_a_guard_still_counts_it(self, suite, args):
        # Guards are counted before deselection, so these runs judge coverage correctly.
        result = suite.runpytest("--prodguard-require-guards", "-p", "no:cacheprovider", *args)
        result.assert_outcomes(passed=1)
        assert result.ret == pytest.ExitCode.OK
        assert "NO GUARD" not in result.stdout.str()

    def test_a_whole_run_without_a_guard_still_fails(self, project):
        project.makepyfile("def test_plain():\n    pass\n")
        result = project.runpytest("--prodguard-require-guards", "-p", "no:cacheprovider")
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        result.stdout.fnmatch_lines(["NO GUARD    INC-2025-001 *"])


UNWRITABLE = """
import pytest

@pytest.mark.latency_budget(p95="1s", warmup=1, max_time="0.05s")
def test_fast(latency):
    latency(sum, range(10))

@pytest.mark.profile_on_failure
def test_fails():
    assert False
"""


class TestUnwritableOutputFolders:
    def test_profile_and_report_folders_that_cannot_be_written_are_notes(self, project):
        blocker = project.path / "blocker"
        blocker.write_text("a file where folders should be")
        project.makepyfile(test_out=UNWRITABLE)
        result = project.runpytest(
            f"--prodguard-profile-dir={blocker}/profiles",
            f"--prodguard-report={blocker}/run.json",
            "--prodguard-profile-seconds=0.1",
            "-p",
            "no:cacheprovider",
        )
        result.assert_outcomes(passed=1, failed=1)
        assert_usage_error(
            result,
            "note: profiling failed (NotADirectoryError",
            f"prodguard: could not write report {blocker}/run.json",
        )
        assert blocker.read_text() == "a file where folders should be"
