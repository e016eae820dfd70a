"""Behaviour checks: invariance, direction, determinism, confident errors.

Each check evaluates what it needs in one batched model call, raises a
:class:`RobustnessError` (an ``AssertionError``) whose message shows the
original and varied input, the variation and both outputs, and records a
JSON-serialisable summary with :func:`pytest_prodguard.record`. Inside a
Hypothesis test every checked example is remembered per call site, so the
message of the (shrunk) failure also says what the failing examples seen so
far have in common.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.recorder import record
from pytest_prodguard.robustness._args import (
    check_int,
    check_non_negative_float,
    check_probability,
    check_same_length,
    check_sequence,
)
from pytest_prodguard.robustness._compare import aligned, comparable, key_name, same, to_real
from pytest_prodguard.robustness._example import Example
from pytest_prodguard.robustness._format import brief, show
from pytest_prodguard.robustness._history import is_intermediate, remember, seen, site_of_caller
from pytest_prodguard.robustness._models import Prediction, as_model
from pytest_prodguard.robustness._slicing import SliceReport, slice_failures
from pytest_prodguard.robustness._variation import SampledVariation, Variation, as_variation

__all__ = [
    "ConfidentError",
    "ConfidentErrorsError",
    "DeterminismError",
    "DirectionalError",
    "InvarianceError",
    "RobustnessError",
    "assert_deterministic",
    "assert_directional",
    "assert_invariant",
    "assert_no_confident_errors",
    "find_confident_errors",
]

Key = Callable[[Any], Any]
EXPECTATIONS = ("increase", "decrease")


class RobustnessError(AssertionError):
    """A robustness check failed; ``summary`` is the JSON-serialisable record."""

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary


class InvarianceError(RobustnessError):
    """The output changed under a variation that should not change it."""


class DirectionalError(RobustnessError):
    """The output moved the wrong way under a variation."""


class DeterminismError(RobustnessError):
    """The same input gave different outputs."""


class ConfidentErrorsError(RobustnessError):
    """The model made wrong predictions with high confidence."""


def assert_invariant(
    model: Any,
    x: Any,
    variation: Variation | Callable[[Any], Any],
    *,
    key: Key | None = None,
    tol: float = 1e-6,
) -> None:
    """The output (or ``key(output)``) must not change when ``variation`` is applied to ``x``.

    By default a :class:`Prediction`'s label is compared, and numbers or
    arrays are compared within absolute tolerance ``tol``. A batch-changing
    tensor variation compares each varied row with the original row it came from.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    site = site_of_caller("assert_invariant")
    change = as_variation(variation)
    key = _check_key(key)
    tolerance = check_non_negative_float("tol", tol)
    example = _evaluate(model, x, change)
    before = comparable(aligned(example.output, change, example.varied_output), key)
    after = comparable(example.varied_output, key)
    failed = not same(before, after, tolerance)
    remember(site, example, failed)
    if failed:
        detail = f"{key_name(key)}: {show(before, 80)} -> {show(after, 80)} (tol={tolerance:g})"
        _fail(
            InvarianceError,
            "assert_invariant",
            "the output changed under the variation",
            example,
            detail,
            site,
        )


