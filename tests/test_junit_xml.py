"""The JUnit XML file of a run that uses every prodguard guard, as pytest documents it.

pytest documents per-test properties (``record_property``) as ``xunit1`` only, and its
xunit2 schema (``tests/data/junit-10.xsd``, pytest's own file, validated here with
``xmlschema`` as pytest's suite does) has no ``<properties>`` inside a ``<testcase>``. So
under xunit2, pytest's default family, prodguard's results stay out of the file and it
fits the schema, while the terminal summaries and the JSON report still have every
result; under xunit1 each test case carries its ``prodguard.*`` properties.

The inner suite fails each guard once and passes it once; one failing guard also has a
failing teardown (pytest then reads the call report's properties at teardown). Profiling
uses the builtin sampler (the autouse fixture imported from the profiling tests).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from test_latency_plugin import HEADER, LEAN, SURE_FAIL, SURE_PASS
from test_plugin_conventions import REGISTRY as FIXED_INCIDENT
from test_profiling_plugin import _builtin_sampler  # noqa: F401  (autouse: PRODGUARD_PYSPY=0)

SCHEMA = Path(__file__).parent / "data" / "junit-10.xsd"

INI = """\
[pytest]
console_output_style = classic
prodguard_profile_seconds = 0.3
"""

#: INC-1 (fixed) from the conventions tests, an open incident and a second fixed one.
REGISTRY = (
    FIXED_INCIDENT
    + """
[[incident]]
id = "INC-2"
title = "Unicode names break the export"
severity = "LOW"
status = "open"
date = 2025-04-01

[[incident]]
id = "INC-3"
title = "Refunds charge twice"
severity = "HIGH"
status = "fixed"
date = 2025-05-02
"""
)

GUARDS = """
import pytest

@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")

@pytest.mark.incident_repro("INC-1")
def test_guarded(incident):
    assert incident.id == "INC-1"

@pytest.mark.incident_repro("INC-2")
def test_still_open():
    assert False, "INC-2 reproduces"

@pytest.mark.incident_repro("INC-3")
def test_regressed(broken_teardown):
    assert False, "INC-3 is back"
"""

CARD = "4111 1111 1111 1111"

LOGS = f"""
import logging

import pytest

log = logging.getLogger("shop")

@pytest.mark.log_contract(required=("request_id",))
def test_logs_kept():
    log.warning("checkout", extra={{"request_id": "req-1"}})

@pytest.mark.log_contract()
def test_card_leaked():
    log.warning("charging card {CARD}")
"""

QUERIES = """
import sqlite3

import pytest

def select_ones(count):
    db = sqlite3.connect(":memory:")
    for _ in range(count):
        db.execute("SELECT 1").fetchall()

@pytest.mark.query_budget(max_queries=2)
def test_few_queries():
    select_ones(1)

@pytest.mark.query_budget(max_queries=2)
def test_many_queries():
    select_ones(3)
"""

PROFILED = """
import time

import pytest

import pytest_prodguard

def nap():
    time.sleep(0.01)

@pytest.mark.profile_on_failure
def test_profiled():
    nap()
    assert False, "marked failure"

def test_recorded():
    pytest_prodguard.record("checkout", {"orders": 3})
