"""A PostgreSQL cluster of a test's own: made with initdb in a temporary folder, on a free port of
loopback, that the test may stop and start again (never the machine's server, which other tests
share). Run as the `postgres` system user when the tests run as root, as initdb requires."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.redis import _free_port

TIMEOUT_SECONDS = 60


def _binaries() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class OwnPostgres:
    """`directory` must be one the `postgres` user can reach (a test's tmp_path, under a
    folder only root may enter, is not): `own_postgres` makes one."""

    def __init__(self, directory: Path) -> None:
        binaries = _binaries()
        if binaries is None:
            message = "PostgreSQL's initdb is not installed"
            if os.environ.get("CI") == "true":
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
        self._bin = binaries
        self._data = directory / "data"
        self._directory = directory
        self.port = _free_port()
        self.url = f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
        self._run("initdb", "-D", str(self._data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self._bin / tool), *args],
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed: {(done.stdout + done.stderr).decode()}")

    def start(self) -> None:
        """Start the cluster and return once it accepts connections (pg_ctl waits)."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self._directory}"
        log = str(self._directory / "postgres.log")
        self._run("pg_ctl", "-D", str(self._data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """Stop at once, as a crash or a failover does: connections are cut, nothing waits."""
        self._run("pg_ctl", "-D", str(self._data), "-m", "immediate", "-w", "stop")

    def running(self) -> bool:
        return (self._data / "postmaster.pid").exists()


@contextlib.contextmanager
def own_postgres() -> Iterator[OwnPostgres]:
    directory = Path(tempfile.mkdtemp(prefix="parlour-test-postgres-"))
    try:
        server = OwnPostgres(directory)
        server.start()
        try:
            yield server
        finally:
            if server.running():
                server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
