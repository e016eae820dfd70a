"""Failure slicing: traits, counts and one-sided Fisher exact p-values (checked against scipy)."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest
from scipy.stats import fisher_exact

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import Edit, Example, Identity, slice_failures
from pytest_prodguard.robustness._slicing import fisher_exact_greater, traits_of


@pytest.mark.parametrize(
    "table",
    [
        *itertools.product([0, 1, 3], [0, 2], [0, 1, 4], [0, 5]),
        (9, 3, 1, 94),
        (50, 10, 50, 890),
        (0, 0, 0, 0),
        (12, 0, 0, 12),
    ],
)
def test_fisher_matches_scipy_on_small_tables(table: tuple[int, int, int, int]) -> None:
    a, b, c, d = table
    expected = fisher_exact([[a, b], [c, d]], alternative="greater").pvalue
    assert fisher_exact_greater(a, b, c, d) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_fisher_matches_scipy_on_random_tables() -> None:
    rng = random.Random(20250101)
    for _ in range(200):
        a, b, c, d = (rng.randint(0, 300) for _ in range(4))
        expected = fisher_exact([[a, b], [c, d]], alternative="greater").pvalue
        assert fisher_exact_greater(a, b, c, d) == pytest.approx(expected, rel=1e-8, abs=1e-300)


def test_fisher_rejects_negative_counts() -> None:
    with pytest.raises(ProdguardUsageError, match=r"b=-1: a count"):
        fisher_exact_greater(1, -1, 2, 3)


def test_the_summary_reads_like_the_issue() -> None:
    failures = ["THIS IS BAD"] * 9 + ["fine text"]
    passes = ["SHOUTING"] * 3 + [f"calm words {i}" for i in range(97)]
    report = slice_failures(failures, passes)
    top = report.findings[0]
    assert (top.trait, top.failures_with, top.passes_with) == ("all_caps", 9, 3)
    expected_p = fisher_exact([[9, 3], [1, 97]], alternative="greater").pvalue
    assert top.p_value == pytest.approx(expected_p, rel=1e-9)
    assert top.significant
    assert top.line() == (
        f"9/10 failures are ALL CAPS inputs vs 3/100 (3%) of passes (p={expected_p:.2g})"
    )
    assert report.summary().splitlines()[0] == (
        "what the failing inputs have in common (10 failing, 100 passing):"
    )


def test_holm_correction_decides_significance() -> None:
    # Two traits tested; Holm compares the smaller p with alpha/2, the next with alpha.
    failures = ["NOT OK"] * 4
    passes = ["fine"] * 4
    report = slice_failures(failures, passes, alpha=0.05)
    caps = next(f for f in report.findings if f.trait == "all_caps")
    assert caps.p_value == pytest.approx(
        fisher_exact([[4, 0], [0, 4]], alternative="greater").pvalue
    )
    tested = report.n_traits
    assert caps.significant == (caps.p_value <= 0.05 / tested)


def test_only_over_represented_traits_are_reported() -> None:
    report = slice_failures(["abc"], ["ABC", "DEF", "xyz"])
    assert all(f.failures_with / f.n_failures > f.passes_with / f.n_passes for f in report.findings)
    assert "all_caps" not in {f.trait for f in report.findings}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GREAT MOVIE", {"all_caps", "length:11-50"}),
        ("not 5 stars", {"all_lower", "digits", "negation", "length:11-50"}),
        ("I didn't like it", {"negation", "length:11-50"}),
        ("caf\u00e9\u200b", {"all_lower", "non_ascii", "invisible", "length:1-10"}),
        ("  padded\t", {"all_lower", "padded", "tabs_newlines", "length:1-10"}),
        ("", {"empty", "length:0"}),
        (" \n", {"blank", "tabs_newlines", "length:1-10"}),
        ("x" * 2000, {"all_lower", "length:>1000"}),
    ],
)
def test_text_traits(text: str, expected: set[str]) -> None:
    assert {trait for trait, _ in traits_of(text)} == expected


def test_array_traits() -> None:
    x = np.array([np.nan, np.inf, 1e7], dtype=np.float32)
    found = {trait for trait, _ in traits_of(x)}
    assert found == {"dtype:float32", "shape:(3,)", "nan", "inf", "large"}


def test_examples_add_variation_and_sample_traits() -> None:
    example = Example("good", Edit("upper") + Edit("swap", (1,)), "GOOD", sample_index=4)
    found = dict(traits_of(example))
    assert found["kind:case"] == "variations of kind 'case'"
    assert found["op:swap"] == "variations using 'swap'"
    assert found["sample:4"] == "variations of sample #4 'good'"
    assert "all_caps" in found
    assert "identity" in dict(traits_of(Example("x", Identity(), "x")))


def test_variation_kind_is_named_when_it_explains_the_failures() -> None:
    failures = [Example("ok", Edit("upper"), "OK") for _ in range(6)]
    passes = [Example("ok", Edit("pad_left", (1,)), " ok") for _ in range(30)]
    summary = slice_failures(failures, passes).summary()
    assert "6/6 failures are variations of kind 'case' vs 0/30 (0%) of passes" in summary


def test_custom_traits() -> None:
    report = slice_failures(["a?", "b?"], ["c", "d", "e"], traits={"questions": lambda t: "?" in t})
    assert report.findings[0].trait == "custom:questions"
    with pytest.raises(ProdguardUsageError, match=r"traits=.*a mapping of trait description"):
        slice_failures(["a"], ["b"], traits={"x": 3})  # type: ignore[dict-item]


def test_no_failures_means_no_findings() -> None:
    report = slice_failures([], ["a", "b"])
    assert report.findings == ()
    assert "no trait is over-represented" in report.summary()
    assert report.to_dict()["n_passes"] == 2


def test_bad_arguments() -> None:
    with pytest.raises(ProdguardUsageError, match=r"failures='abc': a list or tuple"):
        slice_failures("abc", [])  # type: ignore[arg-type]
    with pytest.raises(ProdguardUsageError, match=r"alpha=2: a number in \(0, 1\]"):
        slice_failures(["a"], ["b"], alpha=2)
