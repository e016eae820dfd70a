"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb, pg_ctl, a private socket.

The cluster lives in a fresh temp folder and listens only on a unix socket in
that folder, so parallel sessions never collide on a port. PostgreSQL refuses
to run as root; under root (CI containers) initdb and pg_ctl run as the
``postgres`` system user through ``runuser``.

Example (a session fixture in a conftest.py)::

    @pytest.fixture(scope="session")
    def postgres_dsn():
        if find_bindir() is None:
            pytest.skip("PostgreSQL binaries not found")
        with throwaway_cluster() as dsn:
            yield dsn
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (on PATH, else the newest Debian layout)."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_major_version)
    return Path(candidates[-1]).parent if candidates else None


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here, or None when it can."""
    if find_bindir() is None:
        return "PostgreSQL binaries (initdb, pg_ctl) not found: install postgresql"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser: cannot start PostgreSQL unprivileged"
    return None


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Start a cluster, yield its libpq DSN (database and user ``postgres``), then remove it."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(unavailable_reason())
    base = Path(tempfile.mkdtemp(prefix="prodguard-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, user=SERVER_USER)
    data = base / "data"
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w"]
    options = f"-k {base} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
    try:
        _run([*initdb, "--no-sync", "-E", "UTF8"])
        _run([*pg_ctl, "-o", options, "start"])
        try:
            yield f"host={base} dbname=postgres user=postgres"
        finally:
            _run([*pg_ctl, "-m", "immediate", "stop"], check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run(command: list[str], *, check: bool = True) -> None:
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    subprocess.run(command, check=check, capture_output=True)


def _major_version(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0
