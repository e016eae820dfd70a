"""Error fingerprints: exception type, innermost application frames, masked message."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Sequence

from pytest_prodguard.forensics.masking import EMAIL
from pytest_prodguard.forensics.records import ExceptionInfo, Frame, LogRecord

#: How many innermost application frames name an error's place.
FRAMES_IN_FINGERPRINT = 3
_LIBRARY_PATH = re.compile(
    r"site-packages|dist-packages|[/\\]lib[/\\]python\d|^<|[/\\]_pytest[/\\]"
)
_MASKS = (
    (re.compile(r"\b([\w.]+)=(\"[^\"]*\"|'[^']*'|\S+)"), r"\1=<v>"),
    (
        re.compile(
            r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
        ),
        "<uuid>",
    ),
    (EMAIL, "<email>"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<hex>"),
    (re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z][\w-]*\d[\w-]*\b"), "<id>"),
    (re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"), "<n>"),
)


def mask_message(message: str) -> str:
    """The message with UUIDs, emails, hex, ids and numbers replaced by placeholders."""
    for pattern, placeholder in _MASKS:
        message = pattern.sub(placeholder, message)
    return " ".join(message.split())[:200]


def application_frames(frames: Sequence[Frame]) -> list[Frame]:
    """The frames of application code (not the standard library or installed packages)."""
    own = [frame for frame in frames if not _LIBRARY_PATH.search(frame.path)]
    return own or list(frames)


def place(frames: Sequence[Frame]) -> str:
    """``file.py:function`` of the innermost application frames, innermost last."""
    chosen = application_frames(frames)[-FRAMES_IN_FINGERPRINT:]
    return " > ".join(f"{os.path.basename(f.path)}:{f.function}" for f in chosen)


def signature(record: LogRecord) -> tuple[str, str, str]:
    """``(kind, place, masked message)``: kind is the exception type or the level and logger."""
    if record.exception is not None:
        return exception_signature(record.exception)
    kind = f"{record.level or 'ERROR'} {record.logger or ''}".strip()
    return kind, "", mask_message(record.message)


def exception_signature(exception: ExceptionInfo) -> tuple[str, str, str]:
    """The signature of an exception alone (the replayed guard computes it too)."""
    return (
        exception.type.rsplit(".", 1)[-1],
        place(exception.frames),
        mask_message(exception.message),
    )


def fingerprint_of(parts: tuple[str, str, str]) -> str:
    """A short stable hash of a signature."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:12]
