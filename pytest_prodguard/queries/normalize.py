"""Normalized SQL: the statement's shape, with literals and parameters replaced.

Two statements that differ only in their values (``WHERE id = 7`` and
``WHERE id = 8``, or ``IN (1, 2)`` and ``IN (1, 2, 3)``) have the same
normalized form, which is what duplicate and N+1 detection group on.
"""

from __future__ import annotations

import re
from functools import lru_cache

_STRING = re.compile(r"'(?:[^']|'')*'")
# %s, %(name)s (pyformat), $1 (numeric), :name (named; not a ::cast), ?, and bare numbers.
_PLACEHOLDER = re.compile(
    r"%\([A-Za-z_][A-Za-z0-9_]*\)s|%s|\$\d+|(?<![:\w]):[A-Za-z_][A-Za-z0-9_]*|\?"
    r"|(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])"
)
_CAST = re.compile(r"\?::[A-Za-z_][A-Za-z0-9_ ]*?(?:\[\])?(?=[\s,)]|$)")
_IN_LIST = re.compile(r"\bIN\s*\(\s*\?(?:\s*,\s*\?)*\s*\)", re.IGNORECASE)
_VALUES_LIST = re.compile(r"\bVALUES\s*(\(\s*\?(?:\s*,\s*\?)*\s*\))(?:\s*,\s*\1)+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_SELECT_LIST = re.compile(
    r"^(SELECT\s+(?:DISTINCT\s+)?)(.+?)(\s+FROM\s+)", re.IGNORECASE | re.DOTALL
)

MAX_SHOWN = 120


@lru_cache(maxsize=4096)
def normalize_sql(sql: str) -> str:
    """Return ``sql`` with literals and parameters as ``?`` and ``IN`` lists as ``IN (...)``.

    >>> normalize_sql("SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x'")
    'SELECT * FROM t WHERE id IN (...) AND name = ?'
    """
    text = _STRING.sub("?", sql)
    text = _PLACEHOLDER.sub("?", text)
    text = _CAST.sub("?", text)
    text = _IN_LIST.sub("IN (...)", text)
    text = _VALUES_LIST.sub(r"VALUES \1, ...", text)
    return _SPACE.sub(" ", text).strip().rstrip(";").rstrip()


def abbreviate(normalized: str, limit: int = MAX_SHOWN) -> str:
    """A short form for messages: the select list becomes ``…``, long text is cut.

    >>> abbreviate("SELECT child.id, child.name FROM child WHERE child.parent_id = ?")
    'SELECT … FROM child WHERE child.parent_id = ?'
    """
    return shorten(_SELECT_LIST.sub(r"\1…\3", normalized, count=1), limit)


def shorten(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with ``…``."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
