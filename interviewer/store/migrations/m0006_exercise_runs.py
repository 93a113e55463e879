"""0006_exercise_runs: the coding-exercise runs of an interview (examples and submissions), each
committed pending before it runs and completed with its result, as `store/tables.py` defined the
table when the step was written. Frozen: never edit it; a change to this table is a new step."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from interviewer.store.migrations.ops import create_tables

NAME = "0006_exercise_runs"

metadata = MetaData()

Table("sessions", metadata, Column("id", String(36), primary_key=True))  # the foreign key's target

exercise_runs = Table(
    "exercise_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("exercise_id", String(80), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("client_msg_id", String(100), nullable=False),
    Column("body_hash", String(64), nullable=False),
    Column("code", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("result", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("session_id", "client_msg_id"),
)


def upgrade(conn: Connection) -> None:
    create_tables(conn, exercise_runs)
