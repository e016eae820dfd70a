"""Options and ini keys: one table, precedence CLI > ini > default, clear usage errors.

Every entry of ``settings.OPTIONS`` is covered: the tables below must name each
key (``test_tables_cover_every_option``), so a new option cannot ship untested.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.settings import (
    OPTIONS,
    OPTIONS_BY_KEY,
    Settings,
    build_settings,
    parse_tolerance,
    resolve,
)

ROOT = Path("/project")

# key -> (ini text, value it resolves to) for a value that is not the default
INI_VALUES: dict[str, tuple[str, object]] = {
    "prodguard_incidents": ("ops/registry.toml", "ops/registry.toml"),
    "prodguard_require_guards": ("true", True),
    "prodguard_report": ("out/run.json", "out/run.json"),
    "prodguard_latency": ("warn", "warn"),
    "prodguard_latency_scale": ("1.5", 1.5),
    "prodguard_latency_inconclusive": ("fail", "fail"),
    "prodguard_latency_normalize": ("off", "off"),
    "prodguard_baseline_save": ("yes", True),
    "prodguard_baseline_compare": ("5%", 0.05),
    "prodguard_baseline_dir": ("ci/baselines", "ci/baselines"),
    "prodguard_profile": ("off", "off"),
    "prodguard_profile_with": ("builtin", "builtin"),
    "prodguard_profile_seconds": ("0.5", 0.5),
    "prodguard_profile_dir": ("ci/profiles", "ci/profiles"),
    "prodguard_profile_top": ("3", 3),
    "prodguard_profile_keep": ("2", 2),
    "prodguard_profile_frames": ("line", "line"),
}

# key -> (CLI argument value, value it resolves to), different from INI_VALUES
CLI_VALUES: dict[str, tuple[object, object]] = {
    "prodguard_incidents": ("cli.toml", "cli.toml"),
    "prodguard_require_guards": (True, True),
    "prodguard_report": ("cli.html", "cli.html"),
    "prodguard_latency": ("off", "off"),
    "prodguard_latency_scale": ("2", 2.0),
    "prodguard_latency_inconclusive": ("warn", "warn"),
    "prodguard_latency_normalize": ("auto", "auto"),
    "prodguard_baseline_save": (True, True),
    "prodguard_baseline_compare": ("20%", 0.2),
    "prodguard_baseline_dir": ("cli-baselines", "cli-baselines"),
    "prodguard_profile": ("failures", "failures"),
    "prodguard_profile_with": ("torch", "torch"),
    "prodguard_profile_seconds": ("3", 3.0),
    "prodguard_profile_dir": ("cli-profiles", "cli-profiles"),
    "prodguard_profile_top": ("12", 12),
    "prodguard_profile_keep": ("9", 9),
    "prodguard_profile_frames": ("function", "function"),
}

# key -> a bad value; string options that accept any text are absent on purpose
BAD_VALUES: dict[str, str] = {
    "prodguard_require_guards": "maybe",
    "prodguard_report": "run.txt",
    "prodguard_latency": "loud",
    "prodguard_latency_scale": "-1",
    "prodguard_latency_inconclusive": "shrug",
    "prodguard_latency_normalize": "sometimes",
    "prodguard_baseline_save": "2",
    "prodguard_baseline_compare": "abc",
    "prodguard_profile": "always",
    "prodguard_profile_with": "perf",
    "prodguard_profile_seconds": "0",
    "prodguard_profile_top": "0",
    "prodguard_profile_keep": "0",
    "prodguard_profile_frames": "stack",
}
FREE_TEXT = {"prodguard_incidents", "prodguard_baseline_dir", "prodguard_profile_dir"}
PATH_KEYS = FREE_TEXT | {"prodguard_report"}


def attribute(key: str) -> str:
    return key.removeprefix("prodguard_")


def ini_text(**keys: str) -> str:
    lines = ["[pytest]", "console_output_style = classic"]
    lines += [f"{key} = {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def option_ids(specs):
    return [spec.key for spec in specs]


class TestOptionTable:
    def test_tables_cover_every_option(self):
        keys = {spec.key for spec in OPTIONS}
        assert set(INI_VALUES) == keys
        assert set(CLI_VALUES) == keys
        assert set(BAD_VALUES) | FREE_TEXT == keys

    def test_every_option_has_a_settings_field_of_the_same_name(self):
        fields = {field.name for field in dataclasses.fields(Settings)}
        assert {attribute(spec.key) for spec in OPTIONS} <= fields

    @pytest.mark.parametrize("spec", OPTIONS, ids=option_ids(OPTIONS))
    def test_flag_is_the_ini_key_spelled_for_the_command_line(self, spec):
        assert spec.key.startswith("prodguard_")
        assert spec.flag == "--" + spec.key.replace("_", "-")
        assert OPTIONS_BY_KEY[spec.key] is spec
        assert spec.help
        if spec.kind == "choice":
            assert spec.default in spec.choices

    def test_keys_are_unique(self):
        assert len(OPTIONS_BY_KEY) == len(OPTIONS)


class TestResolve:
    @pytest.mark.parametrize("spec", OPTIONS, ids=option_ids(OPTIONS))
    def test_default_when_neither_cli_nor_ini_is_given(self, spec):
        assert resolve({}, {})[spec.key] == spec.default
        assert resolve({spec.key: None}, {spec.key: ""})[spec.key] == spec.default

    @pytest.mark.parametrize("spec", OPTIONS, ids=option_ids(OPTIONS))
    def test_ini_value_is_honoured(self, spec):
        text, expected = INI_VALUES[spec.key]
        assert resolve({}, {spec.key: text})[spec.key] == pytest.approx(expected)

    @pytest.mark.parametrize("spec", OPTIONS, ids=option_ids(OPTIONS))
    def test_cli_wins_over_ini(self, spec):
        cli, expected = CLI_VALUES[spec.key]
        ini, _ = INI_VALUES[spec.key]
        assert resolve({spec.key: cli}, {spec.key: ini})[spec.key] == pytest.approx(expected)

    @pytest.mark.parametrize(
        "spec", [OPTIONS_BY_KEY[k] for k in BAD_VALUES if k != "prodguard_report"], ids=str
    )
    def test_bad_ini_value_names_the_key_and_its_source(self, spec):
        with pytest.raises(ProdguardUsageError) as excinfo:
            resolve({}, {spec.key: BAD_VALUES[spec.key]})
        assert excinfo.value.source == f"from ini key {spec.key}"
        assert excinfo.value.value == BAD_VALUES[spec.key]

    @pytest.mark.parametrize(
        "spec", [OPTIONS_BY_KEY[k] for k in BAD_VALUES if k != "prodguard_report"], ids=str
    )
    def test_bad_cli_value_names_the_flag(self, spec):
        with pytest.raises(ProdguardUsageError) as excinfo:
            resolve({spec.key: BAD_VALUES[spec.key]}, {})
        assert excinfo.value.source == f"from {spec.flag}"

    @pytest.mark.parametrize(("text", "expected"), [("TRUE", True), ("on", True), ("no", False)])
    def test_bool_spellings(self, text, expected):
        assert resolve({}, {"prodguard_baseline_save": text})["prodguard_baseline_save"] is expected


class TestParseTolerance:
    @pytest.mark.parametrize(
        ("value", "fraction"),
        [("10%", 0.10), ("5.5%", 0.055), ("0.1", 0.10), ("10", 0.10), (10, 0.10), ("999%", 9.99)],
    )
    def test_accepts_percent_and_fraction_spellings(self, value, fraction):
        assert parse_tolerance(value, source="from test") == pytest.approx(fraction)

    @pytest.mark.parametrize("value", ["0", "0%", "-5%", "1000%", "abc", "nan", "inf", ""])
    def test_rejects_out_of_range_and_garbage(self, value):
        with pytest.raises(ProdguardUsageError, match="relative tolerance") as excinfo:
            parse_tolerance(value, source="from ini key prodguard_baseline_compare")
        assert "(from ini key prodguard_baseline_compare)" in str(excinfo.value)


class TestBuildSettings:
    def test_defaults(self):
        settings = build_settings(ROOT, {}, {})
        assert settings.incidents == ROOT / "incidents.toml"
        assert settings.incidents_explicit is False
        assert settings.report is None
        assert settings.baseline_dir == ROOT / ".prodguard" / "baselines"
        assert settings.profile_dir == ROOT / ".prodguard" / "profiles"
        assert settings.require_guards is False
        assert settings.baseline_compare is None

    @pytest.mark.parametrize("key", sorted(PATH_KEYS))
    def test_relative_paths_resolve_against_the_rootdir_and_absolute_ones_are_kept(self, key):
        relative = build_settings(ROOT, {}, {key: INI_VALUES[key][0]})
        assert getattr(relative, attribute(key)) == ROOT / INI_VALUES[key][0]
        absolute = build_settings(ROOT, {key: "/elsewhere/x.json"}, {})
        assert getattr(absolute, attribute(key)) == Path("/elsewhere/x.json")

    def test_an_explicit_registry_is_marked_explicit(self):
        assert build_settings(ROOT, {}, {"prodguard_incidents": "ops/r.toml"}).incidents_explicit

    @pytest.mark.parametrize(
        ("cli", "ini", "source"),
        [
            ({"prodguard_report": "run.txt"}, {}, "from --prodguard-report"),
            ({}, {"prodguard_report": "run.txt"}, "from ini key prodguard_report"),
        ],
    )
    def test_report_must_be_json_or_html_and_the_error_names_its_source(self, cli, ini, source):
        with pytest.raises(ProdguardUsageError, match=r"\.json or \.html") as excinfo:
            build_settings(ROOT, cli, ini)
        assert excinfo.value.source == source

    def test_settings_are_frozen(self):
        settings = build_settings(ROOT, {}, {})
        with pytest.raises(dataclasses.FrozenInstanceError):
            settings.latency = "off"  # type: ignore[misc]


# ---------------------------------------------------------------- end to end

DUMP_SETTINGS = """
    import dataclasses, json
    from pytest_prodguard.plugin.common import settings_key

    def test_dump(pytestconfig):
        settings = pytestconfig.stash[settings_key]
        data = dataclasses.asdict(settings)
        with open("settings.json", "w") as handle:
            json.dump(data, handle, default=str)
