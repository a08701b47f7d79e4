"""A PostgreSQL server for the pool tests: $NAS_TEST_POSTGRES_URL, or a private throwaway cluster
started from the installed binaries (Debian's ``postgresql`` package). Each test gets a fresh
database. Where no server can be had the tests skip, saying why -- unless NAS_REQUIRE_POSTGRES=1
(CI), where they fail instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unavailable(reason: str) -> None:
    if os.environ.get("NAS_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here (NAS_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(f"no PostgreSQL server: {reason}")


class PrivateServer:
    """A throwaway cluster in a temporary folder; :meth:`stop` / :meth:`start` restart it on the same port."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            _unavailable(
                "no initdb under /usr/lib/postgresql/*/bin (apt-get install postgresql) "
                "and NAS_TEST_POSTGRES_URL is not set"
            )
        self.bindir = Path(bins[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="nas-pg-"))
        self.prefix: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            if shutil.which("runuser") is None:
                _unavailable("running as root without runuser to drop to the postgres user")
            self.prefix = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self.port = _free_port()
        self.data = self.root / "data"
        try:
            subprocess.run(
                [*self.prefix, str(self.bindir / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
                check=True,
                capture_output=True,
            )
            self.start()
        except subprocess.CalledProcessError as exc:
            _unavailable(f"a private server did not start: {exc.stderr.decode(errors='replace')[-400:]}")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.prefix, str(self.bindir / "pg_ctl"), "-D", str(self.data), *args], check=True, capture_output=True
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        self._ctl("-l", str(self.root / "server.log"), "-w", "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-m", "immediate", "stop")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_private_server() -> Iterator[str]:
    server = PrivateServer()
    try:
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("NAS_TEST_POSTGRES_URL")
    if url:
        yield url
    else:
        yield from start_private_server()


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the test server."""
    import sqlalchemy as sa

    name = f"nas_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        _unavailable(f"cannot create a database on {postgres_server}: {exc.orig}")
    url = sa.make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


@pytest.fixture
def restartable_postgres() -> Iterator[PrivateServer]:
    """A private server of this test's own, which the test may stop and start."""
    server = PrivateServer()
    yield server
    server.close()
