"""The named detectors: what each finds, the look-alikes it leaves alone, masking, extension."""

from __future__ import annotations

import random
import re

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.logs import detectors
from pytest_prodguard.logs._builtin import card_issuer, iban_valid, ssn_valid
from pytest_prodguard.logs.detectors import (
    DETECTORS,
    Finding,
    find,
    mask,
    register_detector,
    resolve_names,
    unregister_detector,
)

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)

POSITIVES = [
    ("card", "card=4111 1111 1111 1111"),
    ("card", "charging card 5555555555554444 for order 1234"),
    ("card", '{"card_number": "2223003122003222"}'),  # Mastercard 2-series
    ("card", "pan=4000000000000000006"),  # 19-digit Visa
    ("card", "amex 3782-822463-10005 declined"),
    ("email", "welcome mail sent to bob.smith+shop@example.co.uk."),
    ("phone", "sms to +44 7911 123456 queued"),
    ("phone", "callback (415) 555-0132"),
    ("phone", "mobile: 0171 2345678"),
    ("phone", "GET /v1/otp?to=%2B14155550132&lang=en 200"),
    ("email", "GET /v1/users?email=ann.smith%40example.com 404"),
    ("iban", "refund to DE89 3704 0044 0532 0130 00 ok"),
    ("iban", "iban=GB82WEST12345698765432"),
    ("ssn", "ssn=123-45-6789"),
    ("ssn", "social security number 123456789"),
    ("aws_access_key", "using key AKIAIOSFODNN7EXAMPLE"),
    ("private_key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----"),
    ("jwt", f"session {JWT} refreshed"),
    ("authorization", "Authorization: Bearer abcDEF123456ghiJKL789"),
    ("authorization", "headers={'Authorization': 'Basic dXNlcjpwYXNzd29yZA=='}"),
    ("url_credentials", "connecting to postgres://app:s3cr3t@db:5432/orders"),
    ("credential_field", "login failed password=hunter22"),
    ("credential_field", '{"client_secret": "9f8e7d6c5b4aXYZ"}'),
    ("credential_field", "X-Api-Key: sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("high_entropy", "session=Zx8kP2mQ9vL4rT7wY1nB"),
]

NEGATIVES = [
    "order_id=4111111111111111",  # Luhn-valid and Visa-like, but an id
    "ts=1733462400000 took 12ms",
    "request_id=550e8400-e29b-41d4-a716-446655440000",
    "commit=da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "version 1.24.3 build 2024.11.05",
    "reading /var/lib/app/cache/4111111111111111.bin",
    "git@github.com:org/repo.git",
    "asset logo@2x.png missing",
    "Created symlink /etc/systemd/system/getty.target.wants/getty@tty1.service",
    "max_tokens=512 token_count=40 next_page_token=abcDEF123456",
    "password_changed=true password=*** token=<redacted>",
    "cache_key=Zx8kP2mQ9vL4rT7wY1nB",
    "accessTokenProvider=refreshingProvider token=accessTokenProvider",
    "cursor=eyJwYWdlIjogMiwgInNpemUiOiA1MH0",
    "WWW-Authenticate: Bearer realm=api",
    "https://user@example.org/path and http://host:8080/x",
    "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
    "2024-01-05T10:22:33+01:00 elapsed 2024-01-05",
]


@pytest.mark.parametrize(("name", "line"), POSITIVES)
def test_each_detector_finds_its_value(name: str, line: str) -> None:
    findings = [f for f in find(line) if f.name == name]
    assert findings
    assert all(f.value(line) not in mask(line) for f in findings)


@pytest.mark.parametrize("line", NEGATIVES)
def test_look_alikes_are_left_alone(line: str) -> None:
    assert find(line) == []
    assert mask(line) == line


def test_random_numeric_ids_are_flagged_at_most_one_in_a_thousand() -> None:
    rng = random.Random(20)
    lines = [
        f"{rng.choice(['processed', 'order', 'id', 'ts', 'value'])} "
        f"{rng.randrange(10 ** (n - 1), 10**n)}"
        for n in (rng.randint(13, 19) for _ in range(5000))
    ]
    flagged = sum(bool(find(line, "pii")) for line in lines)
    assert flagged <= 5


def test_mask_replaces_only_the_value() -> None:
    line = "user=ann card=4111 1111 1111 1111 email=ann@example.com"
    assert mask(line) == "user=ann card=[MASKED:card] email=[MASKED:email]"
    assert mask(line, ["email"]) == "user=ann card=4111 1111 1111 1111 email=[MASKED:email]"


def test_find_returns_findings_in_text_order() -> None:
    line = "b@example.com then card 4111111111111111"
    assert find(line) == [Finding("email", 0, 13), Finding("card", 24, 40)]
    assert find(line)[1].value(line) == "4111111111111111"


def test_checksums() -> None:
    assert card_issuer("2720990000000007") == "mastercard"
    assert card_issuer("1234567890123456") is None
    assert iban_valid("GB82WEST12345698765432")
    assert not iban_valid("GB82WEST12345698765433")
    assert not ssn_valid("900", "12", "3456")
    assert not ssn_valid("123", "00", "3456")


def test_groups_expand_and_unknown_names_are_usage_errors() -> None:
    assert set(resolve_names("pii")) == {"card", "email", "phone", "iban", "ssn"}
    assert "jwt" in resolve_names(["secrets"])
    with pytest.raises(ProdguardUsageError, match=r"'credit_card'.*a detector name or group"):
        resolve_names(["credit_card"])


def test_a_user_detector_joins_its_group() -> None:
    register_detector("employee_id", r"\bEMP-(?P<value>\d{6})\b", category="pii")
    try:
        assert "employee_id" in resolve_names("pii")
        assert mask("owner EMP-123456") == "owner EMP-[MASKED:employee_id]"
        with pytest.raises(ProdguardUsageError, match="not yet registered"):
            register_detector("employee_id", r"x")
    finally:
        unregister_detector("employee_id")
    assert "employee_id" not in DETECTORS


def test_a_user_detector_can_validate_and_be_a_function() -> None:
    register_detector("even", r"\d+", validate=lambda v: int(v) % 2 == 0)
    register_detector("shout", lambda text: [m.span() for m in re.finditer("[A-Z]{5,}", text)])
    try:
        assert [f.name for f in find("3 4 HELLO", ["even", "shout"])] == ["even", "shout"]
    finally:
        unregister_detector("even")
        unregister_detector("shout")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad Name", "pattern": "x"}, "lower-case identifier"),
        ({"name": "pii", "pattern": "x"}, "not yet registered"),
        ({"name": "ok_name", "pattern": "(unclosed"}, "compiles"),
        ({"name": "ok_name", "pattern": "x", "category": "other"}, "'secrets' or 'pii'"),
    ],
)
def test_bad_user_detectors_are_usage_errors(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        register_detector(**kwargs)  # type: ignore[arg-type]
    assert "ok_name" not in detectors.DETECTORS