def assert_directional(
    model: Any,
    x: Any,
    variation: Variation | Callable[[Any], Any],
    *,
    key: Key,
    expect: str | Callable[[Any, Any], bool] = "increase",
    tol: float = 0.0,
) -> None:
    """``key(output)`` must move as ``expect`` says when ``variation`` is applied to ``x``.

    ``"increase"`` means the value must not decrease (``after >= before - tol``),
    ``"decrease"`` that it must not increase; so the identity variation always
    passes. A callable ``expect(before, after)`` returns whether the move is right.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    site = site_of_caller("assert_directional")
    change = as_variation(variation)
    if key is None or not callable(key):
        raise ProdguardUsageError(
            "key", brief(key), "a callable output -> number, e.g. probability('positive')"
        )
    tolerance = check_non_negative_float("tol", tol)
    if not callable(expect) and expect not in EXPECTATIONS:
        raise ProdguardUsageError(
            "expect", expect, "'increase', 'decrease' or a callable (before, after) -> bool"
        )
    example = _evaluate(model, x, change)
    before = key(aligned(example.output, change, example.varied_output))
    after = key(example.varied_output)
    ok, headline = _moved_as_expected(before, after, expect, tolerance)
    remember(site, example, not ok)
    if not ok:
        detail = f"{key_name(key)}: {show(before, 80)} -> {show(after, 80)} (tol={tolerance:g})"
        _fail(DirectionalError, "assert_directional", headline, example, detail, site)


def _moved_as_expected(
    before: Any, after: Any, expect: str | Callable[[Any, Any], bool], tol: float
) -> tuple[bool, str]:
    """Whether the move is right, and the headline to show when it is not."""
    if callable(expect):
        name = getattr(expect, "__name__", "expect")
        return bool(expect(before, after)), f"{name}(before, after) is false"
    start, end = to_real(before, "key"), to_real(after, "key")
    if expect == "increase":
        return end >= start - tol, "the output decreased (expected: increase or stay)"
    return end <= start + tol, "the output increased (expected: decrease or stay)"


def assert_deterministic(
    model: Any, x: Any, runs: int = 5, *, key: Key | None = None, tol: float = 0.0
) -> None:
    """Calling the model ``runs`` times on ``x`` gives the same output every time.

    Catches dropout left on, unseeded sampling and nondeterministic kernels.
    Without ``key`` the whole output is compared (a :class:`Prediction`'s label
    and probabilities), within absolute tolerance ``tol``.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    adapter = as_model(model)
    count = check_int("runs", runs, min_value=2)
    key = _check_key(key)
    tolerance = check_non_negative_float("tol", tol)
    outputs = [adapter.predict_one(x, note=f"run {i + 1} of {count}") for i in range(count)]
    values = [_whole(out) if key is None else key(out) for out in outputs]
    distinct: list[tuple[Any, list[int]]] = []
    for run, value in enumerate(values, start=1):
        for seen_value, runs_with in distinct:
            if same(seen_value, value, tolerance):
                runs_with.append(run)
                break
        else:
            distinct.append((value, [run]))
    if len(distinct) == 1:
        record("robustness", {"check": "assert_deterministic", "passed": True, "runs": count})
        return
    lines = [
        f"assert_deterministic: {len(distinct)} different outputs "
        f"in {count} runs on the same input",
        f"  input: {show(x, 200)}",
    ]
    for _, runs_with in distinct:
        lines.append(f"  runs {runs_with}: {show(outputs[runs_with[0] - 1], 120)}")
    lines.append(
        "  (dropout or batch-norm left in training mode, unseeded sampling, "
        "or a nondeterministic kernel?)"
    )
    summary = {
        "check": "assert_deterministic",
        "passed": False,
        "input": show(x, 200),
        "runs": count,
        "distinct_outputs": [show(outputs[r[0] - 1], 120) for _, r in distinct],
    }
    record("robustness", summary)
    raise DeterminismError("\n".join(lines), summary)


def _whole(output: Any) -> Any:
    """A Prediction compared in full: its label and then its probabilities."""
    if isinstance(output, Prediction):
        if output.probabilities is not None:
            return (output.label, *output.probabilities)
        return (output.label, output.confidence)
    return output


@dataclass(frozen=True)
class ConfidentError:
    """A wrong prediction made with confidence at or above the threshold."""

    index: int
    input: Any
    label: Any
    predicted: Any
    confidence: float

    def __str__(self) -> str:
        return (
            f"#{self.index}: predicted {self.predicted!r} with p={self.confidence:.3f}, "
            f"true label {self.label!r}: {show(self.input, 100)}"
        )


def find_confident_errors(
    model: Any,
    inputs: Sequence[Any],
    labels: Sequence[Any],
    threshold: float = 0.9,
    *,
    batch_size: int | None = None,
) -> list[ConfidentError]:
    """Wrong predictions made with confidence >= ``threshold``, most confident first.

    The model must report confidence: ``predict_proba``, a torch module with
    ``returns="logits"``/``"probabilities"``, or a callable with
    ``returns="label_confidence"`` (see :func:`as_model`). An integer label
    also matches the class at that index when the model knows its classes.
    """
    items = list(check_sequence("inputs", inputs, min_size=1))
    truths = list(check_sequence("labels", labels, min_size=1))
    check_same_length("labels", truths, "inputs", len(items))
    level = check_probability("threshold", threshold)
    adapter = as_model(model, batch_size=batch_size)
    outputs = adapter.predict_many(items, notes=[f"inputs[{i}]" for i in range(len(items))])
    errors: list[ConfidentError] = []
    for index, (item, truth, output) in enumerate(zip(items, truths, outputs, strict=True)):
        if not isinstance(output, Prediction) or output.confidence is None:
            raise ProdguardUsageError(
                "model",
                adapter.describe(),
                "a model that reports confidence (predict_proba, returns='logits', "
                f"'probabilities' or 'label_confidence'); got output {show(output, 60)}",
            )
        if not _same_label(truth, output) and output.confidence >= level:
            errors.append(ConfidentError(index, item, truth, output.label, output.confidence))
    errors.sort(key=lambda e: (-e.confidence, e.index))
    return errors


