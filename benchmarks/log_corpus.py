"""A labelled corpus of realistic log lines for the secret/PII detectors (fixed seed).

Positives put sensitive values into log templates of the kinds applications
write (JSON, logfmt, Python dict reprs, HTTP header dumps, plain sentences),
with varied formatting of the value itself (card groups, phone punctuation,
IBAN spacing, quoted and bare values). Each line carries the set of detectors
that *should* fire on it (a quoted ``Authorization`` header value is both an
``authorization`` and a ``credential_field`` finding, a bearer JWT both ``jwt``
and ``authorization``). Values are produced by their own generators (issuer
prefix + Luhn completion, ISO 13616 check digits, SSA ranges), never by the
detectors' patterns.

Negatives are the look-alikes that cause false positives in logs: random
13-19 digit ids in neutral and id-named fields, millisecond timestamps, UUIDs,
hex hashes, trace and span ids, pagination cursors (base64 JSON), base64 blobs,
version strings, paths, camelCase identifiers, placeholder secrets, IBAN-shaped
strings with bad check digits, invalid SSN ranges, ``git@host:repo`` remotes.

    python benchmarks/log_corpus.py [--seed 20] [--write corpus.jsonl]

Without ``--write`` it prints the counts per label.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pytest_prodguard.logs._words import word_set

Line = tuple[str, frozenset[str]]
B64URL = string.ascii_letters + string.digits + "-_"
ALNUM = string.ascii_letters + string.digits
FIRST = sorted(word_set("ann bob carla dmitri eve farah gus hana ivan jo kim lena mo nia omar pia"))
LAST = sorted(word_set("smith o'neil garcia muller kowalski nguyen rossi tanaka silva dubois"))
DOMAINS = sorted(word_set("example.com mail.example.org corp.example.co.uk example.io example.de"))


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _luhn_complete(prefix_and_body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(prefix_and_body)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return prefix_and_body + str((10 - total % 10) % 10)


CARD_PREFIXES = [  # (prefix, length): Visa 16/13/19, MC 5x and 2-series, Amex, Discover, JCB, ...
    ("4", 16), ("4", 16), ("4", 13), ("4", 19), ("51", 16), ("55", 16), ("2221", 16),
    ("2720", 16), ("2500", 16), ("34", 15), ("37", 15), ("6011", 16), ("65", 16), ("644", 19),
    ("3528", 16), ("3589", 19), ("36", 14), ("62", 16), ("62", 19), ("2200", 16),
]  # fmt: skip


def card_number(rng: random.Random) -> str:
    """A Luhn-valid number in a real issuer range, printed as a person or API would."""
    prefix, length = rng.choice(CARD_PREFIXES)
    digits = _luhn_complete(prefix + _digits(rng, length - len(prefix) - 1))
    style = rng.random()
    if style < 0.5 or length not in (15, 16):
        return digits
    sep = rng.choice([" ", "-"])
    if length == 15:
        return sep.join([digits[:4], digits[4:10], digits[10:]])
    return sep.join(digits[i : i + 4] for i in range(0, 16, 4))


def email(rng: random.Random) -> str:
    """A personal email address with the usual variety (dots, digits, plus tags, case)."""
    local = rng.choice(
        [
            f"{rng.choice(FIRST)}.{rng.choice(LAST).replace(chr(39), '')}",
            f"{rng.choice(FIRST)}{rng.randint(1, 99)}",
            f"{rng.choice(FIRST)}+{rng.choice(['shop', 'news', 'test'])}",
            f"{rng.choice(FIRST)[0]}{rng.choice(LAST).replace(chr(39), '')}",
        ]
    )
    address = f"{local}@{rng.choice(DOMAINS)}"
    return address.title() if rng.random() < 0.1 else address


def phone(rng: random.Random) -> tuple[str, bool]:
    """A phone number and whether it needs a phone word next to it to be recognisable."""
    kind = rng.randrange(6)
    area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), _digits(rng, 4)
    if kind == 0:
        return f"+1 {area}-{exchange}-{line}", False
    if kind == 1:
        return f"({area}) {exchange}-{line}", False
    if kind == 2:
        return f"{area}.{exchange}.{line}", False
    if kind == 3:
        return f"+44 {rng.choice(['20', '7911', '161'])} {_digits(rng, 3)} {_digits(rng, 4)}", False
    if kind == 4:
        return (
            f"+{rng.choice(['49', '33', '34', '81', '91'])}{_digits(rng, rng.randint(9, 11))}",
            False,
        )
    return f"0{rng.randint(20, 99)} {_digits(rng, 4)} {_digits(rng, 4)}", True


IBAN_FORMATS = {  # country: BBAN as (letters, digits) runs
    "DE": [(0, 18)], "FR": [(0, 23)], "ES": [(0, 20)], "IT": [(1, 0), (0, 22)],
    "NL": [(4, 0), (0, 10)], "GB": [(4, 0), (0, 14)], "BE": [(0, 12)], "CH": [(0, 17)],
    "AT": [(0, 16)], "PL": [(0, 24)],
    "SE": [(0, 20)], "NO": [(0, 11)], "PT": [(0, 21)], "IE": [(4, 0), (0, 14)], "FI": [(0, 14)],
}  # fmt: skip


def iban(rng: random.Random, *, valid: bool = True) -> str:
    """An IBAN with correct (or deliberately wrong) check digits, compact or in groups of 4."""
    country = rng.choice(sorted(IBAN_FORMATS))
    bban = "".join(
        "".join(rng.choice(string.ascii_uppercase) for _ in range(letters)) + _digits(rng, digits)
        for letters, digits in IBAN_FORMATS[country]
    )
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    check = 98 - int(numeric) % 97
    if not valid:
        check = rng.choice([c for c in range(2, 99) if c != check])
    compact = f"{country}{check:02d}{bban}"
    if rng.random() < 0.4:
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
    return compact


def ssn(rng: random.Random, *, valid: bool = True) -> str:
    """A dashed SSN in the valid ranges (or in an invalid one: 000, 666, 9xx, group 00)."""
    if valid:
        area = rng.choice([a for a in range(1, 900) if a != 666])
        return f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    area = rng.choice([0, 666, rng.randint(900, 999)])
    return f"{area:03d}-{rng.randint(0, 99):02d}-{rng.randint(0, 9999):04d}"


def random_token(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    """A random credential-like string."""
    return "".join(rng.choice(alphabet) for _ in range(n))


def aws_key(rng: random.Random) -> str:
    """An AWS access key id."""
    return rng.choice(["AKIA", "ASIA", "AROA"]) + random_token(
        rng, 16, string.ascii_uppercase + "234567"
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(rng: random.Random) -> str:
    """A signed JWT with a random algorithm and realistic claims."""
    header = {"alg": rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    if rng.random() < 0.3:
        header["kid"] = random_token(rng, 8)
    claims = {
        "sub": str(rng.randint(1, 10**6)),
        "iat": 1_733_000_000 + rng.randint(0, 10**6),
        "scope": rng.choice(["read", "read write", "admin"]),
    }
    signature = random_token(rng, rng.choice([43, 86]), B64URL)
    return ".".join(
        [_b64url(json.dumps(header).encode()), _b64url(json.dumps(claims).encode()), signature]
    )


def private_key_block(rng: random.Random) -> str:
    """A private key block, with real or JSON-escaped newlines."""
    kind = rng.choice(["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""])
    newline = rng.choice(["\n", "\\n"])
    body = newline.join(random_token(rng, 64, ALNUM + "+/") for _ in range(3))
    return (
        f"-----BEGIN {kind}PRIVATE KEY-----{newline}{body}{newline}-----END {kind}PRIVATE KEY-----"
    )


def password(rng: random.Random) -> str:
    """A password as people choose them: words with digits and symbols, or random."""
    if rng.random() < 0.5:
        word = rng.choice(["sunshine", "dragon", "Summer", "hunter", "letmein", "Autumn"])
        return word + str(rng.randint(1, 9999)) + rng.choice(["", "!", "#", "$"])
    return random_token(rng, rng.randint(10, 20), ALNUM + "!@#%^*")


def _request_id(rng: random.Random) -> str:
    return random_token(rng, 12, string.ascii_lowercase + string.digits)


def _positive_templates() -> dict[str, list[Callable[[random.Random], Line]]]:
    def one(label: str, render: Callable[[random.Random], str]) -> Callable[[random.Random], Line]:
        return lambda rng: (render(rng), frozenset({label}))

    def many(
        labels: str, render: Callable[[random.Random], str]
    ) -> Callable[[random.Random], Line]:
        return lambda rng: (render(rng), frozenset(labels.split()))

    def card_line(rng: random.Random) -> str:
        value = card_number(rng)
        return rng.choice(
            [
                f'{{"event": "charge", "card_number": "{value}", "amount": 1299}}',
                f"charging card {value} for order {rng.randint(1000, 99999)}",
                f'level=info msg="payment declined" pan={value} reason=insufficient_funds',
                f"{{'cardNumber': '{value}', 'exp': '12/27'}}",
                f'"card": {{"number": "{value}", "exp_month": 4, "cvc": "123"}}',
                f"billing update cc={value} customer={_request_id(rng)}",
                f"Paid with credit card {value}",
                f"visa {value} tokenized",
            ]
        )

    def email_line(rng: random.Random) -> str:
        value = email(rng)
        name = rng.choice(FIRST).title()
        return rng.choice(
            [
                f"password reset link sent to {value}",
                f'{{"level": "info", "user": "{value}", "action": "login"}}',
                f"From: {name} <{value}>",
                f"user={value} plan=pro",
                f"mailto:{value} bounced",
                f"Welcome email queued for {value}.",
            ]
        )

    def phone_line(rng: random.Random) -> str:
        value, needs_word = phone(rng)
        if needs_word:
            return rng.choice([f"phone={value}", f"sms to mobile {value} queued"])
        return rng.choice(
            [
                f"sms to {value} queued",
                f'{{"phone": "{value}", "verified": false}}',
                f"callback requested at {value}",
                f"contact: {value}",
                f"2fa code sent ({value})",
            ]
        )

    def iban_line(rng: random.Random) -> str:
        value = iban(rng)
        return rng.choice(
            [
                f"refund to {value} scheduled",
                f'{{"iban": "{value}", "amount": "12.50"}}',
                f"payout account={value} status=pending",
                f"SEPA mandate for IBAN {value}",
            ]
        )

    def ssn_line(rng: random.Random) -> str:
        value = ssn(rng)
        plain = value.replace("-", rng.choice(["", " "]))
        return rng.choice(
            [
                f"kyc check ssn={value}",
                f'{{"applicant": {{"ssn": "{value}"}}}}',
                f"identity verified for {value}",
                f"SSN {plain} matched",
                f"tax form social security number: {plain}",
            ]
        )

    def aws_line(rng: random.Random) -> str:
        value = aws_key(rng)
        return rng.choice(
            [
                f"boto3 session with key {value}",
                f"using AWS credentials {value} from env",
                f"s3 upload failed for access key {value}",
                f"[{value}] signing request",
            ]
        )

    def private_key_line(rng: random.Random) -> str:
        value = private_key_block(rng)
        return rng.choice(
            [f'{{"tls": {{"key": "{value}"}}}}', f"loaded key {value}", f"config dump: {value}"]
        )

    def jwt_line(rng: random.Random) -> str:
        value = jwt(rng)
        return rng.choice([f"refreshing session {value}", f"token validated: {value} ok"])

    def auth_line(rng: random.Random) -> str:
        bearer = random_token(rng, rng.randint(24, 40), ALNUM + "-_.")
        basic = base64.b64encode(f"{rng.choice(FIRST)}:{password(rng)}".encode()).decode()
        return rng.choice(
            [
                f"GET /v1/orders Authorization: Bearer {bearer}",
                f"outgoing request headers Authorization: Basic {basic} accept=json",
                f"curl -H 'Authorization: Bearer {bearer}' https://api.example.com",
            ]
        )

    def quoted_auth_line(rng: random.Random) -> str:
        bearer = random_token(rng, rng.randint(24, 40), ALNUM)
        return rng.choice(
            [
                f"headers={{'Authorization': 'Bearer {bearer}', 'Accept': 'application/json'}}",
                f'{{"authorization": "Bearer {bearer}", "path": "/v1/me"}}',
            ]
        )

    def url_line(rng: random.Random) -> str:
        user, secret = rng.choice(FIRST), rng.choice([password(rng), random_token(rng, 16)])
        scheme = rng.choice(
            ["postgres", "postgresql", "mysql", "redis", "amqp", "https", "mongodb+srv"]
        )
        host = rng.choice(["db.internal", "10.0.3.7:5432", "cache:6379", "mq.example.com"])
        return rng.choice(
            [
                f"connecting to {scheme}://{user}:{secret}@{host}/app",
                f'{{"dsn": "{scheme}://{user}:{secret}@{host}"}}',
                f"retrying {scheme}://{user}:{secret}@{host} (attempt 2)",
            ]
        )

    def credential_line(rng: random.Random) -> str:
        secret = password(rng)
        token = random_token(rng, rng.randint(20, 40), ALNUM + "_-")
        return rng.choice(
            [
                f"login attempt user=ann password={secret}",
                f'{{"username": "bob", "password": "{secret}"}}',
                f"{{'db_password': '{secret}', 'host': 'db'}}",
                f"DB_PASSWORD={secret}",
                f"X-Api-Key: {token}",
                f'{{"client_secret": "{token}"}}',
                f"api_key={token} region=eu-west-1",
                f"stripe secret_key: sk_live_{token}",
                f"access_token={token}&expires_in=3600",
                f"config loaded: {{'slack_token': 'xoxb-{token}'}}",
            ]
        )

    def entropy_line(rng: random.Random) -> str:
        value = random_token(rng, rng.randint(24, 48), ALNUM + "+/")
        return rng.choice(
            [
                f"set-cookie session={value}; Path=/; HttpOnly",
                f'{{"sid": "{value}", "user": 42}}',
                f"license_key={value}",
                f"auth={value} refreshed",
            ]
        )

    return {
        "card": [one("card", card_line)],
        "email": [one("email", email_line)],
        "phone": [one("phone", phone_line)],
        "iban": [one("iban", iban_line)],
        "ssn": [one("ssn", ssn_line)],
        "aws_access_key": [one("aws_access_key", aws_line)],
        "private_key": [one("private_key", private_key_line)],
        "jwt": [
            one("jwt", jwt_line),
            many("jwt authorization", lambda rng: f"Authorization: Bearer {jwt(rng)}"),
            many("jwt credential_field", lambda rng: f'{{"id_token": "{jwt(rng)}"}}'),
        ],
        "authorization": [
            one("authorization", auth_line),
            many("authorization credential_field", quoted_auth_line),
        ],
        "url_credentials": [one("url_credentials", url_line)],
        "credential_field": [one("credential_field", credential_line)],
        "high_entropy": [one("high_entropy", entropy_line)],
    }


def _hex(rng: random.Random, n: int) -> str:
    return random_token(rng, n, "0123456789abcdef")


def _uuid(rng: random.Random) -> str:
    h = _hex(rng, 32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def random_numeric_id(rng: random.Random) -> str:
    """A uniformly random 13-19 digit number (no leading zero)."""
    n = rng.randint(13, 19)
    return str(rng.randrange(10 ** (n - 1), 10**n))


def numeric_id_line(rng: random.Random) -> str:
    """A random 13-19 digit id in the places logs put such numbers."""
    value = random_numeric_id(rng)
    return rng.choice(
        [
            f"order_id={value} status=shipped",
            f'{{"id": {value}, "type": "payment"}}',
            f"trace {value} finished in 12ms",
            f"processed {value} bytes",
            f"ts={value}",
            f"GET /api/orders/{value} 200",
            f"payment_id={value} captured",
            f"received value {value}",
            f"tweet {value} liked",
            f"{value}",
            f"snowflake={value}",
            f"account number {value} (internal ledger)",
        ]
    )


def _negative_makers() -> list[Callable[[random.Random], str]]:
    def base64_blob(rng: random.Random) -> str:
        return base64.b64encode(rng.randbytes(rng.choice([24, 33, 48]))).decode()

    def cursor(rng: random.Random) -> str:
        data = json.dumps({"page": rng.randint(2, 90), "size": 50, "after": _uuid(rng)})
        return _b64url(data.encode())

    return [
        lambda rng: f"request_id={_uuid(rng)} path=/v1/items status=200",
        lambda rng: (
            f'{{"trace_id": "{_hex(rng, 32)}", "span_id": "{_hex(rng, 16)}", "level": "info"}}'
        ),
        lambda rng: f"commit {_hex(rng, 40)} deployed to prod",
        lambda rng: f"artifact sha256={_hex(rng, 64)}",
        lambda rng: f'etag: "{_hex(rng, 32)}"',
        lambda rng: f"cache_key=user:{rng.randint(1, 10**6)}:profile hit=true",
        lambda rng: f"cache_key={random_token(rng, 32)} miss",
        lambda rng: f"idempotency_key={_uuid(rng)} replayed",
        lambda rng: f"next_page_token={cursor(rng)}",
        lambda rng: f"cursor={cursor(rng)} limit=50",
        lambda rng: f"payload {base64_blob(rng)} decoded",
        lambda rng: f'{{"thumbnail": "data:image/png;base64,{base64_blob(rng)}"}}',
        lambda rng: f"ts={1_733_000_000_000 + rng.randint(0, 10**9)} event=tick",
        lambda rng: (
            f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
            f"{rng.randint(0, 999999):06d}+01:00 worker started"
        ),
        lambda rng: (
            f"version {rng.randint(0, 30)}.{rng.randint(0, 99)}.{rng.randint(0, 999)} "
            f"build {rng.randint(1000, 99999)}"
        ),
        lambda rng: f"reading /var/lib/app/{random_token(rng, 8)}/{_digits(rng, 16)}.parquet",
        lambda rng: (
            f"handler=processPaymentRequest next=validateCardNumber "
            f"token={rng.choice(['accessTokenProvider', 'refreshTokenStore'])}"
        ),
        lambda rng: (
            f"max_tokens={rng.randint(16, 4096)} token_count={rng.randint(1, 900)} "
            f"tokens_used={rng.randint(1, 10**6)}"
        ),
        lambda rng: (
            "password_changed=true password="
            + rng.choice(["***", "[REDACTED]", "<hidden>", "null"])
        ),
        lambda rng: f'{{"password": null, "token": "{rng.choice(["***", "[FILTERED]", ""])}"}}',
        lambda rng: "password reset requested for user id " + str(rng.randint(1, 10**6)),
        lambda rng: f"token_type=Bearer expires_in={rng.randint(60, 86400)}",
        lambda rng: f"secret_name=prod/{random_token(rng, 6, string.ascii_lowercase)}/db rotated",
        lambda rng: f"api_key_id={rng.randint(1, 9999)} revoked",
        lambda rng: 'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
        lambda rng: f"Authorization header missing; expected Bearer token for {_uuid(rng)}",
        lambda rng: (
            f"dsn=postgres://app:${{DB_PASSWORD}}@db.internal:{rng.randint(1000, 9999)}/app"
        ),
        lambda rng: f"redirect https://{rng.choice(FIRST)}@example.org/path and http://host:8080/x",
        lambda rng: f"cloning git@github.com:{rng.choice(FIRST)}/service.git",
        lambda rng: f"asset /static/logo@{rng.randint(2, 3)}x.png not found",
        lambda rng: f"image registry.example.com/api@sha256:{_hex(rng, 64)}",
        lambda rng: f"invalid IBAN rejected: {iban(rng, valid=False)}",
        lambda rng: (
            f"bic=DEUTDEFF{random_token(rng, 3, string.ascii_uppercase)} vat=DE{_digits(rng, 9)}"
        ),
        lambda rng: f"invalid ssn rejected: {ssn(rng, valid=False)}",
        lambda rng: f"zip={_digits(rng, 5)}-{_digits(rng, 4)} routing={_digits(rng, 9)}",
        lambda rng: f"pod api-{_hex(rng, 9)}-{random_token(rng, 5, string.ascii_lowercase)} ready",
        lambda rng: f"arn:aws:iam::{_digits(rng, 12)}:role/{random_token(rng, 10)} assumed",
        lambda rng: (
            f"request {random_token(rng, 20, string.ascii_uppercase + string.digits)} routed"
        ),
        lambda rng: (
            f"client 10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}:"
            f"{rng.randint(1024, 65535)} connected in {rng.randint(1, 999)}.{_digits(rng, 3)}ms"
        ),
        lambda rng: (
            f"-----BEGIN CERTIFICATE-----\\nMII{random_token(rng, 60)}\\n-----END CERTIFICATE-----"
        ),
        lambda rng: f"private key loaded from /etc/ssl/private/{random_token(rng, 6)}.pem",
        lambda rng: f"took {rng.randint(10**6, 10**9)} ns; offset={rng.randint(0, 10**12)}",
        lambda rng: f"session_count={rng.randint(0, 500)} session=expired sessions_active=3",
        lambda rng: f"signature={_hex(rng, 64)} verified",
        lambda rng: f"mac {':'.join(_hex(rng, 2) for _ in range(6))} seen",
        lambda rng: f"order number {rng.randint(10**6, 10**9)}-{rng.randint(10, 99)} confirmed",
        lambda rng: f"phone verification disabled for tenant {_uuid(rng)}",
    ]


def build_corpus(
    seed: int = 20, *, per_detector: int = 250, negatives: int = 7000, numeric_ids: int = 5000
) -> list[Line]:
    """``(line, expected detector names)`` pairs; an empty set marks a negative."""
    rng = random.Random(seed)
    lines: list[Line] = []
    for templates in _positive_templates().values():
        for index in range(per_detector):
            lines.append(templates[index % len(templates)](rng))
    makers = _negative_makers()
    lines += [(makers[i % len(makers)](rng), frozenset()) for i in range(negatives)]
    lines += [(numeric_id_line(rng), frozenset({"numeric_id"})) for _ in range(numeric_ids)]
    rng.shuffle(lines)
    return lines


NUMERIC_ID_LABEL = "numeric_id"  # a negative of the random-numeric-id family


def _held_out_makers() -> list[tuple[str, Callable[[random.Random], str]]]:
    """Templates written after the detectors were tuned and never used to tune them."""
    return [
        ("card", lambda rng: f"tx declined: Card {card_number(rng)} exp 04/29"),
        ("card", lambda rng: f"<card><number>{card_number(rng)}</number></card>"),
        ("email", lambda rng: f"[notify] to=<{email(rng)}> subject='Your receipt'"),
        ("phone", lambda rng: f"otp via sms -> {phone(rng)[0]}"),
        ("iban", lambda rng: f"beneficiary_account: {iban(rng)}"),
        ("ssn", lambda rng: f"SSN on file: {ssn(rng)}"),
        ("aws_access_key", lambda rng: f"AWS_ACCESS_KEY_ID={aws_key(rng)}"),
        ("jwt", lambda rng: f"cookie jwt_payload {jwt(rng)} expired"),
        (
            "url_credentials",
            lambda rng: f"proxy=http://{rng.choice(FIRST)}:{password(rng)}@proxy:3128",
        ),
        (
            "credential_field",
            lambda rng: f"--password '{password(rng)}' passed on the command line",
        ),
        ("credential_field", lambda rng: f"env GITHUB_TOKEN=ghp_{random_token(rng, 36)}"),
        ("high_entropy", lambda rng: f"Cookie: sessionid={random_token(rng, 32)}"),
        ("", lambda rng: f"user agent Mozilla/5.0 build/{random_numeric_id(rng)}"),
        ("", lambda rng: f"checksum crc32={rng.randrange(2**32)} md5={_hex(rng, 32)}"),
        ("", lambda rng: f"gps {rng.uniform(-90, 90):.6f},{rng.uniform(-180, 180):.6f}"),
        (
            "",
            lambda rng: (
                f"isbn 978-{rng.randint(0, 9)}-{_digits(rng, 3)}-"
                f"{_digits(rng, 5)}-{rng.randint(0, 9)}"
            ),
        ),
        ("", lambda rng: f"token bucket refilled: tokens={rng.randint(0, 100)} rate=10/s"),
        ("", lambda rng: f"passkey registration started for {_uuid(rng)}"),
        ("", lambda rng: f"sessionId={_uuid(rng)} keyId=k{rng.randint(1, 99)}"),
        ("", lambda rng: "phone_verified=false tel_country=US"),
        ("", lambda rng: f"amount=+{rng.randint(10**7, 10**9)} cents balance"),
        ("", lambda rng: f"{random_token(rng, 22, B64URL)}=={random_token(rng, 8)}"),
    ]


def build_held_out(seed: int = 21, per_template: int = 100) -> list[Line]:
    """The held-out lines: ``per_template`` of each held-out template."""
    rng = random.Random(seed)
    lines = []
    for label, make in _held_out_makers():
        for _ in range(per_template):
            lines.append((make(rng), frozenset({label}) if label else frozenset()))
    return lines


def main() -> None:
    """Print the label counts, or write the corpus as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--write", type=Path, help="write {line, labels} JSON lines here")
    args = parser.parse_args()
    corpus = build_corpus(args.seed)
    if args.write:
        with args.write.open("w", encoding="utf-8") as handle:
            for line, labels in corpus:
                handle.write(json.dumps({"line": line, "labels": sorted(labels)}) + "\n")
        print(f"wrote {len(corpus)} lines to {args.write}")
        return
    counts = Counter(label for _, labels in corpus for label in labels or {"(negative)"})
    for label, count in sorted(counts.items()):
        print(f"{label:<18} {count}")


if __name__ == "__main__":
    main()
