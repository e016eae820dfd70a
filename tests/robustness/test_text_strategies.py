"""Text variation strategies: valid draws, readable steps, shrinking to identity()."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness import TEXT_KINDS, Edit, Identity, Variation, text_variations

TEXT = "The movie was not good, really!"
OPTIONS = ("case", "whitespace", "punctuation", "unicode", "repetition", "long", "empty")
# find() without the explain phase, which replays dozens of examples for nothing here.
FIND = settings(database=None, derandomize=True, phases=(Phase.generate, Phase.shrink))
NO_EXAMPLES = settings(database=None, max_examples=40)


def only(kind: str, **extra: Any) -> st.SearchStrategy[Variation]:
    """A strategy with only ``kind`` switched on."""
    options: dict[str, Any] = {name: False for name in OPTIONS}
    options["typos"] = 0
    options[kind] = 2 if kind == "typos" else True
    options.update(extra)
    return text_variations(TEXT, **options)


KINDS = ("case", "whitespace", "punctuation", "typos", "unicode", "repetition", "long", "empty")
EXPECTED_KIND = {"typos": "typo", "long": "length"}


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_shrinks_to_the_identity(kind: str) -> None:
    assert find(only(kind), lambda v: True, settings=FIND) == Identity()


@pytest.mark.parametrize(
    ("kind", "smallest"),
    [
        ("case", "upper()"),
        ("whitespace", "whitespace(' ' at 0)"),
        ("punctuation", "punctuation(add '!' at end)"),
        ("typos", "typo(swap at 0)"),
        ("unicode", "unicode(accent 'e'->'é' at 2)"),
        ("repetition", "repeat('T' at 0 x2)"),
        ("long", "long(+256 chars)"),
        ("empty", "empty()"),
    ],
)
def test_the_smallest_real_change_of_each_kind(kind: str, smallest: str) -> None:
    found = find(only(kind), lambda v: not v.is_identity, settings=FIND)
    assert str(found) == smallest


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_draws_valid_variations_of_that_kind(kind: str) -> None:
    @NO_EXAMPLES
    @given(v=only(kind))
    def check(v: Variation) -> None:
        varied = v(TEXT)
        assert isinstance(varied, str)
        assert set(v.kinds) <= {EXPECTED_KIND.get(kind, kind)}
        assert len(v.steps) <= 3
        assert v(TEXT) == varied  # deterministic replay
        if v.is_identity:
            assert varied == TEXT

    check()


def test_typo_budget_bounds_the_number_of_typos() -> None:
    @NO_EXAMPLES
    @given(v=text_variations(TEXT, typos=1, max_steps=5))
    def check(v: Variation) -> None:
        assert sum(kind == "typo" for kind in (s.kind for s in v.steps if isinstance(s, Edit))) <= 1

    check()


def test_min_steps_forces_a_change() -> None:
    found = find(text_variations(TEXT, min_steps=1), lambda v: True, settings=FIND)
    assert len(found.steps) == 1


def test_ops_can_be_narrowed_by_name() -> None:
    @NO_EXAMPLES
    @given(
        v=text_variations(
            TEXT,
            case=["lower"],
            whitespace=False,
            punctuation=False,
            typos=0,
            unicode=["nfd"],
            repetition=False,
        )
    )
    def check(v: Variation) -> None:
        assert set(v.ops) <= {"lower", "nfd"}

    check()


def test_long_inputs_reach_the_requested_length() -> None:
    found = find(only("long", max_length=2000), lambda v: len(v(TEXT)) >= 2000, settings=FIND)
    assert str(found) == "long(+2000 chars)"
    assert len(found(TEXT)) == len(TEXT) + 2000
    assert found(TEXT).startswith(TEXT + " " + TEXT)


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        (Edit("swap", (5,)), "The mvoie was not good, really!"),
        (Edit("delete", (0,)), "he movie was not good, really!"),
        (Edit("insert", (3, "x")), "Thex movie was not good, really!"),
        (Edit("keyboard", (0, "T", "Y")), "Yhe movie was not good, really!"),
        (Edit("upper_span", (4, 9)), "The MOVIE was not good, really!"),
        (Edit("insert_whitespace", (3, "\t")), "The\t movie was not good, really!"),
        (Edit("collapse"), TEXT),
        (Edit("strip_all"), "The movie was not good really"),
        (Edit("remove", (30, "!")), "The movie was not good, really"),
        (Edit("add_end", ("?", 2)), TEXT + "??"),
        (Edit("zero_width", (3, "\u200b")), "The\u200b movie was not good, really!"),
        (Edit("confusable", (1, "h", "һ")), "Tһe movie was not good, really!"),
        (Edit("repeat_char", (24, "r", 2)), "The movie was not good, rrreally!"),
        (Edit("repeat_word", (3,)), "The movie was not not good, really!"),
        (Edit("truncate", (8,)), "The movie was not good,"),
        (Edit("blank", (" \t\n ",)), " \t\n "),
    ],
)
def test_text_operations(step: Edit, expected: str) -> None:
    assert step(TEXT) == expected


def test_unicode_forms_and_accents() -> None:
    accented = Edit("accent", (2, "e", "é"))(TEXT)
    assert accented.startswith("Thé")
    decomposed = Edit("nfd")(accented)
    assert decomposed != accented
    assert unicodedata.normalize("NFC", decomposed) == accented
    assert Edit("strip_accents")(accented) == TEXT
    assert str(Edit("confusable", (1, "a", "а"))) == "unicode(confusable 'a'->U+0430 at 1)"
    assert str(Edit("zero_width", (3, "\u200b"))) == "unicode(zero-width U+200B at 3)"


def test_positions_are_clamped_on_a_shorter_text() -> None:
    assert Edit("swap", (50,))("abc") == "acb"
    assert Edit("insert", (50, "x"))("ab") == "abx"
    assert Edit("delete", (9,))("") == ""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"typos": -1}, r"typos=-1: an integer >= 0"),
        ({"max_steps": 0}, r"max_steps=0: an integer >= 1"),
        ({"min_steps": 3, "max_steps": 2}, r"max_steps=2: an integer >= 3"),
        ({"case": "yes"}, r"case='yes': True, False or a non-empty subset of \['upper'"),
        ({"unicode": ["emoji", "klingon"]}, r"unicode=\['emoji', 'klingon'\]"),
        ({"max_length": 0}, r"max_length=0: an integer >= 1"),
        (
            {
                "case": False,
                "whitespace": False,
                "punctuation": False,
                "typos": 0,
                "unicode": False,
                "repetition": False,
            },
            r"kinds='all disabled': at least one kind",
        ),
    ],
)
def test_nonsense_options_raise_at_construction(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ProdguardUsageError, match=message):
        text_variations(TEXT, **options)


def test_text_must_be_a_string() -> None:
    with pytest.raises(ProdguardUsageError, match=r"text=b'abc': a str to vary"):
        text_variations(b"abc")  # type: ignore[arg-type]


def test_kind_table_lists_every_operation() -> None:
    assert list(TEXT_KINDS) == [
        "case",
        "whitespace",
        "punctuation",
        "typo",
        "unicode",
        "repetition",
        "length",
        "empty",
    ]
    assert "keyboard" in TEXT_KINDS["typo"]
