"""Failure slicing: which traits are over-represented among the failing inputs.

For every trait (ALL CAPS, has digits, has non-ASCII, length bucket,
contains negation, variation kind, ... plus user traits) the 2x2 table

    =========  ============  ============
               with trait    without
    failures   a             c
    passes     b             d
    =========  ============  ============

is tested with a one-sided Fisher exact test (alternative: failures carry the
trait more often than passes), computed exactly from the hypergeometric law in
log space. Holm's step-down correction over all traits tested says which
findings survive multiple testing.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._args import check_probability, check_sequence
from pytest_prodguard.robustness._arrays import dtype_name, is_array_like, shape_of, to_numpy
from pytest_prodguard.robustness._example import Example
from pytest_prodguard.robustness._format import show
from pytest_prodguard.robustness._variation import SampledVariation, Variation

__all__ = [
    "SliceFinding",
    "SliceReport",
    "fisher_exact_greater",
    "slice_failures",
    "traits_of",
]

_NEGATION = re.compile(
    r"\b(not|no|never|nothing|none|nobody|neither|nor|without|cannot)\b|n't\b", re.IGNORECASE
)
_DIGIT = re.compile(r"\d")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_LENGTH_BUCKETS = ((0, 0), (1, 10), (11, 50), (51, 200), (201, 1000))
_LARGE = 1e6

Trait = tuple[str, str]  # (id, description read after "failures are")


def fisher_exact_greater(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact p-value for ``[[a, b], [c, d]]``, alternative odds ratio > 1.

    ``P(X >= a)`` for ``X`` hypergeometric with population ``a+b+c+d``,
    ``a+b`` successes and ``a+c`` draws; the same value as
    ``scipy.stats.fisher_exact([[a, b], [c, d]], alternative="greater")``.
    """
    for name, value in (("a", a), ("b", b), ("c", c), ("d", d)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ProdguardUsageError(name, value, "a count (an integer >= 0)")
    total, successes, draws = a + b + c + d, a + b, a + c
    high = min(successes, draws)
    if total == 0:
        return 1.0
    log_denominator = _log_comb(total, draws)
    terms = [
        _log_comb(successes, x) + _log_comb(total - successes, draws - x) - log_denominator
        for x in range(a, high + 1)
        if draws - x <= total - successes
    ]
    if not terms:
        return 0.0
    peak = max(terms)
    return min(1.0, math.exp(peak) * sum(math.exp(t - peak) for t in terms))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


@dataclass(frozen=True)
class SliceFinding:
    """A trait over-represented among failures, with its counts and p-value."""

    trait: str
    description: str
    failures_with: int
    n_failures: int
    passes_with: int
    n_passes: int
    p_value: float
    odds_ratio: float
    significant: bool

    def line(self) -> str:
        """E.g. ``9/10 failures are ALL CAPS inputs vs 3/97 (3%) of passes (p=1e-06)``."""
        return (
            f"{self.failures_with}/{self.n_failures} failures are {self.description} "
            f"vs {self.passes_with}/{self.n_passes} ({_percent(self.passes_with, self.n_passes)}) "
            f"of passes (p={_p(self.p_value)})"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable fields."""
        return {
            "trait": self.trait,
            "description": self.description,
            "failures_with": self.failures_with,
            "n_failures": self.n_failures,
            "passes_with": self.passes_with,
            "n_passes": self.n_passes,
            "p_value": self.p_value,
            "odds_ratio": self.odds_ratio if math.isfinite(self.odds_ratio) else None,
            "significant": self.significant,
        }


@dataclass(frozen=True)
class SliceReport:
    """Over-represented traits among failures, most significant first."""

    findings: tuple[SliceFinding, ...]
    n_failures: int
    n_passes: int
    n_traits: int
    alpha: float

    def summary(self, top: int = 3, *, scope: str = "") -> str:
        """A few lines naming what the failures have in common (``scope`` qualifies the counts)."""
        where = f" {scope}" if scope else ""
        head = (
            "what the failing inputs have in common "
            f"({self.n_failures} failing, {self.n_passes} passing{where}):"
        )
        shown = [f for f in self.findings if f.p_value <= self.alpha][:top]
        if not shown:
            best = f" (closest: {self.findings[0].line()})" if self.findings else ""
            return f"{head}\n  no trait is over-represented at p <= {self.alpha:g}{best}"
        significant = sum(f.significant for f in self.findings)
        foot = (
            f"  (one-sided Fisher exact tests; {significant} of {self.n_traits} traits "
            f"significant at {self.alpha:g} after Holm correction)"
        )
        return "\n".join([head, *(f"  {f.line()}" for f in shown), foot])

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary."""
        return {
            "n_failures": self.n_failures,
            "n_passes": self.n_passes,
            "n_traits": self.n_traits,
            "alpha": self.alpha,
            "findings": [f.to_dict() for f in self.findings],
        }


def slice_failures(
    failures: Sequence[Any],
    passes: Sequence[Any],
    *,
    traits: Mapping[str, Callable[[Any], bool]] | None = None,
    alpha: float = 0.05,
) -> SliceReport:
    """Name the traits over-represented among ``failures`` compared with ``passes``.

    Items are raw inputs (texts, arrays, tensors), :class:`Example` values or
    drawn variations; for examples the varied input and the variation's kinds
    and steps are sliced. ``traits`` adds named predicates on the (varied)
    input. Returns findings sorted by p-value (one-sided Fisher exact test),
    each flagged ``significant`` after Holm correction at ``alpha``.
    """
    failing = list(check_sequence("failures", failures, min_size=0))
    passing = list(check_sequence("passes", passes, min_size=0))
    level = check_probability("alpha", alpha)
    extra = _custom_traits(traits)
    if not failing:
        return SliceReport((), 0, len(passing), 0, level)
    names: dict[int, str] = {}
    fail_traits = [_all_traits(item, extra, names) for item in failing]
    pass_traits = [_all_traits(item, extra, names) for item in passing]
    descriptions: dict[str, str] = {}
    for found in (*fail_traits, *pass_traits):
        descriptions.update(found)
    n_f, n_p = len(failing), len(passing)
    tested: list[SliceFinding] = []
    for trait, description in descriptions.items():
        a = sum(trait in found for found in fail_traits)
        b = sum(trait in found for found in pass_traits)
        p_value = fisher_exact_greater(a, b, n_f - a, n_p - b)
        tested.append(
            SliceFinding(
                trait, description, a, n_f, b, n_p, p_value, _odds(a, b, n_f - a, n_p - b), False
            )
        )
    flagged = _holm(tested, level)
    findings = [
        f
        for f in flagged
        if n_f and f.failures_with and (n_p == 0 or f.failures_with / n_f > f.passes_with / n_p)
    ]
    findings.sort(key=lambda f: (f.p_value, -f.failures_with, f.trait))
    return SliceReport(tuple(findings), n_f, n_p, len(tested), level)


def _holm(findings: list[SliceFinding], alpha: float) -> list[SliceFinding]:
    """Flag findings significant under Holm's step-down procedure."""
    order = sorted(range(len(findings)), key=lambda i: findings[i].p_value)
    flags = [False] * len(findings)
    m = len(findings)
    for rank, index in enumerate(order):
        if findings[index].p_value > alpha / (m - rank):
            break
        flags[index] = True
    return [
        SliceFinding(**{**f.__dict__, "significant": flag})
        for f, flag in zip(findings, flags, strict=True)
    ]


def _odds(a: int, b: int, c: int, d: int) -> float:
    if b * c == 0:
        return math.inf if a * d > 0 else math.nan
    return (a * d) / (b * c)


def _custom_traits(traits: object) -> dict[str, Callable[[Any], bool]]:
    if traits is None:
        return {}
    if not isinstance(traits, Mapping) or not all(
        isinstance(k, str) and callable(v) for k, v in traits.items()
    ):
        raise ProdguardUsageError(
            "traits", traits, "a mapping of trait description -> predicate(input) -> bool"
        )
    return dict(traits)


def _all_traits(
    item: Any, extra: Mapping[str, Callable[[Any], bool]], names: dict[int, str]
) -> dict[str, str]:
    found = dict(traits_of(item, sample_names=names))
    value = _input_of(item)
    for name, predicate in extra.items():
        if predicate(value):
            found[f"custom:{name}"] = name
    return found


def _input_of(item: Any) -> Any:
    if isinstance(item, Example):
        return item.varied
    if isinstance(item, SampledVariation):
        return item.varied
    return item


def traits_of(item: Any, *, sample_names: dict[int, str] | None = None) -> list[Trait]:
    """The built-in traits of an input, an :class:`Example` or a drawn variation.

    ``sample_names`` caches the description of each sample index across calls.
    """
    found: list[Trait] = []
    value = _input_of(item)
    if isinstance(value, str):
        found += _text_traits(value)
    elif is_array_like(value):
        found += _array_traits(value)
    variation = item.variation if isinstance(item, (Example, SampledVariation)) else None
    if isinstance(variation, Variation):
        found += _variation_traits(variation)
    index = item.sample_index if isinstance(item, Example) else None
    if isinstance(item, SampledVariation):
        index = item.index
    if index is not None:
        names = {} if sample_names is None else sample_names
        if index not in names:
            original = item.original if isinstance(item, Example) else item.sample
            names[index] = f"variations of sample #{index} {show(original, 40)}"
        found.append((f"sample:{index}", names[index]))
    return found


def _text_traits(text: str) -> list[Trait]:
    ascii_only = text.isascii()
    checks: Iterable[tuple[bool, str, str]] = (
        (text.isupper(), "all_caps", "ALL CAPS inputs"),
        (text.islower(), "all_lower", "all-lowercase inputs"),
        (bool(_DIGIT.search(text)), "digits", "inputs with digits"),
        (not ascii_only, "non_ascii", "inputs with non-ASCII characters"),
        (
            bool(_ASCII_CONTROL.search(text)) if ascii_only else any(_invisible(ch) for ch in text),
            "invisible",
            "inputs with zero-width or control characters",
        ),
        (bool(_NEGATION.search(text)), "negation", "inputs containing a negation"),
        (
            text != text.strip() and bool(text.strip()),
            "padded",
            "inputs with leading or trailing whitespace",
        ),
        (bool(_TAB_NEWLINE.search(text)), "tabs_newlines", "inputs with tabs or newlines"),
        (text == "", "empty", "empty inputs"),
        (text != "" and not text.strip(), "blank", "whitespace-only inputs"),
    )
    found = [(trait, description) for hit, trait, description in checks if hit]
    found.append(_length_bucket(len(text)))
    return found


def _invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cf", "Cc") and ch not in "\t\n\r"


def _length_bucket(n: int) -> Trait:
    for low, high in _LENGTH_BUCKETS:
        if low <= n <= high:
            span = f"{low}" if low == high else f"{low}-{high}"
            return (f"length:{span}", f"inputs of {span} characters")
    return (f"length:>{_LENGTH_BUCKETS[-1][1]}", f"inputs over {_LENGTH_BUCKETS[-1][1]} characters")


def _array_traits(value: Any) -> list[Trait]:
    array = to_numpy(value)
    found: list[Trait] = [
        (f"dtype:{dtype_name(value)}", f"{dtype_name(value)} inputs"),
        (f"shape:{shape_of(value)}", f"inputs of shape {shape_of(value)}"),
    ]
    if array.size == 0:
        found.append(("size:0", "empty arrays"))
    if np.issubdtype(array.dtype, np.floating) and array.size:
        if np.isnan(array).any():
            found.append(("nan", "inputs with NaN"))
        if np.isinf(array).any():
            found.append(("inf", "inputs with Inf"))
        finite = array[np.isfinite(array)]
        if finite.size and float(np.max(np.abs(finite))) >= _LARGE:
            found.append(("large", f"inputs with values of magnitude >= {_LARGE:g}"))
    return found


def _variation_traits(variation: Variation) -> list[Trait]:
    found: list[Trait] = [
        (f"kind:{kind}", f"variations of kind '{kind}'") for kind in variation.kinds
    ]
    found += [(f"op:{op}", f"variations using '{op}'") for op in variation.ops]
    if variation.is_identity:
        found.append(("identity", "unvaried inputs"))
    return found


def _percent(part: int, whole: int) -> str:
    if whole == 0:
        return "n/a"
    share = 100 * part / whole
    if 0 < share < 1:
        return "<1%"
    return f"{share:.0f}%"


def _p(value: float) -> str:
    return f"{value:.2g}"
