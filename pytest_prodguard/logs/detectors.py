"""Named secret and personal-data detectors: find, mask, and add your own.

Each detector is a named unit with a category (``"secrets"`` or ``"pii"``) and a
scan function that returns the spans of sensitive values in a text. The log
contract, the ``prodguard logs check`` command and evidence readers all use the
same registry::

    from pytest_prodguard.logs.detectors import find, mask, register_detector

    find("card=4111 1111 1111 1111")            # [Finding('card', 5, 24)]
    mask("password=hunter22 user=ann")          # 'password=[MASKED:credential_field] user=ann'
    register_detector("employee_id", r"\\bEMP-\\d{6}\\b", category="pii")

``names`` everywhere accepts detector names and the group names ``"secrets"``
and ``"pii"``; None means every detector.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.logs import _builtin

Span = tuple[int, int]
ScanFunction = Callable[[str], Iterable[Span]]
CATEGORIES = ("secrets", "pii")


@dataclass(frozen=True)
class Finding:
    """A sensitive value found in a text: the detector's name and the value's span."""

    name: str
    start: int
    end: int

    def value(self, text: str) -> str:
        """The raw value (do not print it: use :func:`mask` or :func:`masked_value`)."""
        return text[self.start : self.end]


@dataclass(frozen=True)
class Detector:
    """A named detector: ``scan(text)`` yields ``(start, end)`` spans of sensitive values."""

    name: str
    category: str
    description: str
    scan: ScanFunction


DETECTORS: dict[str, Detector] = {}


def register_detector(
    name: str,
    pattern: str | re.Pattern[str] | ScanFunction,
    *,
    category: str = "secrets",
    description: str = "",
    validate: Callable[[str], bool] | None = None,
    replace: bool = False,
) -> Detector:
    """Add a detector to :data:`DETECTORS` and return it.

    ``pattern`` is a regular expression (a string or compiled; the whole match,
    or its group named ``value`` when it has one, is the sensitive value) or a
    function ``text -> iterable of (start, end)``. ``validate`` filters regex
    matches (e.g. a checksum). ``category`` is ``"secrets"`` or ``"pii"`` and puts
    the detector in that group of ``forbid=``. A name already taken needs
    ``replace=True``. Example::

        register_detector("employee_id", r"\\bEMP-\\d{6}\\b", category="pii",
                          description="our staff numbers")
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ProdguardUsageError("name", name, "a lower-case identifier such as 'employee_id'")
    if name in CATEGORIES or (name in DETECTORS and not replace):
        raise ProdguardUsageError(
            "name", name, "a name not yet registered (pass replace=True to replace one)"
        )
    if category not in CATEGORIES:
        raise ProdguardUsageError("category", category, "'secrets' or 'pii'")
    scan = pattern if callable(pattern) else _regex_scan(pattern, validate)
    detector = Detector(name, category, description or _first_doc_line(scan), scan)
    DETECTORS[name] = detector
    return detector


def unregister_detector(name: str) -> None:
    """Remove a detector (a user one, typically in a test's teardown)."""
    DETECTORS.pop(name, None)


def _regex_scan(
    pattern: str | re.Pattern[str], validate: Callable[[str], bool] | None
) -> ScanFunction:
    compiled = compile_pattern("pattern", pattern)
    group = "value" if "value" in compiled.groupindex else 0

    def scan(text: str) -> Iterator[Span]:
        for match in compiled.finditer(text):
            if validate is None or validate(match.group(group)):
                yield match.span(group)

    scan.__doc__ = f"matches of {compiled.pattern!r}"
    return scan


def compile_pattern(field: str, pattern: object) -> re.Pattern[str]:
    """``pattern`` compiled, or a usage error naming ``field`` when it does not compile."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str):
        raise ProdguardUsageError(field, pattern, "a regular expression (str or re.Pattern)")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ProdguardUsageError(
            field, pattern, f"a regular expression that compiles ({exc})"
        ) from None


def _first_doc_line(function: Callable[..., object]) -> str:
    doc = (function.__doc__ or "").strip()
    return " ".join(doc.split("\n\n")[0].split())


def resolve_names(names: Iterable[str] | str | None, *, field: str = "forbid") -> tuple[str, ...]:
    """Detector names for ``names`` (groups expanded, order kept, duplicates dropped).

    An unknown name is a usage error listing what is accepted.
    """
    if names is None:
        return tuple(DETECTORS)
    if isinstance(names, str):
        names = (names,)
    resolved: list[str] = []
    for name in names:
        if name in CATEGORIES:
            group = [d.name for d in DETECTORS.values() if d.category == name]
            resolved.extend(n for n in group if n not in resolved)
        elif isinstance(name, str) and name in DETECTORS:
            if name not in resolved:
                resolved.append(name)
        else:
            accepted = ", ".join([*CATEGORIES, *DETECTORS])
            raise ProdguardUsageError(field, name, f"a detector name or group: {accepted}")
    return tuple(resolved)


def find(text: str, names: Iterable[str] | str | None = None) -> list[Finding]:
    """Every sensitive value in ``text`` found by the detectors ``names``, in text order."""
    findings = [
        Finding(name, start, end)
        for name in resolve_names(names)
        for start, end in DETECTORS[name].scan(text)
    ]
    return sorted(findings, key=lambda f: (f.start, -f.end, f.name))


def masked_value(name: str) -> str:
    """What a value found by detector ``name`` is replaced with."""
    return f"[MASKED:{name}]"


def mask(text: str, names: Iterable[str] | str | None = None) -> str:
    """``text`` with every value found by ``names`` replaced by ``[MASKED:<detector>]``.

    Overlapping findings are merged; the earliest (then longest) finding names the mask.
    """
    return mask_findings(text, find(text, names))


def mask_findings(text: str, findings: list[Finding]) -> str:
    """``text`` with the given findings (in text order) replaced by their masks."""
    if not findings:
        return text
    pieces: list[str] = []
    position = 0
    for finding in findings:
        if finding.end <= position:
            continue
        start = max(finding.start, position)
        if start == finding.start:
            pieces.append(text[position:start])
            pieces.append(masked_value(finding.name))
        position = finding.end
    pieces.append(text[position:])
    return "".join(pieces)


def _register_builtins() -> None:
    for name, scan, category in (
        ("card", _builtin.scan_cards, "pii"),
        ("email", _builtin.scan_emails, "pii"),
        ("phone", _builtin.scan_phones, "pii"),
        ("iban", _builtin.scan_ibans, "pii"),
        ("ssn", _builtin.scan_ssns, "pii"),
        ("aws_access_key", _builtin.scan_aws_keys, "secrets"),
        ("private_key", _builtin.scan_private_keys, "secrets"),
        ("jwt", _builtin.scan_jwts, "secrets"),
        ("authorization", _builtin.scan_authorization, "secrets"),
        ("url_credentials", _builtin.scan_url_credentials, "secrets"),
        ("credential_field", _builtin.scan_credential_fields, "secrets"),
        ("high_entropy", _builtin.scan_high_entropy, "secrets"),
    ):
        register_detector(name, scan, category=category)


_register_builtins()
BUILTIN_NAMES: tuple[str, ...] = tuple(DETECTORS)
