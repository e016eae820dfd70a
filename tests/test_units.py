"""Unit tests of duration and memory parsing/formatting shared by every marker."""

from __future__ import annotations

import math

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.units import (
    DURATION_ACCEPTED,
    MEMORY_ACCEPTED,
    format_bytes,
    format_duration,
    parse_duration,
    parse_memory,
)


class TestParseDuration:
    @pytest.mark.parametrize(
        ("value", "seconds"),
        [
            ("20ms", 0.020),
            ("150us", 150e-6),
            ("150µs", 150e-6),
            ("150μs", 150e-6),
            ("10ns", 10e-9),
            ("1.5s", 1.5),
            ("0.5sec", 0.5),
            ("2min", 120.0),
            ("1m", 60.0),
            (" 20 ms ", 0.020),
            ("20MS", 0.020),
            ("1e-3s", 0.001),
            (".5s", 0.5),
            (3, 3.0),
            (0.25, 0.25),
        ],
    )
    def test_accepts_numbers_as_seconds_and_strings_with_a_unit(self, value, seconds):
        assert parse_duration(value) == pytest.approx(seconds, rel=1e-12)

    def test_returns_a_float_for_an_int(self):
        assert isinstance(parse_duration(2), float)

    @pytest.mark.parametrize(
        "value",
        [
            "20 mss",
            "20 parsecs",
            "abc",
            "",
            "ms",
            "-5ms",
            "0ms",
            "0",
            -1,
            0,
            0.0,
            True,
            False,
            None,
            math.nan,
            math.inf,
            [20],
        ],
    )
    def test_rejects_bad_spellings_with_a_message_naming_field_value_and_accepted(self, value):
        with pytest.raises(ProdguardUsageError) as excinfo:
            parse_duration(value, field="p95")
        error = excinfo.value
        assert error.field == "p95"
        assert error.value is value
        assert error.accepted == DURATION_ACCEPTED
        assert str(error).startswith(f"p95={value!r}: ")
        assert "'20ms'" in str(error)

    def test_error_is_a_value_error(self):
        with pytest.raises(ValueError, match="20 mss"):
            parse_duration("20 mss")


class TestParseMemory:
    @pytest.mark.parametrize(
        ("value", "size"),
        [
            ("64MB", 64_000_000),
            ("64 mb", 64_000_000),
            ("512KB", 512_000),
            ("1GB", 10**9),
            ("2TB", 2 * 10**12),
            ("2KiB", 2048),
            ("1.5GiB", int(1.5 * 1024**3)),
            ("3MiB", 3 * 1024**2),
            ("1TiB", 1024**4),
            ("100", 100),
            ("100B", 100),
            ("1e3KB", 1_000_000),
            (4096, 4096),
            (2.9, 2),
        ],
    )
    def test_accepts_bytes_and_decimal_and_binary_units(self, value, size):
        parsed = parse_memory(value)
        assert parsed == size
        assert isinstance(parsed, int)

    @pytest.mark.parametrize(
        "value",
        [
            "20 mss",
            "64 MBs",
            "64XB",
            "abc",
            "",
            "-1MB",
            "0MB",
            "0.1B",
            -1,
            0,
            0.5,
            True,
            None,
            math.nan,
            math.inf,
        ],
    )
    def test_rejects_bad_spellings_with_a_message_naming_field_value_and_accepted(self, value):
        with pytest.raises(ProdguardUsageError) as excinfo:
            parse_memory(value, field="peak_memory")
        error = excinfo.value
        assert error.field == "peak_memory"
        assert error.accepted == MEMORY_ACCEPTED
        assert str(error).startswith(f"peak_memory={value!r}: ")


class TestFormatting:
    @pytest.mark.parametrize(
        ("seconds", "text"),
        [
            (0.0312, "31.2 ms"),
            (1.5, "1.5 s"),
            (90, "90 s"),
            (150e-6, "150 us"),
            (5e-9, "5 ns"),
            (0.001, "1 ms"),
            (-0.002, "-2 ms"),
        ],
    )
    def test_format_duration_picks_a_readable_unit(self, seconds, text):
        assert format_duration(seconds) == text

    @pytest.mark.parametrize(
        ("size", "text"),
        [
            (64_000_000, "64 MB"),
            (1.5e9, "1.5 GB"),
            (2048, "2.05 KB"),
            (512, "512 B"),
            (0, "0 B"),
        ],
    )
    def test_format_bytes_uses_decimal_units(self, size, text):
        assert format_bytes(size) == text

    @pytest.mark.parametrize("text", ["20ms", "150us", "1.5s", "7ns"])
    def test_formatted_duration_parses_back_to_the_same_value(self, text):
        seconds = parse_duration(text)
        assert parse_duration(format_duration(seconds).replace(" ", "")) == pytest.approx(seconds)

    @pytest.mark.parametrize("text", ["64MB", "512KB", "3GB", "12B"])
    def test_formatted_size_parses_back_to_the_same_value(self, text):
        size = parse_memory(text)
        assert parse_memory(format_bytes(size).replace(" ", "")) == size
