"""Time accounts: how much of a measured stretch another concern spent (e.g. in the database).

The latency gate opens an :func:`accounting` window around each measurement;
every registered account reports the seconds it saw inside that window. The
query-budget concern registers ``"database"`` while a test captures statements,
so a failing latency budget says how much of its time went to the database
without the latency code knowing about queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

# An account: called when a window opens, returns the function that closes it
# and answers the seconds spent in this account meanwhile.
Account = Callable[[], Callable[[], float]]

_accounts: dict[str, Account] = {}


@contextmanager
def registered(name: str, account: Account) -> Iterator[None]:
    """Make ``account`` answer under ``name`` for the block."""
    previous = _accounts.get(name)
    _accounts[name] = account
    try:
        yield
    finally:
        if previous is None:
            del _accounts[name]
        else:
            _accounts[name] = previous


@contextmanager
def accounting() -> Iterator[dict[str, float]]:
    """Collect ``{account name: seconds}`` for the block (filled in when it ends)."""
    spent: dict[str, float] = {}
    closers = {name: account() for name, account in _accounts.items()}
    try:
        yield spent
    finally:
        for name, close in closers.items():
            spent[name] = close()


def share_lines(spent: dict[str, float], wall: float) -> list[str]:
    """``time in the database: 34% of the measured time (0.41 s of 1.2 s)`` per account."""
    from pytest_prodguard.units import format_duration

    lines = []
    for name, seconds in sorted(spent.items()):
        if wall > 0:
            lines.append(
                f"time in the {name}: {seconds / wall:.0%} of the measured time "
                f"({format_duration(seconds)} of {format_duration(wall)})"
            )
    return lines
