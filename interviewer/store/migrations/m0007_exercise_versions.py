"""0007_exercise_versions: each coding exercise as a session was given it, stored once by content,
as `store/tables.py` defined it when the step was written (HR edits exercises; running interviews
keep theirs). Frozen: never edit it; a change to this table is a new step."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Connection, DateTime, Integer, MetaData, String, Table

from interviewer.store.migrations.ops import create_tables

NAME = "0007_exercise_versions"

metadata = MetaData()

exercise_versions = Table(
    "exercise_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("exercise_id", String(80), nullable=False),
    Column("revision", String(64), nullable=False, unique=True),
    Column("document", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def upgrade(conn: Connection) -> None:
    create_tables(conn, exercise_versions)
