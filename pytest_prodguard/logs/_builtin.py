"""The built-in detectors: each a scan function ``text -> spans of sensitive values``.

Every detector pairs a cheap pattern with a validation step that the pattern
alone cannot express (a checksum, an issuer range, a decoded header, the name
of the field the value sits in), because in log lines the false positives come
from look-alikes: order and trace ids, millisecond timestamps, hashes, UUIDs,
pagination cursors. The numbers behind each rule are in docs/logs.md and
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Iterator

from pytest_prodguard.logs._words import (
    character_classes,
    is_camel_identifier,
    is_placeholder,
    is_uuid,
    shannon_entropy,
    tokens,
    word_set,
    words_before,
)

Span = tuple[int, int]


def _hint_finder(hints: tuple[str, ...]) -> Callable[[str], bool]:
    """A cheap pre-filter: whether a text contains any of the lower-case ``hints``."""
    pattern = re.compile("|".join(hints))
    return lambda text: pattern.search(_lower(text)) is not None


@functools.lru_cache(maxsize=16)
def _lower(text: str) -> str:
    return text.lower()  # cached: several detectors pre-filter the same line


# ---------------------------------------------------------------- payment cards

_CARD_CANDIDATE = re.compile(r"(?<![\w.+/-])\d(?:[ -]?\d){11,18}(?![\w/]|[.-]\d)")
_CARD_GROUPED = re.compile(
    r"^\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?$"  # 4-4-4-4(-3): Visa, MC, Discover, ...
    r"|^\d{4}([ -])\d{6}\2\d{4,5}$"  # 4-6-5 Amex, 4-6-4 Diners
)
_IBAN_HEAD = re.compile(r"[A-Z]{2}\d{2} ?$")
CARD_CONTEXT = word_set(
    "card cards cc ccn pan credit debit visa mastercard master amex discover jcb diners "
    "unionpay maestro payment pay paid charge charged charging billing cardholder"
)
# Words right before a number that say it is an identifier or a measurement.
NUMBER_ID_WORDS = word_set(
    "id ids order orders trace span request req ts timestamp time epoch seq sequence invoice "
    "ref reference uuid nonce offset bytes size count user customer account msisdn phone tel "
    "mobile ip ms ns us duration build tracking shipment sku txn tx number no num"
)
_NUMBER_NEUTRAL_KEYS = frozenset({"number", "no", "num"})


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def card_issuer(digits: str) -> str | None:
    """The card network whose issuer range and length ``digits`` fits, or None.

    Covers Visa (13/16/19), Mastercard 51-55 and the 2221-2720 2-series, Amex,
    Discover, JCB, Diners, UnionPay, Maestro and Mir, with 19-digit cards where
    the network issues them.
    """
    n = len(digits)
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return "visa" if n in (13, 16, 19) else None
    if (51 <= two <= 55 or 2221 <= four <= 2720) and n == 16:
        return "mastercard"
    if two in (34, 37) and n == 15:
        return "amex"
    if (four == 6011 or 644 <= int(digits[:3]) <= 649 or two == 65) and 16 <= n <= 19:
        return "discover"
    if 3528 <= four <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= int(digits[:3]) <= 305 or two in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if 2200 <= four <= 2204 and 16 <= n <= 19:
        return "mir"
    if (two == 62 or 622126 <= six <= 622925) and 16 <= n <= 19:
        return "unionpay"
    if (two in (50, 56, 57, 58) or four in (6304, 6759, 6761, 6762, 6763)) and 12 <= n <= 19:
        return "maestro"
    return None


def scan_cards(text: str) -> Iterator[Span]:
    """Card numbers: Luhn-valid, in an issuer range, and either printed in card
    groups (``4111 1111 1111 1111``) or next to a card word (``card=4111...``).

    A bare 16-digit number passes Luhn and an issuer range about 3% of the time,
    so a bare number needs context, and a number whose key says it is an id
    (``order_id=``, ``ts=``) never counts.
    """
    for match in _CARD_CANDIDATE.finditer(text):
        raw = match.group()
        digits = raw.replace(" ", "").replace("-", "")
        if not 13 <= len(digits) <= 19 or card_issuer(digits) is None:
            continue
        if not _luhn_valid(digits):
            continue
        if _IBAN_HEAD.search(text, max(0, match.start() - 6), match.start()):
            continue  # the digits of an IBAN printed in groups: "DE89 3704 0044 ..."
        before = words_before(text, match.start())
        nearest = before[-1] if before else ""
        if nearest in NUMBER_ID_WORDS and not _card_number_key(before):
            continue
        grouped = raw != digits and bool(_CARD_GROUPED.match(raw))
        if grouped or CARD_CONTEXT.intersection(before):
            yield match.span()


def _card_number_key(before: list[str]) -> bool:
    """``card_number=`` / ``cc no:``: a card word right before a neutral "number" key."""
    return len(before) >= 2 and before[-1] in _NUMBER_NEUTRAL_KEYS and before[-2] in CARD_CONTEXT


# ---------------------------------------------------------------- emails

_EMAIL = re.compile(  # "%40": an address in a URL-encoded query string
    r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}(?:@|%40)"
    r"((?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))(?![\w-])"
)
_FILE_EXTENSIONS = word_set(
    "png jpg jpeg gif svg webp ico js mjs ts css map json txt log html htm py rb go rs java "
    "yaml yml toml lock md csv gz zip tar service socket target timer mount slice scope"
)


def scan_emails(text: str) -> Iterator[Span]:
    """Email addresses; not ``git@host:repo`` remotes, ``https://user@host`` URLs nor
    ``logo@2x.png`` file names."""
    if "@" not in text and "%40" not in text:
        return
    for match in _EMAIL.finditer(text):
        if match.group(2).lower() in _FILE_EXTENSIONS:
            continue
        if text.startswith("git@", match.start()) and text[match.end() : match.end() + 1] == ":":
            continue
        if text[match.start() - 1 : match.start()] == "/":
            continue  # a path component: /lib/systemd/system/getty@tty1.service
        if "://" in _token_before(text, match.start()):
            continue  # https://user@host, redis://u:p@host: a URL's user or password
        yield match.span()


def _token_before(text: str, start: int) -> str:
    """The non-space run of characters that ends at ``start``."""
    begin = start
    while begin > 0 and not text[begin - 1].isspace() and text[begin - 1] not in "\"'<":
        begin -= 1
    return text[begin:start]


# ---------------------------------------------------------------- phone numbers

_PHONE_INTERNATIONAL = re.compile(  # "%2B": a "+" in a URL-encoded query string
    r"(?<![\w+])(?:\+|%2[Bb])[1-9]\d{0,2}(?:[ .-]?\(\d{1,4}\))?"
    r"(?:[ .-]?\d{1,5}){1,5}(?![\w:]|[.-]\d)"
)
_PHONE_NANP = re.compile(
    r"(?<![\w+.-])(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}(?![\w]|[.-]\d)"
)
_PHONE_NATIONAL = re.compile(r"(?<![\w+.-])\(?0?\d{2,5}\)?(?:[ -]?\d{2,4}){1,3}(?![\w]|[.-]\d)")
_DIGIT_RUN = re.compile(r"\d{3}")
_has_phone_hint = _hint_finder(
    (
        "phone",
        "tel",
        "mobile",
        "msisdn",
        "cell",
        "sms",
        "whatsapp",
        "fax",
        "call",
        "contact",
        "dial",
        "landline",
    )
)
QUANTITY_WORDS = word_set(
    "amount delta diff balance total change offset value count size bytes sum score price qty"
)
PHONE_CONTEXT = word_set(
    "phone phones tel telephone mobile msisdn cell cellphone sms whatsapp fax callback "
    "caller callee contact dial dialed dialing landline"
)


def scan_phones(text: str) -> Iterator[Span]:
    """Phone numbers: international ``+CC`` numbers (8-15 digits), North American
    numbers printed with separators, and other national numbers next to a phone word."""
    seen: list[Span] = []
    if not _DIGIT_RUN.search(text):
        return
    if "+" in text or "%2" in text:
        seen += [
            m.span()
            for m in _PHONE_INTERNATIONAL.finditer(text)
            if _phone_digits(m.group()) and not _signed_quantity(text, m.start())
        ]
    for match in _PHONE_NANP.finditer(text):
        if not _overlaps(match.span(), seen):
            seen.append(match.span())
    if _has_phone_hint(text):
        for match in _PHONE_NATIONAL.finditer(text):
            if _overlaps(match.span(), seen) or not 9 <= _digit_count(match.group()) <= 13:
                continue
            if PHONE_CONTEXT.intersection(words_before(text, match.start(), count=3)):
                seen.append(match.span())
    yield from sorted(seen)


def _signed_quantity(text: str, start: int) -> bool:
    """``amount=+596158210``: a signed number after a quantity word is not a phone."""
    before = words_before(text, start, count=1)
    return bool(before) and before[0] in QUANTITY_WORDS


def _phone_digits(number: str) -> bool:
    return 8 <= _digit_count(number) <= 15


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _overlaps(span: Span, spans: list[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in spans)


# ---------------------------------------------------------------- IBAN

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
_IBAN = re.compile(r"(?<![A-Za-z0-9])([A-Z]{2})(\d{2})((?: ?[A-Z0-9]){11,30})")


def iban_valid(compact: str) -> bool:
    """ISO 13616: the country's length and the mod-97 check (remainder 1)."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def scan_ibans(text: str) -> Iterator[Span]:
    """IBANs, compact or in groups of four, with the country length and mod-97 check."""
    for match in _IBAN.finditer(text):
        length = IBAN_LENGTHS.get(match.group(1))
        if length is None:
            continue
        end = _end_after_chars(text, match.start(), length)
        if end is None or (end < len(text) and text[end].isalnum()):
            continue
        if iban_valid(text[match.start() : end].replace(" ", "")):
            yield match.start(), end


