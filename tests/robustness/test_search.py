"""Batched search: few model calls, reproducible draws, a minimal failure and its slices."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st
from robustness_toys import CaseSensitive, Robust

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import (
    Edit,
    RobustnessError,
    as_model,
    assert_robust,
    find_failures,
    probability,
    text_variations,
)
from pytest_prodguard.robustness._search import wilson_interval

SAMPLES = ["a great movie", "good fun for all", "i love it", "boring and bad", "an awful waste"]
CASE_AND_SPACE = {
    "case": True,
    "whitespace": ["pad_left", "pad_right", "double_spaces"],
    "punctuation": False,
    "typos": 0,
    "unicode": False,
    "repetition": False,
}


def test_a_robust_model_has_no_failures() -> None:
    result = find_failures(Robust(), SAMPLES, n=150, seed=3, **CASE_AND_SPACE)
    assert result.ok
    assert result.n_checked == 150
    assert result.minimal is None
    assert result.summary().startswith("0 of 150 variations failed the invariant check (0.0%")


def test_variations_go_through_the_model_in_batches() -> None:
    toy = CaseSensitive()
    result = find_failures(
        toy, SAMPLES, n=200, seed=1, batch_size=64, minimize=False, **CASE_AND_SPACE
    )
    distinct = len({*SAMPLES, *(e.varied for e in (*result.failures, *result.passes))})
    assert sum(toy.batches) == distinct  # each distinct text evaluated once
    assert result.model_calls == math.ceil(distinct / 64)
    assert max(toy.batches) == 64


def test_one_call_per_example_with_batch_size_one() -> None:
    toy = CaseSensitive()
    result = find_failures(
        toy, SAMPLES, n=40, seed=1, batch_size=1, minimize=False, **CASE_AND_SPACE
    )
    assert set(toy.batches) == {1}
    assert result.model_calls == len(toy.batches)


def test_the_same_seed_draws_the_same_variations() -> None:
    first = find_failures(CaseSensitive(), SAMPLES, n=60, seed=9)
    second = find_failures(CaseSensitive(), SAMPLES, n=60, seed=9)
    other = find_failures(CaseSensitive(), SAMPLES, n=60, seed=10)
    as_text = lambda r: [str(e.variation) for e in (*r.failures, *r.passes)]  # noqa: E731
    assert as_text(first) == as_text(second)
    assert as_text(first) != as_text(other)


def test_a_case_sensitive_model_fails_on_case_and_the_slices_say_so() -> None:
    result = find_failures(CaseSensitive(), SAMPLES, n=300, seed=0, **CASE_AND_SPACE)
    assert result.failures
    assert all("case" in e.variation.kinds for e in result.failures)
    assert result.minimal is not None
    assert len(result.minimal.variation.steps) == 1
    assert result.minimal.variation.kinds == ("case",)
    top = result.slices.findings[0]
    assert top.trait in {"kind:case", "all_caps", "op:upper"}
    assert top.significant


def test_minimisation_drops_steps_that_are_not_needed() -> None:
    def shouting_hurts(text: str) -> str:
        return "negative" if "LOVE" in text else "positive"

    padded_upper = Edit("pad_left", (2,)) + Edit("upper") + Edit("pad_right", (1,))
    result = find_failures(
        shouting_hurts, ["i love it"], st.just(padded_upper), n=1, seed=0, minimize=True
    )
    assert str(result.minimal.variation) == "upper()"  # type: ignore[union-attr]


def test_assert_robust_reports_rate_minimal_example_and_slices(recorded: Any) -> None:
    with recorded, pytest.raises(RobustnessError) as info:
        assert_robust(CaseSensitive(), SAMPLES, n=200, seed=0, **CASE_AND_SPACE)
    lines = str(info.value).splitlines()
    assert lines[0] == "assert_robust: more than 0.0% of variations failed"
    assert "variations failed the invariant check" in lines[1]
    assert "95% Wilson interval" in lines[1]
    assert "minimal failing example (steps that were not needed removed):" in lines[2]
    assert any("what the failing inputs have in common" in line for line in lines)
    assert recorded[-1][1]["check"] == "assert_robust"
    assert recorded[-1][1]["n_checked"] == 200
    json.dumps(recorded[-1][1])


def test_assert_robust_allows_a_failure_rate(recorded: Any) -> None:
    with recorded:
        result = assert_robust(CaseSensitive(), SAMPLES, n=100, seed=0, max_failure_rate=1.0)
    assert result.n_checked == 100
    [(kind, summary)] = recorded  # a pass records its failure rate and search size
    assert kind == "robustness"
    assert summary["passed"] is True
    assert summary["n_checked"] == 100
    assert summary["failure_rate"] == result.failure_rate
    assert summary["max_failure_rate"] == 1.0


def test_a_hypothesis_strategy_can_supply_the_variations() -> None:
    result = find_failures(
        CaseSensitive(),
        SAMPLES,
        text_variations(
            "x",
            case=["upper"],
            whitespace=False,
            punctuation=False,
            typos=0,
            unicode=False,
            repetition=False,
            min_steps=1,
        ),
        n=20,
        seed=2,
    )
    assert {str(e.variation) for e in (*result.failures, *result.passes)} == {"upper()"}


def test_a_factory_builds_a_strategy_per_sample() -> None:
    result = find_failures(
        Robust(), SAMPLES, lambda s: text_variations(s, min_steps=1, case=True), n=20, seed=0
    )
    assert result.n_checked > 0


def test_directional_and_custom_checks() -> None:
    def score(x: np.ndarray) -> float:
        return float(x.sum())

    samples = [np.array([1.0, 2.0]), np.array([0.5, 0.5])]
    up = find_failures(
        score,
        samples,
        check="directional",
        key=float,
        expect="increase",
        n=50,
        seed=0,
        noise=False,
        shift=False,
        min_scale=1.0,
        max_scale=1.5,
    )
    assert up.ok
    down = find_failures(
        score,
        samples,
        check="directional",
        key=float,
        expect="decrease",
        n=50,
        seed=0,
        noise=False,
        shift=False,
        min_scale=1.0,
        max_scale=1.5,
    )
    assert len(down.failures) == 50
    custom = find_failures(
        score,
        samples,
        check=lambda before, after: abs(after - before) < 0.5,
        n=50,
        seed=0,
        radius=0.1,
    )
    assert custom.check == "<lambda>"
    assert custom.ok


def test_tensor_search_with_a_torch_classifier() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    samples = [torch.randn(4) for _ in range(6)]
    model = as_model(net, returns="logits", classes=["a", "b"])
    result = find_failures(model, samples, n=100, seed=0, batch_size=32, radius=1e-4)
    assert result.ok
    assert result.model_calls == math.ceil((len(samples) + 100) / 32)
    # NaN/Inf inputs must not give non-finite probabilities (they do: a model flaw to find).
    finite = find_failures(
        model,
        samples,
        check=lambda before, after: bool(np.isfinite(probability("a")(after))),
        n=100,
        seed=0,
        nonfinite=True,
        radius=1e-4,
        max_steps=1,
    )
    assert finite.failures
    assert all("nonfinite" in e.variation.kinds for e in finite.failures)
    assert finite.slices.findings[0].trait in {"kind:nonfinite", "nan", "inf"}


def test_wilson_interval() -> None:
    low, high = wilson_interval(0, 200)
    assert low == pytest.approx(0.0, abs=1e-12)
    assert high == pytest.approx(0.01884, abs=1e-4)  # 1.96^2 / (200 + 1.96^2)
    assert wilson_interval(0, 0) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n": 0}, r"n=0: an integer >= 1"),
        ({"seed": -1}, r"seed=-1: an integer >= 0"),
        ({"check": "same"}, r"check='same': 'invariant', 'directional' or a callable"),
        (
            {"check": "directional"},
            r"key=None: a callable output -> number for check='directional'",
        ),
        ({"check": "directional", "key": float, "expect": "sideways"}, r"expect='sideways'"),
        ({"key": "label"}, r"key='label': a callable"),
        ({"tol": -1}, r"tol=-1: a finite number >= 0"),
        ({"batch_size": 0}, r"batch_size=0: an integer >= 1"),
        ({"minimize": "yes"}, r"minimize='yes': True or False"),
        ({"radius": 1.0}, r"radius=1.0: not an option of text_variations"),
        ({"variations": 5}, r"variations=5: None, a strategy of Variation"),
        ({"variations": st.just(1)}, r"variations=1: a strategy drawing Variation values"),
        ({"variations": st.just(Edit("upper")), "case": False}, r"either variations=... or kind"),
    ],
)
def test_bad_arguments(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        find_failures(Robust(), SAMPLES, **options)


def test_max_failure_rate_must_be_a_rate() -> None:
    with pytest.raises(ProdguardUsageError, match=r"max_failure_rate=2: a number in \[0, 1\]"):
        assert_robust(Robust(), SAMPLES, max_failure_rate=2)
