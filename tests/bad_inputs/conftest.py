"""Fixtures of the bad-input catalogue (helpers live in ``catalogue.py``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from catalogue import INI, REGISTRY, CliRun, Snapshot, assert_clean_error, contents

from pytest_prodguard.cli import main


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """Run ``prodguard ARGS`` in-process; the output never holds a traceback."""

    def run(*argv: str) -> CliRun:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        assert_clean_error(captured.out + captured.err)
        return CliRun(code, captured.out, captured.err)

    return run


@pytest.fixture
def unchanged() -> Callable[[Path | Iterable[Path]], Snapshot]:
    """``check = unchanged(folder)`` now; ``check()`` later asserts nothing under it changed."""

    def snapshot(root: Path | Iterable[Path]) -> Snapshot:
        roots = [root] if isinstance(root, Path) else list(root)
        before = [contents(each) for each in roots]

        def check() -> None:
            assert [contents(each) for each in roots] == before

        return check

    return snapshot


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester project with the catalogue's one-incident registry at its rootdir."""
    pytester.makeini(INI)
    pytester.path.joinpath("incidents.toml").write_text(REGISTRY, encoding="utf-8")
    return pytester
