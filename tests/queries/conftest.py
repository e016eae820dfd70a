"""A throwaway PostgreSQL cluster for the query-budget tests, started once per session.

``initdb`` in a private temp folder and ``pg_ctl`` on a unix socket in that folder
(no TCP port, so parallel sessions cannot collide). The server refuses to run as
root, so under root (CI) both run as the ``postgres`` system user via ``runuser``.
Tests that need it skip, with the reason, only where the binaries are absent.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_DSN_ENV = "PRODGUARD_TEST_PG_DSN"


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major_version)
    return Path(candidates[-1]).parent if candidates else None


def _major_version(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def _run_as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A libpq connection string for a fresh cluster (database ``postgres``, trust auth)."""
    bindir = _pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found: install postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL unprivileged")
    base = Path(tempfile.mkdtemp(prefix="prodguard-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, user="postgres")
    data, log = base / "data", base / "server.log"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(
        _run_as_server_user([*initdb, "--no-sync", "-E", "UTF8"]), check=True, capture_output=True
    )
    options = f"-k {base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w"]
    subprocess.run(
        _run_as_server_user([*pg_ctl, "-o", options, "start"]), check=True, capture_output=True
    )
    try:
        yield f"host={base} dbname=postgres user=postgres"
    finally:
        subprocess.run(
            _run_as_server_user([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True
        )
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_env(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The DSN, also exported as $PRODGUARD_TEST_PG_DSN for pytester runs and their workers."""
    monkeypatch.setenv(PG_DSN_ENV, postgres_dsn)
    return postgres_dsn