def _end_after_chars(text: str, start: int, count: int) -> int | None:
    """The index just past ``count`` non-space characters from ``start``."""
    seen = 0
    for index in range(start, len(text)):
        if text[index] != " ":
            seen += 1
            if seen == count:
                return index + 1
    return None


# ---------------------------------------------------------------- US SSN

_SSN_DASHED = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w]|-\d)")
_SSN_PLAIN = re.compile(r"(?<![\w-])(\d{3}) ?(\d{2}) ?(\d{4})(?![\w-])")
_has_ssn_hint = _hint_finder(("ssn", "social", "security", "taxpayer", "tin"))
SSN_CONTEXT = word_set("ssn ssns social security taxpayer tin itin")


def ssn_valid(area: str, group: str, serial: str) -> bool:
    """SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000."""
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def scan_ssns(text: str) -> Iterator[Span]:
    """US social security numbers: ``123-45-6789`` anywhere, undashed ones next to "ssn"."""
    for match in _SSN_DASHED.finditer(text):
        if ssn_valid(*match.groups()):
            yield match.span()
    if not _has_ssn_hint(text):
        return
    for match in _SSN_PLAIN.finditer(text):
        if ssn_valid(*match.groups()) and SSN_CONTEXT.intersection(
            words_before(text, match.start(), count=3)
        ):
            yield match.span()


