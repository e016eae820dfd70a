"""Opening evidence files: text (plain or gzip), binary input refused with a clear error."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pytest_prodguard.errors import ProdguardUsageError

_SNIFF_BYTES = 8192


def open_text(path: Path, field: str) -> IO[str]:
    """Open ``path`` for streaming text reads; gzip by suffix; binary files are refused.

    Only the first 8 KiB are checked (more than :data:`BINARY_SHARE` of NUL bytes or
    invalid UTF-8 means binary); bad bytes in a text file are replaced, so one
    corrupt line cannot stop a long read.
    """
    try:
        raw = _open_binary(path)
        head = raw.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise ProdguardUsageError(field, str(path), f"a readable file ({exc})") from None
    if _looks_binary(head):
        raw.close()
        raise ProdguardUsageError(
            field, str(path), "a UTF-8 text file (this one is binary: NUL bytes or invalid UTF-8)"
        )
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline=None)


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix == ".gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


#: Share of NUL bytes and undecodable bytes in the head above which a file is binary: a
#: stray NUL or a mis-encoded byte in a text log is not, an executable or archive is.
BINARY_SHARE = 0.1
_MIN_ODD_BYTES = 4  # a two-byte mis-encoding in a one-line file is still text


def _looks_binary(head: bytes) -> bool:
    if len(head) == _SNIFF_BYTES:
        head = head[:-3]  # a multi-byte character cut at the boundary is not binary data
    odd = head.count(b"\x00") + head.decode("utf-8", errors="replace").count("\ufffd")
    return odd >= _MIN_ODD_BYTES and odd > BINARY_SHARE * len(head)


def numbered_lines(path: Path, field: str) -> Iterator[tuple[int, str]]:
    """``(line_number, line)`` pairs of a text file, newline stripped, streamed."""
    with open_text(path, field) as handle:  # universal newlines: "\r\n" arrives as "\n"
        for number, line in enumerate(handle, start=1):
            yield number, line[:-1] if line[-1:] == "\n" else line
