"""Checks: a known-broken toy model fails with the expected minimal example, a robust one passes."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from robustness_toys import CaseSensitive, Robust

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import (
    ConfidentErrorsError,
    DeterminismError,
    DirectionalError,
    Edit,
    InvarianceError,
    ModelCallError,
    Variation,
    assert_deterministic,
    assert_directional,
    assert_invariant,
    assert_no_confident_errors,
    find_confident_errors,
    probability,
    tensor_variations,
    text_variations,
    variation,
    variations_of,
)

TEXT = "a great movie"
SEARCH = settings(database=None, derandomize=True, max_examples=60)


def test_a_robust_model_passes_invariance_under_text_variations() -> None:
    model = Robust()

    @SEARCH
    @given(
        v=text_variations(
            TEXT,
            whitespace=["pad_left", "pad_right", "double_spaces", "collapse", "strip"],
            typos=0,
            punctuation=["add_end"],
            unicode=["nfd", "nfc"],
            repetition=False,
        )
    )
    def check(v: Variation) -> None:
        assert_invariant(model, TEXT, v)

    check()


def test_a_case_sensitive_model_fails_with_the_minimal_example() -> None:
    model = CaseSensitive()

    @SEARCH
    @given(v=text_variations(TEXT))
    def check(v: Variation) -> None:
        assert_invariant(model, TEXT, v)

    with pytest.raises(InvarianceError) as info:
        check()
    message = str(info.value)
    assert message.startswith("assert_invariant: the output changed under the variation\n")
    assert "  variation:      upper()\n" in message
    assert "  original input: 'a great movie'\n" in message
    assert "  varied input:   'A GREAT MOVIE'\n" in message
    assert "  output:         'positive' (p=0.881)\n" in message
    assert "  varied output:  'negative' (p=0.500)\n" in message
    assert "what the failing inputs have in common" in message


def test_slices_across_the_examples_seen_in_a_hypothesis_test() -> None:
    model = CaseSensitive()
    samples = ["a great movie", "good fun", "i love it", "boring and bad", "awful, a waste"]

    @settings(database=None, derandomize=True, max_examples=80)
    @given(
        v=variations_of(
            samples,
            case=True,
            whitespace=True,
            punctuation=False,
            typos=0,
            unicode=False,
            repetition=False,
        )
    )
    def check(v: Variation) -> None:
        assert_invariant(model, v.sample, v)  # type: ignore[attr-defined]

    with pytest.raises(InvarianceError) as info:
        check()
    summary = info.value.summary["slices"]
    assert summary["n_failures"] >= 2
    traits = [f["trait"] for f in summary["findings"]]
    assert any(t.startswith(("kind:case", "op:upper", "all_caps")) for t in traits)


def test_a_failure_is_recorded_as_json(recorded: Any) -> None:
    with recorded, pytest.raises(InvarianceError):
        assert_invariant(CaseSensitive(), TEXT, Edit("upper"))
    ((kind, payload),) = recorded
    assert kind == "robustness"
    assert payload["check"] == "assert_invariant"
    assert payload["variation"] == "upper()"
    assert payload["varied"] == "'A GREAT MOVIE'"
    json.dumps(payload)


def test_numeric_outputs_are_compared_within_tol() -> None:
    x = np.ones(4)
    noise = Edit("noise", ("linf", 1e-3, 1))
    assert_invariant(np.sum, x, noise, tol=4e-3)
    with pytest.raises(InvarianceError, match=r"compared: .* \(tol=1e-06\)"):
        assert_invariant(np.sum, x, noise)


def test_a_key_picks_what_must_not_change() -> None:
    assert_invariant(
        lambda t: {"label": "pos", "len": len(t)},
        "ab",
        Edit("pad_left", (1,)),
        key=lambda out: out["label"],
    )


def test_batch_variations_compare_each_row_with_its_source_row() -> None:
    def per_row(batch: np.ndarray) -> np.ndarray:
        return batch.sum(axis=1)

    x = np.arange(6.0).reshape(3, 2)
    assert_invariant(per_row, x, Edit("batch", (7,)))
    assert_invariant(per_row, x, Edit("batch", (1,)))

    def batch_dependent(batch: np.ndarray) -> np.ndarray:
        return batch.sum(axis=1) - batch.mean()

    with pytest.raises(InvarianceError, match=r"variation:      batch\(size 1\)"):
        assert_invariant(batch_dependent, x, Edit("batch", (1,)))


def test_directional_passes_when_the_value_moves_the_right_way() -> None:
    x = np.array([0.5, 1.0])

    @SEARCH
    @given(
        v=tensor_variations(x, noise=False, shift=False, scaling=True, min_scale=1.0, max_scale=2.0)
    )
    def check(v: Variation) -> None:
        assert_directional(np.sum, x, v, key=float, expect="increase")

    check()


def test_directional_fails_with_the_minimal_wrong_move() -> None:
    x = np.array([0.5, 1.0])

    @SEARCH
    @given(v=tensor_variations(x, noise=False, scaling=False, shift=True, max_shift=0.01))
    def check(v: Variation) -> None:
        assert_directional(np.sum, x, v, key=float, expect="increase")

    with pytest.raises(DirectionalError) as info:
        check()
    message = str(info.value)
    assert "assert_directional: the output decreased (expected: increase or stay)" in message
    assert "  variation:      shift(-0.0005)\n" in message


def test_directional_on_class_probabilities() -> None:
    model = Robust()
    add_praise = variation(lambda t: t + " great", name="append('great')")
    assert_directional(model, "a movie", add_praise, key=probability("positive"), expect="increase")
    with pytest.raises(DirectionalError, match=r"variation:      append\('great'\)"):
        assert_directional(
            model, "a movie", add_praise, key=probability("positive"), expect="decrease"
        )
    assert_directional(
        model,
        "a movie",
        add_praise,
        key=probability("positive"),
        expect=lambda before, after: after - before > 0.3,
    )


def test_deterministic_model_passes(recorded: Any) -> None:
    with recorded:
        assert_deterministic(Robust(), TEXT, runs=3)
    assert list(recorded) == [
        ("robustness", {"check": "assert_deterministic", "passed": True, "runs": 3})
    ]


def test_a_model_that_answers_differently_each_call_fails() -> None:
    counter = itertools.count()

    def drifting(text: str) -> float:
        return 0.5 + 0.1 * (next(counter) % 2)

    with pytest.raises(DeterminismError) as info:
        assert_deterministic(drifting, TEXT, runs=4)
    message = str(info.value)
    assert "2 different outputs in 4 runs on the same input" in message
    assert "runs [1, 3]: 0.5" in message
    assert "runs [2, 4]: 0.6" in message


def test_dropout_left_on_is_caught_and_eval_mode_is_not() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.5), torch.nn.Linear(8, 2))
    x = torch.ones(4)
    assert_deterministic(net, x)  # the adapter runs modules in eval mode
    net.train()
    with pytest.raises(DeterminismError, match="dropout or batch-norm left in training mode"):
        assert_deterministic(lambda t: net(t.unsqueeze(0))[0], x)


def labelled(text: str) -> tuple[str, float]:
    """Right with p=0.8, except ALL CAPS inputs: confidently wrong."""
    truth = "positive" if "good" in text.lower() else "negative"
    if text.isupper():
        return ("negative" if truth == "positive" else "positive"), 0.95 + 0.01 * len(text) / 100
    return truth, 0.8


INPUTS = ["good film", "GOOD FILM", "bad film", "BAD IDEA!", "so good", "meh", "GOOD", "dull"]
LABELS = [
    "positive",
    "positive",
    "negative",
    "negative",
    "positive",
    "negative",
    "positive",
    "negative",
]


def test_confident_errors_are_listed_worst_first() -> None:
    from pytest_prodguard.robustness import as_model

    model = as_model(labelled, returns="label_confidence")
    errors = find_confident_errors(model, INPUTS, LABELS, threshold=0.9)
    assert [e.index for e in errors] == [1, 3, 6]
    assert errors[0].confidence > errors[-1].confidence
    assert (
        str(errors[0])
        == "#1: predicted 'negative' with p=0.951, true label 'positive': 'GOOD FILM'"
    )
    assert find_confident_errors(model, INPUTS, LABELS, threshold=0.99) == []


def test_integer_labels_match_class_indices() -> None:
    model = CaseSensitive()
    assert find_confident_errors(model, ["good good good"], [1], threshold=0.5) == []
    assert [
        e.index for e in find_confident_errors(model, ["good good good"], [0], threshold=0.5)
    ] == [0]


def test_assert_no_confident_errors_names_what_they_share(recorded: Any) -> None:
    from pytest_prodguard.robustness import as_model

    model = as_model(labelled, returns="label_confidence")
    with recorded, pytest.raises(ConfidentErrorsError) as info:
        assert_no_confident_errors(model, INPUTS, LABELS, threshold=0.9)
    message = str(info.value)
    assert message.splitlines()[0] == (
        "assert_no_confident_errors: 3 of 8 inputs are wrong with confidence >= 0.9 (allowed 0); "
        "worst first:"
    )
    assert "3/3 failures are ALL CAPS inputs vs 0/5 (0%) of passes" in message
    assert recorded[-1][1]["n_errors"] == 3
    with recorded:
        assert_no_confident_errors(model, INPUTS, LABELS, threshold=0.9, max_errors=3)
    kind, passed = recorded[-1]  # a pass records its count too, for trends across runs
    assert kind == "robustness"
    assert (passed["passed"], passed["n_errors"], passed["max_errors"]) == (True, 3, 3)


def test_a_model_exception_during_a_check_names_the_varied_input() -> None:
    def fragile(text: str) -> str:
        if text != text.strip():
            raise ValueError("unexpected whitespace")
        return "ok"

    with pytest.raises(
        ModelCallError, match=r"on input \(varied by whitespace\(2 leading\)\): '  abc'"
    ) as info:
        assert_invariant(fragile, "abc", Edit("pad_left", (2,)))
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: assert_invariant(len, "a", 3), r"variation=3: a Variation"),
        (lambda: assert_invariant(len, "a", Edit("upper"), key=5), r"key=5: a callable"),
        (
            lambda: assert_invariant(len, "a", Edit("upper"), tol=-1),
            r"tol=-1: a finite number >= 0",
        ),
        (lambda: assert_invariant(None, "a", Edit("upper")), r"model=None: a callable"),
        (lambda: assert_directional(len, "a", Edit("upper"), key=None), r"key=None: a callable"),
        (
            lambda: assert_directional(len, "a", Edit("upper"), key=float, expect="up"),
            r"expect='up'",
        ),
        (
            lambda: assert_directional(str.upper, "a", Edit("upper"), key=str),
            r"key='A': a key returning one number",
        ),
        (lambda: assert_deterministic(len, "a", runs=1), r"runs=1: an integer >= 2"),
        (
            lambda: find_confident_errors(len, ["a"], ["x", "y"]),
            r"labels='<2 items>': as many items as inputs \(1\)",
        ),
        (lambda: find_confident_errors(len, "abc", ["x"]), r"inputs='abc': a list or tuple"),
        (
            lambda: find_confident_errors(len, ["a"], ["x"], threshold=1.5),
            r"threshold=1.5: a number in \(0, 1\]",
        ),
        (lambda: find_confident_errors(len, ["a"], ["x"]), r"a model that reports confidence"),
        (lambda: assert_no_confident_errors(len, ["a"], ["x"], max_errors=-1), r"max_errors=-1"),
    ],
)
def test_bad_arguments_are_usage_errors(call: Any, message: str) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        call()


def test_under_hypothesis_only_the_reported_failure_is_recorded(recorded: Any) -> None:
    model = CaseSensitive()

    @SEARCH
    @given(v=text_variations(TEXT))
    def check(v: Variation) -> None:
        assert_invariant(model, TEXT, v)

    with recorded, pytest.raises(InvarianceError):
        check()
    assert [payload["variation"] for _, payload in recorded] == ["upper()"]