# ---------------------------------------------------------------- secrets

_AWS_KEY = re.compile(
    r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA|ASCA)"
    r"[A-Z2-7]{16}(?![A-Za-z0-9])"
)


def scan_aws_keys(text: str) -> Iterator[Span]:
    """AWS access key ids (``AKIA…``/``ASIA…`` plus 16 base-32 characters)."""
    if "A" in text:
        for match in _AWS_KEY.finditer(text):
            yield match.span()


_PRIVATE_KEY = re.compile(
    r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
    r"(?:.*?-----END[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----|.*)",
    re.DOTALL,
)


def scan_private_keys(text: str) -> Iterator[Span]:
    """PEM / OpenSSH / PGP private key blocks, to their END line (or the text's end)."""
    if "PRIVATE KEY" in text:
        for match in _PRIVATE_KEY.finditer(text):
            yield match.span()


_JWT = re.compile(r"(?<![\w-])(eyJ[A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]*)")


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, binascii.Error):
        return None


def scan_jwts(text: str) -> Iterator[Span]:
    """JSON web tokens whose header decodes to a JSON object with ``alg`` and whose
    payload decodes to a JSON object (base64 cursors and blobs do not)."""
    if "eyJ" not in text:
        return
    for match in _JWT.finditer(text):
        header = _b64url_json(match.group(1))
        if not isinstance(header, dict) or "alg" not in header:
            continue
        if isinstance(_b64url_json(match.group(2)), dict) or "enc" in header:
            yield match.span()