"""


def run_and_read_settings(pytester: pytest.Pytester, *args: str) -> dict[str, object]:
    pytester.makepyfile(test_dump=DUMP_SETTINGS)
    for registry in {INI_VALUES["prodguard_incidents"][0], CLI_VALUES["prodguard_incidents"][0]}:
        pytester.path.joinpath(registry).parent.mkdir(parents=True, exist_ok=True)
        pytester.path.joinpath(registry).write_text("")  # a named registry must exist
    result = pytester.runpytest("-p", "no:cacheprovider", *args)
    result.assert_outcomes(passed=1)
    return json.loads((pytester.path / "settings.json").read_text())


def expected(key: str, value: object, root: Path) -> object:
    return str(root / str(value)) if key in PATH_KEYS else value


class TestEndToEnd:
    def test_every_ini_key_is_honoured(self, pytester):
        pytester.makeini(ini_text(**{key: text for key, (text, _) in INI_VALUES.items()}))
        settings = run_and_read_settings(pytester)
        for key, (_, value) in INI_VALUES.items():
            assert settings[attribute(key)] == expected(key, value, pytester.path), key
        assert (pytester.path / "out" / "run.json").is_file()

    def test_every_flag_wins_over_its_ini_key(self, pytester):
        pytester.makeini(ini_text(**{key: text for key, (text, _) in INI_VALUES.items()}))
        args = []
        for key, (value, _) in CLI_VALUES.items():
            flag = OPTIONS_BY_KEY[key].flag
            args.append(flag if value is True else f"{flag}={value}")
        settings = run_and_read_settings(pytester, *args)
        for key, (_, value) in CLI_VALUES.items():
            assert settings[attribute(key)] == expected(key, value, pytester.path), key
        assert (pytester.path / "cli.html").is_file()

    def test_baseline_compare_flag_without_a_value_means_ten_percent(self, pytester):
        pytester.makeini(ini_text(prodguard_baseline_compare="50%"))
        settings = run_and_read_settings(pytester, "--prodguard-baseline-compare")
        assert settings["baseline_compare"] == pytest.approx(0.10)

    @pytest.mark.parametrize("key", sorted(BAD_VALUES))
    def test_bad_ini_value_is_a_usage_error_naming_the_key(self, pytester, key):
        pytester.makeini(ini_text(**{key: BAD_VALUES[key]}))
        pytester.makepyfile("def test_never_runs(): pass")
        result = pytester.runpytest("-p", "no:cacheprovider")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        # prodguard names the key; typed keys (bool, numbers) are first checked by pytest
        result.stderr.fnmatch_lines([f"ERROR: prodguard: *{key}*"])
        assert BAD_VALUES[key] in result.stderr.str()
        result.stdout.no_fnmatch_line("*Traceback*")
        result.stdout.no_fnmatch_line("*test_never_runs*")

    @pytest.mark.parametrize(
        "key", sorted(key for key in BAD_VALUES if OPTIONS_BY_KEY[key].kind != "bool")
    )
    def test_bad_cli_value_is_a_usage_error_naming_the_flag(self, pytester, key):
        pytester.makeini(ini_text())
        pytester.makepyfile("def test_never_runs(): pass")
        flag = OPTIONS_BY_KEY[key].flag
        result = pytester.runpytest("-p", "no:cacheprovider", f"{flag}={BAD_VALUES[key]}")
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        # choices are checked by argparse, the rest by prodguard: both name the flag
        result.stderr.re_match_lines([rf".*{flag}\b.*"])
        assert BAD_VALUES[key] in result.stderr.str()
        assert "Traceback" not in result.stderr.str()


class TestProfilerPrecedence:
    def test_the_marker_wins_over_the_default(self):
        settings = build_settings(ROOT, {}, {})
        assert settings.profiler_for("builtin") == "builtin"
        assert settings.profiler_for(None) == "auto"

    @pytest.mark.parametrize(
        ("cli", "ini"),
        [({"prodguard_profile_with": "py-spy"}, {}), ({}, {"prodguard_profile_with": "py-spy"})],
        ids=["command-line", "ini"],
    )
    def test_an_explicit_option_wins_over_the_marker(self, cli, ini):
        settings = build_settings(ROOT, cli, ini)
        assert settings.profiler_for("builtin") == "py-spy"
        assert "prodguard_profile_with" in settings.explicit
