"""A throwaway PostgreSQL server for the tests: `initdb` in a temporary folder, `pg_ctl start` on a
free loopback port, one fresh database per test, `pg_ctl stop` at the end of the session.

Needs the server binaries (Debian: `apt-get install postgresql`; they live in
`/usr/lib/postgresql/<version>/bin`). PostgreSQL refuses to run as root, so as root the cluster
is created and run by the `postgres` user (`runuser`). Durability is switched off (`fsync=off`):
this server holds test data only. `INTERVIEWER_TEST_POSTGRES_URL` (an admin URL such as
`postgresql://postgres@127.0.0.1:5432/postgres`) uses a running server instead of starting one.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy import make_url

ENV_URL = "INTERVIEWER_TEST_POSTGRES_URL"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be found or started here (the reason is the message)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_bindir() -> Path:
    """The newest installed server's bin folder (Debian layout first, then the PATH)."""
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.parent.name)] or [0],
    )
    if versions:
        return versions[-1].parent
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    raise PostgresUnavailable(
        "the PostgreSQL server is not installed (no /usr/lib/postgresql/*/bin/pg_ctl, no pg_ctl on PATH); "
        "install it with `apt-get install postgresql`"
    )


class PostgresServer:
    """A server the tests may create and drop databases on (`admin_url` is a superuser URL)."""

    def __init__(self, admin_url: str, *, stop: Iterator[str] | None = None) -> None:
        self.admin_url = make_url(admin_url).set(drivername="postgresql+psycopg")
        self._stop = stop

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        u = self.admin_url
        return psycopg.connect(
            host=u.host,
            port=u.port,
            user=u.username,
            password=u.password,
            dbname=u.database or "postgres",
            autocommit=True,
            connect_timeout=10,
        )

    def url(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def create_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:16]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # the name is ours
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh, empty database for one test; dropped afterwards (open connections included)."""
        name = self.create_database()
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)

    def stop(self) -> None:
        if self._stop is not None:
            with contextlib.suppress(StopIteration):
                next(self._stop)
            self._stop = None


def _run_as(user: str | None, argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a server tool, as `user` when given (from a folder that user may enter)."""
    command = ["runuser", "-u", user, "--", *argv] if user else argv
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=90, cwd=cwd)


def _local_server() -> Iterator[str]:
    """initdb + pg_ctl start; yields the admin URL once the server accepts connections; stops and
    removes everything when resumed."""
    bindir = find_bindir()
    user: str | None = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable(
                "running as root and there is no `postgres` user to run the server"
            ) from exc
        if not shutil.which("runuser"):
            raise PostgresUnavailable("running as root and `runuser` is missing")
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="interviewer-pg-"))
    if user:
        shutil.chown(root, user)
    data, log = root / "data", root / "server.log"
    started = False
    try:
        initdb = [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        init = _run_as(user, [*initdb, "-E", "UTF8", "--no-locale", "--no-sync"], root)
        if init.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {(init.stderr or init.stdout).strip()[-800:]}")
        last = ""
        for _ in range(3):  # the free port may be taken between choosing and binding it
            port = _free_port()
            options = (
                f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=200 "
                "-c shared_buffers=32MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options]
            start = _run_as(user, [*pg_ctl, "-w", "-t", "60", "start"], root)
            if start.returncode == 0:
                started = True
                break
            last = (start.stderr or start.stdout).strip() + "\n" + (log.read_text() if log.exists() else "")
        if not started:
            raise PostgresUnavailable(f"pg_ctl start failed: {last.strip()[-800:]}")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            _run_as(user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], root)
        shutil.rmtree(root, ignore_errors=True)


def start_server() -> PostgresServer:
    """A server for the tests: the one `INTERVIEWER_TEST_POSTGRES_URL` names, or a new local one.
    Raises `PostgresUnavailable` with the reason."""
    url = os.environ.get(ENV_URL)
    if url:
        server = PostgresServer(url)
    else:
        lifecycle = _local_server()
        try:
            admin = next(lifecycle)
        except FileNotFoundError as exc:
            raise PostgresUnavailable(f"cannot run the PostgreSQL tools: {exc}") from exc
        server = PostgresServer(admin, stop=lifecycle)
    deadline = time.monotonic() + 10
    while True:
        try:
            with server._admin() as conn:
                conn.execute("SELECT 1")
            return server
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                server.stop()
                raise PostgresUnavailable(f"cannot connect to {server.admin_url!r}: {exc}") from exc
            time.sleep(0.2)