_AUTH_SCHEME = re.compile(
    r"(?i)\b(bearer|basic|digest|token|negotiate|apikey|sso-key)\s+([A-Za-z0-9._~+/=:-]{8,})"
)


def scan_authorization(text: str) -> Iterator[Span]:
    """Authorization header values: ``Bearer <token>``, ``Basic <base64 user:pass>``,
    and ``token``/``Digest`` schemes after an "authorization" word."""
    for match in _AUTH_SCHEME.finditer(text):
        scheme, value = match.group(1).lower(), match.group(2)
        if is_placeholder(value) or value.lower().startswith(("realm=", "error=")):
            continue
        if scheme == "basic":
            ok = _is_basic_credentials(value) or _after_authorization_word(text, match.start())
        elif scheme == "bearer":
            ok = (
                len(value) >= 16
                and character_classes(value) >= 2
                and not _KEY_VALUE_INSIDE.search(value)
            )
        else:
            ok = _after_authorization_word(text, match.start()) and len(value) >= 12
        if ok:
            yield match.start(2), match.end(2)


_KEY_VALUE_INSIDE = re.compile(r"\w=[^=]")  # "Bearer expires_in=3600" is not a token


def _is_basic_credentials(value: str) -> bool:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        text = decoded.decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return ":" in text and text.isprintable()


def _after_authorization_word(text: str, start: int) -> bool:
    return bool({"authorization", "auth"}.intersection(words_before(text, start, count=3)))


# The password part runs to the last "@" of the authority: logged passwords are often
# not percent-encoded and may hold "#", "?" or even "@".
_URL_CREDENTIALS = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]{1,20}://([^\s:/?#@\"']+):([^\s/\"']+)@")


def scan_url_credentials(text: str) -> Iterator[Span]:
    """``scheme://user:password@host``: the ``user:password`` part (placeholders aside)."""
    if "://" not in text:
        return
    for match in _URL_CREDENTIALS.finditer(text):
        if not is_placeholder(match.group(2)):
            yield match.start(1), match.end(2)


# ---------------------------------------------------------------- credential-named fields

_KEY_VALUE = re.compile(
    r"""(?<![A-Za-z0-9_.-])(?P<key>[A-Za-z_][A-Za-z0-9_.-]{0,48})["']?\s*(?:=>|[=:])\s*"""
    r"""(?:"(?P<dq>(?:[^"\\]|\\.)*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s,;&}\])"'<>]+))"""
)
# A command line's "--password 'x'" / "--api-key x" (the "=" form is a key-value pair).
_CLI_OPTION = re.compile(r"""(?<!\S)--(?P<key>[A-Za-z][\w-]{1,40}) +['"]?(?P<value>[^\s'"]+)""")
_has_credential_hint = _hint_finder(
    (
        "pass",
        "pwd",
        "secret",
        "token",
        "key",
        "auth",
        "cred",
        "cookie",
        "sid",
        "session",
    )
)
STRONG_NAMES = word_set(
    "password passwd pwd passphrase secret token apikey credential credentials "
    "authorization bearer jwt otp pin privatekey"
)
PASSWORD_NAMES = word_set("password passwd pwd passphrase pin otp")
STRONG_KEY_PAIRS = word_set(
    "api access secret private signing encryption master account subscription client "
    "webhook hmac app consumer"
)
NOT_SECRET_BEFORE = word_set(
    "page next continuation cursor sync pagination cancellation idempotency lexer parser "
    "csrf public"
)
WEAK_NAMES = word_set("key auth cookie session sid sessionid cred creds")
NOT_SECRET_KEYS = word_set(
    "cache partition sort idempotency dedup dedupe object bucket storage primary foreign row "
    "lookup routing shard hash map dict config metric feature flag translation sequence "
    "message event public group order trace request file s3 redis kv table index"
)


