"""A throwaway PostgreSQL cluster for the store and API tests (Debian's postgresql; `make postgres` installs it).

The cluster lives in a temp folder, listens only on a unix socket there, and is stopped at the end of the
session. Where no server can be started the tests that need it are skipped with the reason printed.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

_database_counter = itertools.count(1)


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _skip(reason: str):
    warnings.warn(f"PostgreSQL tests skipped: {reason}", stacklevel=2)
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


class Cluster:
    """initdb + pg_ctl in a temp folder, run as the `postgres` user when the tests run as root."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="movierec-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.prefix = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        self._run(str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-c listen_addresses='' -c unix_socket_directories={self.root} -p {self.port} -c fsync=off"
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.root}&port={self.port}"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host=str(self.root), port=self.port, user="postgres", autocommit=True) as connection:
            connection.execute(sql)

    def new_database(self) -> str:
        name = f"movierec_test_{next(_database_counter)}"
        self.admin(f"CREATE DATABASE {name}")
        return name


def postgres_cluster_fixture() -> Iterator[Cluster]:
    """Body of a session fixture: the running cluster, or a skip naming why there is none."""
    bin_dir = _binaries()
    if bin_dir is None:
        _skip("no initdb found (install Debian's postgresql with `make postgres`)")
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            _skip("running as root and there is no `postgres` user to run the server as")
    cluster = Cluster(bin_dir)
    try:
        cluster.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        log = cluster.root / "log"
        details = getattr(exc, "stderr", "") or (log.read_text()[-500:] if log.exists() else "")
        cluster.stop()
        _skip(f"the PostgreSQL server did not start: {exc} {details}".strip())
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_cluster():
    yield from postgres_cluster_fixture()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A fresh, empty database on the throwaway cluster for one test."""
    name = postgres_cluster.new_database()
    yield postgres_cluster.url(name)
    postgres_cluster.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
