"""Database engine and migrations.

SQLite by default (a file in the data folder, WAL journal, `synchronous=FULL` so that a committed
answer survives a killed process or a power cut), PostgreSQL via `DATABASE_URL` with the same
code. Migrations are an ordered, named list applied at start-up and recorded in
`schema_migrations` (as simonw/llm does): a migration runs once, in order, in a transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from interviewer.config import Settings
from interviewer.store.tables import Base, SchemaMigration


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{Path(settings.data_dir).resolve() / 'interviewer.db'}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _initial(conn: Connection) -> None:
    Base.metadata.create_all(
        conn, tables=[t for n, t in Base.metadata.tables.items() if n != "schema_migrations"]
    )


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("0001_initial", _initial),
]


def migrate(engine: Engine) -> list[str]:
    """Apply the migrations not applied yet; returns their names."""
    applied: list[str] = []
    with engine.begin() as conn:
        SchemaMigration.__table__.create(conn, checkfirst=True)  # type: ignore[attr-defined]
    for name, step in MIGRATIONS:
        with engine.begin() as conn:
            if conn.execute(select(SchemaMigration.name).where(SchemaMigration.name == name)).first():
                continue
            step(conn)
            conn.execute(SchemaMigration.__table__.insert().values(name=name))  # type: ignore[attr-defined]
            applied.append(name)
    return applied


class Database:
    """The engine and a session factory; `migrate()` is called by the app at start-up."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(database_url(settings))

    def migrate(self) -> list[str]:
        return migrate(self.engine)

    def session(self) -> Session:
        return self._sessions()

    def tables(self) -> list[str]:
        return inspect(self.engine).get_table_names()

    def ping(self) -> bool:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return True

    def dispose(self) -> None:
        self.engine.dispose()