def _same_label(truth: Any, output: Prediction) -> bool:
    if same(truth, output.label, 0.0):
        return True
    classes = output.classes
    if classes is not None and isinstance(truth, int) and not isinstance(truth, bool):
        return 0 <= truth < len(classes) and same(classes[truth], output.label, 0.0)
    return False


def assert_no_confident_errors(
    model: Any,
    inputs: Sequence[Any],
    labels: Sequence[Any],
    threshold: float = 0.9,
    *,
    max_errors: int = 0,
    batch_size: int | None = None,
) -> None:
    """At most ``max_errors`` wrong predictions with confidence >= ``threshold``.

    The message lists the worst (most confident) first and what they have in
    common compared with the other inputs.
    """
    __tracebackhide__ = True  # pytest shows the failure at the caller
    allowed = check_int("max_errors", max_errors, min_value=0)
    errors = find_confident_errors(model, inputs, labels, threshold, batch_size=batch_size)
    if len(errors) <= allowed:
        record(
            "robustness",
            {
                "check": "assert_no_confident_errors",
                "passed": True,
                "threshold": float(threshold),
                "max_errors": allowed,
                "n_inputs": len(inputs),
                "n_errors": len(errors),
                "worst": [str(e) for e in errors[:10]],
            },
        )
        return
    wrong = {e.index for e in errors}
    items = list(inputs)
    slices = slice_failures(
        [e.input for e in errors], [x for i, x in enumerate(items) if i not in wrong]
    )
    lines = [
        f"assert_no_confident_errors: {len(errors)} of {len(items)} inputs are wrong with "
        f"confidence >= {threshold:g} (allowed {allowed}); worst first:",
        *(f"  {e}" for e in errors[:10]),
    ]
    if len(errors) > 10:
        lines.append(f"  ... and {len(errors) - 10} more")
    if len(errors) >= 2:
        lines.append(_indent(slices.summary()))
    summary = {
        "check": "assert_no_confident_errors",
        "passed": False,
        "threshold": float(threshold),
        "n_inputs": len(items),
        "max_errors": allowed,
        "n_errors": len(errors),
        "worst": [str(e) for e in errors[:10]],
        "slices": slices.to_dict(),
    }
    record("robustness", summary)
    raise ConfidentErrorsError("\n".join(lines), summary)


def _check_key(key: object) -> Key | None:
    if key is not None and not callable(key):
        raise ProdguardUsageError("key", brief(key), "a callable output -> value, or None")
    return key


def _evaluate(model: Any, x: Any, change: Variation) -> Example:
    """Run the original and the varied input through the model in one batch."""
    adapter = as_model(model)
    varied = change(x)
    output, varied_output = adapter.predict_many(
        [x, varied], notes=["the original input", f"varied by {change}"]
    )
    index = change.index if isinstance(change, SampledVariation) else None
    return Example(x, change, varied, output, varied_output, index)


def _fail(
    error: type[RobustnessError],
    check: str,
    headline: str,
    example: Example,
    detail: str,
    site: tuple[str, str, int],
) -> None:
    __tracebackhide__ = True  # pytest shows the failure at the caller
    lines = [f"{check}: {headline}", *example_lines(example), f"  compared:       {detail}"]
    if is_intermediate():
        # Hypothesis is still shrinking and will not show this message: stay cheap.
        raise error("\n".join(lines), {"check": check, "passed": False, **example.to_dict()})
    failures, passes = seen(site)
    slices: SliceReport | None = None
    if len(failures) >= 2:
        slices = slice_failures(failures, passes)
        lines.append(_indent(slices.summary(scope="seen by this check in this test")))
    summary = {
        "check": check,
        "passed": False,
        **example.to_dict(),
        "slices": slices.to_dict() if slices is not None else None,
    }
    record("robustness", summary)
    raise error("\n".join(lines), summary)


def example_lines(example: Example) -> list[str]:
    """The lines of a failure message that show one example."""
    return [
        f"  variation:      {example.variation}",
        f"  original input: {show(example.original, 200)}",
        f"  varied input:   {show(example.varied, 200)}",
        f"  output:         {show(example.output, 120)}",
        f"  varied output:  {show(example.varied_output, 120)}",
    ]


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.splitlines())