"""

OUTCOMES = {"passed": 5, "failed": 5, "errors": 1, "xfailed": 1}

#: The result kinds each test records (``prodguard.<kind>`` properties, JSON report keys).
RESULTS = {
    "test_budgets.py::test_fast": {"latency"},
    "test_budgets.py::test_slow": {"latency", "profile"},
    "test_guards.py::test_guarded": {"incident"},
    "test_guards.py::test_still_open": {"incident"},
    "test_guards.py::test_regressed": {"incident"},
    "test_logs.py::test_logs_kept": {"logs"},
    "test_logs.py::test_card_leaked": {"logs"},
    "test_queries.py::test_few_queries": {"queries"},
    "test_queries.py::test_many_queries": {"queries"},
    "test_profiled.py::test_profiled": {"profile"},
    "test_profiled.py::test_recorded": {"checkout"},
}

#: How each guard's failure starts in the JUnit file (``<failure message=...>``).
FAILURES = {
    "test_slow": "latency budget exceeded: p95 = ",
    "test_regressed": "AssertionError: INC-3 is back",
    "test_card_leaked": "log contract violated: 1 violation(s) (forbid:card)",
    "test_profiled": "AssertionError: marked failure",
    "test_many_queries": "query budget exceeded (max_queries=2): 3 queries",
}


@pytest.fixture(scope="module")
def xunit2_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMA))


def schema_errors(schema: xmlschema.XMLSchema, path: Path) -> list[str]:
    """Every place where the file breaks the schema, as ``path: reason``."""
    return [f"{error.path}: {error.reason}" for error in schema.iter_errors(str(path))]


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(INI)
    pytester.path.joinpath("incidents.toml").write_text(REGISTRY, encoding="utf-8")
    pytester.makepyfile(
        test_budgets=HEADER + SURE_PASS + SURE_FAIL,
        test_guards=GUARDS,
        test_logs=LOGS,
        test_queries=QUERIES,
        test_profiled=PROFILED,
    )
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    result = pytester.runpytest("-p", "no:cacheprovider", "--junitxml=junit.xml", *args)
    result.assert_outcomes(**OUTCOMES)
    return result


def case_name(nodeid: str) -> str:
    return nodeid.partition("::")[2]


class TestXunit2:
    @pytest.mark.parametrize(
        "family",
        [(), ("-o", "junit_family=xunit2"), ("-n", "2", *LEAN)],
        ids=["default-family", "xunit2-explicit", "default-family-n2"],
    )
    def test_the_file_fits_pytests_schema_and_prodguard_keeps_every_result(
        self, suite, xunit2_schema, family
    ):
        result = run(suite, "--prodguard-report=run.json", *family)
        junit = suite.path / "junit.xml"
        assert schema_errors(xunit2_schema, junit) == []
        root = ET.parse(junit).getroot()
        # pytest documents no per-test properties for xunit2; prodguard adds no suite-level ones
        assert [prop.get("name") for prop in root.iter("property")] == []
        failures = {
            case.get("name"): failure.get("message", "")
            for case in root.iter("testcase")
            for failure in case.iter("failure")
        }
        assert sorted(failures) == sorted(FAILURES)
        for name, start in FAILURES.items():
            assert failures[name].startswith(start), name
        skipped = root.find(".//testcase[@name='test_still_open']/skipped")
        assert skipped is not None
        assert skipped.get("type") == "pytest.xfail"
        assert skipped.get("message", "").startswith("open incident INC-2 still reproduces")
        text = junit.read_text(encoding="utf-8")
        assert CARD not in text
        assert "[MASKED:card]" in text
        # what the file leaves out still reaches the summaries and the JSON report
        result.stdout.fnmatch_lines(["FAIL * test_budgets.py::test_slow *"])
        result.stdout.fnmatch_lines(
            ["test_queries.py::test_many_queries: max_queries=2: 3 queries ran"]
        )
        result.stdout.fnmatch_lines(["REGRESSED *INC-3 [[]HIGH[]] Refunds charge twice*"])
        report = json.loads((suite.path / "run.json").read_text(encoding="utf-8"))
        known = set().union(*RESULTS.values())
        assert {test["nodeid"]: set(test) & known for test in report["tests"]} == RESULTS

    def test_the_schema_rejects_per_testcase_properties(self, xunit2_schema, tmp_path):
        """The reason prodguard's results stay out of an xunit2 file (and the check is real)."""
        case = '<testcase classname="test_x" name="test_y" time="0.001">{}</testcase>'
        suite = (
            '<testsuites name="pytest tests"><testsuite name="pytest" errors="0" failures="0"'
            ' skipped="0" tests="1" time="0.010">{}</testsuite></testsuites>'
        )
        plain, with_properties = tmp_path / "plain.xml", tmp_path / "properties.xml"
        plain.write_text(suite.format(case.format("")), encoding="utf-8")
        properties = '<properties><property name="prodguard.latency" value="[]"/></properties>'
        with_properties.write_text(suite.format(case.format(properties)), encoding="utf-8")
        assert schema_errors(xunit2_schema, plain) == []
        (error,) = schema_errors(xunit2_schema, with_properties)
        assert error.startswith("/testsuites/testsuite/testcase: Unexpected child with tag")


class TestXunit1:
    @pytest.mark.parametrize("family", ["xunit1", "legacy"])
    def test_every_test_case_carries_its_prodguard_properties(self, suite, family):
        run(suite, "-o", f"junit_family={family}")
        root = ET.parse(suite.path / "junit.xml").getroot()
        names: dict[str, set[str]] = {case_name(nodeid): set() for nodeid in RESULTS}
        for case in root.iter("testcase"):
            for properties in case.findall("properties"):
                names[str(case.get("name"))] |= {
                    str(prop.get("name")) for prop in properties.findall("property")
                }
        for nodeid, kinds in RESULTS.items():
            assert {f"prodguard.{kind}" for kind in kinds} <= names[case_name(nodeid)], nodeid
        assert names["test_slow"] >= {"prodguard.profile.svg", "prodguard.profile.raw"}
        # where pytest writes them: one <properties> per test case, nowhere else
        parents = {child: parent for parent in root.iter() for child in parent}
        assert {parents[properties].tag for properties in root.iter("properties")} == {"testcase"}
        assert max(len(case.findall("properties")) for case in root.iter("testcase")) == 1
        for prop in root.iter("property"):
            assert sorted(prop.attrib) == ["name", "value"]
            name, value = str(prop.get("name")), str(prop.get("value"))
            if name.count(".") == 1:  # prodguard.<kind>: a JSON record
                json.loads(value)
            else:  # prodguard.profile.svg / .raw: a file
                assert Path(value).is_file(), name
