"""Model adapters: one batched interface, errors that name the input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from robustness_toys import CaseSensitive

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import (
    CallableModel,
    ModelCallError,
    Prediction,
    SklearnModel,
    as_model,
    confidence,
    label,
    probability,
)


def test_a_plain_callable_is_called_once_per_input() -> None:
    model = as_model(len)
    assert isinstance(model, CallableModel)
    assert model.predict_many(["a", "bb", "ccc"]) == [1, 2, 3]
    assert model.calls == 1  # one batch; the callable itself runs per input


def test_a_batched_callable_gets_whole_batches() -> None:
    batches: list[int] = []

    def lengths(texts: list[str]) -> np.ndarray:
        batches.append(len(texts))
        return np.array([len(t) for t in texts])

    model = as_model(lengths, batched=True, batch_size=2)
    assert model.predict_many(["a", "bb", "ccc"]) == [1, 2, 3]
    assert batches == [2, 1]
    assert model.calls == 2


def test_sklearn_style_objects_give_predictions_with_class_names() -> None:
    toy = CaseSensitive()
    model = as_model(toy, batch_size=3)
    assert isinstance(model, SklearnModel)
    outputs = model.predict_many(["good", "bad", "GOOD", "fine"])
    assert [label(o) for o in outputs] == ["positive", "negative", "negative", "negative"]
    assert confidence(outputs[0]) == pytest.approx(1 / (1 + np.exp(-2)))
    assert probability("positive")(outputs[1]) == pytest.approx(1 / (1 + np.exp(2)))
    assert toy.batches == [3, 1]
    assert str(outputs[0]) == "'positive' (p=0.881)"


def test_an_estimator_with_only_predict_gives_labels() -> None:
    class Labeller:
        def predict(self, xs: list[str]) -> list[str]:
            return ["x" for _ in xs]

    (output,) = as_model(Labeller()).predict_many(["a"])
    assert output == Prediction(label="x")


def test_label_confidence_callables() -> None:
    model = as_model(lambda t: ("pos", 0.75), returns="label_confidence")
    (output,) = model.predict_many(["a"])
    assert (output.label, output.confidence) == ("pos", 0.75)


def test_probability_vectors_and_logits() -> None:
    probs = as_model(lambda x: [0.2, 0.8], returns="probabilities", classes=["a", "b"])
    assert probs("x") == Prediction("b", 0.8, (0.2, 0.8), ("a", "b"))
    logits = as_model(lambda x: np.array([0.0, np.log(3.0)]), returns="logits")
    assert logits("x").label == 1
    assert logits("x").confidence == pytest.approx(0.75)


def test_torch_modules_run_batched_in_eval_mode_without_grad_and_restore_training() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    seen: list[tuple[bool, bool, tuple[int, ...]]] = []

    class Probe(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(3, 2)

        def forward(self, x: Any) -> Any:
            seen.append((self.training, torch.is_grad_enabled(), tuple(x.shape)))
            return self.linear(x)

    net = Probe().train()
    model = as_model(net, returns="logits", classes=["no", "yes"], batch_size=4)
    inputs = [torch.randn(3) for _ in range(6)] + [torch.randn(3, 1).squeeze(1)]
    outputs = model.predict_many(inputs)
    assert len(outputs) == 7
    assert all(isinstance(o, Prediction) and o.label in ("no", "yes") for o in outputs)
    assert seen == [(False, False, (4, 3)), (False, False, (3, 3))]
    assert net.training
    raw = as_model(net)(inputs[0])
    assert isinstance(raw, np.ndarray)
    assert raw.shape == (2,)


def test_torch_inputs_of_different_shapes_go_in_separate_batches() -> None:
    torch = pytest.importorskip("torch")

    class Total(torch.nn.Module):
        def forward(self, x: Any) -> Any:
            return x.sum(dim=1, keepdim=True)

    outputs = as_model(Total()).predict_many([torch.ones(2), torch.ones(5), torch.ones(2)])
    assert [float(o[0]) for o in outputs] == [2.0, 5.0, 2.0]


def test_torch_preprocess_turns_raw_inputs_into_a_batch() -> None:
    torch = pytest.importorskip("torch")

    class Count(torch.nn.Module):
        def forward(self, ids: Any) -> Any:
            return (ids > 0).sum(dim=1, keepdim=True).float()

    def encode(texts: list[str]) -> Any:
        width = max(len(t.split()) for t in texts)
        return torch.tensor([[1] * len(t.split()) + [0] * (width - len(t.split())) for t in texts])

    outputs = as_model(Count(), preprocess=encode).predict_many(["a b", "a b c", "a"])
    assert [float(o[0]) for o in outputs] == [2.0, 3.0, 1.0]


def test_a_model_exception_names_the_input_and_chains_the_original() -> None:
    def picky(text: str) -> int:
        if "boom" in text:
            raise ValueError("cannot parse")
        return 1

    model = as_model(picky, batch_size=8)
    with pytest.raises(
        ModelCallError, match=r"raised ValueError: cannot parse\n  on input \(item 3\): 'a boom'"
    ) as info:
        model.predict_many(["a", "b", "c", "a boom"], notes=lambda i: f"item {i}")
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.input == "a boom"


def test_a_batch_only_failure_is_reported_as_such() -> None:
    def no_batches(texts: list[str]) -> list[int]:
        if len(texts) > 1:
            raise RuntimeError("batch too big")
        return [1]

    with pytest.raises(ModelCallError, match=r"a batch of 2 inputs; each alone succeeded"):
        as_model(no_batches, batched=True).predict_many(["a", "b"])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: as_model(42),
            r"model=42: a callable, a torch.nn.Module, or an object with predict_proba",
        ),
        (lambda: as_model(len, batch_size=0), r"batch_size=0: an integer >= 1"),
        (lambda: as_model(len, returns="votes"), r"returns='votes': one of 'auto', 'label'"),
        (lambda: as_model(len, classes="ab"), r"classes='ab': a non-empty list of class labels"),
        (lambda: as_model(len, batched="yes"), r"batched='yes': True or False"),
        (
            lambda: as_model(len, preprocess=str),
            r"preprocess=.*left out: a plain callable does not use preprocess= "
            r"\(it applies to a torch.nn.Module\)",
        ),
        (
            lambda: as_model(len, device="cpu"),
            r"device='cpu': left out: a plain callable does not use device=",
        ),
        (
            lambda: as_model(as_model(len), classes=["a"]),
            r"classes=\['a'\]: left out: a Model does not use classes= "
            r"\(it applies to a torch.nn.Module or a plain callable\)",
        ),
        (
            lambda: as_model(lambda xs: [1], batched=True).predict_many(["a", "b"]),
            r"one output per input \(got 1 outputs for 2 inputs\)",
        ),
        (
            lambda: as_model(lambda x: "pos", returns="label_confidence")("a"),
            r"a model returning \(label, confidence\); got 'pos'",
        ),
        (
            lambda: as_model(lambda x: ("pos", 1.5), returns="label_confidence")("a"),
            r"a confidence in \[0, 1\]; got 1.5",
        ),
        (lambda: confidence("positive"), r"output='positive': a Prediction with a confidence"),
        (lambda: Prediction("a", 0.9).probability("a"), r"a Prediction with probabilities"),
        (
            lambda: Prediction("a", 0.9, (0.9, 0.1), ("a", "b")).probability("c"),
            r"class='c': one of \['a', 'b'\]",
        ),
    ],
)
def test_bad_models_and_options_are_usage_errors(call: Any, message: str) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        call()


def test_as_model_passes_adapters_through() -> None:
    model = as_model(len)
    assert as_model(model) is model
    resized = as_model(model, batch_size=3)
    assert resized.batch_size == 3
    assert model.batch_size == 64


def test_an_estimator_refuses_options_it_would_ignore() -> None:
    class Labeller:
        def predict(self, batch: list[str]) -> list[str]:
            return ["x" for _ in batch]

    with pytest.raises(ProdguardUsageError, match=r"returns='logits': left out: an estimator"):
        as_model(Labeller(), returns="logits")
    with pytest.raises(ProdguardUsageError, match=r"batched=True: left out: an estimator"):
        as_model(Labeller(), batched=True)


def test_a_torch_module_refuses_batched_which_it_always_is() -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(ProdguardUsageError, match=r"batched=True: .*applies to a plain callable"):
        as_model(torch.nn.Linear(2, 2), batched=True)
