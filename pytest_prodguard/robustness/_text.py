"""Text variations: case, whitespace, punctuation, typos, unicode, repetition, length.

Every operation is a pure function ``(text, *args) -> text`` registered under a
name, plus a describer that produces the readable step (``typo(swap at 5)``).
A plan draws steps one at a time against the text as it stands after the
previous steps, so positions are always valid and the description is exact.
Positions are clamped when a variation is applied to a different text.
"""

from __future__ import annotations

import functools
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.robustness._args import check_int, check_op_selection, short_value
from pytest_prodguard.robustness._draw import Draw, NoOption, plan_strategy
from pytest_prodguard.robustness._variation import (
    Edit,
    Operation,
    Variation,
    compose,
    register_operation,
)

__all__ = ["TEXT_KINDS", "TextPlan", "text_variations"]

_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_ACCENTS = {
    "a": "áàâäã",
    "e": "éèêë",
    "i": "íìîï",
    "o": "óòôöõ",
    "u": "úùûü",
    "n": "ñ",
    "c": "ç",
    "y": "ýÿ",
}
# Latin letters and the Cyrillic/Greek letters that render the same.
_CONFUSABLES = {
    "a": "а",
    "c": "с",
    "e": "е",
    "i": "і",
    "j": "ј",
    "o": "о",
    "p": "р",
    "s": "ѕ",
    "x": "х",
    "y": "у",
    "A": "Α",
    "B": "В",
    "C": "С",
    "E": "Е",
    "H": "Н",
    "K": "К",
    "M": "М",
    "O": "О",
    "P": "Р",
    "T": "Т",
    "X": "Х",
}
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
_EMOJI = ("🙂", "😂", "👍", "🔥", "😡", "🎉", "❤️")
_WHITESPACE = (" ", "\t", "\n", "\xa0", "  ")
_BLANKS = (" ", "   ", "\t", "\n", " \t\n ", "\u3000")
_PUNCTUATION = ("!", ".", ",", "?", ";", ":", "...", "-", "'", '"')
_LETTERS = string.ascii_lowercase


def _keyboard_neighbours() -> dict[str, str]:
    """Neighbours on a QWERTY keyboard (rows staggered to the right going down)."""
    position = {ch: (r, c) for r, row in enumerate(_KEYBOARD_ROWS) for c, ch in enumerate(row)}
    neighbours: dict[str, str] = {}
    for ch, (r, c) in position.items():
        near = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
        found = [
            _KEYBOARD_ROWS[rr][cc]
            for rr, cc in near
            if 0 <= rr < len(_KEYBOARD_ROWS) and 0 <= cc < len(_KEYBOARD_ROWS[rr])
        ]
        neighbours[ch] = "".join(found)
    return neighbours


_NEIGHBOURS = _keyboard_neighbours()


# --- pure operations --------------------------------------------------------------


def _clamp(pos: int, text: str, *, insert: bool) -> int:
    """A valid index into ``text`` (``len(text)`` allowed for insertions)."""
    limit = len(text) if insert else max(len(text) - 1, 0)
    return max(0, min(pos, limit))


def _replace_at(text: str, pos: int, new: str) -> str:
    if not text:
        return text
    pos = _clamp(pos, text, insert=False)
    return text[:pos] + new + text[pos + 1 :]


def _insert_at(text: str, pos: int, new: str) -> str:
    pos = _clamp(pos, text, insert=True)
    return text[:pos] + new + text[pos:]


def _span(text: str, start: int, end: int, fn: Callable[[str], str]) -> str:
    start = _clamp(start, text, insert=True)
    end = max(start, min(end, len(text)))
    return text[:start] + fn(text[start:end]) + text[end:]


def _swap(text: str, pos: int) -> str:
    if len(text) < 2:
        return text
    pos = max(0, min(pos, len(text) - 2))
    return text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]


def _delete(text: str, pos: int) -> str:
    if not text:
        return text
    pos = _clamp(pos, text, insert=False)
    return text[:pos] + text[pos + 1 :]


