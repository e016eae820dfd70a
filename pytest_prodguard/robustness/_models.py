"""Model adapters: one batched interface over callables, sklearn-style objects and torch.

Every check calls ``as_model(obj)`` and then ``predict_many(inputs)``, which
splits the inputs into batches of ``batch_size`` and makes one model call per
batch. A model exception is never swallowed: it is re-raised as
:class:`ModelCallError` naming the input that caused it (the batch is replayed
one input at a time to find it) and chained to the original with ``from``.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._args import check_callable, check_choice, check_int
from pytest_prodguard.robustness._arrays import (
    is_array_like,
    is_tensor,
    is_torch_module,
    to_numpy,
    torch_if_loaded,
)
from pytest_prodguard.robustness._format import brief, show
from pytest_prodguard.robustness._prediction import Prediction

__all__ = [
    "CallableModel",
    "Model",
    "ModelCallError",
    "Prediction",
    "SklearnModel",
    "TorchModel",
    "as_model",
    "confidence",
    "label",
    "probability",
]

Notes = Sequence[str] | Callable[[int], str] | None
RETURNS = ("auto", "label", "label_confidence", "probabilities", "logits")
DEFAULT_BATCH_SIZE = 64


def label(output: Any) -> Any:
    """Key function: the predicted label (``output.label`` for a :class:`Prediction`)."""
    return output.label if isinstance(output, Prediction) else output


def confidence(output: Any) -> float:
    """Key function: the predicted label's probability."""
    if not isinstance(output, Prediction) or output.confidence is None:
        raise ProdguardUsageError(
            "output", brief(output), "a Prediction with a confidence (see as_model(returns=...))"
        )
    return output.confidence


def probability(cls: Any) -> Callable[[Any], float]:
    """Key function factory: the probability of class ``cls``, e.g. ``probability("positive")``."""

    def key(output: Any) -> float:
        if isinstance(output, Prediction):
            return output.probability(cls)
        row = to_numpy(output) if is_array_like(output) else np.asarray(output)
        return float(row.reshape(-1)[int(cls)])

    key.__name__ = f"probability({cls!r})"
    return key


class ModelCallError(Exception):
    """The model raised while a check ran; names the input that caused it."""

    def __init__(self, model: Model, x: Any, error: BaseException, *, note: str = "") -> None:
        self.input = x
        self.error = error
        where = f" ({note})" if note else ""
        super().__init__(
            f"{model.describe()} raised {type(error).__name__}: {error}\n"
            f"  on input{where}: {show(x, limit=300)}"
        )


