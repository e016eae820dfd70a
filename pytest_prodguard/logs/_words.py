"""Small text helpers the detectors share: key tokens, nearby words, entropy, placeholders."""

from __future__ import annotations

import math
import re
from collections import Counter

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z]+")
_PLACEHOLDER = re.compile(
    r"""^(?:
        \**|x{3,}|X{3,}|-+|\.+|#+|\?+                 # ***, xxxx, ---
        |\[?(?:redacted|filtered|masked|hidden|removed|secret|omitted)(?::[\w-]+)?\]?
        |<[^>]*>|\{[^}]*\}|\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|%(?:\([\w]+\))?[sdr]
        |null|none|nil|undefined|true|false|n/?a|empty|unset|not[\s_-]?set
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_CAMEL_IDENTIFIER = re.compile(r"^[a-z]+(?:[A-Z][a-z]+)+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def word_set(text: str) -> frozenset[str]:
    """The space-separated words of ``text`` as a set (for readable word lists)."""
    return frozenset(text.split())


def tokens(text: str) -> list[str]:
    """Lower-case words of ``text``, split at camelCase humps and non-letters.

    ``"X-Api-Key"`` -> ``["x", "api", "key"]``, ``"cardNumber"`` -> ``["card", "number"]``,
    ``"span_id"`` -> ``["span", "id"]`` (so ``pan`` is not found inside ``span``).
    """
    return _WORD.findall(_CAMEL.sub(r"\1_\2", text).lower())


def words_before(text: str, start: int, *, chars: int = 48, count: int = 4) -> list[str]:
    """The last ``count`` words in the ``chars`` characters before ``start``."""
    return tokens(text[max(0, start - chars) : start])[-count:]


def is_placeholder(value: str) -> bool:
    """A stand-in for a secret rather than one: ``***``, ``<token>``, ``${PASS}``, ``null``."""
    return bool(_PLACEHOLDER.match(value.strip()))


def is_camel_identifier(value: str) -> bool:
    """``passwordInput``, ``accessTokenProvider``: a code identifier, not a credential."""
    return bool(_CAMEL_IDENTIFIER.match(value))


def is_uuid(value: str) -> bool:
    """A canonical 8-4-4-4-12 hex UUID."""
    return bool(_UUID.match(value))


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def character_classes(value: str) -> int:
    """How many of lower, upper, digit and other characters ``value`` mixes."""
    return (
        any(c.islower() for c in value)
        + any(c.isupper() for c in value)
        + any(c.isdigit() for c in value)
        + any(not c.isalnum() for c in value)
    )
