"""0002_overrides_and_recommendations: evaluators' score corrections and final recommendations,
as `store/tables.py` defined them when the step was written (commit 9fecf5e). Frozen: never edit
it; a change to these tables is a new step."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from interviewer.store.migrations.ops import create_tables

NAME = "0002_overrides_and_recommendations"

metadata = MetaData()

# the tables referred to, as far as the foreign keys need them (they exist: 0001 made them)
Table("users", metadata, Column("id", Integer, primary_key=True))
Table("sessions", metadata, Column("id", String(36), primary_key=True))

overrides = Table(
    "overrides",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("question_id", String(80), nullable=False),
    Column("track", String(40), nullable=False),
    Column("criterion", String(80), nullable=False),
    Column("machine_score", Double, nullable=False),
    Column("old_score", Double, nullable=False),
    Column("new_score", Double, nullable=False),
    Column("reason", Text, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("actor", String(254), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_overrides_session", "session_id"),
)

recommendations = Table(
    "recommendations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("session_id", String(36), ForeignKey("sessions.id"), nullable=False),
    Column("recommendation", String(20), nullable=False),
    Column("note", Text, nullable=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=True),
    Column("actor", String(254), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_recommendations_session", "session_id"),
)


def upgrade(conn: Connection) -> None:
    create_tables(conn, overrides, recommendations)
