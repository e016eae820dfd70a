# The imports follow the check that names a missing extra:
# ruff: noqa: E402
"""Model robustness: Hypothesis strategies of input variations, checks and failure slicing.

Import this module explicitly (``from pytest_prodguard import robustness``);
the plugin never does. It imports numpy and Hypothesis, and touches torch only
when a torch model or tensor is passed.

Strategies draw :class:`Variation` values that shrink toward ``identity()``::

    @given(v=text_variations("the film was great"))
    def test_case_does_not_flip_the_label(v):
        assert_invariant(model, "the film was great", v)

Checks raise :class:`RobustnessError` (an ``AssertionError``) with the
original and varied input, the variation, both outputs and, when several
failures are known, what the failing inputs have in common. See
``docs/robustness.md``.
"""

from __future__ import annotations

from pytest_prodguard.extras import require_extra as _require_extra

_require_extra("robustness", "pytest_prodguard.robustness", ("numpy", "hypothesis"))

from pytest_prodguard.robustness._calibration import (
    CalibrationBin,
    CalibrationError,
    assert_calibrated,
    calibration_bins,
    expected_calibration_error,
)
from pytest_prodguard.robustness._checks import (
    ConfidentError,
    ConfidentErrorsError,
    DeterminismError,
    DirectionalError,
    InvarianceError,
    RobustnessError,
    assert_deterministic,
    assert_directional,
    assert_invariant,
    assert_no_confident_errors,
    find_confident_errors,
)
from pytest_prodguard.robustness._example import Example
from pytest_prodguard.robustness._history import clear_history
from pytest_prodguard.robustness._models import (
    CallableModel,
    Model,
    ModelCallError,
    Prediction,
    SklearnModel,
    TorchModel,
    as_model,
    confidence,
    label,
    probability,
)
from pytest_prodguard.robustness._samples import variations_of
from pytest_prodguard.robustness._search import SearchResult, assert_robust, find_failures
from pytest_prodguard.robustness._slicing import SliceFinding, SliceReport, slice_failures
from pytest_prodguard.robustness._tensor import TENSOR_KINDS, tensor_variations
from pytest_prodguard.robustness._text import TEXT_KINDS, text_variations
from pytest_prodguard.robustness._validation import (
    InputProblem,
    InputReport,
    InvalidInputError,
    validate_inputs,
)
from pytest_prodguard.robustness._variation import (
    Compose,
    Edit,
    FunctionVariation,
    Identity,
    SampledVariation,
    Variation,
    compose,
    variation,
)

__all__ = [
    "TENSOR_KINDS",
    "TEXT_KINDS",
    "CalibrationBin",
    "CalibrationError",
    "CallableModel",
    "Compose",
    "ConfidentError",
    "ConfidentErrorsError",
    "DeterminismError",
    "DirectionalError",
    "Edit",
    "Example",
    "FunctionVariation",
    "Identity",
    "InputProblem",
    "InputReport",
    "InvalidInputError",
    "InvarianceError",
    "Model",
    "ModelCallError",
    "Prediction",
    "RobustnessError",
    "SampledVariation",
    "SearchResult",
    "SklearnModel",
    "SliceFinding",
    "SliceReport",
    "TorchModel",
    "Variation",
    "as_model",
    "assert_calibrated",
    "assert_deterministic",
    "assert_directional",
    "assert_invariant",
    "assert_no_confident_errors",
    "assert_robust",
    "calibration_bins",
    "clear_history",
    "compose",
    "confidence",
    "expected_calibration_error",
    "find_confident_errors",
    "find_failures",
    "label",
    "probability",
    "slice_failures",
    "tensor_variations",
    "text_variations",
    "validate_inputs",
    "variation",
    "variations_of",
]


def _check_exports() -> None:
    """Fail at import if ``__all__`` and the imported public names drift apart."""
    public = {
        name
        for name, value in globals().items()
        if not name.startswith("_") and getattr(value, "__module__", "").startswith(__name__)
    }
    public |= {"TEXT_KINDS", "TENSOR_KINDS"}
    if public != set(__all__):  # pragma: no cover - a development-time guard
        raise ImportError(f"__all__ out of sync: {sorted(public ^ set(__all__))}")


_check_exports()
del _check_exports
