"""The one error type every domain package raises for bad user input, and the warning class."""

from __future__ import annotations


class ProdguardUsageError(ValueError):
    """A user-supplied value is invalid.

    The message names the field, the value and what is accepted; the plugin
    adds the test id and turns it into a clean usage error or test error, so
    users never see a traceback from deep inside the plugin.
    """

    def __init__(self, field: str, value: object, accepted: str, *, source: str = "") -> None:
        self.field = field
        self.value = value
        self.accepted = accepted
        self.source = source
        where = f" ({source})" if source else ""
        super().__init__(f"{field}={value!r}{where}: {accepted}")


class LatencyWarning(UserWarning):
    """A latency budget's warn tier was exceeded, or its verdict stayed undecided.

    Emitted while the test runs, at the test's definition, so ``-W error`` (or
    ``filterwarnings = error::pytest_prodguard.LatencyWarning``) fails the test.
    A met budget never warns.
    """


def describe_exception(exc: BaseException) -> str:
    """``Type: first line of the message``, at most 80 characters (for one-line notes)."""
    lines = f"{type(exc).__name__}: {exc}".strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= 80 else text[:77] + "..."