def credential_kind(key: str) -> str | None:
    """``"strong"`` for names that hold credentials (``password``, ``api_key``,
    ``client_secret``, ``X-Auth-Token``), ``"weak"`` for names that may
    (``session``, ``license_key``), None for the rest (``max_tokens``,
    ``token_count``, ``next_page_token``, ``cache_key``)."""
    words = tokens(key)
    if not words:
        return None
    last, before = words[-1], words[:-1]
    if before and before[-1] in NOT_SECRET_BEFORE:
        return None
    if last in STRONG_NAMES:
        return "strong"
    if last == "key" and before and before[-1] in STRONG_KEY_PAIRS:
        return "strong"
    if last in WEAK_NAMES and not (before and before[-1] in NOT_SECRET_KEYS):
        return "weak"
    return None


@functools.lru_cache(maxsize=64)
def _field_values(text: str) -> tuple[tuple[str, str, Span], ...]:
    """``(key, value, value span)`` of the key-value pairs in ``text`` whose key may
    name a credential (cached: the credential and entropy detectors both ask)."""
    if not _has_credential_hint(text):
        return ()
    fields = [
        (match.group("key"), match.group("value"), match.span("value"))
        for match in _CLI_OPTION.finditer(text)
    ]
    for match in _KEY_VALUE.finditer(text):
        if not _has_credential_hint(match.group("key")):
            continue
        for group in ("dq", "sq", "bare"):
            value = match.group(group)
            if value is not None:
                fields.append((match.group("key"), value, match.span(group)))
                break
    return tuple(fields)


_PATH = re.compile(r"^\.{0,2}/[a-z0-9_.-]+(?:/[A-Za-z0-9_.-]*)*$")


def _real_value(value: str) -> bool:
    """Not a placeholder, a reference to a secret store, or a file path."""
    return not (
        len(value) < 4
        or is_placeholder(value)
        or value.startswith(("arn:", "projects/", "vault:", "sm://", "[MASKED"))
        or _PATH.match(value)
    )


def _looks_generated(value: str) -> bool:
    """A token-like value rather than a word: long enough and mixing character classes."""
    return len(value) >= 8 and (character_classes(value) >= 2 or len(value) >= 24)


def scan_credential_fields(text: str) -> Iterator[Span]:
    """Values of fields named like credentials (``password=``, ``"api_key": "…"``,
    ``X-Auth-Token:``). Any real value of a password field counts; token- and
    secret-named fields count when the value looks generated, not a word."""
    for key, value, span in _field_values(text):
        if credential_kind(key) != "strong" or not _real_value(value):
            continue
        is_password = tokens(key)[-1] in PASSWORD_NAMES
        if is_password or (_looks_generated(value) and not is_camel_identifier(value)):
            yield span


def scan_high_entropy(text: str) -> Iterator[Span]:
    """Random-looking values (entropy >= 3.5 bits/char, or hex >= 3.0 over 20+ chars)
    in fields whose name may hold a credential (``session``, ``cookie``, ``license_key``)."""
    for key, value, span in _field_values(text):
        if credential_kind(key) != "weak" or not _real_value(value) or is_uuid(value):
            continue
        if is_camel_identifier(value) or any(c.isspace() for c in value):
            continue
        if _is_high_entropy(value):
            yield span


def _is_high_entropy(value: str) -> bool:
    if len(value) < 16:
        return False
    entropy = shannon_entropy(value)
    if all(c in "0123456789abcdefABCDEF" for c in value):
        return len(value) >= 20 and entropy >= 3.0
    return entropy >= 3.5 and character_classes(value) >= 2
