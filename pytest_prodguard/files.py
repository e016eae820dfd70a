"""Atomic file writes, safe when several pytest-xdist workers write at once."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

#: Mode asked of the kernel for a new file; the user's umask then applies, as for ``open()``.
_NEW_FILE_MODE = 0o666
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_READABLE_LENGTH = 100


def nodeid_slug(key: str) -> str:
    """The one rule that turns a test id (plus an optional ``#label``) into a file name.

    ``tests/test_api.py::test_y[a/b]`` becomes ``tests_test_api.py_test_y_a_b-<10 hex>``:
    runs of characters outside ``[A-Za-z0-9._-]`` become ``_``, the readable part is
    capped at 100 characters, and the suffix (the start of the key's SHA-256) keeps ids
    that read alike apart. Latency baselines and profile folders are both named by it.
    """
    readable = _UNSAFE.sub("_", key).strip("._-")[:_READABLE_LENGTH] or "test"
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{readable}-{digest}"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never a part.

    The data goes to a temporary file in the same folder, is flushed to disk, and
    replaces ``path`` with :func:`os.replace`, which is atomic on POSIX and Windows.
    A new file gets the mode the user's umask allows (like pytest's JUnit XML); an
    existing file keeps its mode.
    """
    data = text.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    keep_mode = _existing_mode(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            if keep_mode is not None:
                os.chmod(tmp, keep_mode)  # os.fchmod is POSIX-only before Python 3.13
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _existing_mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None


def _create_temporary(path: Path) -> tuple[int, str]:
    """A new, exclusively created file beside ``path``; ``os.open`` applies the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = str(path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, _NEW_FILE_MODE), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue


def decode_utf8(data: bytes, error: Callable[[str], Exception]) -> str:
    """``data`` as UTF-8 text; otherwise raise ``error(problem)`` with :func:`not_utf8`'s problem.

    Callers build the error so that it names their file and field.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(not_utf8(exc)) from None


def not_utf8(exc: UnicodeDecodeError) -> str:
    """The problem in a few words: ``not UTF-8 text (byte 0xff at offset 12)``."""
    return f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