class Model(ABC):
    """A model seen through one interface: ``predict_many(inputs) -> outputs``.

    ``calls`` counts the underlying model calls made so far (one per batch).
    """

    def __init__(self, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.batch_size = check_int("batch_size", batch_size, min_value=1)
        self.calls = 0

    @abstractmethod
    def _predict_batch(self, batch: Sequence[Any]) -> list[Any]:
        """One underlying model call on ``batch``; one raw output per input."""

    def _finish(self, raw: list[Any]) -> list[Any]:
        """Raw outputs as the checks compare them (outside the model-error wrapper)."""
        return raw

    @abstractmethod
    def describe(self) -> str:
        """A short name for messages, e.g. ``model SentimentService``."""

    def with_batch_size(self, batch_size: int) -> Model:
        """A copy of this adapter with another batch size (the model is shared)."""
        clone = copy.copy(self)
        clone.batch_size = check_int("batch_size", batch_size, min_value=1)
        clone.calls = 0
        return clone

    def predict_many(self, inputs: Sequence[Any], *, notes: Notes = None) -> list[Any]:
        """Outputs for ``inputs``, computed in batches of ``batch_size``.

        ``notes`` (a list with one entry per input, or a function of the
        index, evaluated only on error) say where an input came from, for the
        error raised if the model fails on it.
        """
        outputs: list[Any] = []
        for start in range(0, len(inputs), self.batch_size):
            batch = inputs[start : start + self.batch_size]
            outputs.extend(self._call(batch, start, notes))
        return outputs

    def predict_one(self, x: Any, *, note: str = "") -> Any:
        """The output for a single input (one model call)."""
        return self.predict_many([x], notes=[note])[0]

    def __call__(self, x: Any) -> Any:
        """Same as :meth:`predict_one`."""
        return self.predict_one(x)

    def _call(self, batch: Sequence[Any], start: int, notes: Notes) -> list[Any]:
        self.calls += 1
        try:
            outputs = self._predict_batch(batch)
        except Exception as error:
            culprit, cause = self._locate(batch, error)
            note = _note(notes, start + culprit) if culprit >= 0 else ""
            if culprit < 0:
                note = f"a batch of {len(batch)} inputs; each alone succeeded; the first is shown"
            raise ModelCallError(self, batch[max(culprit, 0)], cause, note=note) from cause
        if len(outputs) != len(batch):
            raise ProdguardUsageError(
                "model",
                self.describe(),
                f"one output per input (got {len(outputs)} outputs for {len(batch)} inputs)",
            )
        return self._finish(outputs)

    def _locate(self, batch: Sequence[Any], error: Exception) -> tuple[int, Exception]:
        """Replay a failed batch one input at a time; -1 if only the batch fails."""
        if len(batch) == 1:
            return 0, error
        for index, item in enumerate(batch):
            try:
                self._predict_batch([item])
            except Exception as single_error:
                return index, single_error
        return -1, error


class CallableModel(Model):
    """Any callable. ``batched=True``: ``fn(list_of_inputs)`` returns one output each."""

    def __init__(
        self,
        fn: Callable[..., Any],
        *,
        batched: bool = False,
        returns: str = "auto",
        classes: Sequence[Any] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        super().__init__(batch_size=batch_size)
        self.fn = check_callable("model", fn, _MODEL_ACCEPTED)
        if not isinstance(batched, bool):
            raise ProdguardUsageError("batched", batched, "True or False")
        self.batched = batched
        self.returns = check_choice("returns", returns, RETURNS)
        self.classes = _classes(classes)

    def describe(self) -> str:
        """``model <name>``."""
        return f"model {getattr(self.fn, '__qualname__', type(self.fn).__name__)}"

    def _predict_batch(self, batch: Sequence[Any]) -> list[Any]:
        return _rows(self.fn(list(batch))) if self.batched else [self.fn(x) for x in batch]

    def _finish(self, raw: list[Any]) -> list[Any]:
        return [normalize_output(out, self.returns, self.classes) for out in raw]


class SklearnModel(Model):
    """An object with ``predict_proba`` and/or ``predict`` (scikit-learn style).

    With ``predict_proba`` each output is a :class:`Prediction` whose label is
    ``classes_[argmax]``; with only ``predict`` it carries the label alone.
    """

    def __init__(self, estimator: Any, *, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        super().__init__(batch_size=batch_size)
        self.estimator = estimator
        self.has_proba = callable(getattr(estimator, "predict_proba", None))
        classes = getattr(estimator, "classes_", None)
        self.classes = _classes(list(classes)) if classes is not None else None

    def describe(self) -> str:
        """``model <ClassName>``."""
        return f"model {type(self.estimator).__name__}"

    def _predict_batch(self, batch: Sequence[Any]) -> list[Any]:
        features = _stack_if_arrays(batch)
        if self.has_proba:
            return list(np.atleast_2d(to_numpy(self.estimator.predict_proba(features))))
        return _rows(self.estimator.predict(features))

    def _finish(self, raw: list[Any]) -> list[Any]:
        if self.has_proba:
            return normalize_rows(np.stack(raw), "probabilities", self.classes)
        return [Prediction(label=_plain(out)) for out in raw]


class TorchModel(Model):
    """A ``torch.nn.Module`` run in eval mode under ``no_grad``, batched, on ``device``.

    Inputs are single examples: tensors without the batch axis, stacked here
    (examples of different shapes go in separate batches), or anything
    ``preprocess(list_of_inputs) -> batch tensor`` accepts (e.g. a tokenizer).
    ``returns="logits"``/``"probabilities"`` gives :class:`Prediction` outputs;
    ``"auto"`` gives each output row as a numpy array. The module's
    train/eval mode is restored after every call.
    """

    def __init__(
        self,
        module: Any,
        *,
        preprocess: Callable[[list[Any]], Any] | None = None,
        device: Any = None,
        returns: str = "auto",
        classes: Sequence[Any] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> None:
        super().__init__(batch_size=batch_size)
        if not is_torch_module(module):
            raise ProdguardUsageError("model", brief(module), "a torch.nn.Module")
        if preprocess is not None:
            check_callable("preprocess", preprocess, "a callable list_of_inputs -> batch tensor")
        self.module = module
        self.preprocess = preprocess
        self.device = device if device is not None else _module_device(module)
        self.returns = check_choice("returns", returns, RETURNS)
        self.classes = _classes(classes)

    def describe(self) -> str:
        """``model <ModuleClass>``."""
        return f"model {type(self.module).__name__}"

    def _predict_batch(self, batch: Sequence[Any]) -> list[Any]:
        torch = torch_if_loaded()
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad():
                if self.preprocess is not None:
                    rows = self._forward(self.preprocess(list(batch)))
                else:
                    rows = self._forward_grouped(batch)
        finally:
            self.module.train(was_training)
        return rows

    def _forward_grouped(self, batch: Sequence[Any]) -> list[Any]:
        torch = torch_if_loaded()
        groups: dict[tuple[Any, ...], list[int]] = {}
        tensors = [x if is_tensor(x) else torch.as_tensor(np.asarray(x)) for x in batch]
        for index, tensor in enumerate(tensors):
            groups.setdefault((tuple(tensor.shape), tensor.dtype), []).append(index)
        rows: list[Any] = [None] * len(batch)
        for indices in groups.values():
            stacked = torch.stack([tensors[i] for i in indices])
            for index, row in zip(indices, self._forward(stacked), strict=True):
                rows[index] = row
        return rows

    def _forward(self, inputs: Any) -> list[Any]:
        """One forward pass; one numpy output row per batch row."""
        inputs = inputs.to(self.device) if hasattr(inputs, "to") else inputs
        output = self.module(inputs)
        output = getattr(output, "logits", output)
        if not is_tensor(output):
            raise ProdguardUsageError(
                "model", self.describe(), "a module returning a tensor (or an object with .logits)"
            )
        return list(to_numpy(output))

    def _finish(self, raw: list[Any]) -> list[Any]:
        if raw and all(row.shape == raw[0].shape for row in raw):
            return normalize_rows(np.stack(raw), self.returns, self.classes)
        return [normalize_output(row, self.returns, self.classes) for row in raw]


_MODEL_ACCEPTED = (
    "a callable, a torch.nn.Module, or an object with predict_proba/predict "
    "(or a Model from as_model)"
)


def as_model(
    obj: Any,
    *,
    batch_size: int | None = None,
    returns: str = "auto",
    classes: Sequence[Any] | None = None,
    batched: bool = False,
    preprocess: Callable[[list[Any]], Any] | None = None,
    device: Any = None,
) -> Model:
    """Adapt ``obj`` to the batched :class:`Model` interface the checks use.

    - a ``torch.nn.Module``: :class:`TorchModel` (eval mode, ``no_grad``,
      ``device``, batches of ``batch_size``, optional ``preprocess``);
    - an object with ``predict_proba``/``predict``: :class:`SklearnModel`;
    - any other callable: :class:`CallableModel` (``batched=True`` if it takes
      a list of inputs; ``returns="label_confidence"`` if it returns
      ``(label, confidence)``, ``"probabilities"``/``"logits"`` for a vector);
    - a :class:`Model`: returned as is (with ``batch_size`` applied if given).

    An option that does not apply to the kind of ``obj`` (``preprocess`` for a
    plain callable, ``returns`` for an sklearn estimator, ...) is a usage error
    rather than silently ignored.
    """
    given = {
        "returns": returns != "auto",
        "classes": classes is not None,
        "batched": batched,
        "preprocess": preprocess is not None,
        "device": device is not None,
    }
    kind = _model_kind(obj)
    _reject_unused_options(kind, {name for name, set_ in given.items() if set_}, locals())
    size = DEFAULT_BATCH_SIZE if batch_size is None else batch_size
    if kind == "Model":
        model: Model = obj
        return model if batch_size is None else model.with_batch_size(batch_size)
    if kind == "torch.nn.Module":
        return TorchModel(
            obj,
            preprocess=preprocess,
            device=device,
            returns=returns,
            classes=classes,
            batch_size=size,
        )
    if kind == "estimator":
        return SklearnModel(obj, batch_size=size)
    return CallableModel(obj, batched=batched, returns=returns, classes=classes, batch_size=size)


#: The ``as_model`` options (besides ``batch_size``) each kind of model uses.
_OPTIONS_BY_KIND = {
    "Model": frozenset(),
    "torch.nn.Module": frozenset({"returns", "classes", "preprocess", "device"}),
    "estimator": frozenset(),
    "callable": frozenset({"returns", "classes", "batched"}),
}
_KIND_WORDS = {
    "Model": "a Model",
    "torch.nn.Module": "a torch.nn.Module",
    "estimator": "an estimator (predict/predict_proba)",
    "callable": "a plain callable",
}


def _model_kind(obj: Any) -> str:
    if isinstance(obj, Model):
        return "Model"
    if is_torch_module(obj):
        return "torch.nn.Module"
    if _is_estimator(obj):
        return "estimator"
    if callable(obj):
        return "callable"
    raise ProdguardUsageError("model", brief(obj), _MODEL_ACCEPTED)


def _reject_unused_options(kind: str, given: set[str], values: dict[str, Any]) -> None:
    unused = sorted(given - _OPTIONS_BY_KIND[kind])
    if unused:
        name = unused[0]
        uses = [_KIND_WORDS[k] for k, options in _OPTIONS_BY_KIND.items() if name in options]
        raise ProdguardUsageError(
            name,
            brief(values[name]),
            f"left out: {_KIND_WORDS[kind]} does not use {name}= "
            f"(it applies to {' or '.join(uses)})",
        )


def _is_estimator(obj: Any) -> bool:
    if isinstance(obj, type):
        return False
    return callable(getattr(obj, "predict_proba", None)) or callable(getattr(obj, "predict", None))


def normalize_output(output: Any, returns: str, classes: tuple[Any, ...] | None) -> Any:
    """Turn a raw model output into what the checks compare, per ``returns``."""
    if isinstance(output, Prediction):
        return output
    if returns == "auto":
        return to_numpy(output) if is_tensor(output) else output
    if returns == "label":
        return Prediction(label=_plain(output))
    if returns == "label_confidence":
        return _from_label_confidence(output)
    row = to_numpy(output).astype(np.float64).reshape(-1)
    if returns == "logits":
        row = _softmax(row)
    return _from_probabilities(row, classes)


def _note(notes: Notes, index: int) -> str:
    if notes is None:
        return ""
    return notes(index) if callable(notes) else notes[index]


def normalize_rows(matrix: np.ndarray, returns: str, classes: tuple[Any, ...] | None) -> list[Any]:
    """:func:`normalize_output` for a whole (n, k) output at once (one softmax, not n)."""
    if returns not in ("logits", "probabilities") or matrix.ndim != 2 or not matrix.shape[1]:
        return [normalize_output(row, returns, classes) for row in matrix]
    probs = matrix.astype(np.float64)
    if returns == "logits":
        # Non-finite logits give NaN probabilities: a model output the checks judge.
        with np.errstate(invalid="ignore", over="ignore"):
            probs = np.exp(probs - probs.max(axis=1, keepdims=True))
            probs /= probs.sum(axis=1, keepdims=True)
    best = probs.argmax(axis=1)
    names = classes if classes is not None and len(classes) == probs.shape[1] else None
    top = probs[np.arange(len(probs)), best].tolist()
    return [
        Prediction(
            label=names[b] if names is not None else b,
            confidence=c,
            probabilities=tuple(row),
            classes=names,
        )
        for b, c, row in zip(best.tolist(), top, probs.tolist(), strict=True)
    ]


def _from_label_confidence(output: Any) -> Prediction:
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        raise ProdguardUsageError(
            "returns",
            "label_confidence",
            f"a model returning (label, confidence); got {brief(output)!r}",
        )
    value = float(output[1])
    if not 0 <= value <= 1 or math.isnan(value):
        raise ProdguardUsageError(
            "returns", "label_confidence", f"a confidence in [0, 1]; got {output[1]!r}"
        )
    return Prediction(label=_plain(output[0]), confidence=value)


def _from_probabilities(row: Any, classes: tuple[Any, ...] | None) -> Prediction:
    probs = np.asarray(row, dtype=np.float64).reshape(-1)
    best = int(np.argmax(probs)) if probs.size else 0
    names = classes if classes is not None and len(classes) == probs.size else None
    return Prediction(
        label=names[best] if names is not None else best,
        confidence=float(probs[best]) if probs.size else None,
        probabilities=tuple(float(p) for p in probs),
        classes=names,
    )


def _softmax(row: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", over="ignore"):
        shifted = np.exp(row - np.max(row))
        result: np.ndarray = shifted / shifted.sum()
    return result


def _rows(outputs: Any) -> list[Any]:
    if is_array_like(outputs):
        array = to_numpy(outputs)
        return [_plain(item) for item in array] if array.ndim == 1 else list(array)
    if isinstance(outputs, (list, tuple)):
        return list(outputs)
    raise ProdguardUsageError(
        "model", brief(outputs), "a batched model returning a list or array (one output per input)"
    )


def _plain(value: Any) -> Any:
    """numpy scalars as Python scalars, so labels compare and print naturally."""
    return value.item() if isinstance(value, np.generic) else value


def _stack_if_arrays(batch: Sequence[Any]) -> Any:
    if batch and all(is_array_like(x) for x in batch):
        return np.stack([to_numpy(x) for x in batch])
    return list(batch)


def _classes(classes: Sequence[Any] | None) -> tuple[Any, ...] | None:
    if classes is None:
        return None
    if isinstance(classes, (str, bytes)) or not isinstance(classes, Sequence) or not classes:
        raise ProdguardUsageError("classes", classes, "a non-empty list of class labels")
    return tuple(_plain(c) for c in classes)


def _module_device(module: Any) -> Any:
    for parameter in module.parameters():
        return parameter.device
    return "cpu"