def _strip_punctuation(text: str) -> str:
    return "".join(ch for ch in text if not _is_punct(ch))


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize(
        "NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    )


def _repeat_word(text: str, index: int) -> str:
    words = text.split(" ")
    if not words:
        return text
    index = max(0, min(index, len(words) - 1))
    return " ".join([*words[: index + 1], words[index], *words[index + 1 :]])


def _long(text: str, extra: int) -> str:
    """``text`` followed by ``extra`` more characters of itself repeated."""
    unit = " " + (text if text.strip() else "a")
    repeats = extra // len(unit) + 1
    return text + (unit * repeats)[:extra]


_ASCII_PUNCTUATION = frozenset(string.punctuation) - frozenset("$+<=>^`|~")


def _is_punct(ch: str) -> bool:
    if ch.isascii():
        return ch in _ASCII_PUNCTUATION
    return unicodedata.category(ch).startswith("P")


def _show(ch: str) -> str:
    """A character as it should read in a step: visible, escaped when invisible."""
    return repr(ch)


def _codepoint(ch: str) -> str:
    return " ".join(f"U+{ord(c):04X}" for c in ch)


# --- registration -----------------------------------------------------------------


@dataclass(frozen=True)
class _TextOp:
    """An operation plus how a plan decides it applies and draws its arguments."""

    name: str
    kind: str
    applies: Callable[[str], bool]
    draw_args: Callable[[str, Draw], tuple[Any, ...]]


_TEXT_OPS: dict[str, _TextOp] = {}


def _op(
    name: str,
    kind: str,
    apply: Callable[..., str],
    describe: Callable[..., str],
    *,
    applies: Callable[[str], bool] = lambda text: True,
    draw_args: Callable[[str, Draw], tuple[Any, ...]] = lambda text, d: (),
) -> None:
    register_operation(Operation(name, kind, "text", apply, describe))
    _TEXT_OPS[name] = _TextOp(name, kind, applies, draw_args)


def _draw_span(text: str, d: Draw) -> tuple[int, int]:
    start = d.integer(0, len(text) - 1)
    length = d.integer(1, len(text) - start)
    return (start, start + length)


def _has_cased(text: str) -> bool:
    return any(ch.lower() != ch.upper() for ch in text)


# Case. Whole-text ops come first: "upper()" is the most readable minimal step.
_op("upper", "case", str.upper, lambda: "upper()", applies=lambda t: t != t.upper())
_op("lower", "case", str.lower, lambda: "lower()", applies=lambda t: t != t.lower())
_op("title", "case", str.title, lambda: "title()", applies=lambda t: t != t.title())
_op("swapcase", "case", str.swapcase, lambda: "swapcase()", applies=_has_cased)
_op(
    "upper_span",
    "case",
    lambda t, s, e: _span(t, s, e, str.upper),
    lambda s, e: f"upper(span {s}..{e})",
    applies=_has_cased,
    draw_args=_draw_span,
)
_op(
    "lower_span",
    "case",
    lambda t, s, e: _span(t, s, e, str.lower),
    lambda s, e: f"lower(span {s}..{e})",
    applies=_has_cased,
    draw_args=_draw_span,
)

# Whitespace.
_op(
    "insert_whitespace",
    "whitespace",
    lambda t, pos, ch: _insert_at(t, pos, ch),
    lambda pos, ch: f"whitespace({_show(ch)} at {pos})",
    draw_args=lambda t, d: (d.integer(0, len(t)), d.choice(_WHITESPACE)),
)
_op(
    "pad_left",
    "whitespace",
    lambda t, n: " " * n + t,
    lambda n: f"whitespace({n} leading)",
    draw_args=lambda t, d: (d.integer(1, 4),),
)
_op(
    "pad_right",
    "whitespace",
    lambda t, n: t + " " * n,
    lambda n: f"whitespace({n} trailing)",
    draw_args=lambda t, d: (d.integer(1, 4),),
)
_op(
    "double_spaces",
    "whitespace",
    lambda t: t.replace(" ", "  "),
    lambda: "whitespace(double spaces)",
    applies=lambda t: " " in t,
)
_op(
    "collapse",
    "whitespace",
    lambda t: " ".join(t.split()),
    lambda: "whitespace(collapse)",
    applies=lambda t: t != " ".join(t.split()),
)
_op(
    "strip",
    "whitespace",
    str.strip,
    lambda: "whitespace(strip)",
    applies=lambda t: t != t.strip(),
)

# Punctuation.
_op(
    "add_end",
    "punctuation",
    lambda t, ch, n: t + ch * n,
    lambda ch, n: f"punctuation(add {ch * n!r} at end)",
    draw_args=lambda t, d: (d.choice(_PUNCTUATION), d.integer(1, 3)),
)
_op(
    "add",
    "punctuation",
    lambda t, pos, ch: _insert_at(t, pos, ch),
    lambda pos, ch: f"punctuation(add {ch!r} at {pos})",
    draw_args=lambda t, d: (d.integer(0, len(t)), d.choice(_PUNCTUATION)),
)
_op(
    "remove",
    "punctuation",
    lambda t, pos, ch: _delete(t, pos),
    lambda pos, ch: f"punctuation(remove {ch!r} at {pos})",
    applies=lambda t: any(_is_punct(ch) for ch in t),
    draw_args=lambda t, d: (
        (pos := d.choice_where(range(len(t)), lambda i: _is_punct(t[i]))),
        t[pos],
    ),
)
_op(
    "strip_all",
    "punctuation",
    _strip_punctuation,
    lambda: "punctuation(remove all)",
    applies=lambda t: any(_is_punct(ch) for ch in t),
)

# Typos (each one spends one edit of the budget).
_op(
    "swap",
    "typo",
    _swap,
    lambda pos: f"typo(swap at {pos})",
    applies=lambda t: any(t[i] != t[i + 1] for i in range(len(t) - 1)),
    draw_args=lambda t, d: (d.choice_where(range(len(t) - 1), lambda i: t[i] != t[i + 1]),),
)
_op(
    "delete",
    "typo",
    _delete,
    lambda pos: f"typo(delete at {pos})",
    applies=lambda t: len(t) > 0,
    draw_args=lambda t, d: (d.integer(0, len(t) - 1),),
)
_op(
    "insert",
    "typo",
    lambda t, pos, ch: _insert_at(t, pos, ch),
    lambda pos, ch: f"typo(insert {ch!r} at {pos})",
    draw_args=lambda t, d: (d.integer(0, len(t)), d.choice(_LETTERS)),
)


def _keyboard_args(text: str, d: Draw) -> tuple[Any, ...]:
    pos = d.choice_where(range(len(text)), lambda i: text[i].lower() in _NEIGHBOURS)
    old = text[pos]
    new = d.choice(_NEIGHBOURS[old.lower()])
    return (pos, old, new.upper() if old.isupper() else new)


_op(
    "keyboard",
    "typo",
    lambda t, pos, old, new: _replace_at(t, pos, new),
    lambda pos, old, new: f"typo(keyboard {old!r}->{new!r} at {pos})",
    applies=lambda t: any(ch.lower() in _NEIGHBOURS for ch in t),
    draw_args=_keyboard_args,
)


# Unicode.
def _mapped_args(table: dict[str, str], *, fold: bool) -> Callable[[str, Draw], tuple[Any, ...]]:
    def draw_args(text: str, d: Draw) -> tuple[Any, ...]:
        pos = d.choice_where(range(len(text)), lambda i: _lookup(table, text[i], fold=fold) != "")
        old = text[pos]
        new = d.choice(_lookup(table, old, fold=fold))
        return (pos, old, new.upper() if fold and old.isupper() else new)

    return draw_args


def _lookup(table: dict[str, str], ch: str, *, fold: bool) -> str:
    return table.get(ch.lower() if fold else ch, "")


_op(
    "accent",
    "unicode",
    lambda t, pos, old, new: _replace_at(t, pos, new),
    lambda pos, old, new: f"unicode(accent {old!r}->{new!r} at {pos})",
    applies=lambda t: any(_lookup(_ACCENTS, ch, fold=True) for ch in t),
    draw_args=_mapped_args(_ACCENTS, fold=True),
)
_op(
    "confusable",
    "unicode",
    lambda t, pos, old, new: _replace_at(t, pos, new),
    lambda pos, old, new: f"unicode(confusable {old!r}->{_codepoint(new)} at {pos})",
    applies=lambda t: any(ch in _CONFUSABLES for ch in t),
    draw_args=_mapped_args(_CONFUSABLES, fold=False),
)
_op(
    "zero_width",
    "unicode",
    lambda t, pos, ch: _insert_at(t, pos, ch),
    lambda pos, ch: f"unicode(zero-width {_codepoint(ch)} at {pos})",
    draw_args=lambda t, d: (d.integer(0, len(t)), d.choice(_ZERO_WIDTH)),
)
_op(
    "emoji",
    "unicode",
    lambda t, pos, ch: _insert_at(t, pos, ch),
    lambda pos, ch: f"unicode(emoji {ch!r} at {pos})",
    draw_args=lambda t, d: (d.integer(0, len(t)), d.choice(_EMOJI)),
)


def _register_normal_form(form: Literal["NFC", "NFD", "NFKC"]) -> None:
    def normalize(text: str) -> str:
        return unicodedata.normalize(form, text)

    _op(
        form.lower(),
        "unicode",
        normalize,
        lambda: f"unicode({form})",
        applies=lambda t: normalize(t) != t,
    )


_register_normal_form("NFD")
_register_normal_form("NFC")
_register_normal_form("NFKC")
_op(
    "strip_accents",
    "unicode",
    _strip_accents,
    lambda: "unicode(strip accents)",
    applies=lambda t: _strip_accents(t) != t,
)

# Repetition and truncation.
_op(
    "repeat_char",
    "repetition",
    lambda t, pos, ch, n: _insert_at(t, pos, ch * n),
    lambda pos, ch, n: f"repeat({ch!r} at {pos} x{n + 1})",
    applies=lambda t: any(ch.isalpha() for ch in t),
    draw_args=lambda t, d: (
        (pos := d.choice_where(range(len(t)), lambda i: t[i].isalpha())),
        t[pos],
        d.integer(1, 4),
    ),
)
_op(
    "repeat_word",
    "repetition",
    _repeat_word,
    lambda index: f"repeat(word {index})",
    applies=lambda t: bool(t.strip()),
    draw_args=lambda t, d: (d.integer(0, len(t.split(" ")) - 1),),
)
_op(
    "repeat_text",
    "repetition",
    lambda t, n: " ".join([t] * n),
    lambda n: f"repeat(text x{n})",
    applies=lambda t: bool(t.strip()),
    draw_args=lambda t, d: (d.integer(2, 4),),
)
_op(
    "truncate",
    "repetition",
    lambda t, cut: t[: max(len(t) - cut, 0)],
    lambda cut: f"truncate(drop last {cut})",
    applies=lambda t: len(t) > 1,
    # The number of dropped characters shrinks toward 1: the smallest change.
    draw_args=lambda t, d: (d.integer(1, len(t) - 1),),
)

# Very long inputs.
_op("long", "length", _long, lambda extra: f"long(+{extra} chars)")

# Empty and whitespace-only inputs.
_op("empty", "empty", lambda t: "", lambda: "empty()", applies=lambda t: t != "")
_op(
    "blank",
    "empty",
    lambda t, blank: blank,
    lambda blank: f"blank({blank!r})",
    draw_args=lambda t, d: (d.choice(_BLANKS),),
)


#: The kinds of text variation, in shrink order, and the op names of each.
TEXT_KINDS: dict[str, tuple[str, ...]] = {}
for _spec in _TEXT_OPS.values():
    TEXT_KINDS.setdefault(_spec.kind, ())
    TEXT_KINDS[_spec.kind] += (_spec.name,)
del _spec

_LONG_SIZES = (256, 512, 1024, 4096, 10_000, 100_000)


@dataclass(frozen=True)
class TextPlan:
    """Validated text-variation options; draws one :class:`Variation` per call."""

    ops: tuple[str, ...]
    typo_budget: int
    min_steps: int
    max_steps: int
    long_sizes: tuple[int, ...]

    def draw(self, text: str, d: Draw) -> Variation:
        """Draw up to ``max_steps`` steps, each against the text as varied so far."""
        return self.draw_applied(text, d)[0]

    def draw_applied(self, text: str, d: Draw) -> tuple[Variation, str]:
        """:meth:`draw`, also returning the varied text (computed along the way)."""
        steps: list[Edit] = []
        typos_left = self.typo_budget
        current = text
        # Each step past min_steps is preceded by a "more" flag whose simplest
        # value stops, so shrinking deletes steps down to min_steps (0: identity).
        for position in range(self.max_steps):
            optional = position >= self.min_steps
            step = d.group(
                functools.partial(
                    self._draw_step, text=current, typos_left=typos_left, optional=optional
                )
            )
            if step is None:
                break
            steps.append(step)
            typos_left -= step.kind == "typo"
            current = step(current)
        return compose(*steps), current

    def _draw_step(self, d: Draw, *, text: str, typos_left: int, optional: bool) -> Edit | None:
        """One step (or None to stop), drawn as one group so shrinking can delete it whole."""
        if optional and not d.more():
            return None
        try:
            # Applicability is checked lazily, for the chosen op (and the next ones
            # if it does not apply): checking all ~40 ops per step was the main cost.
            name = d.choice_where(self.ops, lambda op: self._applies(op, text, typos_left))
        except NoOption:
            return None
        return Edit(name, self._args(name, text, d))

    def _applies(self, name: str, text: str, typos_left: int) -> bool:
        if typos_left <= 0 and _TEXT_OPS[name].kind == "typo":
            return False
        return _TEXT_OPS[name].applies(text)

    def _args(self, name: str, text: str, d: Draw) -> tuple[Any, ...]:
        if name == "long":
            return (d.choice(self.long_sizes),)
        return _TEXT_OPS[name].draw_args(text, d)


def make_text_plan(
    *,
    case: object = True,
    whitespace: object = True,
    punctuation: object = True,
    typos: object = 1,
    unicode: object = True,
    repetition: object = True,
    long: object = False,
    empty: object = False,
    min_steps: object = 0,
    max_steps: object = 3,
    max_length: object = 10_000,
) -> TextPlan:
    """Validate text-variation options (see :func:`text_variations`)."""
    budget = _typo_budget(typos)
    selections = {
        "case": check_op_selection("case", case, TEXT_KINDS["case"]),
        "whitespace": check_op_selection("whitespace", whitespace, TEXT_KINDS["whitespace"]),
        "punctuation": check_op_selection("punctuation", punctuation, TEXT_KINDS["punctuation"]),
        "typo": TEXT_KINDS["typo"] if budget > 0 else (),
        "unicode": check_op_selection("unicode", unicode, TEXT_KINDS["unicode"]),
        "repetition": check_op_selection("repetition", repetition, TEXT_KINDS["repetition"]),
        "length": check_op_selection("long", long, TEXT_KINDS["length"]),
        "empty": check_op_selection("empty", empty, TEXT_KINDS["empty"]),
    }
    low = check_int("min_steps", min_steps, min_value=0)
    high = check_int("max_steps", max_steps, min_value=max(low, 1))
    limit = check_int("max_length", max_length, min_value=1)
    ops = tuple(op for kind in TEXT_KINDS for op in selections[kind])
    if not ops:
        raise ProdguardUsageError(
            "kinds", "all disabled", "at least one kind of variation enabled (e.g. case=True)"
        )
    sizes = (*(size for size in _LONG_SIZES if size < limit), limit)
    return TextPlan(ops, budget, low, high, sizes)


def _typo_budget(typos: object) -> int:
    if typos is True:
        return 1
    if typos is False or typos is None:
        return 0
    return check_int("typos", typos, min_value=0)


def text_variations(
    text: str,
    *,
    case: bool | Sequence[str] = True,
    whitespace: bool | Sequence[str] = True,
    punctuation: bool | Sequence[str] = True,
    typos: int = 1,
    unicode: bool | Sequence[str] = True,
    repetition: bool | Sequence[str] = True,
    long: bool | Sequence[str] = False,
    empty: bool | Sequence[str] = False,
    min_steps: int = 0,
    max_steps: int = 3,
    max_length: int = 10_000,
) -> st.SearchStrategy[Variation]:
    """Hypothesis strategy of realistic variations of ``text``.

    Each kind is switched on with ``True``, off with ``False``, or narrowed to
    some of its operations by name (see ``TEXT_KINDS``). ``typos`` is the edit
    budget: the most typo steps one variation may contain (0 disables typos).
    ``long`` makes very long inputs by appending the text repeated, adding
    256, 512, 1024, ... up to ``max_length`` characters; ``empty`` draws
    empty and whitespace-only inputs. A variation has between ``min_steps``
    and ``max_steps`` steps; with ``min_steps=0`` it shrinks to ``identity()``.
    """
    if not isinstance(text, str):
        raise ProdguardUsageError("text", short_value(text), "a str to vary")
    plan = make_text_plan(
        case=case,
        whitespace=whitespace,
        punctuation=punctuation,
        typos=typos,
        unicode=unicode,
        repetition=repetition,
        long=long,
        empty=empty,
        min_steps=min_steps,
        max_steps=max_steps,
        max_length=max_length,
    )
    return plan_strategy(plan, text)
