"""Captured payloads and log excerpts kept next to the registry, per incident."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import not_utf8


@dataclass(frozen=True)
class Artifacts:
    """The folder ``incidents/<ID>/`` beside the registry, with loaders.

    >>> incident.artifacts.json("request.json")   # doctest: +SKIP
    """

    path: Path

    def file(self, name: str) -> Path:
        """Path of artifact ``name``; a clear error lists what exists when it is missing."""
        __tracebackhide__ = True  # pytest: show the user's line, not ours
        candidate = self.path / name
        if not candidate.is_file():
            present = sorted(p.name for p in self.path.iterdir()) if self.path.is_dir() else []
            listing = (
                ", ".join(present) if present else f"no artifacts: {self.path} is empty or missing"
            )
            raise ProdguardUsageError("artifact", name, f"a file in {self.path} ({listing})")
        return candidate

    def text(self, name: str) -> str:
        """The artifact's text (UTF-8).

        A file in another encoding is a usage error naming the file and the byte,
        so the guard is reported "not run" (never REGRESSED): read such a file
        with ``file(name).read_bytes()`` and decode it yourself.
        """
        __tracebackhide__ = True  # pytest: show the user's line, not ours
        path = self.file(name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ProdguardUsageError("artifact", name, f"a readable file ({exc})") from None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProdguardUsageError(
                "artifact", name, f"UTF-8 text ({path}: {not_utf8(exc)}; use .file() for bytes)"
            ) from None

    def json(self, name: str) -> Any:
        """The artifact parsed as one JSON document."""
        __tracebackhide__ = True  # pytest: show the user's line, not ours
        path = self.file(name)
        try:
            return json.loads(self.text(name))
        except json.JSONDecodeError as exc:
            raise ProdguardUsageError(
                "artifact", name, f"valid JSON ({path}: line {exc.lineno}: {exc.msg})"
            ) from None

    def jsonl(self, name: str) -> list[Any]:
        """The artifact parsed as JSON Lines (blank lines skipped)."""
        __tracebackhide__ = True  # pytest: show the user's line, not ours
        path = self.file(name)
        records = []
        for number, line in enumerate(self.text(name).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ProdguardUsageError(
                    "artifact", name, f"JSON Lines ({path}: line {number}: {exc.msg})"
                ) from None
        return records

    def names(self) -> list[str]:
        """The artifact file names present, sorted."""
        if not self.path.is_dir():
            return []
        return sorted(p.name for p in self.path.iterdir() if p.is_file())
