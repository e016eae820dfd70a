"""Masking secrets and personal data in evidence before it is stored as an artifact.

:func:`mask_text` runs the log-contract detectors (:func:`pytest_prodguard.logs.mask`:
cards, emails, phones, IBANs, keys, JWTs, authorization headers, credential fields,
high-entropy tokens, and any detector a team registers), then a floor of its own
for what they leave: emails, Luhn-valid card numbers, bearer tokens, JWTs and the
values of credential-named fields.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "[MASKED]"
CREDENTIAL_NAMES = re.compile(
    r"(?i)(pass(word|wd)?|secret|token|api[_-]?key|auth(orization)?|credential|cookie|"
    r"session[_-]?id|private[_-]?key|ssn|card[_-]?number|cvv)"
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_JWT = re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]{5,}")
_CARD = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])")
_CREDENTIAL_ASSIGNMENT = re.compile(
    rf"(?P<key>[\"']?[\w.-]*{CREDENTIAL_NAMES.pattern[4:]}[\w.-]*[\"']?\s*[=:]\s*)"
    r"(?![\"']?\[MASKED)(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
)


def mask_text(text: str) -> str:
    """``text`` with secrets and personal data masked (detectors first, then the floor)."""
    from pytest_prodguard.logs import mask

    text = mask(text)
    text = _CREDENTIAL_ASSIGNMENT.sub(_mask_assignment, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _JWT.sub(MASK, text)
    text = EMAIL.sub(MASK, text)
    return _CARD.sub(_mask_card, text)


def mask_value(value: Any, key: str = "") -> Any:
    """A JSON value with credential-named keys' values masked and strings masked."""
    if key and CREDENTIAL_NAMES.search(key) and not isinstance(value, (dict, list)):
        return MASK
    if isinstance(value, dict):
        return {k: mask_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _mask_assignment(match: re.Match[str]) -> str:
    value = match["value"]
    quote = value[0] if value[:1] in "\"'" else ""
    return f"{match['key']}{quote}{MASK}{quote}"


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return MASK if luhn_valid(digits) else match.group(0)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum used by payment card numbers."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        number = int(char)
        if index % 2 == 1:
            number = number * 2 - 9 if number > 4 else number * 2
        total += number
    return total % 10 == 0
