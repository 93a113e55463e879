"""What a migration step may call besides its own `Table` objects: create its tables, add a
column where it is missing, and the `schema_migrations` table the runner records steps in.

Old steps call these, so they are frozen like the steps: a change here must leave what every
existing step does exactly as it was (add a new function instead of changing one).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, DateTime, MetaData, String, Table, inspect

_bookkeeping = MetaData()

SCHEMA_MIGRATIONS = Table(
    "schema_migrations",
    _bookkeeping,
    Column("name", String(120), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
"""One row per applied step (`name`, `applied_at`); created by the runner before the first step."""


def create_tables(conn: Connection, *tables: Table) -> None:
    """Create these tables (in dependency order, with their indexes). A table already there is
    left alone, as `create_all` always did here."""
    if tables:
        tables[0].metadata.create_all(conn, tables=list(tables))


def add_column(conn: Connection, table: str, column: Column[Any]) -> None:
    """`ALTER TABLE table ADD COLUMN column` unless the table has a column of that name already
    (the step may run on a table created with it).

    Nullable columns without a server default only: an existing row then reads None, and the
    statement is the same on SQLite and PostgreSQL. A NOT NULL column needs a step of its own
    (add it nullable, fill it, then constrain it where the database can)."""
    if not column.nullable or column.server_default is not None:
        raise ValueError(
            f"{table}.{column.name}: only nullable columns without a server default are added here"
        )
    if column.name in {c["name"] for c in inspect(conn).get_columns(table)}:
        return
    quote = conn.dialect.identifier_preparer.quote
    kind = column.type.compile(dialect=conn.dialect)
    conn.exec_driver_sql(f"ALTER TABLE {quote(table)} ADD COLUMN {quote(column.name)} {kind}")
