"""Database engine and migrations.

SQLite by default (a file in the data folder, WAL journal; the transaction that takes a
candidate's answer is fsynced — `synchronous=FULL` — so that an accepted answer survives a killed
process or a power cut, and syncing it also syncs every earlier write; other writes use
`synchronous=NORMAL`, which in WAL mode survives a killed process, and can lose only the last
moments' replies — never an accepted answer — in a power cut), PostgreSQL via `DATABASE_URL` with the same
code.

Migrations are an ordered, named list of steps (`store/migrations/`, one module each) applied at
start-up and recorded in `schema_migrations` (as simonw/llm does): a step runs once, in order;
the pending steps run in one transaction under a lock (a PostgreSQL advisory lock, SQLite's
`BEGIN IMMEDIATE`), so several workers starting at once on one database do not race: the first
migrates, the others wait and then find every step recorded.

Each step holds its own DDL as of the day it was written and never reads today's `tables.py`:
a database made by any earlier release is brought up to date by exactly the statements that
brought every other database there. How to add a migration: write a new step module with its
own DDL (new tables as Core `Table` objects in the step's own `MetaData`, a new column through
`migrations.ops.add_column`), append it to `migrations.MIGRATIONS`, then change `tables.py` to
match; `tests/test_migrations.py` fails while the two disagree. Never edit, reorder or remove a
released step: databases recorded it as done and will not run it again.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from interviewer.config import Settings
from interviewer.errors import StorageUnavailable
from interviewer.store.faults import (
    FAULT_HOLD_S,
    FaultWatch,
    check_data_dir,
    data_dir_problem,
    describe,
)
from interviewer.store.migrations import MIGRATIONS as MIGRATIONS  # read at call time: tests stop it early
from interviewer.store.migrations import SCHEMA_MIGRATIONS, Migration


def database_url(settings: Settings, *, create_dir: bool = True) -> str:
    """`DATABASE_URL`, or the embedded SQLite file in the data folder (created with
    `create_dir`; the admin commands only look, see `interviewer/cli_db.py`)."""
    if settings.database_url:
        return settings.database_url
    if create_dir:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(settings.data_dir).resolve() / 'interviewer.db'}"


def normalize_url(url: str) -> str:
    """`postgresql://` and `postgres://` (what hosting providers hand out) mean psycopg 3 here:
    SQLAlchemy's default PostgreSQL driver is psycopg2, which is not a dependency."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _wal(cursor: Any) -> None:
    """Switch a new database file to WAL (a no-op once it is). The switch needs the file to itself
    and SQLite does not wait for it: workers opening a new file at once retry for a while."""
    deadline = time.monotonic() + 30
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def make_engine(url: str, *, fsync_answers: bool = True) -> Engine:
    """`fsync_answers` (SQLite): the transaction that takes an answer is fsynced (survives a
    power cut); False leaves every commit at `synchronous=NORMAL` (survives a killed process).
    `hide_parameters`: a database error's text names the statement but not its bound values (a
    candidate's answer, an email), so that logging the error logs none of them."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=30000")
            _wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
            _record.info["fsync_answers"] = fsync_answers

        @event.listens_for(engine, "checkin")
        def _normal(dbapi_connection: Any, record: Any) -> None:
            if record.info.pop("durable", False):  # back from a fsynced transaction (repo.lock_session)
                dbapi_connection.execute("PRAGMA synchronous=NORMAL")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


MIGRATION_LOCK = 7_142_025_001
"""PostgreSQL advisory lock key held while migrating (any constant, the same in every process)."""


def _lock_for_migration(conn: Connection) -> None:
    """Serialise migrations between processes starting at once (several workers on one database):
    the second waits for the first, then finds everything applied."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock, taken before reading the schema


def migrate(engine: Engine, *, migrations: Sequence[Migration] | None = None) -> list[str]:
    """Apply the steps of `migrations` (default: `MIGRATIONS`) not recorded yet, in order and in
    one transaction; returns their names."""
    steps = MIGRATIONS if migrations is None else migrations
    applied: list[str] = []
    with engine.connect() as conn:
        _lock_for_migration(conn)
        SCHEMA_MIGRATIONS.create(conn, checkfirst=True)
        done = set(conn.scalars(select(SCHEMA_MIGRATIONS.c.name)))
        for name, upgrade in steps:
            if name in done:
                continue
            upgrade(conn)
            conn.execute(SCHEMA_MIGRATIONS.insert().values(name=name, applied_at=datetime.now(UTC)))
            applied.append(name)
        conn.commit()
    return applied


def _sqlite_file_problem(path: Path) -> str | None:
    """The file as a new connection finds it (a pooled one trusts its cache): its schema must
    read back. A garbled file fails here with "file is not a database" or "malformed"."""
    if not path.is_file():
        return f"the database file {path} is missing"
    try:
        conn = sqlite3.connect(path, timeout=5)
        try:
            conn.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return describe(exc) or f"the database file cannot be read ({exc})"
    return None


class Database:
    """The engine and a session factory; `migrate()` is called by the app at start-up."""

    def __init__(self, url: str, *, fsync_answers: bool = True) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url, fsync_answers=fsync_answers)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.faults = FaultWatch(self.engine)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(database_url(settings), fsync_answers=settings.sqlite_fsync_answers)

    def migrate(self) -> list[str]:
        return migrate(self.engine)

    def session(self) -> Session:
        return self._sessions()

    def tables(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def problem(self) -> str | None:
        """Why the database cannot take writes now, in a few words; None when it can. Reads the
        schema (a corrupt file fails here, `SELECT 1` would not notice), and for SQLite checks
        that its folder is writable and has room; a storage fault met by any statement since the
        last committed write also counts (see `store/faults.py`)."""
        fault = self.faults.current()
        if fault is not None and fault[1] < FAULT_HOLD_S:
            return self.faults.fault
        problem = self._probe(after_fault=fault is not None)
        if problem is None:
            self.faults.clear()  # usable again (a worker without writes would never clear it)
            return None
        return self.faults.fault or problem

    def _probe(self, *, after_fault: bool) -> str | None:
        url = make_url(self.url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            problem = _sqlite_file_problem(Path(url.database))
            if problem is not None:
                # pooled connections may go on serving their page cache from the bad file: drop
                # them, so that requests fail with this reason instead of half-working
                self.faults.record(problem)
                self.engine.dispose()
                return problem
            folder = Path(url.database).parent
            if after_fault:  # a real write, only while a fault stands (a full disk shows here)
                try:
                    check_data_dir(folder)
                except StorageUnavailable as exc:
                    return str(exc)
            return data_dir_problem(folder)
        try:
            with self.engine.connect() as conn:
                conn.execute(select(SCHEMA_MIGRATIONS.c.name).limit(1)).all()
        except DBAPIError as exc:
            return describe(exc) or f"the database cannot be read ({type(exc.orig).__name__})"
        return None

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    def dispose(self, *, wait_s: float = 5.0) -> None:
        """Close the pool's connections. Database work still running in a thread (a request or a
        background task finishing while the app shuts down) gets up to `wait_s` to hand its
        connection back first: one checked out across the dispose would be dropped unclosed
        (psycopg then warns, and the server keeps the session until it notices)."""
        pool: Any = self.engine.pool
        deadline = time.monotonic() + wait_s
        while hasattr(pool, "checkedout") and pool.checkedout() > 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        self.engine.dispose()
